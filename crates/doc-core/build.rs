//! Finds the real upstream's files (`../shared/upstream` beside the repository,
//! or `DOC_PROXY_SHARED_UPSTREAM`) at build time, so the tests that read them
//! run when they exist and show as ignored, with the reason, when they do not,
//! instead of passing without having checked anything.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_upstream)");
    println!("cargo::rerun-if-env-changed=DOC_PROXY_SHARED_UPSTREAM");
    let dir = std::env::var_os("DOC_PROXY_SHARED_UPSTREAM")
        .map(PathBuf::from)
        // Read when the script runs, not when it is compiled: cargo may reuse a
        // build script compiled in another checkout, whose path would stick.
        .or_else(|| {
            std::env::var_os("CARGO_MANIFEST_DIR").map(|dir| PathBuf::from(dir).join("../../../shared/upstream"))
        })
        .expect("cargo sets CARGO_MANIFEST_DIR for build scripts");
    let probe = dir.join("dummy.pdf");
    println!("cargo::rerun-if-changed={}", probe.display());
    if probe.is_file() {
        println!("cargo::rustc-cfg=shared_upstream");
        println!("cargo::rustc-env=DOC_PROXY_SHARED_DIR={}", dir.display());
    }
}
