//! Instance reuse (`app::reuse`), opt-in per component: the hostile test
//! component's `remember` attack counts, in a global, the requests its
//! instance has served, so the count it answers shows which instance served
//! a request. A reused instance serves its uses and no more, writes its log
//! lines under the request it is serving, and is retired after a failure, a
//! leak of handles, its idle timeout, or when another component needs its
//! pool slot.

use std::time::Duration;
use test_harness::{component, request, start_dummy_upstream, Host, ManifestFile};

/// The hostile component alone, with one instance slot: a client's next
/// request may arrive before its last instance has been put away, and would
/// then get a fresh instance while there are free slots (harmless, but no
/// test of which instance serves it); with one slot it waits for that
/// instance.
fn hostile(args: &[&str]) -> Host {
    let mut all = vec!["--max-concurrent-requests", "1", "--queue-timeout", "5s"];
    all.extend_from_slice(args);
    Host::start(&component("hostile"), &all)
}

/// The `served` count of one request of `attack`, and the request id it
/// was sent with.
async fn served(host: &Host, attack: &str) -> (u64, String) {
    let id = format!("reuse-{}", next_id());
    let reply = request(
        host.public,
        "GET",
        &format!("/?attack={attack}"),
        &[("x-request-id", &id)],
    )
    .await;
    assert_eq!(reply.status, 200, "body: {}", String::from_utf8_lossy(&reply.body));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    (body["served"].as_u64().unwrap_or_else(|| panic!("{body}")), id)
}

/// A request id no other request of the test has.
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

async fn counts(host: &Host, attack: &str, n: usize) -> Vec<u64> {
    let mut counts = Vec::new();
    for _ in 0..n {
        counts.push(served(host, attack).await.0);
    }
    counts
}

#[tokio::test]
async fn without_instance_reuse_every_request_gets_a_fresh_instance() {
    let host = hostile(&[]);
    assert_eq!(counts(&host, "remember", 3).await, [1, 1, 1]);
    assert_eq!(host.metric("wasm_instance_reuses_total").await, 0.0);
    assert_eq!(host.metric("wasm_instances_idle").await, 0.0);
}

#[tokio::test]
async fn a_reused_instance_serves_its_uses_then_a_fresh_one_comes() {
    let host = hostile(&["--instance-reuse", "3"]);
    assert_eq!(counts(&host, "remember", 7).await, [1, 2, 3, 1, 2, 3, 1]);
    assert_eq!(host.metric("wasm_instance_reuses_total").await, 4.0);
    assert_eq!(host.metric("wasm_instances_retired_total{reason=\"uses\"}").await, 2.0);
    assert_eq!(host.metric("wasm_instances_idle").await, 1.0);
    // Each request's fresh CPU budget and instantiation: 3 instances made.
    assert_eq!(host.metric("wasm_instantiation_duration_seconds_count").await, 3.0);
}

#[tokio::test]
async fn a_reused_instance_logs_under_the_request_it_serves() {
    let host = hostile(&["--instance-reuse", "10"]);
    let mut ids = Vec::new();
    for expected in 1..=3 {
        let (count, id) = served(&host, "remember").await;
        assert_eq!(count, expected);
        ids.push(id);
    }
    let lines = host.log_lines();
    for (n, id) in ids.iter().enumerate() {
        let message = format!("served {}", n + 1);
        let line = lines
            .iter()
            .find(|l| l["message"] == message.as_str())
            .unwrap_or_else(|| panic!("no line {message:?}"));
        assert_eq!(line["request_id"], id.as_str(), "{line}");
    }
}

#[tokio::test]
async fn a_failed_request_retires_its_instance() {
    let host = hostile(&["--instance-reuse", "10"]);
    assert_eq!(counts(&host, "remember", 2).await, [1, 2]);
    // The same instance takes the trap, and is not used again.
    request(host.public, "GET", "/?attack=trap", &[]).await.problem(500);
    assert_eq!(
        host.metric("wasm_instances_retired_total{reason=\"failed\"}").await,
        1.0
    );
    assert_eq!(counts(&host, "remember", 2).await, [1, 2]);
}

#[tokio::test]
async fn an_instance_whose_handles_grow_is_retired() {
    let host = hostile(&["--instance-reuse", "100"]);
    // A guest may open handles lazily and keep them (its output streams),
    // so 16 more than after its first request are allowed; one more each
    // request is a leak, and the 18th request's instance has 17 more.
    let mut expected: Vec<u64> = (1..=18).collect();
    expected.extend([1, 2]);
    assert_eq!(counts(&host, "leak", 20).await, expected);
    assert_eq!(
        host.metric("wasm_instances_retired_total{reason=\"leaked\"}").await,
        1.0
    );
    // Keeping state without handles is the component's own business.
    assert_eq!(counts(&host, "remember", 3).await, [3, 4, 5]);
}

#[tokio::test]
async fn an_idle_instance_is_retired_after_the_idle_timeout() {
    let host = hostile(&["--instance-reuse", "10", "--idle-instance-timeout", "100ms"]);
    assert_eq!(counts(&host, "remember", 2).await, [1, 2]);
    assert_eq!(host.metric("wasm_instances_idle").await, 1.0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(host.metric("wasm_instances_idle").await, 0.0);
    assert_eq!(host.metric("wasm_instances_retired_total{reason=\"idle\"}").await, 1.0);
    assert_eq!(counts(&host, "remember", 1).await, [1]);
}

#[tokio::test]
async fn an_idle_instance_gives_its_pool_slot_to_another_component() {
    let manifest = ManifestFile::new(|_| {
        format!(
            r#"spin_manifest_version = 2
[application]
name = "two-components-one-slot"
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/b/..."
component = "b"
[component.a]
source = "{hostile}"
[component.a.tool.doc-proxy-host]
instance_reuse = 100
[component.b]
source = "{hostile}"
"#,
            hostile = component("hostile").display(),
        )
    });
    let host = Host::start_manifest(
        &manifest.path,
        &manifest.addr,
        &["--max-concurrent-requests", "1", "--queue-timeout", "5s"],
        &[],
    );
    assert_eq!(host.metric("wasm_instances_max").await, 1.0);
    let a = request(host.public, "GET", "/a/?attack=remember", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(host.metric("wasm_instances_idle").await, 1.0);
    // The pool's one slot is held by a's idle instance: b's request takes it.
    let b = request(host.public, "GET", "/b/?attack=remember", &[]).await;
    assert_eq!(b.status, 200, "body: {}", String::from_utf8_lossy(&b.body));
    assert_eq!(
        host.metric("wasm_instances_retired_total{reason=\"evicted\"}").await,
        1.0
    );
    assert_eq!(host.metric("http_requests_shed_total").await, 0.0);
}

#[tokio::test]
async fn instance_reuse_is_read_from_the_manifest_and_checked() {
    let manifest = ManifestFile::new(|_| {
        format!(
            r#"spin_manifest_version = 2
[application]
name = "reuse-out-of-range"
[[trigger.http]]
route = "/..."
component = "a"
[component.a]
source = "{hostile}"
[component.a.tool.doc-proxy-host]
instance_reuse = 0
"#,
            hostile = component("hostile").display(),
        )
    });
    let (code, log) = test_harness::run_host_until_exit(&manifest.path, Duration::from_secs(20));
    assert_ne!(code, Some(0));
    assert!(log.contains("instance_reuse must be 1..=1000000"), "{log}");
}

#[tokio::test]
async fn a_waiting_request_takes_the_instance_that_goes_idle() {
    // One slot: the instance keeps it while idle, so a request waiting for
    // the slot must be handed the instance itself when it goes idle.
    let host = hostile(&[
        "--instance-reuse",
        "10",
        "--max-concurrent-requests",
        "1",
        "--queue-timeout",
        "3s",
    ]);
    assert_eq!(counts(&host, "remember", 1).await, [1]);
    let addr = host.public;
    let busy = tokio::spawn(async move { request(addr, "GET", "/?attack=spin&ms=400", &[]).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (count, _) = served(&host, "remember").await;
    assert_eq!(count, 2, "the waiter was served by the instance that went idle");
    assert_eq!(busy.await.unwrap().status, 200);
    assert_eq!(host.metric("http_requests_shed_total").await, 0.0);
}

#[tokio::test]
async fn a_reload_retires_the_idle_instances_of_the_version_it_replaces() {
    let text = |uses: u32| {
        format!(
            r#"spin_manifest_version = 2
[application]
name = "reused-then-reloaded"
[[trigger.http]]
route = "/..."
component = "a"
[component.a]
source = "{hostile}"
[component.a.tool.doc-proxy-host]
instance_reuse = {uses}
"#,
            hostile = component("hostile").display(),
        )
    };
    let manifest = ManifestFile::new(|_| text(10));
    let host = manifest.start(&[("MAX_CONCURRENT_REQUESTS", "1"), ("QUEUE_TIMEOUT", "5s")]);
    assert_eq!(counts(&host, "remember", 2).await, [1, 2]);
    assert_eq!(host.metric("wasm_instances_idle").await, 1.0);
    // A new version (its setting changed): the old one's idle instance goes
    // at once, not after its idle timeout, and its slot with it.
    manifest.rewrite(&text(20));
    assert_eq!(host.reload().await.status, 200);
    assert_eq!(host.metric("wasm_instances_idle").await, 0.0);
    assert_eq!(
        host.metric("wasm_instances_retired_total{reason=\"reloaded\"}").await,
        1.0
    );
    assert_eq!(counts(&host, "remember", 2).await, [1, 2]);
}

#[tokio::test]
async fn a_wasi_p3_instance_is_reused_too() {
    let host = Host::start(
        &component("hello_p3"),
        &[
            "--instance-reuse",
            "10",
            "--max-concurrent-requests",
            "1",
            "--queue-timeout",
            "5s",
        ],
    );
    for _ in 0..4 {
        let reply = request(host.public, "GET", "/", &[]).await;
        assert_eq!(reply.status, 200);
        assert!(String::from_utf8_lossy(&reply.body).starts_with("hello from wasi:http@0.3"));
    }
    assert_eq!(host.metric("wasm_instance_reuses_total").await, 3.0);
    assert_eq!(host.metric("wasm_instantiation_duration_seconds_count").await, 1.0);
}

/// doc-proxy makes an outbound call with request options on every attempt.
/// wasmtime-wasi-http 48 never deletes the options the guest hands over, so
/// a reused instance grew one table entry a call and was retired as leaked
/// every 15-20 requests; the host deletes them (`outbound_http/request_options.rs`).
#[tokio::test]
async fn outbound_calls_leave_nothing_behind_in_a_reused_instance() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let url = format!("http://{}", upstream.public);
    let host = Host::start(
        &component("doc_proxy"),
        &[
            "--upstream-url",
            &url,
            "--instance-reuse",
            "1000",
            "--max-concurrent-requests",
            "1",
            "--queue-timeout",
            "5s",
        ],
    );
    for id in 1..=40 {
        let reply = request(host.public, "GET", &format!("/{id}"), &[]).await;
        assert_eq!(reply.status, 200, "body: {}", String::from_utf8_lossy(&reply.body));
    }
    assert_eq!(
        host.metric("wasm_instances_retired_total{reason=\"leaked\"}").await,
        0.0
    );
    assert_eq!(host.metric("wasm_instance_reuses_total").await, 39.0);
}
