//! make bench's measure of validation alone: what `doc_core::validate` costs per
//! document natively, and (`--beside-guest`) inside its own wasm32-wasip2
//! build on the host's engine, in alternating rounds, with the ratio per round.
//!
//! ```text
//! validate-cost [ITERATIONS]                         native (in the guest: the guest's)
//! validate-cost --tsv [ITERATIONS]                   the same as tab-separated lines
//! validate-cost --beside-guest WASM [ITERATIONS] [ROUNDS]   native and guest side by side
//! ```
//!
//! With `VALIDATE_COST_VARIANT=other.wasm` (another build, a lever) or
//! `=portable` (the image's x86-64-v2 code), a third column and its ratio to
//! the guest; `VALIDATE_COST_PERFMAP=1` names guest frames for `perf`.

mod measure;

#[cfg(not(target_arch = "wasm32"))]
mod in_guest;

use measure::{documents, measure, shared_upstream};

fn number(arg: Option<&String>, default: u32) -> u32 {
    arg.and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shared = shared_upstream();
    match args.first().map(String::as_str) {
        Some("--tsv") => {
            for document in documents(&shared) {
                println!("{}", measure(&document, number(args.get(1), 2_000)).tsv());
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        Some("--beside-guest") => {
            let Some(wasm) = args.get(1) else {
                eprintln!("usage: validate-cost --beside-guest WASM [ITERATIONS] [ROUNDS]");
                std::process::exit(2);
            };
            if let Err(e) = beside_guest(wasm.as_ref(), number(args.get(2), 500), number(args.get(3), 3), &shared) {
                eprintln!("validate-cost: {e:#}");
                std::process::exit(1);
            }
        }
        _ => {
            let place = if cfg!(target_arch = "wasm32") {
                "guest"
            } else {
                "native"
            };
            for document in documents(&shared) {
                println!("{}", measure(&document, number(args.first(), 2_000)).line(place));
            }
        }
    }
}

/// Rounds of: every document natively, then every document in the guest (and
/// in the variant's guest, when `VALIDATE_COST_VARIANT` names another build of
/// this program or says `portable`: a lever). A ratio is taken per round (its two sides ran
/// seconds apart), and its median over rounds is the figure.
#[cfg(not(target_arch = "wasm32"))]
fn beside_guest(wasm: &std::path::Path, iterations: u32, rounds: u32, shared: &std::path::Path) -> anyhow::Result<()> {
    let perfmap = std::env::var_os("VALIDATE_COST_PERFMAP").is_some();
    let guest = in_guest::Guest::load(wasm, perfmap, false)?;
    // The variant is another build of this program, or (`portable`) this one
    // compiled for the image's CPU level instead of this machine's.
    let variant = match std::env::var("VALIDATE_COST_VARIANT") {
        Ok(portable) if portable == "portable" => Some(in_guest::Guest::load(wasm, perfmap, true)?),
        Ok(path) => Some(in_guest::Guest::load(path.as_ref(), perfmap, false)?),
        Err(_) => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let documents = documents(shared);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); documents.len()];
    let mut variant_ratios: Vec<Vec<f64>> = vec![Vec::new(); documents.len()];
    for round in 1..=rounds.max(1) {
        let native: Vec<_> = documents.iter().map(|d| measure(d, iterations)).collect();
        let in_guest = runtime.block_on(guest.measure(iterations, shared))?;
        let in_variant = match &variant {
            Some(variant) => Some(runtime.block_on(variant.measure(iterations, shared))?),
            None => None,
        };
        for (i, (n, g)) in native.iter().zip(&in_guest).enumerate() {
            anyhow::ensure!(
                n.name == g.name,
                "the guest measured {} where {} was expected",
                g.name,
                n.name
            );
            anyhow::ensure!(
                n.verdict == g.verdict,
                "{}: {} natively, {} in the guest",
                n.name,
                n.verdict,
                g.verdict
            );
            let ratio = g.median_us / n.median_us;
            ratios[i].push(ratio);
            print!(
                "round {round}  {:24} native median {:8.1} us (p10 {:7.1})  guest median {:8.1} us (p10 {:7.1})  guest/native {ratio:5.2}x",
                n.name, n.median_us, n.p10_us, g.median_us, g.p10_us
            );
            if let Some(v) = in_variant.as_ref().and_then(|costs| costs.get(i)) {
                anyhow::ensure!(
                    v.name == n.name && v.verdict == n.verdict,
                    "{}: the variant's verdict is {}",
                    n.name,
                    v.verdict
                );
                let lever = v.median_us / g.median_us;
                variant_ratios[i].push(lever);
                print!("  variant median {:8.1} us  variant/guest {lever:5.2}x", v.median_us);
            }
            println!();
        }
    }
    for (i, document) in documents.iter().enumerate() {
        println!(
            "validation in the guest / native, {:24} {}",
            document.name,
            summary(&mut ratios[i])
        );
        if variant.is_some() {
            println!(
                "the variant / the guest,          {:24} {}",
                document.name,
                summary(&mut variant_ratios[i])
            );
        }
    }
    Ok(())
}

/// "median 1.23x (rounds: ...)" of per-round ratios.
#[cfg(not(target_arch = "wasm32"))]
fn summary(per_round: &mut [f64]) -> String {
    let listed: Vec<String> = per_round.iter().map(|r| format!("{r:.2}")).collect();
    per_round.sort_by(f64::total_cmp);
    format!(
        "median {:5.2}x (rounds: {})",
        per_round[per_round.len() / 2],
        listed.join(", ")
    )
}
