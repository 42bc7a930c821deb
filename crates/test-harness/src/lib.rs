//! The one way tests start hosts and upstreams: the real `doc-proxy-host`
//! binary started on 127.0.0.1 with ephemeral ports, a minimal HTTP/1.1
//! client, and a scripted upstream that can misbehave in ways a well-behaved
//! server library would not (lying lengths, dripping, hanging). Everything
//! listens on loopback and is stopped when dropped.
//!
//! A dev-dependency of the host's own tests (`host/tests`: host behaviour,
//! with hello-p3, spin-probe and WAT, and doc-proxy's two components as
//! ordinary guests) and of the system tests (`tests/all`: doc-proxy the
//! product, its chaos and corpus suites, its manifests and rules).
//!
//! Hosts are started in three places, each for its own caller:
//! - here, for every Rust test;
//! - `scripts/lib/hosts.sh`, for the shell scripts (bench, profile,
//!   deploy-check): the same flags as [`Host::start`]
//!   (`--listen-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --shutdown-delay 0s`)
//!   and the same readiness signal, the `"listening"` log line;
//! - `scripts/k8s/run_rendered.py`, which differs on purpose: it proves the
//!   rendered Kubernetes manifests, so it runs each Deployment's container
//!   arguments exactly as rendered (only their ports remapped to free ones),
//!   directly or in podman, and adds none of the test flags above.

pub mod certificates;
mod cgroup;
mod log_pipe;
mod memory_cgroup_dir;
pub mod services;
pub use cgroup::MemoryCgroup;
use log_pipe::LogPipe;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a host may take to compile its component and bind.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The profile directory the running test was built into (`target/release`
/// for `target/release/deps/<test>`): cargo puts the host binary there when it
/// builds the workspace, so a test of any crate finds the build that matches it.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary is in a deps directory");
    deps.parent().expect("deps is in a profile directory").to_path_buf()
}

/// The `doc-proxy-host` binary: `DOC_PROXY_HOST_BIN` when set, else the one
/// beside the running test's profile directory. Fails with a hint when absent:
/// a skipped end-to-end test would report a check as passing that never ran.
/// Runs the host on `manifest` (with a compile cache and control token of
/// its own), expecting it to stop by itself, as it does on a manifest it
/// refuses; kills it after `limit`. Returns its exit code and its log.
pub fn run_host_until_exit(manifest: &Path, limit: Duration) -> (Option<i32>, String) {
    let cache = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(host_binary())
        .arg("--manifest")
        .arg(manifest)
        .args(["--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .arg("--cache-dir")
        .arg(cache.path())
        .env("CONTROL_TOKEN_FILE", cache.path().join("control-token"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the host starts");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the host's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("the host's status");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut log)
        .expect("the host's log");
    (status.code(), log)
}

pub fn host_binary() -> PathBuf {
    let path = std::env::var_os("DOC_PROXY_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile_dir().join("doc-proxy-host"));
    assert!(
        path.exists(),
        "{} is missing: run `make build` (or `make test`) first, or build the host with the same profile as the tests",
        path.display()
    );
    path
}

/// The target directory (`target/`), the parent of the profile directory.
/// The compile cache every test's host shares, under target/ and private
/// to this user (the host refuses a cache directory others can write):
/// `target/tmp`, where cargo's CARGO_TARGET_TMPDIR points.
pub fn test_cache_dir() -> PathBuf {
    target_dir().join("tmp/doc-proxy-test-cache")
}

fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("the profile directory is in a target directory")
        .to_path_buf()
}

/// The built component `name` (e.g. `doc_proxy`). Fails with a hint when absent:
/// a skipped end-to-end test would report a check as passing that never ran.
pub fn component(name: &str) -> PathBuf {
    let dir = std::env::var_os("DOC_PROXY_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wasm32-wasip2/wasm"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `make build` (or `make test`) first",
        path.display()
    );
    path
}

/// Taken for its whole run by each test that loads the machine for a measured
/// result (deadlines met by 32 clients at once, memory high-water marks, the
/// chaos scenarios, stalled clients by the dozen): on a small machine their
/// loads together push answers past the deadlines they check; lighter tests
/// still run beside them. Under `cargo test` the tests of one binary
/// serialize on this lock. Under nextest every test is a process of its own
/// and the lock holds nothing, so there the `heavy` test group of
/// `.config/nextest.toml` serializes them, and this fails a test that
/// nextest runs outside that group: a heavy test missing from the group's
/// filter is caught on its first run, not by a flaky deadline.
pub async fn heavy_load() -> tokio::sync::MutexGuard<'static, ()> {
    if let Err(problem) = heavy_group_check(
        std::env::var("NEXTEST_RUN_ID").ok().as_deref(),
        std::env::var("NEXTEST_TEST_GROUP").ok().as_deref(),
    ) {
        panic!("{problem}");
    }
    static HEAVY: std::sync::LazyLock<tokio::sync::Mutex<()>> =
        std::sync::LazyLock::new(|| tokio::sync::Mutex::new(()));
    HEAVY.lock().await
}

/// Whether a heavy test runs serialized: always under cargo test (the lock),
/// under nextest (`run_id` set) only in the `heavy` group.
fn heavy_group_check(run_id: Option<&str>, group: Option<&str>) -> Result<(), String> {
    match (run_id, group) {
        (None, _) | (Some(_), Some("heavy")) => Ok(()),
        (Some(_), group) => Err(format!(
            "a heavy test runs under nextest in test group {group:?}, not \"heavy\": add it to the heavy \
             group's filter in .config/nextest.toml, or it runs beside the other heavy tests"
        )),
    }
}

/// A running `doc-proxy-host` process.
pub struct Host {
    child: Child,
    pub public: SocketAddr,
    pub admin: SocketAddr,
    /// The control listener (`POST /admin/reload`).
    pub control: SocketAddr,
    /// The file holding the control listener's token.
    pub control_token_file: PathBuf,
    logs: LogPipe,
}

impl Host {
    /// Starts the host on `component` with extra command-line `args`.
    pub fn start(component: &Path, args: &[&str]) -> Host {
        Host::start_on(component, "127.0.0.1:0", args)
    }

    /// Like `start`, with `env` added to the host's environment (settings
    /// by their environment variables).
    pub fn start_with_env(component: &Path, args: &[&str], env: &[(&str, &str)]) -> Host {
        let mut command = Command::new(host_binary());
        command.envs(env.iter().copied());
        Host::spawn(command, ("--component", component), "127.0.0.1:0", args)
    }

    /// Like `start`, with the public listener on `listen_addr` (to restart a
    /// host where its clients expect it).
    pub fn start_on(component: &Path, listen_addr: &str, args: &[&str]) -> Host {
        Host::spawn(
            Command::new(host_binary()),
            ("--component", component),
            listen_addr,
            args,
        )
    }

    /// Starts the host on a Spin manifest, with `env` added to its
    /// environment (`SPIN_VARIABLE_*`).
    pub fn start_manifest(manifest: &Path, listen_addr: &str, args: &[&str], env: &[(&str, &str)]) -> Host {
        let mut command = Command::new(host_binary());
        command.envs(env.iter().copied());
        Host::spawn(command, ("--manifest", manifest), listen_addr, args)
    }

    /// Like `start`, but the host runs in `cgroup` from its first instruction,
    /// so its start-up check reads that cgroup's limit and the kernel enforces it.
    pub fn start_in_cgroup(component: &Path, args: &[&str], cgroup: &MemoryCgroup) -> Host {
        Host::spawn(
            cgroup.command(&host_binary()),
            ("--component", component),
            "127.0.0.1:0",
            args,
        )
    }

    /// [`Host::start_manifest`] in `cgroup`.
    pub fn start_manifest_in_cgroup(
        manifest: &Path,
        listen_addr: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cgroup: &MemoryCgroup,
    ) -> Host {
        let mut command = cgroup.command(&host_binary());
        command.envs(env.iter().copied());
        Host::spawn(command, ("--manifest", manifest), listen_addr, args)
    }

    /// `POST /admin/reload` on the control listener, with the host's token
    /// (a host built before tokens writes none, and needs none).
    pub async fn reload(&self) -> Reply {
        match std::fs::read_to_string(&self.control_token_file) {
            Ok(token) => {
                let bearer = format!("Bearer {}", token.trim());
                request(self.control, "POST", "/admin/reload", &[("authorization", &bearer)]).await
            }
            Err(_) => request(self.control, "POST", "/admin/reload", &[]).await,
        }
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `command` (the host binary, or a wrapper that execs it) with the
    /// test's standard flags, and waits until it listens.
    fn spawn(mut command: Command, (serve_flag, serve): (&str, &Path), listen_addr: &str, args: &[&str]) -> Host {
        let cache = test_cache_dir();
        // Each host its own control token, made by the host where the test
        // did not name one.
        static TOKENS: AtomicUsize = AtomicUsize::new(0);
        let token_file = match args.iter().position(|a| *a == "--control-token-file") {
            Some(at) => PathBuf::from(args[at + 1]),
            None => {
                let file = target_dir().join(format!(
                    "tmp/control-tokens/{}-{}",
                    std::process::id(),
                    TOKENS.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                let _ = std::fs::remove_file(&file);
                // Through the environment, which a host built before the
                // flag existed ignores (the tests also run against older
                // builds, `DOC_PROXY_HOST_BIN`).
                command.env("CONTROL_TOKEN_FILE", &file);
                file
            }
        };
        let mut child = command
            .arg(serve_flag)
            .arg(serve)
            .args(["--listen-addr", listen_addr, "--admin-addr", "127.0.0.1:0"])
            // Tests stop hosts often; a test that wants the delay passes its own.
            .args(["--shutdown-delay", "0s"])
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .env_remove("UPSTREAM_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the host binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let logs = LogPipe::read(stderr, "\"listening\"", tx);
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("host did not start; its log:\n{}", logs.lines_now().join("\n"));
            }
        };
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let addr = |k: &str| v[k].as_str().unwrap().parse().unwrap();
        Host {
            public: addr("public"),
            admin: addr("admin"),
            control: addr("control"),
            control_token_file: token_file,
            child,
            logs,
        }
    }

    /// The reason the host logged for the refused reload `problem` (the
    /// control listener's 422 names only its `reload_id`).
    pub fn refusal_reason(&self, problem: &serde_json::Value) -> String {
        let id = &problem["reload_id"];
        assert!(id.as_u64().is_some_and(|id| id > 0), "{problem}");
        self.log_lines()
            .into_iter()
            .find(|l| l["reload_id"] == *id && l["message"].as_str().unwrap_or("").starts_with("reload refused"))
            .and_then(|l| l["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no 'reload refused' line with reload_id {id}"))
    }

    /// Every log line so far, parsed, once the log's reader has caught up
    /// with the pipe ([`LogPipe`]): the lines of every response the test has
    /// received are in it.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.logs
            .lines()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The host's resident-memory high-water mark (`VmHWM`), in bytes.
    pub fn memory_high_water_mark(&self) -> u64 {
        self.proc_status_bytes("VmHWM")
    }

    /// The host's resident memory now (`VmRSS`), in bytes.
    pub fn resident_memory(&self) -> u64 {
        self.proc_status_bytes("VmRSS")
    }

    /// A `kB` field of `/proc/PID/status`, in bytes.
    fn proc_status_bytes(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("the host is running");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"));
        kib * 1024
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `INT`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit` (checks at least once).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if started.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The sum of the series of a name that carry the given labels, e.g.
    /// `http_requests_total{route="/..."}`; a bare name sums them all.
    pub async fn metric(&self, sample: &str) -> f64 {
        let reply = request(self.admin, "GET", "/metrics", &[]).await;
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        let (name, wanted) = split_sample(sample);
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (series_name, labels) = split_sample(series);
                let matches = series_name == name && wanted.iter().all(|pair| labels.contains(pair));
                matches.then(|| value.trim().parse::<f64>().unwrap())
            })
            .sum()
    }
}

/// `name{a="x",b="y"}` as the name and its `a="x"` pairs (values hold no
/// quotes or commas in this host's metrics).
fn split_sample(sample: &str) -> (&str, Vec<&str>) {
    match sample.split_once('{') {
        None => (sample, Vec::new()),
        Some((name, labels)) => (
            name,
            labels
                .trim_end_matches('}')
                .split(',')
                .filter(|p| !p.is_empty())
                .collect(),
        ),
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Spin manifest in a temporary directory, for a host that will listen on
/// `addr`: the port is chosen before the host starts, so the manifest can name
/// the host's own address (a component calling another on the same listener).
pub struct ManifestFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub addr: String,
}

impl ManifestFile {
    /// Writes `text(addr)`.
    pub fn new(text: impl FnOnce(&str) -> String) -> ManifestFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spin.toml");
        let addr = format!("127.0.0.1:{}", closed_port());
        std::fs::write(&path, text(&addr)).unwrap();
        ManifestFile { _dir: dir, path, addr }
    }

    /// Replaces the manifest's text.
    pub fn rewrite(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }

    /// A host serving the manifest on `addr`, with `env` added
    /// (`SPIN_VARIABLE_*`).
    pub fn start(&self, env: &[(&str, &str)]) -> Host {
        Host::start_manifest(&self.path, &self.addr, &[], env)
    }
}

/// The manifest of `spin-apps/<app>` as `scripts/spin-apps/build.sh` built
/// it into the repository's `target/spin-apps/<app>/`, the path of its
/// component's `artefact` (as its `source` names it) made absolute, so that
/// the text can be written anywhere. Fails with a hint when it is not built.
pub fn built_spin_app(app: &str, artefact: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/spin-apps")
        .join(app);
    assert!(
        dir.join(".built").is_file(),
        "{} is not built: run `scripts/spin-apps/build.sh {app}` first",
        dir.display()
    );
    let manifest = std::fs::read_to_string(dir.join("spin.toml")).unwrap();
    manifest.replace(
        &format!("{artefact:?}"),
        &format!("{:?}", dir.join(artefact).display().to_string()),
    )
}

/// doc-proxy on `/...`, fetching from `upstream` (its only allowed
/// destination), beside the hostile test component (`components/hostile`)
/// on `/hostile/...`, allowed `hostile_allowed`; each has a share of 8.
pub fn doc_proxy_beside_hostile(upstream: &str, hostile_allowed: &[&str]) -> ManifestFile {
    let allowed: Vec<String> = hostile_allowed.iter().map(|a| format!("{a:?}")).collect();
    let (upstream, allowed) = (upstream.to_string(), allowed.join(", "));
    ManifestFile::new(move |_| {
        format!(
            r#"spin_manifest_version = 2
[application]
name = "beside-a-hostile-one"
[[trigger.http]]
route = "/..."
component = "doc-proxy"
[[trigger.http]]
route = "/hostile/..."
component = "hostile"
[component.doc-proxy]
source = "{doc_proxy}"
allowed_outbound_hosts = ["{upstream}"]
[component.doc-proxy.variables]
upstream_url = "{upstream}"
[component.doc-proxy.tool.doc-proxy-host]
max_concurrent_requests = 8
[component.hostile]
source = "{hostile}"
allowed_outbound_hosts = [{allowed}]
[component.hostile.tool.doc-proxy-host]
max_concurrent_requests = 8
"#,
            doc_proxy = component("doc_proxy").display(),
            hostile = component("hostile").display(),
        )
    })
}

/// A setting written `KEY=VALUE` (its name, as the README and `make run` write
/// it) as the component variable `key=value` that `--variable` takes.
pub fn variable(setting: &str) -> String {
    let (name, value) = setting.split_once('=').expect("KEY=VALUE");
    format!("{}={value}", name.to_ascii_lowercase())
}

/// `--variable` flags for settings written `KEY=VALUE`.
pub fn variable_flags(settings: &[&str]) -> Vec<String> {
    settings
        .iter()
        .flat_map(|s| ["--variable".to_string(), variable(s)])
        .collect()
}

/// The dummy upstream component on its own host, with fault knobs as `KEY=VALUE`.
pub fn start_dummy_upstream(knobs: &[&str]) -> Host {
    let flags = variable_flags(knobs);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    Host::start(&component("dummy_pdf_or_png"), &args)
}

/// doc-proxy on its own host, fetching from `upstream`, with component settings.
pub fn start_doc_proxy(upstream: &str, settings: &[&str]) -> Host {
    let flags = variable_flags(settings);
    let mut args = vec!["--upstream-url", upstream];
    args.extend(flags.iter().map(String::as_str));
    Host::start(&component("doc_proxy"), &args)
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// Trailers (a server sends them only when the request said `TE: trailers`).
    pub trailers: http::HeaderMap,
    pub elapsed: Duration,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with `status`, and returns it parsed.
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("problem body is JSON");
        assert_eq!(v["status"], status);
        assert!(v["type"].as_str().unwrap().starts_with("tag:doc-proxy,2026:problem:"));
        assert!(v["title"].is_string() && v["detail"].is_string());
        assert_eq!(v["request_id"].as_str(), self.header("x-request-id"));
        v
    }
}

/// Sends one request on a fresh connection and reads the whole response
/// (bounded: 30 s).
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request_with_body(addr, method, path, headers, Bytes::new()).await
}

/// [`request`] with a body (sent with its `Content-Length`).
pub async fn request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    let started = Instant::now();
    let exchange = async {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let mut builder = http::Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            builder = builder.header("host", addr.to_string());
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = sender
            .send_request(builder.body(Full::new(body)).unwrap())
            .await
            .expect("response");
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.expect("body");
        let trailers = collected.trailers().cloned().unwrap_or_default();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: collected.to_bytes(),
            trailers,
            elapsed: started.elapsed(),
        }
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("request finished within 30 s")
}

/// A client that asks for a document, reads the response head and then
/// nothing more, with a small receive buffer so the body backs up at once.
/// Returns the connection and the bytes read so far.
pub async fn never_reads(addr: std::net::SocketAddr, path: &str) -> (tokio::net::TcpStream, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut client = socket.connect(addr).await.unwrap();
    client
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = vec![0u8; 1024];
    let n = client.read(&mut head).await.unwrap();
    assert!(
        head[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
    (client, n)
}

/// What the scripted upstream does with one request.
#[derive(Clone)]
pub enum Script {
    /// Answer with `status`, `content_type`, `body`; `content_length` overrides
    /// the header (`None` = the true length, `Some(None)` = no header, close-delimited).
    Respond {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        content_length: Option<Option<usize>>,
    },
    /// Send headers, then one byte every `every`, forever.
    Drip { every: Duration },
    /// Accept, read the request, never answer.
    Hang,
    /// Read the request, then reset the connection (RST, not FIN).
    Reset,
    /// A 200 with `bytes` of body, sent as fast as the client reads, with
    /// its true `Content-Length` or (`declared: false`) close-delimited.
    Flood { bytes: u64, declared: bool },
    /// These bytes as they are (a whole response, head, body and trailers,
    /// as a hostile server would write it), then close.
    Raw(Vec<u8>),
}

impl Script {
    pub fn ok(content_type: &'static str, body: Vec<u8>) -> Script {
        Script::Respond {
            status: 200,
            content_type,
            body,
            content_length: None,
        }
    }
}

/// A raw-TCP upstream that plays `script(n)` for its n-th request (0-based).
pub struct ScriptedUpstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedUpstream {
    pub async fn start(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> ScriptedUpstream {
        Self::start_by_path(move |n, _path| script(n)).await
    }

    /// Like [`ScriptedUpstream::start`], with the request's path as well.
    pub async fn start_by_path(script: impl Fn(usize, &str) -> Script + Send + Sync + 'static) -> ScriptedUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let script = script.clone();
                let counter = counter.clone();
                tokio::spawn(async move { serve_scripted(stream, &*script, &counter).await });
            }
        });
        ScriptedUpstream { addr, hits, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_scripted(
    mut stream: TcpStream,
    script: &(dyn Fn(usize, &str) -> Script + Send + Sync),
    hits: &AtomicUsize,
) {
    // Read the request head; these requests have no body.
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let n = hits.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/");
    match script(n, path) {
        Script::Respond {
            status,
            content_type,
            body,
            content_length,
        } => {
            let mut out = format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nconnection: close\r\n");
            if let Some(len) = content_length.unwrap_or(Some(body.len())) {
                out.push_str(&format!("content-length: {len}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Script::Drip { every } => {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\ncontent-length: 10000\r\n\r\n%PDF-1.4\n",
                )
                .await;
            // Bounded: at most 10 minutes' worth, and it stops when the client goes.
            for _ in 0..(600_000 / every.as_millis().max(1)) {
                tokio::time::sleep(every).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Script::Reset => {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Script::Flood { bytes, declared } => {
            let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\nconnection: close\r\n");
            if declared {
                head.push_str(&format!("content-length: {bytes}\r\n"));
            }
            head.push_str("\r\n%PDF-1.7\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut left = bytes.saturating_sub(9);
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if stream.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
            let _ = stream.shutdown().await;
        }
        Script::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Script::Hang => {
            let _ = tokio::time::timeout(Duration::from_secs(120), stream.read(&mut buf)).await;
        }
    }
}

/// A manifest of two `components/spin-probe` components: `granted`
/// (`/granted/...`), whose `allowed_outbound_hosts` is `grants` and which may
/// name `variable` (default `127.0.0.1`) in them as `{{ variable }}`, and
/// `refused` (`/refused/...`), the same code granted nothing.
pub fn granted_and_refused_probes(app: &str, variable: &str, grants: &[&str]) -> String {
    let grants: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
    format!(
        r#"spin_manifest_version = 2
[application]
name = "{app}"
[variables]
{variable} = {{ default = "127.0.0.1" }}
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/refused/..."
component = "refused"
[component.granted]
source = "{probe}"
allowed_outbound_hosts = [{grants}]
[component.refused]
source = "{probe}"
"#,
        probe = component("spin_probe").display(),
        grants = grants.join(", "),
    )
}

/// `text` as a query parameter's value: the characters a URL's query
/// would read otherwise percent-encoded.
pub fn query_encoded(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ':' | '/' | '@' | '+' | ' ' | '&' | '?' | '%' | '#' | '=' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[cfg(test)]
mod tests {
    use super::heavy_group_check;

    #[test]
    fn heavy_tests_run_serialized_under_either_runner() {
        assert!(heavy_group_check(None, None).is_ok(), "cargo test: the lock serializes");
        assert!(heavy_group_check(Some("run"), Some("heavy")).is_ok());
        let outside = heavy_group_check(Some("run"), Some("@global")).unwrap_err();
        assert!(outside.contains(".config/nextest.toml"), "{outside}");
        assert!(
            heavy_group_check(Some("run"), None).is_err(),
            "a nextest too old to name the group"
        );
    }
}
