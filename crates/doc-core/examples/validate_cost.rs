//! Native cost of validating each document the service meets: the project's
//! fixtures and, when `../shared/upstream` is present, the real upstream's files.
//! `make bench` runs it; compare with the service's CPU per request there.
//!
//! `cargo run --release -p doc-core --example validate_cost [iterations]`

use doc_core::document::pdf::PdfLimits;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let iterations: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let shared = std::env::var_os("DOC_PROXY_SHARED_UPSTREAM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream"));
    let mut documents = vec![
        ("fixture pdf".to_string(), doc_fixtures::pdf()),
        ("fixture png".to_string(), doc_fixtures::png()),
        ("fixture corrupt pdf".to_string(), doc_fixtures::corrupt_pdf()),
    ];
    for name in ["dummy.pdf", "dummy.png", "corrupt-dummy.pdf"] {
        if let Ok(bytes) = std::fs::read(shared.join(name)) {
            documents.push((format!("real {name}"), bytes));
        }
    }
    let limits = PdfLimits::default();
    for (name, bytes) in &documents {
        let verdict = doc_core::validate(bytes, &limits)
            .map(|k| k.to_string())
            .unwrap_or_else(|e| e.code().into());
        // Each validation timed on its own: the median is what one costs,
        // apart from the preemptions a shared machine adds to some of them
        // (the mean keeps them). make bench compares it with the guest's median.
        let mut micros: Vec<f64> = (0..iterations)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(doc_core::validate(std::hint::black_box(bytes), &limits).is_ok());
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        let mean = micros.iter().sum::<f64>() / micros.len().max(1) as f64;
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| micros.get((micros.len() as f64 * q) as usize).copied().unwrap_or(0.0);
        println!(
            "{name:24} {:>7} bytes  {verdict:>14}  median {:8.1} us (p10 {:.1}, p90 {:.1}), mean {mean:8.1} us per validation (native)",
            bytes.len(),
            at(0.5),
            at(0.1),
            at(0.9),
        );
    }
}
