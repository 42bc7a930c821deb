//! Decides at build time whether this machine lets the tests make a memory
//! cgroup of their own (root, a writable cgroup filesystem). The tests that run
//! the host under a real kernel memory limit then run; elsewhere (a CI runner
//! without the rights) they show as ignored, with the reason, instead of
//! passing without having checked anything.

include!("tests/support/memory_cgroup_dir.rs");

fn main() {
    println!("cargo::rustc-check-cfg=cfg(memory_cgroup)");
    println!("cargo::rerun-if-changed=tests/support/memory_cgroup_dir.rs");
    println!("cargo::rerun-if-changed=src/cgroup_path.rs");
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
