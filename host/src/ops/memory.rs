//! The host's memory plan: how many instances may run at once so that all of
//! their linear memories together stay within `--guest-memory-budget`, and
//! whether that budget plus the host's own overhead fits the container's
//! memory limit (read from the cgroup). Pure arithmetic and file parsing, so it
//! is tested natively; `host` applies the plan, `app::state` enforces the
//! per-instance share.

use crate::ops::cgroup_path::own_cgroup_path;
use bytesize::ByteSize;
use std::path::Path;

/// What the host may use, derived from the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Instances (and so requests) served at once.
    pub concurrency: u32,
    /// Linear memory one instance may hold, all its memories together.
    pub per_instance: u64,
    /// The flag as given.
    pub budget: u64,
    /// The host's own memory besides guest linear memory (code, runtime,
    /// connections, buffers), as `--host-memory-overhead` states it.
    pub host_overhead: u64,
    /// Request bodies buffered at once (`--request-body-buffer-bytes`).
    pub body_buffer: u64,
    /// What each freed slot keeps: `--pool-keep-resident`, at most the
    /// instance memory (a slot never holds more).
    pub keep_resident: u64,
    /// What the kernel may queue for clients that do not read: every
    /// connection's send buffer, full ([`MemoryPlan::with_client_sockets`]).
    pub socket_buffers: u64,
    /// Host memory one instance can make the host hold outside its linear
    /// memory ([`instance_host_bytes`]): counted once per instance.
    pub instance_host: u64,
}

/// What one table entry (a handle and the small resource behind it) costs
/// the host, about.
pub const HANDLE_BYTES: u64 = 128;

/// What one instance may do that costs host memory, as the flags and the
/// factors bound it.
#[derive(Debug, Clone, Copy)]
pub struct InstanceHostUse {
    pub header_budget: u64,
    pub hostcall_bytes: u64,
    pub max_handles: u32,
    pub max_outbound: u32,
    /// What the host buffers of one body: two chunks.
    pub body_chunk: u64,
    /// An outbound connection's read buffer.
    pub read_buffer: u64,
    /// Its SQLite and service connections, and the largest result one
    /// store, database or service call may bring back.
    pub stores: u64,
}

/// What one instance can make the host hold outside its linear memory, at
/// most: its header budget, the bytes of one host call, its resource table
/// full, for its own response body and each outbound call in flight two body
/// chunks plus (for a call) the connection's read buffer, and its key-value
/// and SQLite use.
pub fn instance_host_bytes(usage: InstanceHostUse) -> u64 {
    usage.header_budget
        + usage.hostcall_bytes
        + u64::from(usage.max_handles) * HANDLE_BYTES
        + 2 * usage.body_chunk
        + u64::from(usage.max_outbound) * (2 * usage.body_chunk + usage.read_buffer)
        + usage.stores
}

impl MemoryPlan {
    /// Guest memory when every instance is at its limit.
    pub fn guest_worst_case(&self) -> u64 {
        u64::from(self.concurrency) * self.per_instance
    }

    /// Linear memory that idle pool slots keep mapped: each slot beyond
    /// `concurrency` can sit idle while every permit is in use (a busy
    /// slot's memory is in the guest worst case).
    pub fn pool_resident(&self) -> u64 {
        u64::from(pool_slots(self.concurrency) - self.concurrency) * self.keep_resident
    }

    /// The process's worst case: every instance full, every request body
    /// buffer full, every idle slot's kept memory, every client socket's send
    /// buffer full (the kernel charges it to the container), plus the host
    /// itself.
    pub fn worst_case(&self) -> u64 {
        self.guest_worst_case()
            + self.host_overhead
            + self.body_buffer
            + self.pool_resident()
            + self.socket_buffers
            + self.instances_host()
    }

    /// What every instance together can make the host hold outside their
    /// linear memories.
    pub fn instances_host(&self) -> u64 {
        u64::from(self.concurrency) * self.instance_host
    }

    /// The plan with each instance able to make the host hold `bytes`.
    pub fn with_instance_host(self, bytes: u64) -> Self {
        MemoryPlan {
            instance_host: bytes,
            ..self
        }
    }

    /// The plan with `connections` client sockets whose `SO_SNDBUF` is
    /// `send_buffer` (Linux reserves twice what is set, for its bookkeeping).
    pub fn with_client_sockets(self, connections: u64, send_buffer: u64) -> Self {
        MemoryPlan {
            socket_buffers: connections * 2 * send_buffer,
            ..self
        }
    }

    /// The plan with pool slots keeping `bytes` each when idle (cut to the
    /// instance memory).
    pub fn with_pool_resident(self, bytes: u64) -> Self {
        MemoryPlan {
            keep_resident: bytes.min(self.per_instance),
            ..self
        }
    }

    /// The plan with `bytes` of request bodies buffered at most.
    pub fn with_body_buffer(self, bytes: u64) -> Self {
        MemoryPlan {
            body_buffer: bytes,
            ..self
        }
    }
}

/// Instance slots in the pool for `concurrency` requests at once: one each,
/// plus headroom for instances still being torn down. Slots reserve address
/// space; what they hold is bounded per store and by the permits.
pub fn pool_slots(concurrency: u32) -> u32 {
    concurrency + concurrency / 8 + 8
}

/// Sizes concurrency from the budget: `min(max_concurrent, budget / per_instance)`.
/// A budget that cannot hold a single instance is an error naming the flags.
pub fn plan(max_concurrent: u32, per_instance: u64, budget: u64, host_overhead: u64) -> Result<MemoryPlan, String> {
    if per_instance == 0 {
        return Err("--max-instance-memory-bytes must be more than 0".into());
    }
    let fits = budget / per_instance;
    if fits == 0 {
        return Err(format!(
            "--guest-memory-budget ({}) cannot hold one instance of --max-instance-memory-bytes ({}); \
             raise the budget or lower the per-instance memory",
            show(budget),
            show(per_instance)
        ));
    }
    let concurrency = u32::try_from(fits).unwrap_or(u32::MAX).min(max_concurrent);
    Ok(MemoryPlan {
        concurrency,
        per_instance,
        budget,
        host_overhead,
        body_buffer: 0,
        keep_resident: 0,
        socket_buffers: 0,
        instance_host: 0,
    })
}

/// Refuses a plan whose worst case does not fit the container's limit.
pub fn check_fits(plan: &MemoryPlan, limit: Option<u64>) -> Result<(), String> {
    match limit {
        Some(limit) if plan.worst_case() > limit => Err(format!(
            "memory worst case {} ({} instances x ({} --max-instance-memory-bytes + {} of host memory each) + {} \
             --host-memory-overhead + {} --request-body-buffer-bytes + {} kept by idle pool slots + {} of client \
             socket buffers) exceeds the container's memory limit {}; lower --guest-memory-budget, \
             --max-instance-memory-bytes, --max-concurrent-requests, --guest-header-budget, \
             --max-outbound-per-request, --request-body-buffer-bytes, --pool-keep-resident, --max-connections or \
             --client-send-buffer-bytes, or raise the limit",
            show(plan.worst_case()),
            plan.concurrency,
            show(plan.per_instance),
            show(plan.instance_host),
            show(plan.host_overhead),
            show(plan.body_buffer),
            show(plan.pool_resident()),
            show(plan.socket_buffers),
            show(limit)
        )),
        _ => Ok(()),
    }
}

/// The memory limit of the cgroup this process runs in, if it has one:
/// `memory.max` on cgroup v2, `memory/memory.limit_in_bytes` on v1. "No limit"
/// (v2's `max`, v1's page-rounded `i64::MAX`) is `None`.
///
/// `self_cgroup` is `/proc/self/cgroup`. In a container the mount's root is
/// the container's own cgroup; elsewhere (a `systemd-run` scope, a cgroup made
/// by hand) the process sits below it, so the limit is looked up from the
/// process's own cgroup up to the root, and the smallest one found wins, as
/// the kernel enforces every ancestor's limit.
pub fn cgroup_limit(root: &Path, self_cgroup: &str) -> Option<u64> {
    let v2 = smallest_limit(
        root,
        own_cgroup_path(self_cgroup, true).unwrap_or_default(),
        "memory.max",
    );
    let v1 = || {
        let own = own_cgroup_path(self_cgroup, false).unwrap_or_default();
        smallest_limit(&root.join("memory"), own, "memory.limit_in_bytes")
    };
    v2.or_else(v1)?
}

/// The smallest limit in `file` from `root/own_path` up to `root`: `None` when
/// no such file exists, `Some(None)` when they all say "no limit".
fn smallest_limit(root: &Path, own_path: &str, file: &str) -> Option<Option<u64>> {
    let mut dir = root.join(own_path);
    let mut found = None;
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            let limit = parse_limit(&text);
            found = Some(match (found.flatten(), limit) {
                (Some(a), Some(b)) => Some(u64::min(a, b)),
                (a, b) => a.or(b),
            });
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            return found;
        }
    }
}

fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    // cgroup v1 writes "unlimited" as i64::MAX rounded down to a page.
    let bytes: u64 = text.parse().ok()?;
    (bytes < (1u64 << 62)).then_some(bytes)
}

/// `268435456` as `256.0 MiB`, for messages.
pub fn show(bytes: u64) -> String {
    ByteSize::b(bytes).display().iec().to_string()
}

/// Parses a size flag: plain bytes (`268435456`) or with a unit (`256MiB`, `1GiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{text:?} is not a size (use bytes, or a unit such as 256MiB or 1GiB): {e}"))
}

/// Parses a size flag that must lie within `min..=max` (an error names the
/// range in the units people write it in).
pub fn parse_size_within(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if (min..=max).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!("{text} is outside {}..={}", show(min), show(max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn concurrency_is_what_the_budget_holds_capped_by_the_flag() {
        let p = plan(256, 32 * MIB, 512 * MIB, 96 * MIB).unwrap();
        assert_eq!(p.concurrency, 16);
        assert_eq!(p.guest_worst_case(), 512 * MIB);
        assert_eq!(p.worst_case(), 608 * MIB);
        // A budget that is not a multiple rounds down, never up.
        assert_eq!(plan(256, 32 * MIB, 500 * MIB, 0).unwrap().concurrency, 15);
        // The concurrency flag still caps it.
        assert_eq!(plan(4, 32 * MIB, 512 * MIB, 0).unwrap().concurrency, 4);
    }

    #[test]
    fn a_budget_below_one_instance_is_refused_with_the_flag_names() {
        let e = plan(256, 64 * MIB, 32 * MIB, 0).unwrap_err();
        assert!(
            e.contains("--guest-memory-budget") && e.contains("--max-instance-memory-bytes"),
            "{e}"
        );
        assert!(plan(256, 0, 32 * MIB, 0).is_err());
    }

    #[test]
    fn a_worst_case_over_the_container_limit_is_refused() {
        let p = plan(256, 32 * MIB, 512 * MIB, 96 * MIB).unwrap();
        assert!(check_fits(&p, Some(608 * MIB)).is_ok());
        let e = check_fits(&p, Some(607 * MIB)).unwrap_err();
        assert!(
            e.contains("exceeds the container's memory limit") && e.contains("--host-memory-overhead"),
            "{e}"
        );
        // Buffered request bodies count too.
        let with_bodies = p.with_body_buffer(16 * MIB);
        assert_eq!(with_bodies.worst_case(), 624 * MIB);
        let e = check_fits(&with_bodies, Some(623 * MIB)).unwrap_err();
        assert!(e.contains("--request-body-buffer-bytes"), "{e}");
        assert!(check_fits(&p, None).is_ok());
    }

    #[test]
    fn memory_kept_by_idle_pool_slots_counts() {
        // 16 instances: 16 / 8 + 8 = 10 slots beyond them may sit idle.
        let p = plan(256, 32 * MIB, 512 * MIB, 96 * MIB).unwrap();
        assert_eq!(pool_slots(p.concurrency), 26);
        let kept = p.with_pool_resident(MIB);
        assert_eq!(kept.pool_resident(), 10 * MIB);
        assert_eq!(kept.worst_case(), 618 * MIB);
        let e = check_fits(&kept, Some(617 * MIB)).unwrap_err();
        assert!(e.contains("--pool-keep-resident"), "{e}");
        assert_eq!(p.with_pool_resident(0).worst_case(), p.worst_case());
        // A slot never keeps more than an instance may hold.
        let cut = p.with_pool_resident(64 * MIB);
        assert_eq!(cut.keep_resident, 32 * MIB);
        assert_eq!(cut.pool_resident(), 10 * 32 * MIB);
    }

    #[test]
    fn what_each_instance_makes_the_host_hold_counts_once_per_instance() {
        let p = plan(256, 32 * MIB, 512 * MIB, 96 * MIB).unwrap();
        let each = instance_host_bytes(InstanceHostUse {
            header_budget: 256 * 1024,
            hostcall_bytes: MIB,
            max_handles: 4096,
            max_outbound: 8,
            body_chunk: 64 * 1024,
            read_buffer: 16 * 1024,
            stores: 2 * MIB,
        });
        // 256 KiB + 1 MiB + 4096 x 128 B + 2 x 64 KiB + 8 x (2 x 64 KiB + 16 KiB) + 2 MiB
        assert_eq!(
            each,
            256 * 1024 + MIB + 512 * 1024 + 128 * 1024 + 8 * 144 * 1024 + 2 * MIB
        );
        let with_host = p.with_instance_host(each);
        assert_eq!(with_host.instances_host(), 16 * each);
        assert_eq!(with_host.worst_case(), p.worst_case() + 16 * each);
        let e = check_fits(&with_host, Some(p.worst_case())).unwrap_err();
        assert!(
            e.contains("of host memory each") && e.contains("--guest-header-budget"),
            "{e}"
        );
    }

    #[test]
    fn client_socket_buffers_count_twice_their_size() {
        let p = plan(256, 32 * MIB, 512 * MIB, 96 * MIB).unwrap();
        let with_sockets = p.with_client_sockets(128, 64 * 1024);
        assert_eq!(with_sockets.socket_buffers, 16 * MIB);
        assert_eq!(with_sockets.worst_case(), p.worst_case() + 16 * MIB);
        let e = check_fits(&with_sockets, Some(p.worst_case())).unwrap_err();
        assert!(
            e.contains("--max-connections") && e.contains("client socket buffers"),
            "{e}"
        );
    }

    #[test]
    fn cgroup_limits_are_read_from_v2_then_v1() {
        let dir = tempfile::tempdir().unwrap();
        let in_container = "0::/\n";
        assert_eq!(cgroup_limit(dir.path(), in_container), None);
        std::fs::create_dir(dir.path().join("memory")).unwrap();
        std::fs::write(dir.path().join("memory/memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), in_container), None, "v1 unlimited");
        std::fs::write(dir.path().join("memory/memory.limit_in_bytes"), "536870912\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), in_container), Some(512 * MIB));
        std::fs::write(dir.path().join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), in_container), None, "v2 wins over v1");
        std::fs::write(dir.path().join("memory.max"), "402653184\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), in_container), Some(384 * MIB));
    }

    #[test]
    fn the_process_own_cgroup_and_its_ancestors_are_read() {
        // v1: the process is in /app/worker of the memory hierarchy.
        let dir = tempfile::tempdir().unwrap();
        let v1 = "4:memory:/app/worker\n1:cpu,cpuacct:/other\n0::/\n";
        let worker = dir.path().join("memory/app/worker");
        std::fs::create_dir_all(&worker).unwrap();
        let unlimited = "9223372036854771712\n";
        std::fs::write(dir.path().join("memory/memory.limit_in_bytes"), unlimited).unwrap();
        std::fs::write(dir.path().join("memory/app/memory.limit_in_bytes"), unlimited).unwrap();
        std::fs::write(worker.join("memory.limit_in_bytes"), "268435456\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), v1), Some(256 * MIB), "its own cgroup");
        std::fs::write(dir.path().join("memory/app/memory.limit_in_bytes"), "134217728\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), v1), Some(128 * MIB), "a smaller parent wins");

        // v2: the same below the unified root.
        let dir = tempfile::tempdir().unwrap();
        let scope = dir.path().join("system.slice/run-1.scope");
        std::fs::create_dir_all(&scope).unwrap();
        std::fs::write(dir.path().join("system.slice/memory.max"), "max\n").unwrap();
        std::fs::write(scope.join("memory.max"), "402653184\n").unwrap();
        assert_eq!(
            cgroup_limit(dir.path(), "0::/system.slice/run-1.scope\n"),
            Some(384 * MIB)
        );
        // A path the mount does not show (a container without its own cgroup
        // namespace): the mount's root still counts.
        std::fs::write(dir.path().join("memory.max"), "536870912\n").unwrap();
        assert_eq!(cgroup_limit(dir.path(), "0::/kubepods/pod1/ctr\n"), Some(512 * MIB));
    }

    #[test]
    fn sizes_take_bytes_or_units() {
        assert_eq!(parse_size("268435456"), Ok(256 * MIB));
        assert_eq!(parse_size("256MiB"), Ok(256 * MIB));
        assert_eq!(parse_size("1 GiB"), Ok(1024 * MIB));
        assert!(parse_size("lots").is_err());
        assert_eq!(show(256 * MIB), "256.0 MiB");
    }
}
