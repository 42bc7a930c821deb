//! The app wing's flags: what to serve (`--manifest`, or `--component` with
//! the four flags that configure it as a manifest would), when to reload it,
//! where compiled code is cached, and how much of a component's output is
//! logged.

use crate::app::factors::{limits, outbound_http, sqlite};
use crate::app::manifest::{self, AppSpec, ComponentSpec};
use crate::app::source::AppSource;
use crate::outbound::allowed_hosts::AllowedHost;
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

/// What is served, and how it is loaded and reloaded.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "The app")]
pub struct AppFlags {
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

    /// With `--component`: let one instance serve up to this many requests,
    /// one after another, instead of a new instance per request, as a
    /// manifest's `instance_reuse` does (`app::reuse`; the largest lever on
    /// this engine's cost per request, `docs/performance.md`). Only for a
    /// component that keeps no request's state in its globals: Spin gives
    /// every request a fresh instance. 1 (the default) is a fresh instance
    /// per request.
    #[arg(long, env = "INSTANCE_REUSE", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::app::reuse::MAX_INSTANCE_REUSE)))]
    pub instance_reuse: u32,

    /// Reload the app when the manifest or a component's file changes (size
    /// or modification time), checked this often; 0 turns watching off.
    /// SIGHUP and `POST /admin/reload` reload it whatever this is. `make run`
    /// uses 1s.
    #[arg(long, env = "WATCH_INTERVAL", default_value = "0s", value_parser = humantime::parse_duration)]
    pub watch_interval: Duration,

    /// Where compiled components are cached (keyed by content hash and engine).
    /// Defaults to `$XDG_CACHE_HOME/doc-proxy` or `~/.cache/doc-proxy`. Used
    /// only when the directory is this user's and no one else may write to it
    /// (created 0700); each entry is checked against the SHA-256 recorded when
    /// it was written before it is loaded.
    #[arg(long, env = "COMPILE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile at every start instead of using the cache.
    #[arg(long, env = "NO_COMPILE_CACHE")]
    pub no_cache: bool,

    /// Where the app keeps its state, as `spin up` does: the `default`
    /// key-value store (`sqlite_key_value.db`) and SQLite database
    /// (`sqlite_db.db`). Defaults to `.spin` beside the manifest. Made only
    /// when a component is granted one of them.
    #[arg(long, env = "STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// A Spin runtime config file (TOML): `[key_value_store.NAME]` with
    /// `type = "spin"` and a `path`, or `type = "redis"` and a `url`;
    /// `[sqlite_database.NAME]` with `type = "spin"` and a `path`. Relative
    /// paths are from the state directory. Read at start.
    #[arg(long, env = "RUNTIME_CONFIG_FILE")]
    pub runtime_config_file: Option<PathBuf>,

    /// Component stderr/stdout re-emitted per request and stream at most,
    /// counting only lines that pass `--guest-log-level`; after the first line
    /// over it every later line is dropped, with one notice, so a chatty guest
    /// cannot flood the logs.
    #[arg(long, env = "GUEST_LOG_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub guest_log_limit_bytes: usize,

    /// Component log lines below this severity are dropped (a JSON line's
    /// `level` field sets its severity; plain stderr counts as a warning).
    #[arg(long, env = "GUEST_LOG_LEVEL", value_enum, default_value_t = GuestLogLevel::Info)]
    pub guest_log_level: GuestLogLevel,

    /// Write /tmp/perf-PID.map as components are loaded, so `perf report`
    /// names guest functions (`make profile`). For profiling only.
    #[arg(long, env = "PERFMAP")]
    pub perfmap: bool,

    /// After a reload swaps in a new version of a component, the host rolls
    /// the app back to the version before if this many of the new version's
    /// first requests all fail (trap, time out, exceed a budget, or answer no
    /// response); 0 turns roll-back off. Counted as
    /// `wasm_component_reloads_total{result="rolled_back"}`.
    #[arg(long, env = "ROLLBACK_AFTER_FAILURES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub rollback_after_failures: u32,
}

/// What one component may take of the host, per request: each bound here
/// is in the memory plan or keeps one component from starving the others
/// (`app::factors::limits`, `app::factors::outbound_http`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "What one component may take")]
pub struct GuestLimitFlags {
    /// Guest time one request may use (the time the runtime spends running
    /// its guest code), far below `--request-timeout`: a component that spins
    /// traps once it is spent (500 for that request), instead of holding a
    /// core until the request times out.
    #[arg(long, env = "REQUEST_CPU_BUDGET", default_value = "2s", value_parser = parse_cpu_budget)]
    pub request_cpu_budget: Duration,

    /// Instances of one component that may run guest code at the same moment
    /// (each poll of a guest holds a lane for at most one 10 ms epoch tick);
    /// however many of its requests spin, a component occupies at most this
    /// many cores. 0: half the machine's cores, at least 1.
    #[arg(long, env = "CPU_LANES_PER_COMPONENT", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub cpu_lanes_per_component: u32,

    /// Live handles (resources, streams, futures) one instance may hold, and
    /// entries in its resource table; past it the guest traps. wasmtime's
    /// defaults are 100,000 and 1,000,000.
    #[arg(long, env = "MAX_GUEST_HANDLES", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(64..=1_000_000))]
    pub max_guest_handles: u32,

    /// Bytes one host call may carry out of the guest (a string, a list):
    /// wasmtime's hostcall fuel, 128 MiB by default. Guests write bodies in
    /// chunks of 64 KiB at most and key-value values are at most 1 MB, so
    /// this only bounds what a hostile guest can make the host allocate in
    /// one call.
    #[arg(long, env = "MAX_HOSTCALL_BYTES", default_value = "1MiB", value_parser = parse_hostcall_bytes)]
    pub max_hostcall_bytes: u64,

    /// Bytes of HTTP fields (headers and trailers, all sets together) one
    /// instance may build; past it the guest traps. These live in host
    /// memory, outside the guest's memory cap.
    #[arg(long, env = "GUEST_HEADER_BUDGET", default_value = "256KiB", value_parser = parse_header_budget)]
    pub guest_header_budget: u64,

    /// Outbound HTTP calls one request may have in flight at once (each holds
    /// a connection and a file descriptor until its body ends; more fail at
    /// once with `connection-limit-reached`), and TCP connections it may open
    /// through `wasi:sockets` in all (more are refused, `access-denied`).
    #[arg(long, env = "MAX_OUTBOUND_PER_REQUEST", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_outbound_per_request: u32,

    /// SQLite connections one request may have open at once (each `open` is
    /// a connection, with a 256 KiB page cache); past it, `io("too many
    /// connections opened")`, Spin's words at its limit of 256. 0 leaves
    /// SQLite to no one.
    #[arg(long, env = "MAX_SQLITE_CONNECTIONS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub max_sqlite_connections: u32,

    /// Largest result one key-value read, key list or SQLite query may bring
    /// into the host (Spin's limit is 128 MiB); past it, Spin's error
    /// `query result exceeds limit of N bytes`.
    #[arg(long, env = "MAX_STORE_RESULT_BYTES", default_value = "1MiB", value_parser = parse_store_result)]
    pub max_store_result_bytes: u64,

    /// Connections to Spin's outbound services (Redis, PostgreSQL, MQTT, all together) one request may have
    /// open at once, each about 32 KiB of host memory; past it,
    /// `too-many-connections`. 0 leaves the services to no one.
    #[arg(long, env = "MAX_SERVICE_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub max_service_connections: u32,

    /// Largest MQTT message payload a component may publish (Spin's
    /// `max_payload_size_bytes`); past it, Spin's error `payload size N
    /// exceeds the maximum allowed size of M bytes`. Each service connection
    /// may hold one message until the broker acknowledges it, so the memory
    /// plan counts it per connection.
    #[arg(long, env = "MAX_MQTT_PAYLOAD_BYTES", default_value = "64KiB", value_parser = parse_mqtt_payload)]
    pub max_mqtt_payload_bytes: u64,

    /// An instance of a component that reuses instances (`instance_reuse`)
    /// is retired after this long without a request, giving its pool slot
    /// and memory back. Idle instances also give their slot to another
    /// component's request that finds the pool full.
    #[arg(long, env = "IDLE_INSTANCE_TIMEOUT", default_value = "1s", value_parser = parse_cpu_budget)]
    pub idle_instance_timeout: Duration,
}

/// 1 KiB to 16 MiB.
fn parse_mqtt_payload(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 1024, 16 * 1024 * 1024)
}

/// 64 KiB to 128 MiB (Spin's limit).
fn parse_store_result(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 64 * 1024, 128 * 1024 * 1024)
}

/// 10 ms (one epoch tick) to an hour: a CPU budget or an idle timeout.
fn parse_cpu_budget(text: &str) -> Result<Duration, String> {
    let budget = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if (Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&budget) {
        Ok(budget)
    } else {
        Err(format!("{text} is outside 10ms..=1h"))
    }
}

/// 128 KiB (a body chunk and then some) to 128 MiB (wasmtime's default).
fn parse_hostcall_bytes(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 128 * 1024, 128 * 1024 * 1024)
}

/// 16 KiB to 64 MiB.
fn parse_header_budget(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 16 * 1024, 64 * 1024 * 1024)
}

/// Minimum severity of re-emitted component log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestLogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl GuestLimitFlags {
    /// CPU lanes per component: the flag, or one per core when it is 0.
    pub fn lanes(&self) -> u32 {
        match self.cpu_lanes_per_component {
            0 => limits::GuestLimits::default_lanes(),
            lanes => lanes,
        }
    }

    /// What one instance may hold of the store-level resources, given the
    /// plan's concurrency and per-instance memory.
    pub fn guest_limits(&self, concurrency: u32, instance_memory_bytes: u64) -> limits::GuestLimits {
        limits::GuestLimits {
            concurrency,
            instance_memory_bytes,
            cpu_budget: self.request_cpu_budget,
            cpu_lanes: self.lanes(),
            max_handles: self.max_guest_handles,
            hostcall_bytes: self.max_hostcall_bytes,
            idle_instance_timeout: self.idle_instance_timeout,
        }
    }

    /// What one request may send outbound and hold of header bytes.
    pub fn request_limits(&self) -> outbound_http::RequestLimits {
        outbound_http::RequestLimits {
            max_outbound: self.max_outbound_per_request,
            header_budget: self.guest_header_budget,
        }
    }

    /// What one instance may use of SQLite and key-value stores.
    pub fn sqlite_limits(&self) -> sqlite::SqliteLimits {
        sqlite::SqliteLimits {
            connections: self.max_sqlite_connections as usize,
            result_bytes: usize::try_from(self.max_store_result_bytes).unwrap_or(usize::MAX),
        }
    }
}

impl GuestLogLevel {
    /// The rank of [`crate::ops::logging::severity_rank`].
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl AppFlags {
    /// Where the app comes from: the manifest, or `--component` and its flags.
    /// The `--component`-only flags are refused beside `--manifest`.
    pub fn source(&self) -> anyhow::Result<AppSource> {
        let misplaced = self.component_flags_with_manifest();
        if !misplaced.is_empty() {
            anyhow::bail!(
                "{} configure --component's one component; with --manifest, the manifest configures every \
                 component (allowed_outbound_hosts, environment, variables; per-environment values as \
                 SPIN_VARIABLE_<NAME>)",
                misplaced.join(", ")
            );
        }
        Ok(match &self.manifest {
            Some(path) => AppSource::Manifest(path.clone()),
            None => AppSource::Flags(self.one_component_app()?),
        })
    }

    /// The app's state directory: `--state-dir`, else `.spin` beside the
    /// manifest (or in the working directory with `--component`).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| {
            self.manifest
                .as_deref()
                .and_then(std::path::Path::parent)
                .unwrap_or(std::path::Path::new("."))
                .join(".spin")
        })
    }

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
            manifest::check_variable_name(name).map_err(|e| format!("--variable {item:?}: {e}"))?;
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
            ("--instance-reuse", self.instance_reuse > 1),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// `--component`'s app: the component on every path, as `spin.toml`'s
    /// `route = "/..."` does, configured by the flags as a manifest would
    /// configure it; its id is the file's name, as a Spin id.
    fn one_component_app(&self) -> anyhow::Result<AppSpec> {
        let path = &self.component;
        let id: String = path
            .file_stem()
            .map_or_else(|| "component".into(), |s| s.to_string_lossy().into_owned())
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        Ok(AppSpec {
            name: id.clone(),
            version: String::new(),
            components: vec![ComponentSpec {
                id: id.clone(),
                source: path.to_path_buf(),
                remote: None,
                allowed_outbound_hosts: self.allowed_outbound()?,
                environment: self.guest_env(),
                variables: self.guest_variables().map_err(anyhow::Error::msg)?,
                max_concurrent_requests: None,
                instance_reuse: (self.instance_reuse > 1).then_some(self.instance_reuse),
                // The operator chose to serve this component alone.
                verdict_cache: true,
                files: Vec::new(),
                dir: PathBuf::from("."),
                exclude_files: Vec::new(),
                key_value_stores: Vec::new(),
                sqlite_databases: Vec::new(),
                probe: None,
            }],
            routes: vec![("/...".to_string(), manifest::RouteTarget::Component(id.clone()))],
            triggered: vec![id],
            warnings: Vec::new(),
        })
    }

    /// `--component`'s allow-list: the upstream's authority and every
    /// `--allow-outbound`.
    fn allowed_outbound(&self) -> anyhow::Result<Vec<AllowedHost>> {
        let mut allowed = Vec::new();
        if let Some(url) = &self.upstream_url {
            allowed.push(destination_of(url).context("UPSTREAM_URL")?);
        }
        for entry in &self.allow_outbound {
            let url = if entry.contains("://") {
                entry.clone()
            } else {
                format!("http://{entry}")
            };
            allowed.push(destination_of(&url).with_context(|| format!("--allow-outbound {entry}"))?);
        }
        allowed
            .iter()
            .map(|authority| AllowedHost::authority(authority).map_err(anyhow::Error::msg))
            .collect()
    }
}

/// The `host:port` an http(s) URL points at.
fn destination_of(url: &str) -> anyhow::Result<String> {
    let uri: http::Uri = url.parse().map_err(|e| anyhow::anyhow!("{url:?} is not a URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .filter(|s| matches!(*s, "http" | "https"))
        .ok_or_else(|| anyhow::anyhow!("{url:?}: the scheme must be http or https"))?;
    let authority = uri
        .authority()
        .filter(|a| !a.as_str().contains('@'))
        .ok_or_else(|| anyhow::anyhow!("{url:?}: expected scheme://host[:port][/path], without user info"))?;
    Ok(crate::outbound::normalize_authority(scheme, authority.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::logging::severity_rank;
    use clap::Parser as _;

    /// The app flags alone, parsed as the host's command line would.
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        app: AppFlags,
    }

    fn parse(args: &[&str]) -> AppFlags {
        Cli::parse_from(std::iter::once("doc-proxy-host").chain(args.iter().copied())).app
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
        let app = parse(&[
            "--upstream-url",
            "http://up:3000",
            "--env",
            "A=1",
            "--env",
            "DOC_PROXY_CLI_TEST_VALUE",
            "--env",
            "DOC_PROXY_CLI_TEST_UNSET",
        ]);
        assert_eq!(
            app.guest_env(),
            vec![
                ("UPSTREAM_URL".to_string(), "http://up:3000".to_string()),
                ("A".to_string(), "1".to_string()),
                ("DOC_PROXY_CLI_TEST_VALUE".to_string(), "7".to_string()),
            ]
        );
    }

    #[test]
    fn component_variables_come_from_flags_and_are_checked() {
        let app = parse(&[
            "--upstream-url",
            "http://up:3000",
            "--variable",
            "max_attempts=4",
            "--variable",
            "upstream_url=http://other:1",
        ]);
        assert_eq!(
            app.guest_variables().unwrap(),
            vec![
                ("max_attempts".to_string(), "4".to_string()),
                ("upstream_url".to_string(), "http://other:1".to_string()),
            ]
        );
        for bad in ["MAX=1", "no-equals", "4x=1"] {
            assert!(parse(&["--variable", bad]).guest_variables().is_err(), "{bad}");
        }
    }

    #[test]
    fn component_flags_are_refused_beside_a_manifest() {
        let app = parse(&["--manifest", "spin.toml", "--env", "A=1", "--upstream-url", "http://u"]);
        assert_eq!(app.component_flags_with_manifest(), vec!["--upstream-url", "--env"]);
        assert!(app.source().is_err());
        assert!(parse(&["--env", "A=1"]).component_flags_with_manifest().is_empty());
    }

    #[test]
    fn destinations_are_host_and_port_of_http_urls_only() {
        assert_eq!(destination_of("http://127.0.0.1:3000").unwrap(), "127.0.0.1:3000");
        assert_eq!(
            destination_of("https://Docs.Example/base/").unwrap(),
            "docs.example:443"
        );
        assert_eq!(destination_of("http://upstream/").unwrap(), "upstream:80");
        for bad in [
            "ftp://x",
            "127.0.0.1:3000",
            "http://user@x",
            "not a url",
            "http:///path",
        ] {
            assert!(destination_of(bad).is_err(), "{bad}");
        }
    }
}
