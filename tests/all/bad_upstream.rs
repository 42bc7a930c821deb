//! doc-proxy against a scripted upstream that misbehaves in each way the service
//! must survive: every case gets its documented status and a problem+json body
//! within the deadline, and no bad body reaches the client.

use std::time::Duration;
use test_harness::{request, start_doc_proxy, Reply, Script, ScriptedUpstream};

/// A deadline short enough to keep the suite quick, long enough for 3 attempts.
const SETTINGS: &[&str] = &["DEADLINE_MS=1500", "ATTEMPT_TIMEOUT_MS=600", "MAX_DOCUMENT_BYTES=65536"];
const DEADLINE: Duration = Duration::from_millis(1500);
/// Scheduling slack on a shared 2-core machine.
const SLACK: Duration = Duration::from_millis(700);

async fn fetch_through(script: impl Fn(usize) -> Script + Send + Sync + 'static) -> (Reply, usize) {
    let upstream = ScriptedUpstream::start(script).await;
    let proxy = start_doc_proxy(&upstream.url(), SETTINGS);
    let reply = request(proxy.public, "GET", "/42", &[]).await;
    assert!(reply.elapsed < DEADLINE + SLACK, "took {:?}", reply.elapsed);
    (reply, upstream.hits.load(std::sync::atomic::Ordering::SeqCst))
}

/// Documents the validator rejects get the content attempts (at once, no
/// backoff); statuses and oversized bodies the transport attempts.
const CONTENT: u64 = doc_core::config::MAX_CONTENT_ATTEMPTS.default;
const TRANSPORT: u64 = doc_core::config::MAX_ATTEMPTS.default;

/// The same bad answer every time: `attempts` are used up, then 502.
async fn expect_502(script: impl Fn(usize) -> Script + Send + Sync + 'static, attempts: u64, detail: &str) {
    let (reply, hits) = fetch_through(script).await;
    let problem = reply.problem(502);
    assert_eq!(problem["attempts"], attempts);
    assert_eq!(hits as u64, attempts);
    let text = problem["detail"].as_str().unwrap();
    assert!(text.contains(detail), "detail {text:?} lacks {detail:?}");
}

#[tokio::test]
async fn empty_body_with_200() {
    expect_502(|_| Script::ok("application/pdf", Vec::new()), CONTENT, "empty body").await;
}

#[tokio::test]
async fn html_error_page_with_200() {
    expect_502(
        |_| Script::ok("text/html", b"<!DOCTYPE html><html><body>Oops</body></html>".to_vec()),
        CONTENT,
        "html",
    )
    .await;
}

#[tokio::test]
async fn json_error_with_200() {
    expect_502(
        |_| Script::ok("application/json", br#"{"error":"internal"}"#.to_vec()),
        CONTENT,
        "json",
    )
    .await;
}

#[tokio::test]
async fn corrupt_pdf_labelled_pdf() {
    expect_502(
        |_| Script::ok("application/pdf", doc_fixtures::corrupt_pdf()),
        CONTENT,
        "invalid PDF",
    )
    .await;
}

#[tokio::test]
async fn truncated_png_with_matching_length() {
    let png = doc_fixtures::png();
    expect_502(
        move |_| Script::ok("image/png", png[..png.len() - 20].to_vec()),
        CONTENT,
        "invalid PNG",
    )
    .await;
}

#[tokio::test]
async fn body_shorter_than_its_content_length() {
    let pdf = doc_fixtures::pdf();
    let script = move |_| Script::Respond {
        status: 200,
        content_type: "application/pdf",
        body: pdf[..pdf.len() / 2].to_vec(),
        content_length: Some(Some(pdf.len())),
    };
    let (reply, _) = fetch_through(script).await;
    reply.problem(502);
}

#[tokio::test]
async fn other_formats_are_refused() {
    expect_502(
        |_| Script::ok("image/gif", b"GIF89a\x01\x00\x01\x00".to_vec()),
        CONTENT,
        "neither PDF nor PNG",
    )
    .await;
}

#[tokio::test]
async fn oversized_with_content_length_is_refused_unread() {
    expect_502(
        |_| Script::ok("application/pdf", vec![b'%'; 200_000]),
        TRANSPORT,
        "larger than 65536",
    )
    .await;
}

#[tokio::test]
async fn oversized_without_content_length_is_cut_off() {
    let script = |_| Script::Respond {
        status: 200,
        content_type: "application/pdf",
        body: vec![b'%'; 200_000],
        content_length: Some(None),
    };
    expect_502(script, TRANSPORT, "larger than 65536").await;
}

#[tokio::test]
async fn upstream_5xx() {
    let script = |_| Script::Respond {
        status: 503,
        content_type: "text/plain",
        body: b"busy".to_vec(),
        content_length: None,
    };
    expect_502(script, TRANSPORT, "HTTP 503").await;
}

#[tokio::test]
async fn upstream_404_is_not_retried() {
    let script = |_| Script::Respond {
        status: 404,
        content_type: "text/plain",
        body: b"no".to_vec(),
        content_length: None,
    };
    let (reply, hits) = fetch_through(script).await;
    reply.problem(404);
    assert_eq!(hits, 1);
}

#[tokio::test]
async fn a_valid_pdf_labelled_png_is_served_as_pdf() {
    let (reply, _) = fetch_through(|_| Script::ok("image/png", doc_fixtures::pdf())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/pdf"));
    assert_eq!(reply.header("content-disposition"), Some("inline; filename=\"42.pdf\""));
    assert_eq!(&reply.body[..], &doc_fixtures::pdf()[..]);
}

#[tokio::test]
async fn a_bad_first_answer_is_retried_and_the_good_second_served() {
    let script = |n| {
        if n == 0 {
            Script::ok("application/pdf", doc_fixtures::corrupt_pdf())
        } else {
            Script::ok("image/png", doc_fixtures::png())
        }
    };
    let (reply, hits) = fetch_through(script).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("image/png"));
    assert_eq!(&reply.body[..], &doc_fixtures::png()[..]);
    assert_eq!(hits, 2);
}

#[tokio::test]
async fn an_upstream_that_never_answers_gives_504() {
    let (reply, _) = fetch_through(|_| Script::Hang).await;
    reply.problem(504);
    assert!(
        reply.elapsed >= Duration::from_millis(1_000),
        "gave up early: {:?}",
        reply.elapsed
    );
}

#[tokio::test]
async fn an_upstream_that_drips_gives_504() {
    let (reply, _) = fetch_through(|_| Script::Drip {
        every: Duration::from_millis(50),
    })
    .await;
    reply.problem(504);
}

#[tokio::test]
async fn an_upstream_that_drops_connection_attempts_gives_503_at_the_connect_timeout() {
    // A listener that never accepts, with the smallest backlog: once a few
    // connections fill its queue the kernel drops further SYNs, as a
    // blackholed upstream does.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await {
            Ok(stream) => queued.push(stream.unwrap()),
            Err(_) => break,
        }
        assert!(queued.len() < 16, "the backlog never filled");
    }

    let settings = [
        "CONNECT_TIMEOUT_MS=200",
        "ATTEMPT_TIMEOUT_MS=1500",
        "DEADLINE_MS=3000",
        "MAX_ATTEMPTS=1",
    ];
    let proxy = start_doc_proxy(&format!("http://{addr}"), &settings);
    let reply = request(proxy.public, "GET", "/42", &[]).await;
    // The component's connect timeout, not the attempt timeout, ends it.
    reply.problem(503);
    assert!(reply.elapsed < Duration::from_millis(1_000), "took {:?}", reply.elapsed);
    drop(listener);
}

#[tokio::test]
async fn a_close_delimited_body_at_the_cap_fits_the_instance_memory() {
    // 8 MiB without Content-Length, under 32 MiB instances (the k8s sizing):
    // the buffer must not grow to twice the cap on the way (it did, and the
    // component aborted: 500 instead of the document's own verdict).
    let upstream = ScriptedUpstream::start(|_| Script::Flood {
        bytes: 8 << 20,
        declared: false,
    })
    .await;
    let url = upstream.url();
    let proxy = test_harness::Host::start(
        &test_harness::component("doc_proxy"),
        &[
            "--upstream-url",
            &url,
            "--max-instance-memory-bytes",
            "32MiB",
            "--variable",
            "max_document_bytes=8388608",
            "--variable",
            "max_content_attempts=1",
        ],
    );
    let problem = request(proxy.public, "GET", "/1", &[]).await.problem(502);
    assert!(problem["detail"].as_str().unwrap().contains("invalid PDF"), "{problem}");
    assert_eq!(proxy.metric("wasm_traps_total").await, 0.0);
}

/// The fixture PDF with `levels` of alternating dictionaries and arrays nested
/// in its trailer (itself one level), the deepest value a `1`.
fn pdf_nested_in_the_trailer(levels: usize) -> Vec<u8> {
    let open: String = (0..levels).map(|i| if i % 2 == 0 { "<</A " } else { "[" }).collect();
    let close: String = (0..levels).rev().map(|i| if i % 2 == 0 { ">>" } else { "]" }).collect();
    let pdf = doc_fixtures::pdf();
    let end = b"/Root 1 0 R>>";
    let at = pdf.windows(end.len()).rposition(|w| w == end).unwrap() + end.len() - 2;
    [&pdf[..at], format!("/Deep {open}1{close}").as_bytes(), &pdf[at..]].concat()
}

/// The validator recurses into nested PDF values and stops at 64 levels. The
/// component's stack (`-zstack-size` in .cargo/config.toml) must hold the
/// deepest nesting it accepts: that document is served; one level more is
/// refused by the depth check (the trailer does not parse), not by a stack
/// overflow (a trap, 500).
#[tokio::test]
async fn the_deepest_pdf_nesting_accepted_fits_the_component_stack() {
    let deepest = pdf_nested_in_the_trailer(63);
    let served = deepest.clone();
    let (reply, _) = fetch_through(move |_| Script::ok("application/pdf", served.clone())).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(&reply.body[..], &deepest[..]);
    expect_502(
        |_| Script::ok("application/pdf", pdf_nested_in_the_trailer(64)),
        CONTENT,
        "trailer is not a dictionary",
    )
    .await;
}
