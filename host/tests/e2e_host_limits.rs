//! The host's own guarantees, whatever component it serves (here the upstream
//! emulator, whose fault knobs make it trap or spin): a trap or a runaway guest
//! costs only its own request, and oversized input is refused. The three
//! that need large documents doc-proxy accepts (made by doc-fixtures) are in
//! the system tests, `tests/all/host_limits.rs`.

use bytes::Bytes;
use std::time::Duration;
use test_harness::{component, request, request_with_body, Host};

fn emulator(args: &[&str]) -> Host {
    Host::start(&component("dummy_pdf_or_png"), args)
}

#[tokio::test]
async fn a_trap_becomes_a_500_for_that_request_only() {
    let trapping = emulator(&["--variable", "trap_percent=100"]);
    let reply = request(trapping.public, "GET", "/1", &[]).await;
    let problem = reply.problem(500);
    assert_eq!(problem["type"], "tag:doc-proxy,2026:problem:internal-error");
    // The host keeps serving: the next request gets its own fresh instance.
    let again = request(trapping.public, "GET", "/2", &[]).await;
    again.problem(500);
    assert_eq!(trapping.metric("wasm_traps_total").await, 2.0);
    assert_eq!(
        request(trapping.public, "GET", "/.well-known/spin/health", &[])
            .await
            .status,
        200
    );
    // The guest's panic message reaches the host's log with the request id.
    let id = reply.header("x-request-id").unwrap().to_string();
    let lines = trapping.log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["request_id"] == id.as_str()
                && l["message"].as_str().unwrap_or("").contains("trapping on purpose")),
        "no guest panic line for {id}"
    );
}

#[tokio::test]
async fn a_guest_that_computes_forever_is_cut_off_by_the_request_timeout() {
    let busy = emulator(&["--variable", "busy_ms=20000", "--request-timeout", "500ms"]);
    let reply = request(busy.public, "GET", "/1", &[]).await;
    reply.problem(504);
    assert!(reply.elapsed < Duration::from_secs(3), "took {:?}", reply.elapsed);
    assert_eq!(busy.metric("wasm_traps_total").await, 1.0);
    assert_eq!(busy.metric("http_requests_in_flight").await, 0.0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_the_guest_runs() {
    let host = emulator(&["--max-request-body-bytes", "1024"]);
    let reply = request_with_body(host.public, "POST", "/1", &[], Bytes::from(vec![b'x'; 4096])).await;
    reply.problem(413);
    // Within the limit, the request reaches the component (which answers any method).
    let small = request_with_body(host.public, "POST", "/1", &[], Bytes::from_static(b"small")).await;
    assert_eq!(small.status, 200);
}

/// With a slow emulator started with `limits` (which must allow one request
/// at a time): a second request while the first runs gets 503 + Retry-After,
/// and the first still completes.
/// Holds the one instance with a slow request, checks a second is shed with a
/// 503, and returns the host.
async fn second_request_is_shed(limits: &[&str]) -> Host {
    let mut args = vec!["--variable", "delay_ms=1500"];
    args.extend_from_slice(limits);
    let slow = emulator(&args);
    let addr = slow.public;
    let first = tokio::spawn(async move { request(addr, "GET", "/1", &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = request(addr, "GET", "/2", &[]).await;
    second.problem(503);
    assert_eq!(second.header("retry-after"), Some("1"));
    assert_eq!(first.await.unwrap().status, 200);
    slow
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_get_503() {
    let host = second_request_is_shed(&["--max-concurrent-requests", "1"]).await;
    assert_eq!(shed_counts(&host).await, (1.0, 0.0));
    assert_eq!(host.metric("wasm_instances_live").await, 0.0);
    assert_eq!(host.metric("wasm_instances_max").await, 1.0);
}

#[tokio::test]
async fn a_request_waits_for_a_busy_instance_within_the_queue_timeout() {
    // One instance, held 600 ms by the first request: the second, sent
    // 200 ms in, waits for it and is served; with no queue it is shed.
    for (queue, status) in [("2s", 200), ("0s", 503)] {
        let slow = emulator(&[
            "--variable",
            "delay_ms=600",
            "--max-concurrent-requests",
            "1",
            "--queue-timeout",
            queue,
        ]);
        let addr = slow.public;
        let first = tokio::spawn(async move { request(addr, "GET", "/1", &[]).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = request(addr, "GET", "/2", &[]).await;
        assert_eq!(second.status, status, "--queue-timeout {queue}");
        if status == 200 {
            assert!(
                second.elapsed >= Duration::from_millis(300),
                "{:?}: it waited",
                second.elapsed
            );
        }
        assert_eq!(first.await.unwrap().status, 200);
    }
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = emulator(&["--max-request-body-bytes", "1024"]);
    let mut stream = tokio::net::TcpStream::connect(host.public).await.unwrap();
    let head = "POST /1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..16 {
        // 16 chunks of 1000 bytes; the client may be cut off before it sends them all.
        let chunk = format!("3e8\r\n{}\r\n", "x".repeat(1000));
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "no answer within 10 s");
    let text = String::from_utf8_lossy(&reply).to_string();
    // The host receives bodies itself: a problem, before the component runs.
    assert!(text.starts_with("HTTP/1.1 413"), "{text:?}");
    assert!(text.contains("application/problem+json"), "{text:?}");
    assert_eq!(
        request(host.public, "GET", "/1", &[]).await.status,
        200,
        "the host keeps serving"
    );
}

#[tokio::test]
async fn the_memory_budget_caps_concurrency_below_the_flag() {
    // 256 allowed by the flag, but a budget of one 4 MiB instance: one at a time.
    let host = second_request_is_shed(&[
        "--max-concurrent-requests",
        "256",
        "--max-instance-memory-bytes",
        "4MiB",
        "--guest-memory-budget",
        "4MiB",
    ])
    .await;
    assert_eq!(
        host.metric("wasm_instances_max").await,
        1.0,
        "the pool's size is the plan's"
    );
}

#[test]
fn a_component_whose_initial_memory_exceeds_the_instance_share_is_refused_at_start() {
    let output = std::process::Command::new(test_harness::host_binary())
        .arg("--component")
        .arg(component("dummy_pdf_or_png"))
        .args([
            "--listen-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--no-cache",
        ])
        .args(["--max-instance-memory-bytes", "64KiB"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started anyway: {log}");
    assert!(log.contains("memory"), "{log}");
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_accept_and_counted() {
    use tokio::io::AsyncReadExt;
    let host = emulator(&["--max-connections", "2"]);
    // Two connections with a request in progress (a body still arriving)
    // hold the listener's two places: neither may be displaced.
    let held = [
        stalled_body(host.public, 100, 10).await,
        stalled_body(host.public, 100, 10).await,
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(host.public).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed at once: {read:?}");
    assert_eq!(
        host.metric(r#"http_connections_refused_total{listener="public"}"#)
            .await,
        1.0
    );
    assert_eq!(host.metric(r#"http_connections_open{listener="public"}"#).await, 2.0);
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(request(host.public, "GET", "/1", &[]).await.status, 200);
}

/// Sends a request head declaring a `length`-byte body and `sent` bytes of it,
/// then stalls; returns the connection.
async fn stalled_body(addr: std::net::SocketAddr, length: usize, sent: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST /1 HTTP/1.1\r\nhost: x\r\ncontent-length: {length}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; sent]).await.unwrap();
    stream
}

#[tokio::test]
async fn a_slow_body_holds_its_connection_not_a_slot_and_gets_408() {
    use tokio::io::AsyncReadExt;
    let host = emulator(&["--max-concurrent-requests", "1", "--request-body-timeout", "1s"]);
    let mut slow = stalled_body(host.public, 100, 10).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The only slot is free: the slow client is still sending.
    assert_eq!(request(host.public, "GET", "/2", &[]).await.status, 200);

    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "no answer within 5 s");
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request-body-timeout"), "{text}");
}

#[tokio::test]
async fn bodies_beyond_the_buffer_budget_get_503() {
    let host = emulator(&[
        "--max-request-body-bytes",
        "1MiB",
        "--request-body-buffer-bytes",
        "1MiB",
    ]);
    // One slow body has sent all but the last 512 bytes of its 1 MiB: what
    // it holds is the whole budget...
    let _slow = stalled_body(host.public, 1 << 20, (1 << 20) - 512).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so another body must wait its turn, but bodiless requests need none.
    let second = request_with_body(host.public, "POST", "/3", &[], Bytes::from_static(b"0123456789")).await;
    second.problem(503);
    assert_eq!(second.header("retry-after"), Some("1"));
    assert_eq!(request(host.public, "GET", "/4", &[]).await.status, 200);
    assert_eq!(shed_counts(&host).await, (0.0, 1.0));
}

/// Bodies are reserved as their bytes arrive, not as their `Content-Length`
/// announces: twenty clients that declare 1 MiB each and then trickle hold
/// only what they sent, and a small POST beside them is served (before, each
/// reserved its whole declared length, and every POST got 503).
#[tokio::test]
async fn trickling_bodies_hold_only_what_they_sent() {
    let host = emulator(&[
        "--max-request-body-bytes",
        "1MiB",
        "--request-body-buffer-bytes",
        "1MiB",
    ]);
    let mut trickling = Vec::new();
    for _ in 0..20 {
        trickling.push(stalled_body(host.public, 1 << 20, 1024).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let served = request_with_body(host.public, "POST", "/3", &[], Bytes::from(vec![b'x'; 64 * 1024])).await;
    assert_ne!(served.status, 503, "{}", String::from_utf8_lossy(&served.body));
    assert_eq!(shed_counts(&host).await, (0.0, 0.0));
    drop(trickling);
}

/// `http_requests_shed_total` for (concurrency, body_buffer).
async fn shed_counts(host: &Host) -> (f64, f64) {
    let shed = |reason: &str| format!(r#"http_requests_shed_total{{reason="{reason}"}}"#);
    (
        host.metric(&shed("concurrency")).await,
        host.metric(&shed("body_buffer")).await,
    )
}

#[test]
fn a_buffer_budget_below_one_body_is_refused_at_start() {
    let out = std::process::Command::new(test_harness::host_binary())
        .args(["--component", component("dummy_pdf_or_png").to_str().unwrap()])
        .args(["--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args([
            "--max-request-body-bytes",
            "2MiB",
            "--request-body-buffer-bytes",
            "1MiB",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--request-body-buffer-bytes"), "{stderr}");
}
