//! make bench's measure of validation alone: what `doc_core::validate` costs per
//! document natively, and (`--beside-guest`) inside its own wasm32-wasip2
//! build on the host's engine, in alternating rounds, with the ratio per round.
//!
//! ```text
//! validate-cost [ITERATIONS]                     native (in the guest: the guest's)
//! validate-cost --tsv [ITERATIONS]               the same as tab-separated lines
//! validate-cost --beside-guest WASM [ITERATIONS] [--rounds N] [--variant OTHER.wasm|portable] [--perfmap]
//! ```

mod measure;

#[cfg(not(target_arch = "wasm32"))]
mod in_guest;

use clap::Parser;
use measure::{documents, measure, shared_upstream};
use std::path::PathBuf;

/// What one validation costs per document: the fixtures, and the real
/// upstream's files when DOC_PROXY_SHARED_UPSTREAM (default: the
/// ../shared/upstream beside the repository) holds them.
#[derive(Parser)]
#[command(name = "validate-cost")]
struct Args {
    /// Validations per document (per round with --beside-guest).
    #[arg(default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Tab-separated lines, one per document: what the guest prints for the native runner.
    #[arg(long)]
    tsv: bool,
    /// This program's wasm32-wasip2 build: run it on the host's engine in rounds
    /// alternating with native validation, and print guest/native per document.
    #[arg(long, value_name = "WASM", conflicts_with = "tsv")]
    beside_guest: Option<PathBuf>,
    /// Rounds with --beside-guest; the figure is the median of per-round ratios.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), requires = "beside_guest")]
    rounds: u32,
    /// A lever measured beside the guest: another build of this program, or
    /// the same build compiled for a CPU level the image's `.cwasm` tiers are
    /// (`x86-64-v2`, also called `portable`, or `x86-64-v3`).
    #[arg(long, value_name = "OTHER.wasm|x86-64-v2|x86-64-v3", requires = "beside_guest")]
    variant: Option<String>,
    /// Write /tmp/perf-PID.map, so `perf report` names guest functions.
    #[arg(long, requires = "beside_guest")]
    perfmap: bool,
}

fn main() {
    let args = Args::parse();
    let shared = shared_upstream();
    if let Some(wasm) = &args.beside_guest {
        #[cfg(not(target_arch = "wasm32"))]
        let outcome = beside_guest(wasm, &args, &shared);
        #[cfg(target_arch = "wasm32")]
        let outcome = Err::<(), _>(format!("--beside-guest {} runs natively only", wasm.display()));
        if let Err(e) = outcome {
            eprintln!("validate-cost: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    let place = if cfg!(target_arch = "wasm32") {
        "guest"
    } else {
        "native"
    };
    for document in documents(&shared) {
        let cost = measure(&document, args.iterations);
        println!("{}", if args.tsv { cost.tsv() } else { cost.line(place) });
    }
}

/// Rounds of: every document natively, then every document in the guest (and
/// in the variant's guest, with `--variant`: a lever). A ratio is taken per
/// round (its two sides ran seconds apart), and its median over rounds is the
/// figure.
#[cfg(not(target_arch = "wasm32"))]
fn beside_guest(wasm: &std::path::Path, args: &Args, shared: &std::path::Path) -> anyhow::Result<()> {
    use doc_proxy_host::app::engine::CodeTarget;
    let guest = in_guest::Guest::load(wasm, args.perfmap, CodeTarget::Native)?;
    let variant = match args.variant.as_deref() {
        Some("portable") => Some(in_guest::Guest::load(wasm, args.perfmap, CodeTarget::Portable)?),
        Some(level) if level.parse::<CodeTarget>().is_ok() => {
            Some(in_guest::Guest::load(wasm, args.perfmap, level.parse().unwrap())?)
        }
        Some(other) => Some(in_guest::Guest::load(other.as_ref(), args.perfmap, CodeTarget::Native)?),
        None => None,
    };
    let iterations = args.iterations;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let documents = documents(shared);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); documents.len()];
    let mut variant_ratios: Vec<Vec<f64>> = vec![Vec::new(); documents.len()];
    for round in 1..=args.rounds {
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
                "round {round}  {:26} native median {:8.1} us (p10 {:7.1})  guest median {:8.1} us (p10 {:7.1})  guest/native {ratio:5.2}x",
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
            "validation in the guest / native, {:26} {}",
            document.name,
            summary(&mut ratios[i])
        );
        if variant.is_some() {
            println!(
                "the variant / the guest,          {:26} {}",
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
