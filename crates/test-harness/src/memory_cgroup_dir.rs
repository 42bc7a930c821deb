// The memory cgroup this process runs in, as a directory under /sys/fs/cgroup,
// and whether it is cgroup v2. Shared by tests/build.rs (which decides whether
// the real-cgroup tests can run here) and the test harness (which makes
// a child cgroup there); `include!`d by build.rs, so it uses only std and the
// host's own /proc/self/cgroup parser, included here.

include!("../../../host/src/ops/cgroup_path.rs");

/// `(directory, is_v2)` of this process's memory cgroup, when one is mounted:
/// the v1 memory hierarchy if there is one, else the unified hierarchy.
pub fn own_memory_cgroup_dir() -> Option<(std::path::PathBuf, bool)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let root = std::path::Path::new("/sys/fs/cgroup");
    if let Some(path) = own_cgroup_path(&own, false) {
        return Some((root.join("memory").join(path), false));
    }
    let path = own_cgroup_path(&own, true)?;
    root.join("cgroup.controllers")
        .exists()
        .then(|| (root.join(path), true))
}
