//! The operations wing's flags: the memory plan's inputs (concurrency, the
//! per-instance cap, the guest budget, the host's overhead) and the host's
//! own logs.

use std::path::PathBuf;

/// Concurrency and memory: the inputs of the memory plan (`ops::memory`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Concurrency and memory")]
pub struct MemoryFlags {
    /// Requests served at once, at most; `--guest-memory-budget` may allow
    /// fewer. More wait up to `--queue-timeout` for an instance, then get
    /// 503 + Retry-After. Also sizes the instance pool.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_requests: u32,

    /// Linear memory one instance may hold, all its memories together. A guest
    /// that asks for more gets a failed `memory.grow` (a Rust guest aborts: 500
    /// for that request only). Bytes, or with a unit: `64MiB`.
    #[arg(long, env = "MAX_INSTANCE_MEMORY_BYTES", default_value = "64MiB", value_parser = crate::ops::memory::parse_size)]
    pub max_instance_memory_bytes: u64,

    /// All instances' linear memory together. Concurrency is
    /// `min(--max-concurrent-requests, budget / --max-instance-memory-bytes)`;
    /// requests beyond it get 503 + Retry-After, so hostile documents cannot
    /// push the process past its worst case (logged at start;
    /// docs/configuration.md, "Memory").
    #[arg(long, env = "GUEST_MEMORY_BUDGET", default_value = "2GiB", value_parser = crate::ops::memory::parse_size)]
    pub guest_memory_budget: u64,

    /// The host's own memory besides guest linear memory: code, the compiled
    /// component, the runtime, connections and body buffers at full
    /// concurrency. Measured (docs/configuration.md, "Memory"); the start-up check adds it to
    /// the budget and compares with the container's limit.
    #[arg(long, env = "HOST_MEMORY_OVERHEAD", default_value = "96MiB", value_parser = crate::ops::memory::parse_size)]
    pub host_memory_overhead: u64,

    /// Bytes of linear memory (and of tables) each pooled instance slot keeps
    /// mapped when its instance ends, zeroed with memset, instead of handing
    /// them back with madvise (wasmtime's default, 0), whose TLB shootdowns
    /// and page faults cost more than the zeroing. Our component spans about
    /// 384 KiB serving a document, so 1 MiB covers it whole
    /// (docs/performance.md). Counted in the memory plan for the slots beyond
    /// concurrency; at most the instance memory.
    #[arg(long, env = "POOL_KEEP_RESIDENT", default_value = "1MiB", value_parser = crate::ops::memory::parse_size)]
    pub pool_keep_resident: u64,

    /// Where the cgroup filesystem is mounted: the start-up check reads the
    /// memory limit from it (`memory.max`, or cgroup v1's
    /// `memory/memory.limit_in_bytes`).
    #[arg(long, env = "CGROUP_ROOT", default_value = "/sys/fs/cgroup", hide = true)]
    pub cgroup_root: PathBuf,
}

/// The host's own logs.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Logs")]
pub struct LogFlags {
    /// Log filter, in `tracing` EnvFilter syntax (`info`, `warn`,
    /// `doc_proxy_host=debug`). Without it, `RUST_LOG` is used, then `info`
    /// (docs/logging.md).
    #[arg(long, env = "LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Log lines queued for the writer thread; when the log output cannot keep
    /// up and the queue is full, lines are dropped and counted
    /// (`log_lines_dropped_total`) rather than stalling requests.
    #[arg(long, env = "LOG_QUEUE_LINES", default_value_t = 8192, value_parser = clap::value_parser!(u32).range(16..=1_048_576))]
    pub log_queue_lines: u32,
}

impl LogFlags {
    /// The host's log filter: `--log-level`/`LOG_LEVEL`, else `RUST_LOG`, else `info`.
    pub fn filter(&self) -> String {
        self.log_level
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "info".to_string())
    }
}
