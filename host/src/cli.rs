//! Command-line flags and their environment variables. Every timeout and limit
//! the host enforces is declared here, with its default and its reason.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serves `wasi:http` components (WASI 0.2's `incoming-handler` and 0.3's
/// `handler`) over HTTP, with
/// Prometheus metrics, health endpoints, outbound allow-lists, limits,
/// live reload and graceful drain.
///
/// Without a subcommand it serves the app of `--manifest` (a Spin manifest),
/// or the one `--component` on every path; `compile` and `probe` are the
/// two helpers a container image needs (ahead-of-time compilation at build
/// time, and a health check without a shell or curl).
#[derive(Debug, Clone, Parser)]
#[command(name = "doc-proxy-host", version, args_override_self = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Without `--manifest`, the component to serve on every path: a `.wasm`
    /// file exporting `wasi:http/incoming-handler@0.2.x` or
    /// `wasi:http/handler@0.3.x` (compiled at start, or taken from the
    /// compile cache), or a `.cwasm` made by `doc-proxy-host compile` (loaded as
    /// is; refused when another wasmtime version or engine setting made it).
    #[arg(long, env = "COMPONENT", default_value = "target/wasm32-wasip2/wasm/doc_proxy.wasm")]
    pub component: PathBuf,

    /// A Spin manifest (`spin.toml`, version 2) to serve instead of
    /// `--component`: its routes, components, allow-lists, environment and
    /// variables (README, "One manifest for Spin and this host"). Read again
    /// at every reload.
    #[arg(long, env = "MANIFEST", conflicts_with = "component")]
    pub manifest: Option<PathBuf>,

    /// Public listener. Port 0 picks a free port; the bound address is logged.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Admin listener: /metrics, /livez, /readyz, for probes and scrapers.
    /// Kept apart so it is never exposed with the public port; nothing on it
    /// changes the host.
    #[arg(long, env = "ADMIN_ADDR", default_value = "127.0.0.1:9090")]
    pub admin_addr: SocketAddr,

    /// Control listener: `POST /admin/reload`. Loopback addresses only (the
    /// host refuses to start otherwise), so whoever can reach the admin port
    /// from outside cannot reload. The default port 0 picks a free one (the
    /// bound address is logged), so hosts sharing a network namespace never
    /// collide; `make run` uses 9091. SIGHUP reloads too.
    #[arg(long, env = "CONTROL_ADDR", default_value = "127.0.0.1:0")]
    pub control_addr: SocketAddr,

    // The four flags below configure `--component`'s one component (its
    // manifest, in effect). With `--manifest` the manifest says all of it, so
    // they are refused there: one configuration path, and no setting of one
    // component leaks into another.
    /// With `--component`: the upstream the component talks to, given to it
    /// as the variable `upstream_url` and the environment variable
    /// `UPSTREAM_URL`; its authority is allowed outbound.
    #[arg(long)]
    pub upstream_url: Option<String>,

    /// With `--component`: more outbound destinations it may reach, as
    /// `host:port` (repeatable). Everything not listed is denied.
    #[arg(long = "allow-outbound", value_delimiter = ',')]
    pub allow_outbound: Vec<String>,

    /// With `--component`: its environment, `KEY=VALUE`, or `KEY` to copy the
    /// host's value when it is set (repeatable, like `wasmtime serve --env`).
    #[arg(long = "env", short = 'e')]
    pub env: Vec<String>,

    /// With `--component`: a component variable, `name=value` (repeatable),
    /// read through `wasi:config/store` or Spin's variables interfaces, as a
    /// manifest's `[component.X.variables]` would give it.
    #[arg(long = "variable")]
    pub variables: Vec<String>,

    /// Outbound TCP connect timeout (the component may ask for less, never more).
    #[arg(long, env = "OUTBOUND_CONNECT_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration)]
    pub outbound_connect_timeout: Duration,

    /// Outbound wait for the response headers (wasmtime's default is 600 s).
    #[arg(long, env = "OUTBOUND_FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub outbound_first_byte_timeout: Duration,

    /// Outbound wait between two body chunks.
    #[arg(long, env = "OUTBOUND_BETWEEN_BYTES_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub outbound_between_bytes_timeout: Duration,

    /// Idle keep-alive connections kept per outbound host.
    #[arg(long, env = "OUTBOUND_MAX_IDLE_PER_HOST", default_value_t = 64)]
    pub outbound_max_idle_per_host: usize,

    /// Largest read buffer of one outbound connection (8KiB–1MiB). hyper
    /// grows a buffer while reads fill it and a pooled connection keeps it:
    /// a larger cap reads big bodies in fewer chunks and holds more memory
    /// per idle connection.
    #[arg(long, env = "OUTBOUND_READ_BUFFER_BYTES", default_value = "16KiB", value_parser = parse_read_buffer)]
    pub outbound_read_buffer_bytes: u64,

    /// Consecutive failed calls to a destination (no connection, no response
    /// head in time, or a 5xx) that open its circuit breaker: calls then fail at
    /// once, and components answer 503 + Retry-After. 0 turns it off.
    #[arg(long, env = "BREAKER_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub breaker_failures: u32,

    /// How long an open breaker refuses calls before it lets one probe through.
    /// Short, because there is one upstream: while it is open nothing is
    /// served, so this is also the outage added after the upstream recovers.
    #[arg(long, env = "BREAKER_OPEN_FOR", default_value = "1s", value_parser = humantime::parse_duration)]
    pub breaker_open_for: Duration,

    /// Retries allowed per first attempt, per destination, over the window
    /// (0.2: retries add at most 20% to the upstream's load, plus the floor).
    #[arg(long, env = "RETRY_BUDGET_RATIO", default_value_t = 0.2, value_parser = parse_ratio)]
    pub retry_budget_ratio: f64,

    /// Retries allowed per second whatever the first attempts, so a quiet
    /// service still retries.
    #[arg(long, env = "RETRY_BUDGET_MIN_PER_SECOND", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub retry_budget_min_per_second: u32,

    /// The sliding window over which the retry budget counts attempts.
    #[arg(long, env = "RETRY_BUDGET_WINDOW", default_value = "10s", value_parser = parse_window)]
    pub retry_budget_window: Duration,

    /// Bytes of linear memory (and of tables) each pooled instance slot keeps
    /// mapped when its instance ends, zeroed with memset, instead of handing
    /// them back with madvise (wasmtime's default, 0), whose TLB shootdowns
    /// and page faults cost more than the zeroing. Our component spans about
    /// 384 KiB serving a document, so 1 MiB covers it whole
    /// (docs/performance.md). Counted in the memory plan for the slots beyond
    /// concurrency; at most the instance memory.
    #[arg(long, env = "POOL_KEEP_RESIDENT", default_value = "1MiB", value_parser = crate::memory::parse_size)]
    pub pool_keep_resident: u64,

    /// Write /tmp/perf-PID.map as components are loaded, so `perf report`
    /// names guest functions (`make profile`). For profiling only.
    #[arg(long, env = "PERFMAP")]
    pub perfmap: bool,

    /// Validated upstream bodies remembered by SHA-256, so components that
    /// speak the verdict-cache protocol (docs/verdict-cache.md) check each
    /// distinct document once. About 100 bytes per entry; 0 turns it off.
    #[arg(long, env = "VERDICT_CACHE_ENTRIES", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(0..=262_144))]
    pub verdict_cache_entries: u32,

    /// A request (guest work and response body) is cut off after this long.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Requests served at once, at most; `--guest-memory-budget` may allow
    /// fewer. More get 503 + Retry-After instead of queueing. Also sizes the
    /// instance pool.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_requests: u32,

    /// Largest request head (request line + headers) accepted; larger gets 431.
    /// hyper's floor is 8 KiB.
    #[arg(long, env = "MAX_REQUEST_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_request_header_bytes: u32,

    /// Largest request body passed to the component (bytes, or `1MiB`). A larger
    /// `Content-Length` gets 413 at once; a chunked body gets 413 as soon as it
    /// passes the limit.
    #[arg(long, env = "MAX_REQUEST_BODY_BYTES", default_value = "1MiB", value_parser = crate::memory::parse_size)]
    pub max_request_body_bytes: u64,

    /// Time a client has to send its whole request body. Bodies are received
    /// by the host before a concurrency slot is taken, so a slow client holds
    /// only its connection; past this it gets 408.
    #[arg(long, env = "REQUEST_BODY_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub request_body_timeout: Duration,

    /// Request bodies held in memory at once, all requests together (each
    /// reserves its `Content-Length`, or `--max-request-body-bytes` when
    /// chunked). A request whose body does not fit now gets 503.
    #[arg(long, env = "REQUEST_BODY_BUFFER_BYTES", default_value = "16MiB", value_parser = crate::memory::parse_size)]
    pub request_body_buffer_bytes: u64,

    /// Time a client has to send the request head.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// A client that reads nothing of its response for this long is cut off:
    /// the connection closes and the request's instance and body are freed
    /// (`--request-timeout` ends when the component has answered; this covers
    /// the sending). A slow reader that keeps reading is not affected.
    #[arg(long, env = "CLIENT_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub client_write_timeout: Duration,

    /// Client connections open at once on the public listener; past it a new
    /// connection is closed as soon as it is accepted (counted in
    /// `http_connections_refused_total`). With the send buffer, this bounds
    /// what the kernel holds for clients (in the memory plan).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// `SO_SNDBUF` of every client connection: response bytes the kernel may
    /// queue for a client that does not read (Linux reserves twice this; the
    /// memory plan counts it so). 4KiB-4MiB.
    #[arg(long, env = "CLIENT_SEND_BUFFER_BYTES", default_value = "64KiB", value_parser = parse_send_buffer)]
    pub client_send_buffer_bytes: u64,

    /// Linear memory one instance may hold, all its memories together. A guest
    /// that asks for more gets a failed `memory.grow` (a Rust guest aborts: 500
    /// for that request only). Bytes, or with a unit: `64MiB`.
    #[arg(long, env = "MAX_INSTANCE_MEMORY_BYTES", default_value = "64MiB", value_parser = crate::memory::parse_size)]
    pub max_instance_memory_bytes: u64,

    /// All instances' linear memory together. Concurrency is
    /// `min(--max-concurrent-requests, budget / --max-instance-memory-bytes)`;
    /// requests beyond it get 503 + Retry-After, so hostile documents cannot
    /// push the process past its worst case (logged at start).
    #[arg(long, env = "GUEST_MEMORY_BUDGET", default_value = "2GiB", value_parser = crate::memory::parse_size)]
    pub guest_memory_budget: u64,

    /// The host's own memory besides guest linear memory: code, the compiled
    /// component, the runtime, connections and body buffers at full
    /// concurrency. Measured (README, "Memory"); the start-up check adds it to
    /// the budget and compares with the container's limit.
    #[arg(long, env = "HOST_MEMORY_OVERHEAD", default_value = "96MiB", value_parser = crate::memory::parse_size)]
    pub host_memory_overhead: u64,

    /// Where the cgroup filesystem is mounted: the start-up check reads the
    /// memory limit from it (`memory.max`, or cgroup v1's
    /// `memory/memory.limit_in_bytes`).
    #[arg(long, env = "CGROUP_ROOT", default_value = "/sys/fs/cgroup", hide = true)]
    pub cgroup_root: PathBuf,

    /// Component stderr/stdout re-emitted per request at most; the rest is dropped
    /// with one notice, so a chatty guest cannot flood the logs.
    #[arg(long, env = "GUEST_LOG_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub guest_log_limit_bytes: usize,

    /// Component log lines below this severity are dropped (a JSON line's
    /// `level` field sets its severity; plain stderr counts as a warning).
    #[arg(long, env = "GUEST_LOG_LEVEL", value_enum, default_value_t = GuestLogLevel::Info)]
    pub guest_log_level: GuestLogLevel,

    /// Reload the app when the manifest or a component's file changes (size
    /// or modification time), checked this often; 0 turns watching off.
    /// SIGHUP and `POST /admin/reload` reload it whatever this is.
    #[arg(long, env = "WATCH_INTERVAL", default_value = "0s", value_parser = humantime::parse_duration)]
    pub watch_interval: Duration,

    /// Pass the component's `Server-Timing` header on to clients. By default
    /// the host reads it into metrics (`server_timing_*`, docs/metrics.md) and
    /// strips it: it tells how upstream attempts ended, which is for operators.
    #[arg(long, env = "EXPOSE_SERVER_TIMING")]
    pub expose_server_timing: bool,

    /// On SIGTERM/SIGINT readiness fails at once, but the host keeps accepting
    /// and serving for this long: Kubernetes removes a terminating pod from its
    /// Service endpoints asynchronously, so new connections keep arriving for a
    /// few seconds. Responses in this phase carry `Connection: close`, which moves
    /// keep-alive clients to other pods. `make run` uses 0.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,

    /// After the shutdown delay: stop accepting, close idle keep-alive
    /// connections, and give in-flight requests this long to finish. A second
    /// SIGINT or SIGTERM exits at once.
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Where compiled components are cached (keyed by content hash and engine).
    /// Defaults to `$XDG_CACHE_HOME/doc-proxy` or `~/.cache/doc-proxy`.
    #[arg(long, env = "COMPILE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile at every start instead of using the cache.
    #[arg(long, env = "NO_COMPILE_CACHE")]
    pub no_cache: bool,

    /// Log filter, in `tracing` EnvFilter syntax (`info`, `warn`,
    /// `doc_proxy_host=debug`). Without it, `RUST_LOG` is used, then `info`.
    #[arg(long, env = "LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Log lines queued for the writer thread; when the log output cannot keep
    /// up and the queue is full, lines are dropped and counted
    /// (`log_lines_dropped_total`) rather than stalling requests.
    #[arg(long, env = "LOG_QUEUE_LINES", default_value_t = 8192, value_parser = clap::value_parser!(u32).range(16..=1_048_576))]
    pub log_queue_lines: u32,
}

/// Helpers that run instead of the server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Compile a component ahead of time into a `.cwasm` the host loads without
    /// Cranelift. Code is generated for x86-64-v2 (not this machine's CPU), so
    /// an image built in CI runs on any node. The wasmtime version and engine
    /// settings are recorded in the file; a host that differs refuses it.
    Compile {
        /// The component (`.wasm`).
        input: PathBuf,
        /// Where to write the precompiled component.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// GET a URL on this machine and exit 0 on a 2xx answer, 1 otherwise: a
    /// health check for images with no shell and no curl (Docker `HEALTHCHECK`).
    Probe {
        /// An `http://` URL, e.g. `http://127.0.0.1:9090/readyz`.
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

/// Minimum severity of re-emitted component log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestLogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl GuestLogLevel {
    /// The rank of [`crate::logging::severity_rank`].
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl Args {
    /// The compile cache directory, unless caching is off or no home is known.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|base| base.join("doc-proxy"))
        })
    }

    /// The host's log filter: `--log-level`/`LOG_LEVEL`, else `RUST_LOG`, else `info`.
    pub fn log_filter(&self) -> String {
        self.log_level
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "info".to_string())
    }

    /// `--component`'s environment: `UPSTREAM_URL` (if given) and each `--env`.
    pub fn guest_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(url) = &self.upstream_url {
            env.push(("UPSTREAM_URL".to_string(), url.clone()));
        }
        for item in &self.env {
            match item.split_once('=') {
                Some((k, v)) => env.push((k.to_string(), v.to_string())),
                None => {
                    if let Ok(v) = std::env::var(item) {
                        env.push((item.clone(), v));
                    }
                }
            }
        }
        env
    }

    /// `--component`'s variables: `upstream_url` (if given) and each
    /// `--variable`, names checked as Spin checks them.
    pub fn guest_variables(&self) -> Result<Vec<(String, String)>, String> {
        let mut variables = Vec::new();
        if let Some(url) = &self.upstream_url {
            variables.push(("upstream_url".to_string(), url.clone()));
        }
        for item in &self.variables {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("--variable {item:?}: expected name=value"))?;
            crate::manifest::check_variable_name(name).map_err(|e| format!("--variable {item:?}: {e}"))?;
            variables.retain(|(n, _)| n != name);
            variables.push((name.to_string(), value.to_string()));
        }
        Ok(variables)
    }

    /// The `--component`-only flags given with `--manifest`, by name.
    pub fn component_flags_with_manifest(&self) -> Vec<&'static str> {
        if self.manifest.is_none() {
            return Vec::new();
        }
        [
            ("--upstream-url", self.upstream_url.is_some()),
            ("--allow-outbound", !self.allow_outbound.is_empty()),
            ("--env", !self.env.is_empty()),
            ("--variable", !self.variables.is_empty()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// A retry budget ratio: a number from 0 (no retries beyond the floor) to 10.
fn parse_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=10.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(format!("{ratio} is outside 0..=10"))
    }
}

/// A retry budget window: 1 s to 10 min (it is counted in tenths).
fn parse_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if (Duration::from_secs(1)..=Duration::from_secs(600)).contains(&window) {
        Ok(window)
    } else {
        Err(format!("{text} is outside 1s..=10m"))
    }
}

/// A size in 8 KiB..=1 MiB: hyper refuses (panics on) a read buffer under its
/// 8 KiB minimum.
fn parse_read_buffer(text: &str) -> Result<u64, String> {
    let bytes = crate::memory::parse_size(text)?;
    if (8 * 1024..=1024 * 1024).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!("{text} is outside 8KiB..=1MiB"))
    }
}

/// A socket send buffer in 4 KiB..=4 MiB (Linux's floor and a sane ceiling).
fn parse_send_buffer(text: &str) -> Result<u64, String> {
    let bytes = crate::memory::parse_size(text)?;
    if (4 * 1024..=4 * 1024 * 1024).contains(&bytes) {
        Ok(bytes)
    } else {
        Err(format!("{text} is outside 4KiB..=4MiB"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::severity_rank;

    #[test]
    fn the_client_send_buffer_is_bounded() {
        assert_eq!(parse_send_buffer("64KiB"), Ok(64 * 1024));
        assert!(parse_send_buffer("1KiB").is_err());
        assert!(parse_send_buffer("8MiB").is_err());
    }

    #[test]
    fn the_outbound_read_buffer_is_bounded() {
        assert_eq!(parse_read_buffer("16KiB"), Ok(16 * 1024));
        assert_eq!(parse_read_buffer("8192"), Ok(8192));
        assert!(parse_read_buffer("8191").is_err());
        assert!(parse_read_buffer("2MiB").is_err());
    }

    #[test]
    fn retry_budget_flags_are_bounded() {
        assert_eq!(parse_ratio("0.2"), Ok(0.2));
        assert!(parse_ratio("-0.1").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_ratio("11").is_err());
        assert_eq!(parse_window("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_window("10ms").is_err());
        assert!(parse_window("1h").is_err());
    }

    #[test]
    fn guest_log_levels_rank_like_severities() {
        assert_eq!(GuestLogLevel::Debug.rank(), severity_rank("DEBUG"));
        assert_eq!(GuestLogLevel::Info.rank(), severity_rank("INFO"));
        assert_eq!(GuestLogLevel::Warn.rank(), severity_rank("WARNING"));
        assert_eq!(GuestLogLevel::Error.rank(), severity_rank("ERROR"));
    }

    #[test]
    fn guest_env_takes_pairs_and_copies_named_host_variables() {
        std::env::set_var("DOC_PROXY_CLI_TEST_VALUE", "7");
        let args = Args::parse_from([
            "doc-proxy-host",
            "--upstream-url",
            "http://up:3000",
            "--env",
            "A=1",
            "--env",
            "DOC_PROXY_CLI_TEST_VALUE",
            "--env",
            "DOC_PROXY_CLI_TEST_UNSET",
        ]);
        let env = args.guest_env();
        assert_eq!(
            env,
            vec![
                ("UPSTREAM_URL".to_string(), "http://up:3000".to_string()),
                ("A".to_string(), "1".to_string()),
                ("DOC_PROXY_CLI_TEST_VALUE".to_string(), "7".to_string()),
            ]
        );
    }

    #[test]
    fn component_variables_come_from_flags_and_are_checked() {
        let args = Args::parse_from([
            "doc-proxy-host",
            "--upstream-url",
            "http://up:3000",
            "--variable",
            "max_attempts=4",
            "--variable",
            "upstream_url=http://other:1",
        ]);
        assert_eq!(
            args.guest_variables().unwrap(),
            vec![
                ("max_attempts".to_string(), "4".to_string()),
                ("upstream_url".to_string(), "http://other:1".to_string()),
            ]
        );
        for bad in ["MAX=1", "no-equals", "4x=1"] {
            let args = Args::parse_from(["doc-proxy-host", "--variable", bad]);
            assert!(args.guest_variables().is_err(), "{bad}");
        }
    }

    #[test]
    fn component_flags_are_refused_beside_a_manifest() {
        let args = Args::parse_from([
            "doc-proxy-host",
            "--manifest",
            "spin.toml",
            "--env",
            "A=1",
            "--upstream-url",
            "http://u",
        ]);
        assert_eq!(args.component_flags_with_manifest(), vec!["--upstream-url", "--env"]);
        let args = Args::parse_from(["doc-proxy-host", "--env", "A=1"]);
        assert!(args.component_flags_with_manifest().is_empty());
    }
}
