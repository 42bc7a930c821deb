//! The component's settings are written once, in `config::KNOBS` (name,
//! default, bounds, meaning); the Makefile's list of per-run overrides (by
//! setting name) is a copy this test holds to it. (docs/configuration.md's
//! table is generated from it, and the manifests are held to it, by the
//! system tests: `tests/all/configuration_reference.rs`, `tests/all/spin_manifest.rs`.)

use doc_core::config::KNOBS;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
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
