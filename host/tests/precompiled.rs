//! The container image's two helpers: `doc-proxy-host compile` (ahead-of-time
//! compilation, so the image starts without Cranelift and writes nothing) and
//! `doc-proxy-host probe` (its health check, as the image has no curl).

use std::path::Path;
use std::process::{Command, Output};
use test_harness::{component, request, start_dummy_upstream, Host};

fn host_command(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(test_harness::host_binary())
        .args(args)
        .env_remove("COMPONENT")
        .output()
        .expect("the host binary runs")
}

fn compile(input: &Path, output: &Path) -> Output {
    host_command(&["compile".as_ref(), input.as_os_str(), "-o".as_ref(), output.as_os_str()])
}

#[tokio::test]
async fn a_precompiled_component_is_served_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("doc_proxy.cwasm");
    let out = compile(&component("doc_proxy"), &cwasm);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let url = format!("http://{}", upstream.public);
    // Other pool settings than `compile` used: they are not part of the code.
    let proxy = Host::start(
        &cwasm,
        &[
            "--upstream-url",
            &url,
            "--no-cache",
            "--max-concurrent-requests",
            "8",
            "--max-instance-memory-bytes",
            "67108864",
        ],
    );
    for id in 1..=20 {
        let reply = request(proxy.public, "GET", &format!("/{id}"), &[]).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    }
    let loaded = proxy
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "component loaded")
        .expect("a component loaded line");
    // Loading native code takes milliseconds; compiling takes hundreds.
    let load_ms = loaded["load_ms"].as_f64().unwrap();
    assert!(load_ms < 100.0, "loading the .cwasm took {load_ms} ms");
}

#[test]
fn a_component_precompiled_by_another_wasmtime_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("doc_proxy.cwasm");
    assert!(compile(&component("doc_proxy"), &cwasm).status.success());

    // The engine section starts with a format byte, then the length-prefixed
    // wasmtime major version ("48"): claim another one.
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let version = format!("\0\u{2}{}", wasmtime_major());
    let at: Vec<usize> = bytes
        .windows(version.len())
        .enumerate()
        .filter(|(_, w)| *w == version.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the engine section's version is found exactly once");
    bytes[at[0] + 3] ^= 1; // "48" -> "49"
    let tampered = dir.path().join("other.cwasm");
    std::fs::write(&tampered, bytes).unwrap();

    let out = host_command(&[
        "--component".as_ref(),
        tampered.as_os_str(),
        "--listen-addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--admin-addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("precompiled by another wasmtime version or with other engine settings")
            && stderr.contains("doc-proxy-host compile"),
        "{stderr}"
    );
}

/// The major version of the pinned wasmtime (workspace Cargo.toml).
fn wasmtime_major() -> String {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let table: toml::Table = manifest.parse().unwrap();
    let pinned = table["workspace"]["dependencies"]["wasmtime"]["version"]
        .as_str()
        .unwrap();
    let major = pinned.trim_start_matches('=').split('.').next().unwrap().to_string();
    assert_eq!(
        major.len(),
        2,
        "the version prefix this test builds assumes a two-digit major"
    );
    major
}

#[test]
fn compile_refuses_what_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("notes.wasm");
    std::fs::write(&not_wasm, b"not a component").unwrap();
    let out = compile(&not_wasm, &dir.path().join("out.cwasm"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("compiling component"));
    assert!(!dir.path().join("out.cwasm").exists(), "nothing is written on failure");
}

#[tokio::test]
async fn probe_exits_0_on_2xx_and_1_otherwise() {
    let host = start_dummy_upstream(&[]);
    let probe = |path: &str| {
        let url = format!("http://{}{path}", host.admin);
        host_command(&["probe".as_ref(), url.as_ref()]).status.code()
    };
    assert_eq!(probe("/readyz"), Some(0));
    assert_eq!(probe("/no-such-path"), Some(1));
    let closed = format!("http://127.0.0.1:{}/readyz", test_harness::closed_port());
    assert_eq!(
        host_command(&["probe".as_ref(), closed.as_ref()]).status.code(),
        Some(1)
    );
}

#[test]
fn the_compile_cache_serves_the_second_start_and_a_damaged_entry_is_compiled_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let start = || {
        let host = Host::start(
            &component("dummy_pdf_or_png"),
            &["--cache-dir", cache.to_str().unwrap()],
        );
        let loaded = host
            .log_lines()
            .into_iter()
            .find(|l| l["message"] == "component loaded")
            .expect("a component loaded line");
        loaded["from_cache"].as_bool().unwrap()
    };
    assert!(!start(), "an empty cache compiles");
    assert!(start(), "the second start loads from the cache");
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut code = std::fs::read(&entry).unwrap();
    let middle = code.len() / 2;
    code[middle] ^= 1;
    std::fs::write(&entry, code).unwrap();
    assert!(!start(), "a damaged entry is not loaded");
    assert!(start(), "and was written again");
}

fn compile_levels(input: &Path, output: &Path, levels: &str) -> Output {
    host_command(&[
        "compile".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
        "--levels".as_ref(),
        levels.as_ref(),
    ])
}

/// Whether this CPU has the x86-64-v3 features the faster tier is compiled
/// with.
fn cpu_has_x86_64_v3() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ["avx", "avx2", "bmi1", "bmi2", "fma", "lzcnt"]
            .iter()
            .all(|f| match *f {
                "avx" => std::arch::is_x86_feature_detected!("avx"),
                "avx2" => std::arch::is_x86_feature_detected!("avx2"),
                "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
                "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
                "fma" => std::arch::is_x86_feature_detected!("fma"),
                _ => std::arch::is_x86_feature_detected!("lzcnt"),
            })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Serves `code` in front of a clean upstream and answers the tier the host
/// loaded, after checking it answers.
async fn served_tier(code: &Path) -> String {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let url = format!("http://{}", upstream.public);
    let proxy = Host::start(code, &["--upstream-url", &url, "--no-cache"]);
    for id in 1..=10 {
        let reply = request(proxy.public, "GET", &format!("/{id}"), &[]).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    }
    let loaded = proxy
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "component loaded")
        .expect("a component loaded line");
    loaded["code_level"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tiered_code_runs_the_best_tier_this_cpu_has_and_falls_back_to_the_portable_one() {
    let dir = tempfile::tempdir().unwrap();
    let tiered = dir.path().join("doc_proxy.cwasm");
    let out = compile_levels(&component("doc_proxy"), &tiered, "x86-64-v3,x86-64-v2");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let best = if cpu_has_x86_64_v3() { "x86-64-v3" } else { "x86-64-v2" };
    assert_eq!(served_tier(&tiered).await, best);

    // A first tier this host cannot take (another wasmtime's, as above): the
    // next one is served.
    let bytes = std::fs::read(&tiered).unwrap();
    let tiers = doc_proxy_host::app::code_tiers::read(&bytes).unwrap().unwrap();
    assert_eq!(
        tiers.iter().map(|t| t.level).collect::<Vec<_>>(),
        ["x86-64-v3", "x86-64-v2"]
    );
    let mut unusable = tiers[0].code.to_vec();
    let version = format!("\0\u{2}{}", wasmtime_major());
    let at = unusable
        .windows(version.len())
        .position(|w| w == version.as_bytes())
        .expect("the engine section's version");
    unusable[at + 3] ^= 1;
    let patched = doc_proxy_host::app::code_tiers::bundle(&[
        doc_proxy_host::app::code_tiers::Tier {
            level: "x86-64-v3",
            code: &unusable,
        },
        tiers[1],
    ]);
    let fallback = dir.path().join("fallback.cwasm");
    std::fs::write(&fallback, patched).unwrap();
    assert_eq!(served_tier(&fallback).await, "x86-64-v2");

    // Cut short: refused at start, saying so.
    let cut = dir.path().join("cut.cwasm");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = host_command(&[
        "--component".as_ref(),
        cut.as_os_str(),
        "--listen-addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--admin-addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ends inside a tier"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
