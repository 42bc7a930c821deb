//! A WASI 0.3 component (`components/hello-p3`, `wasi:http/handler@0.3.0`)
//! served beside WASI 0.2 ones (doc-proxy and the emulator) by one host from
//! one manifest: its environment and route headers reach it, its outbound
//! calls go through the same allow-list, and its instances are released once
//! each response body has gone out.

use std::time::Duration;
use test_harness::{component, request, Host, ManifestFile};

fn manifest(addr: &str) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "p2-and-p3"

[[trigger.http]]
route = "/..."
component = "doc-proxy"
[[trigger.http]]
route = "/upstream/..."
component = "dummy-pdf-or-png"
[[trigger.http]]
route = "/p3/..."
component = "hello-p3"
[[trigger.http]]
route = "/p3-denied/..."
component = "hello-p3-denied"

[component.doc-proxy]
source = "{doc_proxy}"
allowed_outbound_hosts = ["http://{addr}"]
variables = {{ upstream_url = "http://{addr}/upstream" }}

[component.dummy-pdf-or-png]
source = "{emulator}"
variables = {{ corrupt_percent = "0" }}

[component.hello-p3]
source = "{p3}"
allowed_outbound_hosts = ["http://{addr}"]
environment = {{ GREETING = "hi", RELAY_URL = "http://{addr}/upstream" }}

# The same component, relaying to an address its allow-list does not name.
[component.hello-p3-denied]
source = "{p3}"
allowed_outbound_hosts = ["http://127.0.0.1:1"]
environment = {{ RELAY_URL = "http://{addr}/upstream" }}
"#,
        doc_proxy = component("doc_proxy").display(),
        emulator = component("dummy_pdf_or_png").display(),
        p3 = component("hello_p3").display(),
    )
}

fn start() -> (ManifestFile, Host) {
    let app = ManifestFile::new(manifest);
    let host = app.start(&[]);
    (app, host)
}

#[tokio::test]
async fn a_wasi_p3_component_is_served_beside_p2_ones() {
    let (_dir, host) = start();

    // Its environment and Spin's route header reached it.
    let hello = request(host.public, "GET", "/p3/a/b", &[]).await;
    assert_eq!(hello.status, 200);
    assert_eq!(String::from_utf8_lossy(&hello.body), "hi from wasi:http@0.3 at /a/b\n");

    // Its outbound call (wasi:http 0.3's client) went through the host's
    // client to the 0.2 emulator, and the document came back whole.
    let relayed = request(host.public, "GET", "/p3/relay/5", &[]).await;
    assert_eq!(relayed.status, 200);
    let kind = relayed.header("content-type").unwrap().to_string();
    let expected_len: usize = relayed
        .header("content-length")
        .map_or(relayed.body.len(), |v| v.parse().unwrap());
    assert_eq!(relayed.body.len(), expected_len);
    assert!(kind == "application/pdf" || kind == "image/png", "{kind}");

    // The 0.2 components beside it are unaffected.
    assert_eq!(request(host.public, "GET", "/42", &[]).await.status, 200);

    let info = |wasi: &str| format!(r#"wasm_component_info{{wasi="{wasi}"}}"#);
    // The 0.3 file serves two ids; one series per component.
    assert_eq!(host.metric(&info("0.3")).await, 2.0);
    assert_eq!(host.metric(&info("0.2")).await, 2.0);
}

#[tokio::test]
async fn a_wasi_p3_components_calls_obey_its_allow_list() {
    let (_dir, host) = start();
    let reply = request(host.public, "GET", "/p3-denied/relay/1", &[]).await;
    assert_eq!(reply.status, 502);
    assert!(String::from_utf8_lossy(&reply.body).contains("relay failed"));
    assert!(host.metric(r#"outbound_requests_total{status="denied"}"#).await >= 1.0);
    assert_eq!(host.metric(r#"http_requests_total{route="/upstream/..."}"#).await, 0.0);
}

#[tokio::test]
async fn wasi_p3_instances_end_when_their_bodies_are_sent() {
    let (_dir, host) = start();
    const REQUESTS: usize = 200;
    let tasks: Vec<_> = (0..8)
        .map(|worker| {
            let addr = host.public;
            tokio::spawn(async move {
                let mut ok = 0;
                for i in (worker..REQUESTS).step_by(8) {
                    let reply = request(addr, "GET", &format!("/p3/relay/{i}"), &[]).await;
                    ok += usize::from(reply.status == 200 && !reply.body.is_empty());
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(ok, REQUESTS);
    // Every instance (the 0.3 relays and the emulator's) has ended: a 0.3
    // store waits for its body to be sent, and no more.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while host.metric("wasm_instances_live").await != 0.0 {
        assert!(std::time::Instant::now() < deadline, "instances still live");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        host.metric(r#"http_requests_total{route="/p3/...",status="200"}"#)
            .await,
        REQUESTS as f64
    );
    assert_eq!(host.metric("wasm_traps_total").await, 0.0);
}
