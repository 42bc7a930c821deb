//! Writes the generated part of `docs/reliability.md`: between its two marker
//! comments, the table of the last `make chaos` run. The prose around it is
//! written by hand.

use super::scenarios::Row;
use std::time::Duration;

const BEGIN: &str = "<!-- chaos:begin (written by make chaos) -->";
const END: &str = "<!-- chaos:end -->";

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn table(rows: &[Row], took: Duration) -> String {
    let mut out = format!(
        "Run of {} UTC on this machine ({} CPUs), {:.0} s, command `make chaos`.\n\n",
        std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    out.push_str("| scenario | pass criterion | requests | status mix | p50 ms | p99 ms | peak RSS MiB | result |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.scenario,
            row.criterion,
            row.summary.requests,
            row.summary.mix(),
            ms(row.summary.p50),
            ms(row.summary.p99),
            row.peak_rss >> 20,
            if row.passed() {
                "pass".to_string()
            } else {
                format!("**fail**: {}", row.failures.join("; "))
            }
        ));
    }
    out.push_str("\nFigures per scenario:\n\n");
    for row in rows {
        out.push_str(&format!("- {}: {}\n", row.scenario, row.figures));
    }
    out
}

/// Replaces the text between the markers of `docs/reliability.md`.
pub fn write(rows: &[Row], took: Duration) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/reliability.md");
    let doc = std::fs::read_to_string(&path).expect("docs/reliability.md exists");
    let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/reliability.md lacks the chaos markers");
    };
    let updated = format!("{}{BEGIN}\n{}{}", &doc[..begin], table(rows, took), &doc[end..]);
    std::fs::write(&path, updated).expect("writing docs/reliability.md");
}
