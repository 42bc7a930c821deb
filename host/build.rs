//! Build script: the wasmtime version the host embeds, read from the
//! workspace's Cargo.lock (the version actually compiled in), for the
//! `host_build_info` metric, so it never needs copying by hand.

use std::path::Path;

fn main() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = text
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"wasmtime\"\n"))
        .and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = ")))
        .map_or("unknown", |quoted| quoted.trim_matches('"'));
    println!("cargo:rustc-env=WASMTIME_VERSION={version}");
}
