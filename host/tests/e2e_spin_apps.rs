//! Apps made the way Spin's own templates and SDK examples make them, served
//! unchanged: `spin-apps/` (its README says what each app is and answers),
//! built with each language's own toolchain by `scripts/spin-apps/build.sh`
//! into `target/spin-apps/<app>/`, where each app's `spin.toml` sits beside
//! its artefacts. Each test starts the host on an app's own manifest and
//! checks what Spin would answer, read from the app's code: status, body,
//! content type, and the headers the app sets.
//!
//! A missing build fails the test with the command that makes it: an app
//! that was never started must not count as one that runs.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use test_harness::{request, request_with_body, Host, Reply, Script, ScriptedUpstream};

/// The repository's root (the parent of `host/`).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the repository")
}

/// `target/spin-apps` (where the build script writes), or `SPIN_APPS_DIR`.
fn apps_dir() -> PathBuf {
    std::env::var_os("SPIN_APPS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/spin-apps"))
}

/// The built app's folder. Fails, naming the build script, when the app has
/// not been built.
fn built_app_dir(app: &str) -> PathBuf {
    let dir = apps_dir().join(app);
    assert!(
        dir.join(".built").is_file() && dir.join("spin.toml").is_file(),
        "{} is not built: run `scripts/spin-apps/build.sh` (or `scripts/spin-apps/build.sh {app}`) first; \
         it needs Node.js with npm, python3 with venv, and the Rust toolchain",
        dir.display()
    );
    dir
}

/// The built app's `spin.toml`, beside its artefacts.
fn built_app(app: &str) -> PathBuf {
    built_app_dir(app).join("spin.toml")
}

/// Starts a host on `manifest`, one start at a time: the JavaScript and
/// Python apps are 12-38 MB components whose first compilation takes
/// seconds of every core, and several at once would run past the start timeout.
fn start(manifest: &Path) -> Host {
    static STARTING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Host::start_manifest(manifest, "127.0.0.1:0", &[], &[])
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// Asserts a reply's status, `content-type` (`None`: the app set none) and body.
#[track_caller]
fn assert_reply(reply: &Reply, status: u16, content_type: Option<&str>, body: &str) {
    assert_eq!(reply.status, status, "body: {}", text(reply));
    assert_eq!(
        reply.header("content-type"),
        content_type,
        "headers: {:?}",
        reply.headers
    );
    assert_eq!(text(reply), body);
}

// JavaScript and TypeScript (componentize-js through @spinframework/build-tools)

#[tokio::test(flavor = "multi_thread")]
async fn the_http_js_template_answers_as_its_itty_router_does() {
    let host = start(&built_app("http-js"));
    let reply = request(host.public, "GET", "/", &[]).await;
    // A Response made from a string: the Fetch standard's type for it.
    assert_reply(&reply, 200, Some("text/plain;charset=UTF-8"), "Hello, Spin!");
    // A handler's string goes through AutoRouter's `json` formatter.
    let reply = request(host.public, "GET", "/hello/Fermyon", &[]).await;
    assert_reply(
        &reply,
        200,
        Some("application/json; charset=utf-8"),
        "\"Hello, Fermyon!\"",
    );
    // Unmatched (another path, or a method no route names): AutoRouter's 404.
    for (method, path) in [("GET", "/no/such/route"), ("POST", "/")] {
        let reply = request(host.public, method, path, &[]).await;
        assert_reply(
            &reply,
            404,
            Some("application/json; charset=utf-8"),
            r#"{"status":404,"error":"Not Found"}"#,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_ts_template_answers_as_its_hono_app_does() {
    let host = start(&built_app("http-ts"));
    let reply = request(host.public, "GET", "/", &[]).await;
    assert_reply(&reply, 200, Some("text/plain; charset=UTF-8"), "Hello, Spin!");
    assert_eq!(reply.header("server"), Some("Spin CLI"), "the app's middleware sets it");
    let reply = request(host.public, "GET", "/hello/Fermyon", &[]).await;
    assert_reply(
        &reply,
        200,
        Some("application/json"),
        r#"{"message":"Hello, Fermyon!"}"#,
    );
    assert_eq!(reply.header("server"), Some("Spin CLI"));
    // Hono's service-worker adapter sends a request its routes did not match
    // on with `fetch`: the manifest allows no outbound host, the fetch is
    // denied, the app's promise rejects, and the JS runtime answers 500.
    let reply = request(host.public, "GET", "/no/such/route", &[]).await;
    assert_reply(&reply, 500, None, "");
}

/// A key no earlier run used: the store outlives the host, as Spin's does.
fn fresh_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/kv-test/{}-{nanos}", std::process::id())
}

/// The key-value example's protocol (the request path is the key, in the
/// `default` store): every request is a fresh instance, so a value read back
/// was kept by the host's store; a second host on the same manifest (the
/// store is SQLite in `.spin/` beside it, as `spin up` keeps it) still has it.
/// `found_type` is the content type the app gives a value it found.
async fn key_value_round_trip(app: &str, found_type: Option<&str>) {
    let manifest = built_app(app);
    let key = fresh_key();
    let host = start(&manifest);
    let send = |method: &'static str, body: &'static str| {
        let key = key.clone();
        let addr = host.public;
        async move { request_with_body(addr, method, &key, &[], body.into()).await }
    };
    assert_reply(&send("GET", "").await, 404, None, "");
    assert_eq!(send("HEAD", "").await.status, 404);
    assert_reply(&send("POST", "ok!").await, 200, None, "");
    assert_reply(&send("GET", "").await, 200, found_type, "ok!");
    assert_eq!(send("HEAD", "").await.status, 200);
    assert_eq!(send("PUT", "x").await.status, 405);
    drop(host);

    let host = start(&manifest);
    let get = request(host.public, "GET", &key, &[]).await;
    assert_reply(&get, 200, found_type, "ok!");
    let delete = request(host.public, "DELETE", &key, &[]).await;
    assert_reply(&delete, 200, None, "");
    let get = request(host.public, "GET", &key, &[]).await;
    assert_reply(&get, 404, None, "");
    // Deleting what is not there is no error.
    let delete = request(host.public, "DELETE", &key, &[]).await;
    assert_reply(&delete, 200, None, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typescript_key_value_app_keeps_its_values_between_requests_and_restarts() {
    // fermyon:spin/key-value@2.0.0, imported through the build tools' WIT
    // support; a value found is answered as a string Response.
    key_value_round_trip("kv-ts", Some("text/plain;charset=UTF-8")).await;
}

// Python (componentize-py with Spin's Python SDK)

/// Spin's Python templates answer every path with the same greeting.
async fn greets_on_every_path(app: &str) {
    let host = start(&built_app(app));
    for path in ["/", "/any/path?with=query"] {
        let reply = request(host.public, "GET", path, &[]).await;
        assert_reply(&reply, 200, Some("text/plain"), "Hello from Python!");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_py_p2_template_answers_its_greeting() {
    // WASI 0.2; componentize-py keeps every import of the spin-http world,
    // so this hello app imports every Spin interface and wasi:sockets.
    greets_on_every_path("http-py-p2").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_py_template_answers_its_greeting_over_wasi_http_0_3_rc() {
    // spin-sdk 4: exports wasi:http/handler@0.3.0-rc-2026-03-15.
    greets_on_every_path("http-py").await;
}

// Rust (cargo, spin-sdk)

#[tokio::test(flavor = "multi_thread")]
async fn spin_3_4s_http_rust_template_runs_as_a_wasip1_core_module() {
    // A wasm32-wasip1 core module (spin-sdk 3.1): made a component at load.
    let host = start(&built_app("http-rust-wasip1"));
    let reply = request(host.public, "GET", "/", &[]).await;
    assert_reply(&reply, 200, Some("text/plain"), "Hello World!");
}

#[tokio::test(flavor = "multi_thread")]
async fn todays_http_rust_template_answers_over_wasi_http_0_3_rc() {
    // spin-sdk 6, wasm32-wasip2: wasi:http/handler@0.3.0-rc-2026-03-15.
    let host = start(&built_app("http-rust"));
    let reply = request(host.public, "GET", "/some/path", &[]).await;
    assert_reply(&reply, 200, Some("text/plain"), "Hello World!");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_key_value_app_keeps_its_values_between_requests_and_restarts() {
    // spin-sdk 6: spin:key-value/key-value@3.0.0 (async); a value found is
    // answered with no content type.
    key_value_round_trip("rust-key-value", None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_calls_its_own_app_by_relative_url_and_by_spin_internal_name() {
    let host = start(&built_app("rust-self-request"));
    let hello = request(host.public, "GET", "/hello", &[]).await;
    assert_reply(&hello, 200, Some("text/plain"), "Hello, Fermyon!\n");
    // The callee's answer, through the caller, with the caller's header added:
    // `/hello` and `http://self.alt/hello` (allowed by "http://self"), and
    // `http://hello-component.spin.internal/hello` (allowed by that host).
    for path in ["/outbound-to-hello-component", "/self-alt/x", "/chained/anything"] {
        let reply = request(host.public, "GET", path, &[]).await;
        assert_reply(&reply, 200, Some("text/plain"), "Hello, Fermyon!\n");
        assert_eq!(reply.header("spin-component"), Some("rust-outbound-http"), "{path}");
    }
    // Allowed neither: the send fails with HttpRequestDenied, and spin-sdk
    // answers the handler's error as a 500 with its text.
    let denied = request(host.public, "GET", "/not-allowed", &[]).await;
    assert_reply(&denied, 500, None, "ErrorCode::HttpRequestDenied");
}

// Files: our own file server in the static-fileserver template's manifest

/// The file server's etag for `bytes`: 64-bit FNV-1a, hex, quoted.
fn etag_of(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

/// What the file server answers for the files `spin-apps/static-fileserver/assets`
/// mounted at `/`, served on `/static/...`.
async fn check_file_server(host: &Host, assets: &Path) {
    let file = |name: &str| std::fs::read(assets.join(name)).unwrap();
    let served = [
        ("/static/hello.txt", "hello.txt", "text/plain"),
        ("/static/css/site.css", "css/site.css", "text/css"),
        ("/static", "index.html", "text/html"),
        ("/static/", "index.html", "text/html"),
        ("/static/docs", "docs/index.html", "text/html"),
        ("/static/docs/", "docs/index.html", "text/html"),
    ];
    for (path, name, content_type) in served {
        let reply = request(host.public, "GET", path, &[]).await;
        let bytes = file(name);
        assert_reply(&reply, 200, Some(content_type), &String::from_utf8_lossy(&bytes));
        assert_eq!(reply.header("cache-control"), Some("max-age=60"), "{path}");
        assert_eq!(reply.header("etag"), Some(etag_of(&bytes).as_str()), "{path}");
    }
    let etag = etag_of(&file("hello.txt"));
    let fresh = request(host.public, "GET", "/static/hello.txt", &[("if-none-match", &etag)]).await;
    assert_eq!(fresh.status, 304, "{}", text(&fresh));
    assert!(fresh.body.is_empty());
    for missing in ["/static/missing.txt", "/static/css/", "/static/../spin.toml"] {
        let reply = request(host.public, "GET", missing, &[]).await;
        assert_reply(&reply, 404, None, "");
    }
    let post = request(host.public, "POST", "/static/hello.txt", &[]).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_static_fileserver_template_serves_the_files_its_manifest_mounts() {
    let dir = built_app_dir("static-fileserver");
    let host = start(&dir.join("spin.toml"));
    check_file_server(&host, &dir.join("assets")).await;
}

/// `wasm` with a custom section holding `nonce`: the same code under a
/// digest no earlier run has cached.
fn with_nonce(mut wasm: Vec<u8>, nonce: &str) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let name = b"doc-proxy-test-nonce";
    let mut section = Vec::new();
    leb128(name.len(), &mut section);
    section.extend_from_slice(name);
    section.extend_from_slice(nonce.as_bytes());
    wasm.push(0);
    leb128(section.len(), &mut wasm);
    wasm.extend_from_slice(&section);
    wasm
}

/// The static-fileserver template's manifest as Spin writes it, its source
/// a `{ url, digest }` (spin-fileserver's release there; our file server
/// here, served from loopback), in a new folder with a copy of the assets.
fn url_source_app(url: &str, digest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let built = built_app_dir("static-fileserver");
    copy_dir(&built.join("assets"), &dir.path().join("assets"));
    let manifest = format!(
        r#"spin_manifest_version = 2

[application]
name = "static-fileserver-by-url"
version = "0.1.0"
authors = ["doc-proxy"]
description = "Serves static files from an asset directory"

[[trigger.http]]
route = "/static/..."
component = "static-fileserver-by-url"

[component.static-fileserver-by-url]
source = {{ url = "{url}", digest = "{digest}" }}
files = [{{ source = "assets", destination = "/" }}]
"#
    );
    std::fs::write(dir.path().join("spin.toml"), manifest).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The file server's `.wasm` under a fresh digest, served at `/static_fs.wasm`
/// by a loopback server (404 elsewhere).
async fn serve_file_server_wasm() -> (ScriptedUpstream, Vec<u8>) {
    let built = built_app_dir("static-fileserver");
    let wasm = std::fs::read(built.join("target/wasm32-wasip1/release/static_fileserver.wasm"))
        .expect("the built file server's .wasm");
    let nonce = format!("{}-{:?}", std::process::id(), Instant::now());
    let wasm = with_nonce(wasm, &nonce);
    let served = wasm.clone();
    let upstream = ScriptedUpstream::start_by_path(move |_, path| {
        if path == "/static_fs.wasm" {
            Script::ok("application/wasm", served.clone())
        } else {
            Script::Respond {
                status: 404,
                content_type: "text/plain",
                body: b"not found".to_vec(),
                content_length: None,
            }
        }
    })
    .await;
    (upstream, wasm)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_source_given_by_url_and_digest_is_fetched_once_and_served() {
    let (upstream, wasm) = serve_file_server_wasm().await;
    let url = format!("{}/static_fs.wasm", upstream.url());
    let app = url_source_app(&url, &sha256_digest(&wasm));
    let manifest = app.path().join("spin.toml");
    let host = start(&manifest);
    check_file_server(&host, &app.path().join("assets")).await;
    assert_eq!(upstream.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    drop(host);
    // Kept under its digest: a second start does not fetch it again.
    let host = start(&manifest);
    let reply = request(host.public, "GET", "/static/hello.txt", &[]).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    assert_eq!(upstream.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

fn run_until_exit(manifest: &Path) -> (Option<i32>, String) {
    test_harness::run_host_until_exit(manifest, Duration::from_secs(60))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_source_whose_bytes_do_not_match_its_digest_is_refused_at_start() {
    let (upstream, wasm) = serve_file_server_wasm().await;
    let url = format!("{}/static_fs.wasm", upstream.url());
    let mut other = wasm.clone();
    other.push(0);
    let app = url_source_app(&url, &sha256_digest(&other));
    let manifest = app.path().join("spin.toml");
    let (code, log) = tokio::task::spawn_blocking(move || run_until_exit(&manifest))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{log}");
    assert!(!log.contains("\"listening\""), "{log}");
    assert!(log.contains("digest"), "the refusal says why: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_source_that_cannot_be_fetched_is_refused_at_start_naming_it() {
    let (upstream, wasm) = serve_file_server_wasm().await;
    let url = format!("{}/no-such.wasm", upstream.url());
    let app = url_source_app(&url, &sha256_digest(&wasm));
    let manifest = app.path().join("spin.toml");
    let (code, log) = tokio::task::spawn_blocking(move || run_until_exit(&manifest))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{log}");
    assert!(!log.contains("\"listening\""), "{log}");
    assert!(log.contains(&url), "the refusal names the URL: {log}");
}

// A manifest alone: static responses (Spin 3.5+)

#[tokio::test(flavor = "multi_thread")]
async fn static_responses_answer_as_their_triggers_say() {
    // Nothing to build: the manifest is the app.
    let manifest = repo_root().join("spin-apps/static-response/spin.toml");
    let host = start(&manifest);
    let reply = request(host.public, "GET", "/default-code", &[]).await;
    assert_reply(&reply, 200, None, "should be 200");
    let reply = request(host.public, "GET", "/no/such/path", &[]).await;
    assert_reply(&reply, 404, None, "not found");
    let reply = request(host.public, "GET", "/bob", &[]).await;
    assert_reply(&reply, 302, None, "");
    assert_eq!(reply.header("location"), Some("/users/bob"));
    // Any method: a static response does not look at it.
    for method in ["GET", "POST"] {
        let reply = request(host.public, method, "/health", &[]).await;
        assert_reply(&reply, 200, Some("text/plain"), "ok\n");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let reply = request(host.public, "GET", "/api/v1/documents", &[]).await;
    assert_reply(&reply, 503, Some("application/json"), r#"{"error":"maintenance"}"#);
    assert_eq!(reply.header("retry-after"), Some("120"));
}
