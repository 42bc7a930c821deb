//! Decides at build time what this machine lets the system tests use, so tests that
//! need it run where it exists and show as ignored, with the reason, elsewhere,
//! instead of passing without having checked anything:
//! - a memory cgroup of their own (root, a writable cgroup filesystem), for the
//!   tests that run the host under a real kernel memory limit;
//! - `prometheus` and `promtool` on the PATH (Debian's `prometheus` package,
//!   which `.ci/run` installs), for the observability tests.

include!("../crates/test-harness/src/memory_cgroup_dir.rs");

fn main() {
    println!("cargo::rustc-check-cfg=cfg(prometheus_tools)");
    println!("cargo::rerun-if-env-changed=PATH");
    if ["prometheus", "promtool"].iter().all(|tool| on_path(tool)) {
        println!("cargo::rustc-cfg=prometheus_tools");
    }

    println!("cargo::rustc-check-cfg=cfg(memory_cgroup)");
    println!("cargo::rerun-if-changed=../crates/test-harness/src/memory_cgroup_dir.rs");
    // Included by the file above.
    println!("cargo::rerun-if-changed=../host/src/ops/cgroup_path.rs");
    let Some((dir, v2)) = own_memory_cgroup_dir() else {
        return;
    };
    let probe = dir.join(format!("doc-proxy-build-probe-{}", std::process::id()));
    if std::fs::create_dir(&probe).is_ok() {
        let limit_file = if v2 { "memory.max" } else { "memory.limit_in_bytes" };
        let usable = probe.join(limit_file).exists();
        let _ = std::fs::remove_dir(&probe);
        if usable {
            println!("cargo::rustc-cfg=memory_cgroup");
        }
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}
