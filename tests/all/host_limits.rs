//! Host guarantees proven with doc-proxy serving large valid documents
//! (`doc_fixtures::hostile::one_stream_pdf`): a document larger than an
//! instance may hold fails alone, a request is in flight until its body has
//! gone out, and clients that never read are cut off while others are served.
//! The rest of the host's limits are tested in `host/tests/e2e_host_limits.rs`
//! with the upstream emulator; these stay here because they need a document
//! that doc-proxy accepts, which only doc-fixtures makes.

use std::time::Duration;
use test_harness::{component, never_reads, request, start_doc_proxy, Host, Script, ScriptedUpstream};

#[tokio::test]
async fn a_document_larger_than_an_instance_may_hold_fails_alone() {
    // A valid PDF 4 KiB short of 16 MiB (under MAX_DOCUMENT_BYTES), served by
    // an upstream, through doc-proxy with instances of 16 MiB: the body and
    // the guest's own memory (its 128 KiB stack alone) cannot fit,
    // memory.grow is refused, the guest aborts, and that request alone gets a
    // 500. A small document on the same host is still served.
    let big = doc_fixtures::hostile::one_stream_pdf("", &vec![b' '; (16 << 20) - 4096]);
    let small = doc_fixtures::pdf();
    let upstream = ScriptedUpstream::start_by_path(move |_, path| {
        Script::ok(
            "application/pdf",
            if path == "/1" { big.clone() } else { small.clone() },
        )
    })
    .await;
    let proxy = Host::start(
        &component("doc_proxy"),
        &[
            "--upstream-url",
            &upstream.url(),
            "--variable",
            "max_document_bytes=16777216",
            "--variable",
            "max_attempts=1",
            "--max-instance-memory-bytes",
            "16MiB",
        ],
    );
    request(proxy.public, "GET", "/1", &[]).await.problem(500);
    assert_eq!(proxy.metric("wasm_traps_total").await, 1.0);
    let reply = request(proxy.public, "GET", "/2", &[]).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_request_is_in_flight_until_its_body_has_gone_out() {
    use tokio::io::AsyncReadExt;
    // 7 MiB of plain stream data: a valid PDF far larger than the socket
    // buffers between the host and a client that stops reading.
    let big = doc_fixtures::hostile::one_stream_pdf("", &vec![b'x'; 7 << 20]);
    let upstream = ScriptedUpstream::start(move |_| Script::ok("application/pdf", big.clone())).await;
    let proxy = start_doc_proxy(&upstream.url(), &["MAX_ATTEMPTS=1"]);

    let (mut client, n) = never_reads(proxy.public, "/1").await;
    // The head is out; the body is stuck behind the client: still in flight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.metric("http_requests_in_flight").await, 1.0);

    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(n + rest.len() > 7 << 20);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(proxy.metric("http_requests_in_flight").await, 0.0);
}

/// Waits up to `limit` for `sample` to read `value`.
async fn until_metric(host: &Host, sample: &str, value: f64, limit: Duration) -> f64 {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let now = host.metric(sample).await;
        if now == value || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_cut_off_while_others_are_served() {
    let _machine = test_harness::heavy_load().await;
    use tokio::io::AsyncReadExt;
    // 2 MiB of plain stream data: far more than a stalled connection's buffers.
    let big = doc_fixtures::hostile::one_stream_pdf("", &vec![b'x'; 2 << 20]);
    let upstream = ScriptedUpstream::start(move |_| Script::ok("application/pdf", big.clone())).await;
    let url = upstream.url();
    let proxy = Host::start(
        &component("doc_proxy"),
        &[
            "--upstream-url",
            &url,
            "--variable",
            "max_attempts=1",
            "--client-write-timeout",
            "1s",
            "--client-send-buffer-bytes",
            "16KiB",
        ],
    );

    let mut stalled = Vec::new();
    for i in 0..16 {
        stalled.push(never_reads(proxy.public, &format!("/{}", i + 1)).await.0);
    }
    assert_eq!(
        proxy.metric("http_requests_in_flight").await,
        16.0,
        "all 16 stuck behind their clients"
    );
    // A client that reads is served meanwhile, whole.
    let reply = request(proxy.public, "GET", "/100", &[]).await;
    assert_eq!((reply.status, reply.body.len() > 2 << 20), (200, true));

    // Past the write timeout nothing is pinned: every stalled response is
    // dropped and its connection closed, counted by kind.
    let in_flight = until_metric(&proxy, "http_requests_in_flight", 0.0, Duration::from_secs(10)).await;
    assert_eq!(in_flight, 0.0, "stalled clients still pin requests");
    assert_eq!(
        proxy
            .metric(r#"http_connection_errors_total{kind="write_timeout",listener="public"}"#)
            .await,
        16.0
    );
    for mut client in stalled {
        // What was queued drains, then the host's close shows.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink)).await;
        assert!(sink.len() < 2 << 20, "the body was cut off, not sent whole");
    }
}
