//! The host driven by a Spin manifest: two components on two routes in one
//! process (doc-proxy calling the upstream emulator through the same
//! listener, as `make run` does), each with its own allow-list, variables
//! and concurrency share; variables from `SPIN_VARIABLE_*`; unknown keys
//! warned about, unsupported features refused at start and at reload; a
//! manifest change swapped in live.

use std::path::Path;
use std::time::Duration;
use test_harness::{component, request, ManifestFile};

/// The app: doc-proxy on `/...`, the emulator on `/upstream/...`. doc-proxy
/// may call only `{{ upstream_host }}`, whose default is a closed port.
fn manifest(addr: &str, corrupt_percent: u32, extra: &str) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "two-components"
[variables]
upstream_host = {{ default = "127.0.0.1:1" }}

[[trigger.http]]
route = "/..."
component = "doc-proxy"
[[trigger.http]]
route = "/upstream/..."
component = "dummy-pdf-or-png"

[component.doc-proxy]
source = "{doc_proxy}"
allowed_outbound_hosts = ["http://{{{{ upstream_host }}}}"]
colour = "blue"
[component.doc-proxy.variables]
upstream_url = "http://{addr}/upstream"
max_attempts = "3"

[component.dummy-pdf-or-png]
source = "{emulator}"
[component.dummy-pdf-or-png.variables]
corrupt_percent = "{corrupt_percent}"
fault_routes = "1"
delay_ms = "0"
[component.dummy-pdf-or-png.tool.doc-proxy-host]
max_concurrent_requests = 2
{extra}"#,
        doc_proxy = component("doc_proxy").display(),
        emulator = component("dummy_pdf_or_png").display(),
    )
}

fn app(corrupt_percent: u32, extra: &str) -> ManifestFile {
    ManifestFile::new(|addr| manifest(addr, corrupt_percent, extra))
}

#[tokio::test]
async fn one_manifest_serves_two_components_on_their_routes() {
    let app = app(0, "");
    let host = app.start(&[("SPIN_VARIABLE_UPSTREAM_HOST", &app.addr)]);

    for id in 1..=20 {
        let reply = request(host.public, "GET", &format!("/{id}"), &[]).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let kind = reply.header("content-type").unwrap();
        assert!(kind == "application/pdf" || kind == "image/png", "{kind}");
    }
    // The emulator answers on its own route, and its fault routes work below
    // the route's prefix (spin-path-info).
    let direct = request(host.public, "GET", "/upstream/7", &[]).await;
    assert_eq!(direct.status, 200);
    let trap = request(host.public, "GET", "/upstream/fault/trap", &[]).await;
    assert_eq!(trap.status, 500);

    // Metrics are labelled by the manifest's routes: every doc-proxy request
    // made one emulator request (0% corrupt), plus the two direct ones.
    let doc_proxy = host.metric(r#"http_requests_total{route="/..."}"#).await;
    let emulator = host.metric(r#"http_requests_total{route="/upstream/..."}"#).await;
    let attempts = host.metric("outbound_attempts_total").await;
    assert_eq!((doc_proxy, attempts, emulator), (20.0, 20.0, 22.0));

    let lines = host.log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "component.doc-proxy.colour: not used by this host, ignored"),
        "the unknown key is warned about"
    );
    // Each component's lines name it.
    assert!(lines
        .iter()
        .any(|l| l["component"] == "doc-proxy" && l["message"] == "request"));
    assert!(lines.iter().any(|l| l["component"] == "dummy-pdf-or-png"));
}

#[tokio::test]
async fn a_components_allow_list_comes_from_its_variables() {
    // Without SPIN_VARIABLE_UPSTREAM_HOST, doc-proxy may call only the
    // default, a closed port: the emulator on its own listener is denied.
    let app = app(0, "");
    let host = app.start(&[]);
    let reply = request(host.public, "GET", "/42", &[]).await;
    assert!(reply.status >= 500, "{}", reply.status);
    assert!(host.metric(r#"outbound_requests_total{status="denied"}"#).await >= 1.0);
    assert_eq!(host.metric(r#"http_requests_total{route="/upstream/..."}"#).await, 0.0);
}

#[tokio::test]
async fn a_components_share_bounds_its_concurrency() {
    let app = app(0, "");
    // The emulator waits 600 ms per answer and may serve 2 at once.
    app.rewrite(&manifest(&app.addr, 0, "").replace("delay_ms = \"0\"", "delay_ms = \"600\""));
    let host = app.start(&[("SPIN_VARIABLE_UPSTREAM_HOST", &app.addr)]);
    let replies = futures_join(host.public, 4).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 503, 503]);
    assert_eq!(
        host.metric(r#"http_requests_shed_total{reason="concurrency"}"#).await,
        2.0
    );
}

async fn futures_join(addr: std::net::SocketAddr, n: usize) -> Vec<test_harness::Reply> {
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(async move { request(addr, "GET", &format!("/upstream/{i}"), &[]).await }))
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

#[tokio::test]
async fn a_changed_manifest_is_swapped_in_and_a_broken_one_refused() {
    let app = app(0, "");
    let host = app.start(&[("SPIN_VARIABLE_UPSTREAM_HOST", &app.addr)]);
    assert_eq!(request(host.public, "GET", "/1", &[]).await.status, 200);

    // Same code, new settings: every emulator answer corrupt.
    app.rewrite(&manifest(&app.addr, 100, ""));
    let reply = host.reload().await;
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        (reply.status, body["result"].as_str()),
        (200, Some("swapped")),
        "{body}"
    );
    for component in body["components"].as_array().unwrap() {
        assert_eq!(component["from"], component["sha256"], "the code did not change");
    }
    assert_eq!(request(host.public, "GET", "/2", &[]).await.status, 502);

    // A store no runtime config declares: refused, the last version keeps serving.
    let key_value = manifest(&app.addr, 0, "").replace("colour = \"blue\"", "key_value_stores = [\"undeclared\"]");
    app.rewrite(&key_value);
    let reply = host.reload().await;
    let problem: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(reply.status, 422);
    // The reason is logged; the answer says where, without naming it.
    assert!(
        host.refusal_reason(&problem).contains("key_value_store.undeclared"),
        "{problem}"
    );
    assert!(
        !problem["detail"].as_str().unwrap().contains("key_value_stores"),
        "{problem}"
    );
    assert_eq!(request(host.public, "GET", "/3", &[]).await.status, 502);
    assert_eq!(request(host.admin, "GET", "/readyz", &[]).await.status, 200);
}

#[tokio::test]
async fn paths_no_route_serves_get_404() {
    let app = app(0, "");
    let only_upstream =
        manifest(&app.addr, 0, "").replace("[[trigger.http]]\nroute = \"/...\"\ncomponent = \"doc-proxy\"\n", "");
    app.rewrite(&only_upstream);
    let host = app.start(&[]);
    let reply = request(host.public, "GET", "/42", &[]).await;
    let problem = reply.problem(404);
    assert!(problem["type"].as_str().unwrap().ends_with(":no-route"));
    assert_eq!(host.metric(r#"http_requests_total{route="unmatched"}"#).await, 1.0);
    assert!(host
        .log_lines()
        .iter()
        .any(|l| l["message"] == "component.doc-proxy: no trigger serves it"));
}

#[test]
fn unsupported_features_stop_the_host_at_start() {
    let app = app(
        0,
        "[[trigger.redis]]\ncomponent = \"doc-proxy\"\nchannel = \"documents\"\n",
    );
    let (code, log) = run_until_exit(&app.path);
    assert_ne!(code, Some(0));
    assert!(log.contains("only HTTP triggers are served by this host"), "{log}");
}

fn run_until_exit(manifest: &Path) -> (Option<i32>, String) {
    test_harness::run_host_until_exit(manifest, Duration::from_secs(30))
}
