// Where this process sits in the cgroup hierarchy, read from the text of
// /proc/self/cgroup. Std only and without inner attributes, because besides
// being the host's module it is `include!`d by the system tests' build script
// and the test harness (through crates/test-harness/src/memory_cgroup_dir.rs).

/// The path, without its leading `/`, of this process's cgroup in the memory
/// controller's hierarchy: cgroup v1's line that lists `memory`, or, with
/// `v2`, the unified hierarchy's `0::` line.
pub fn own_cgroup_path(self_cgroup: &str, v2: bool) -> Option<&str> {
    self_cgroup.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let wanted = if v2 {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == "memory")
        };
        wanted.then(|| path.trim_start_matches('/'))
    })
}
