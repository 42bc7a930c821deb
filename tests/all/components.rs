//! End to end with both real components, each on its own host process:
//! dummy-pdf-or-png (the upstream emulator) and doc-proxy in front of it.

use doc_core::document::pdf::PdfLimits;
use doc_core::DocumentKind;
use std::sync::Arc;
use std::time::Duration;
use test_harness::{request, start_doc_proxy, start_dummy_upstream, Host};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn upstream_url(upstream: &Host) -> String {
    format!("http://{}", upstream.public)
}

/// The acceptance check: with the upstream serving a corrupt PDF one time in
/// ten, no corrupt, truncated or mislabelled body ever reaches a client, and
/// retries turn at least 99.5% of requests into 200s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_requests_never_return_a_bad_document() {
    const REQUESTS: usize = 2_000;
    const CONCURRENCY: usize = 16;
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let (good_pdf, good_png) = (doc_fixtures::pdf(), doc_fixtures::png());
    let addr = proxy.public;

    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..REQUESTS {
        let permit = permits.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let _permit = permit;
            (i + 1, request(addr, "GET", &format!("/{}", i + 1), &[]).await)
        });
    }
    let bounded = tokio::time::timeout(Duration::from_secs(300), async {
        let (mut ok, mut other) = (0usize, Vec::new());
        while let Some(joined) = tasks.join_next().await {
            let (id, reply) = joined.unwrap();
            if reply.status == 200 {
                let kind = doc_core::validate(&reply.body, &PdfLimits::default())
                    .unwrap_or_else(|e| panic!("request {id}: served an invalid document: {e}"));
                let (expected_type, expected_body) = match kind {
                    DocumentKind::Pdf => ("application/pdf", &good_pdf),
                    DocumentKind::Png => ("image/png", &good_png),
                };
                assert_eq!(
                    reply.header("content-type"),
                    Some(expected_type),
                    "request {id}: mislabelled"
                );
                assert_eq!(
                    &reply.body[..],
                    &expected_body[..],
                    "request {id}: not the upstream's good file"
                );
                assert_eq!(
                    reply.header("content-length"),
                    Some(reply.body.len().to_string().as_str())
                );
                let disposition = format!("inline; filename=\"{id}.{}\"", kind.extension());
                assert_eq!(reply.header("content-disposition"), Some(disposition.as_str()));
                assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
                assert_eq!(reply.header("cache-control"), Some("no-store"));
                assert!(reply.header("x-request-id").is_some());
                ok += 1;
            } else {
                let problem = reply.problem(502);
                assert_eq!(problem["attempts"], 3);
                other.push(reply.status);
            }
        }
        (ok, other)
    })
    .await;
    let (ok, other) = bounded.expect("2,000 requests finished within 300 s");
    eprintln!("{ok} of {REQUESTS} answered 200; others: {other:?}");
    assert!(ok * 1000 >= REQUESTS * 995, "only {ok} of {REQUESTS} were 200");

    // The metrics count what was sent.
    let counted = proxy
        .metric(r#"http_requests_total{method="GET",route="/...",status="200"}"#)
        .await;
    assert_eq!(counted as usize, ok);
    let outbound = proxy.metric(r#"outbound_requests_total{status="200"}"#).await;
    assert!(outbound as usize >= REQUESTS, "outbound 200s: {outbound}");
    // About one response in ten was corrupt. Each upstream call either gave the
    // served document or a rejection, with a warning logged for each rejection.
    let rejected = proxy
        .log_lines()
        .iter()
        .filter(|l| l["message"] == "upstream document rejected")
        .count();
    assert_eq!(outbound as usize, ok + rejected, "upstream calls = served + rejected");
    assert!(
        rejected > REQUESTS / 40,
        "only {rejected} rejections: is the upstream corrupting 10%?"
    );
    assert_eq!(proxy.metric("wasm_traps_total").await, 0.0);
    assert_eq!(proxy.metric("http_requests_in_flight").await, 0.0);
}

/// Attempts a request gets while every document is rejected.
const CONTENT_ATTEMPTS: u64 = doc_core::config::MAX_CONTENT_ATTEMPTS.default;

#[tokio::test]
async fn routes_ids_and_methods() {
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let addr = proxy.public;

    for bad in ["/abc", "/0", "/007", "/-1", "/1.5", "/18446744073709551616", "/%34%32"] {
        let problem = request(addr, "GET", bad, &[]).await.problem(400);
        assert_eq!(problem["instance"], bad);
    }
    request(addr, "GET", "/1/2", &[]).await.problem(404);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let reply = request(addr, method, "/42", &[]).await;
        reply.problem(405);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }

    let usage = request(addr, "GET", "/", &[]).await;
    assert_eq!(usage.status, 200);
    assert!(String::from_utf8_lossy(&usage.body).contains("GET /{id}"));

    let head = request(addr, "HEAD", "/42", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(length == doc_fixtures::pdf().len() || length == doc_fixtures::png().len());

    // A caller's request id is kept; an unsafe one is replaced.
    let reply = request(addr, "GET", "/abc", &[("x-request-id", "trace-abc-123")]).await;
    assert_eq!(reply.header("x-request-id"), Some("trace-abc-123"));
    let reply = request(addr, "GET", "/abc", &[("x-request-id", "bad id with spaces")]).await;
    assert_ne!(reply.header("x-request-id"), Some("bad id with spaces"));

    // Spin's health path is answered by the host.
    assert_eq!(request(addr, "GET", "/.well-known/spin/health", &[]).await.status, 200);
}

#[tokio::test]
async fn oversized_request_headers_get_431_and_the_host_keeps_serving() {
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let huge = "x".repeat(64 * 1024);
    let reply = request(proxy.public, "GET", "/1", &[("x-filler", &huge)]).await;
    assert_eq!(reply.status, 431);
    assert_eq!(request(proxy.public, "GET", "/1", &[]).await.status, 200);
    let counted = r#"http_connection_errors_total{kind="header_too_large",listener="public"}"#;
    assert_eq!(proxy.metric(counted).await, 1.0);
}

#[tokio::test]
async fn heads_too_slow_or_malformed_are_counted() {
    let upstream = start_dummy_upstream(&[]);
    let url = upstream_url(&upstream);
    let proxy = Host::start(
        &test_harness::component("doc_proxy"),
        &["--upstream-url", &url, "--header-read-timeout", "300ms"],
    );
    // Half a request line, then nothing: hyper closes the connection.
    let mut slow = tokio::net::TcpStream::connect(proxy.public).await.unwrap();
    slow.write_all(b"GET /1 HT").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the slow connection was closed");
    // Not HTTP at all: 400.
    let mut garbage = tokio::net::TcpStream::connect(proxy.public).await.unwrap();
    garbage.write_all(b"\x01\x02 nonsense\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), garbage.read_to_end(&mut answer)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let count = |kind: &'static str| {
        let sample = format!(r#"http_connection_errors_total{{kind="{kind}",listener="public"}}"#);
        let proxy = &proxy;
        async move { proxy.metric(&sample).await }
    };
    assert_eq!(count("header_timeout").await, 1.0);
    assert_eq!(count("malformed").await, 1.0);
    // Still serving.
    assert_eq!(request(proxy.public, "GET", "/1", &[]).await.status, 200);
}

#[tokio::test]
async fn every_document_corrupt_gives_502_after_the_content_attempts() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=100"]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let reply = request(proxy.public, "GET", "/7", &[]).await;
    let problem = reply.problem(502);
    assert_eq!(problem["attempts"], CONTENT_ATTEMPTS);
    assert!(problem["detail"].as_str().unwrap().contains("invalid PDF"));
    assert_eq!(
        upstream
            .metric(r#"http_requests_total{method="GET",route="/...",status="200"}"#)
            .await,
        CONTENT_ATTEMPTS as f64
    );
    // One warning per rejected document, with the reason and the request id.
    let id = reply.header("x-request-id").unwrap();
    let warnings: Vec<_> = proxy
        .log_lines()
        .into_iter()
        .filter(|l| l["message"] == "upstream document rejected" && l["request_id"] == id)
        .collect();
    assert_eq!(warnings.len() as u64, CONTENT_ATTEMPTS);
    assert_eq!(warnings[0]["code"], "pdf_startxref");
    assert_eq!(warnings[0]["severity"], "WARNING");
}

#[tokio::test]
async fn configured_attempts_are_honoured() {
    let corrupt = start_dummy_upstream(&["CORRUPT_PERCENT=100"]);
    let proxy = start_doc_proxy(&upstream_url(&corrupt), &["MAX_CONTENT_ATTEMPTS=7", "MAX_ATTEMPTS=2"]);
    let problem = request(proxy.public, "GET", "/7", &[]).await.problem(502);
    assert_eq!(problem["attempts"], 7);
    let failing = start_dummy_upstream(&["ERROR_PERCENT=100"]);
    let proxy = start_doc_proxy(&upstream_url(&failing), &["MAX_CONTENT_ATTEMPTS=7", "MAX_ATTEMPTS=2"]);
    let problem = request(proxy.public, "GET", "/7", &[]).await.problem(502);
    assert_eq!(problem["attempts"], 2);
}

#[tokio::test]
async fn upstream_errors_give_502() {
    let upstream = start_dummy_upstream(&["ERROR_PERCENT=100"]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let problem = request(proxy.public, "GET", "/7", &[]).await.problem(502);
    assert!(problem["detail"].as_str().unwrap().contains("HTTP 500"));
    assert_eq!(proxy.metric(r#"outbound_requests_total{status="500"}"#).await, 3.0);
}

#[tokio::test]
async fn a_slow_upstream_gives_504_within_the_deadline() {
    let upstream = start_dummy_upstream(&["DELAY_MS=3000"]);
    let proxy = start_doc_proxy(
        &upstream_url(&upstream),
        &["DEADLINE_MS=1000", "ATTEMPT_TIMEOUT_MS=400"],
    );
    let reply = request(proxy.public, "GET", "/7", &[]).await;
    reply.problem(504);
    assert!(reply.elapsed < Duration::from_millis(1_800), "took {:?}", reply.elapsed);
}

#[tokio::test]
async fn an_unreachable_upstream_gives_503_with_retry_after() {
    let url = format!("http://127.0.0.1:{}", test_harness::closed_port());
    let proxy = start_doc_proxy(&url, &[]);
    let reply = request(proxy.public, "GET", "/7", &[]).await;
    reply.problem(503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(proxy.metric(r#"outbound_requests_total{status="connect_error"}"#).await >= 1.0);
}

#[tokio::test]
async fn outbound_requests_outside_the_allow_list_are_denied() {
    let upstream = start_dummy_upstream(&[]);
    // The component is told about the upstream, but the host is not: nothing is allowed.
    let url = format!("upstream_url={}", upstream_url(&upstream));
    let proxy = Host::start(&test_harness::component("doc_proxy"), &["--variable", &url]);
    // A configuration error: 500 without Retry-After, and no retry.
    let reply = request(proxy.public, "GET", "/7", &[]).await;
    let problem = reply.problem(500);
    assert_eq!(problem["type"], "tag:doc-proxy,2026:problem:misconfigured");
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(proxy.metric(r#"outbound_requests_total{status="denied"}"#).await, 1.0);
    assert_eq!(
        upstream
            .metric(r#"http_requests_total{method="GET",route="/...",status="200"}"#)
            .await,
        0.0
    );
}

#[tokio::test]
async fn component_log_lines_carry_the_request_and_respect_the_level() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=100"]);
    let url = upstream_url(&upstream);
    let quiet = Host::start(
        &test_harness::component("doc_proxy"),
        &["--upstream-url", &url, "--guest-log-level", "warn"],
    );
    let reply = request(quiet.public, "GET", "/5", &[]).await;
    reply.problem(502);
    let id = reply.header("x-request-id").unwrap();
    let lines: Vec<_> = quiet
        .log_lines()
        .into_iter()
        .filter(|l| l["request_id"] == id)
        .collect();
    // A rejection warning per attempt and the request line (a 5xx logs at
    // warn); no info lines.
    assert_eq!(lines.len() as u64, CONTENT_ATTEMPTS + 1, "{lines:#?}");
    assert!(lines
        .iter()
        .all(|l| l["severity"] == "WARNING" && l["component"] == "doc-proxy"));
    let summary = lines.iter().find(|l| l["message"] == "request").unwrap();
    assert_eq!(summary["status"], 502);
    assert_eq!(summary["id"], 5);
    assert_eq!(summary["attempts"], CONTENT_ATTEMPTS);
    assert!(summary["time"].is_string() && summary["duration_ms"].is_number());
}

#[tokio::test]
async fn invalid_component_configuration_gives_500() {
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &["MAX_ATTEMPTS=0"]);
    let problem = request(proxy.public, "GET", "/7", &[]).await.problem(500);
    assert!(problem["detail"].as_str().unwrap().contains("max_attempts"));
}

#[tokio::test]
async fn health_endpoints_and_graceful_drain() {
    let upstream = start_dummy_upstream(&["DELAY_MS=1500"]);
    let mut proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    assert_eq!(request(proxy.admin, "GET", "/livez", &[]).await.status, 200);
    assert_eq!(request(proxy.admin, "GET", "/readyz", &[]).await.status, 200);
    let metrics = request(proxy.admin, "GET", "/metrics", &[]).await;
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));

    // A request in flight when SIGTERM arrives still completes.
    let addr = proxy.public;
    let in_flight = tokio::spawn(async move { request(addr, "GET", "/9", &[]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        request(proxy.admin, "GET", "/readyz", &[]).await.status,
        503,
        "not ready while draining"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "new connections are refused while draining"
    );
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200);
    let status = proxy.wait_exit(Duration::from_secs(10)).expect("exits after draining");
    assert!(status.success());
}
