//! The component's settings are written once, in `config::KNOBS` (name,
//! default, bounds); the README's table (by variable name) and the Makefile's
//! list of per-run overrides (by setting name) are copies this test holds to
//! it, and says what to write when they drift. (`tests/all/spin_manifest.rs`
//! holds the manifests to it.)

use doc_core::config::{variable_name, Knob, DEFAULT_UPSTREAM_URL, KNOBS, UPSTREAM_URL};

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Bounds as the README writes them: whole KiB and MiB by unit.
fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => n.to_string(),
    }
}

fn readme_row_start(knob: &Knob) -> String {
    format!(
        "| `{}` | {} | {}–{} |",
        knob.variable_name(),
        knob.default,
        size(knob.min),
        size(knob.max)
    )
}

#[test]
fn the_readme_table_is_the_knobs() {
    let readme = repo_file("README.md");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| variable | default | bounds | meaning |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    let upstream = format!("| `{}` | `{DEFAULT_UPSTREAM_URL}` |", variable_name(UPSTREAM_URL));
    assert!(
        rows.first().is_some_and(|r| r.starts_with(&upstream)),
        "first row: {upstream}"
    );
    assert_eq!(rows.len(), KNOBS.len() + 1, "one row per knob, after upstream_url's");
    for (row, knob) in rows[1..].iter().zip(KNOBS) {
        let expected = readme_row_start(knob);
        assert!(
            row.starts_with(&expected),
            "README row for {}: write {expected}\n found {row}",
            knob.name
        );
    }
}

#[test]
fn the_makefile_passes_every_knob_through() {
    let makefile = repo_file("Makefile");
    let line = makefile
        .lines()
        .find(|l| l.starts_with("COMPONENT_SETTINGS :="))
        .expect("the Makefile defines COMPONENT_SETTINGS");
    let names: Vec<&str> = KNOBS.iter().map(|k| k.name).collect();
    let expected = format!("COMPONENT_SETTINGS := {}", names.join(" "));
    assert_eq!(line, expected);
}
