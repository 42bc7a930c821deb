// The memory cgroup this process runs in, as a directory under /sys/fs/cgroup,
// and whether it is cgroup v2. Shared by host/build.rs (which decides whether
// the real-cgroup tests can run here) and the test support module (which makes
// a child cgroup there); `include!`d by both, so it uses only std.

/// `(directory, is_v2)` of this process's memory cgroup, when one is mounted.
pub fn own_memory_cgroup_dir() -> Option<(std::path::PathBuf, bool)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let root = std::path::Path::new("/sys/fs/cgroup");
    own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            Some((root.join("memory").join(path), false))
        } else if controllers.is_empty() && root.join("cgroup.controllers").exists() {
            Some((root.join(path), true))
        } else {
            None
        }
    })
}
