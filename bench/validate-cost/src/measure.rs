//! The documents and the timing loop: the same code runs natively and inside
//! the guest, so the two medians differ only by where the code runs.

use doc_core::document::pdf::PdfLimits;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct Document {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The project's fixtures, then the real upstream's files of the same names
/// when `shared` holds them.
pub fn documents(shared: &Path) -> Vec<Document> {
    let fixtures = doc_fixtures::all();
    let real: Vec<Document> = fixtures
        .iter()
        .filter_map(|(name, _)| {
            let bytes = std::fs::read(shared.join(name)).ok()?;
            Some(Document {
                name: format!("real {name}"),
                bytes,
            })
        })
        .collect();
    let fixtures = fixtures.into_iter().map(|(name, bytes)| Document {
        name: format!("fixture {name}"),
        bytes,
    });
    fixtures.chain(real).collect()
}

/// Where the real upstream's files are: `DOC_PROXY_SHARED_UPSTREAM`, else the
/// `../shared/upstream` beside the repository.
pub fn shared_upstream() -> PathBuf {
    std::env::var_os("DOC_PROXY_SHARED_UPSTREAM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream"))
}

/// One document's cost: each validation timed on its own. The median is what
/// one costs apart from the preemptions a shared machine adds to some of them
/// (the mean keeps those).
pub struct Cost {
    pub name: String,
    pub bytes: usize,
    pub verdict: String,
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
    pub mean_us: f64,
}

pub fn measure(document: &Document, iterations: u32) -> Cost {
    let limits = PdfLimits::default();
    let verdict = doc_core::validate(&document.bytes, &limits)
        .map(|kind| kind.to_string())
        .unwrap_or_else(|e| e.code().into());
    let mut micros: Vec<f64> = (0..iterations.max(1))
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(doc_core::validate(std::hint::black_box(&document.bytes), &limits).is_ok());
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let mean_us = micros.iter().sum::<f64>() / micros.len() as f64;
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    Cost {
        name: document.name.clone(),
        bytes: document.bytes.len(),
        verdict,
        median_us: at(0.5),
        p10_us: at(0.1),
        p90_us: at(0.9),
        mean_us,
    }
}

impl Cost {
    /// A line for people.
    pub fn line(&self, place: &str) -> String {
        format!(
            "{:26} {:>7} bytes  {:>14}  median {:8.1} us (p10 {:.1}, p90 {:.1}), mean {:8.1} us per validation ({place})",
            self.name, self.bytes, self.verdict, self.median_us, self.p10_us, self.p90_us, self.mean_us
        )
    }

    /// A tab-separated line: what the guest prints for the native runner.
    pub fn tsv(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.name, self.bytes, self.verdict, self.median_us, self.p10_us, self.p90_us, self.mean_us
        )
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub fn from_tsv(line: &str) -> Option<Cost> {
        let mut fields = line.split('\t');
        let mut next = || fields.next();
        Some(Cost {
            name: next()?.to_string(),
            bytes: next()?.parse().ok()?,
            verdict: next()?.to_string(),
            median_us: next()?.parse().ok()?,
            p10_us: next()?.parse().ok()?,
            p90_us: next()?.parse().ok()?,
            mean_us: next()?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cost_survives_its_tsv_line() {
        let document = Document {
            name: "fixture pdf".into(),
            bytes: doc_fixtures::pdf(),
        };
        let cost = measure(&document, 3);
        let back = Cost::from_tsv(&cost.tsv()).expect("parsed");
        assert_eq!(
            (back.name.as_str(), back.bytes, back.verdict.as_str()),
            ("fixture pdf", cost.bytes, "pdf")
        );
        assert_eq!(back.median_us, cost.median_us);
        assert!(Cost::from_tsv("fixture pdf\tnot a number\tpdf\t1\t1\t1\t1").is_none());
    }
}
