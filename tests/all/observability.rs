//! What an on-call engineer reads, end to end with both real components: trace
//! ids that join the client's, doc-proxy's and the upstream's log lines;
//! the component's Server-Timing entries as metrics (and stripped); responses
//! counted by type and bytes.

use test_harness::{request, start_doc_proxy, start_dummy_upstream, Host};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn upstream_url(upstream: &Host) -> String {
    format!("http://{}", upstream.public)
}

/// The log lines of `host` with `message` and, when given, `trace_id`.
fn lines(host: &Host, message: &str, trace_id: Option<&str>) -> Vec<serde_json::Value> {
    host.log_lines()
        .into_iter()
        .filter(|l| l["message"] == message && trace_id.is_none_or(|t| l["trace_id"] == t))
        .collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn a_callers_trace_reaches_the_upstream_and_every_log_line() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0", "LOG_REQUESTS=1"]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let traceparent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let reply = request(proxy.public, "GET", "/5", &[("traceparent", &traceparent)]).await;
    assert_eq!(reply.status, 200);

    let ours = lines(&proxy, "request", Some(CLIENT_TRACE));
    assert_eq!(ours.len(), 1, "doc-proxy's request line carries the caller's trace");
    assert_eq!(ours[0]["parent_span_id"], CLIENT_SPAN);
    let our_span = ours[0]["span_id"].as_str().unwrap().to_string();
    assert!(is_hex(&our_span, 16) && our_span != CLIENT_SPAN);

    let theirs = lines(&upstream, "answered", Some(CLIENT_TRACE));
    assert_eq!(theirs.len(), 1, "the upstream's line is in the same trace");
    // The upstream's parent is the outbound call's own span, a child of ours.
    let call_span = theirs[0]["parent_span_id"].as_str().unwrap();
    assert!(is_hex(call_span, 16));
    assert_ne!(call_span, our_span);
    assert_ne!(call_span, CLIENT_SPAN);
}

#[tokio::test]
async fn without_a_valid_traceparent_each_request_starts_its_own_trace() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0", "LOG_REQUESTS=1"]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    assert_eq!(request(proxy.public, "GET", "/1", &[]).await.status, 200);
    let invalid = format!("00-{}-{CLIENT_SPAN}-01", "0".repeat(32));
    assert_eq!(
        request(proxy.public, "GET", "/2", &[("traceparent", &invalid)])
            .await
            .status,
        200
    );

    let ours = lines(&proxy, "request", None);
    assert_eq!(ours.len(), 2);
    let traces: Vec<&str> = ours.iter().map(|l| l["trace_id"].as_str().unwrap()).collect();
    assert!(
        traces.iter().all(|t| is_hex(t, 32) && *t != "0".repeat(32)),
        "{traces:?}"
    );
    assert_ne!(traces[0], traces[1]);
    assert!(ours.iter().all(|l| l.get("parent_span_id").is_none()), "no caller span");
    for trace in traces {
        assert_eq!(
            lines(&upstream, "answered", Some(trace)).len(),
            1,
            "the upstream joined {trace}"
        );
    }
}

#[tokio::test]
async fn upstream_outcomes_become_metrics_and_the_header_is_stripped() {
    // Every upstream answer corrupt: three attempts, then a 502.
    let corrupt = start_dummy_upstream(&["CORRUPT_PERCENT=100"]);
    let proxy = start_doc_proxy(&upstream_url(&corrupt), &["MAX_CONTENT_ATTEMPTS=3"]);
    let reply = request(proxy.public, "GET", "/3", &[]).await;
    reply.problem(502);
    assert_eq!(reply.header("server-timing"), None, "stripped by default");
    let upstream = |desc: &str| format!(r#"server_timing_entries_total{{desc="{desc}",entry="upstream"}}"#);
    assert_eq!(proxy.metric(&upstream("corrupt")).await, 3.0);
    assert_eq!(proxy.metric(&upstream("ok")).await, 0.0);
    assert_eq!(
        proxy
            .metric(r#"server_timing_duration_seconds_count{entry="upstream"}"#)
            .await,
        3.0
    );

    // Every answer good, and the header passed on when asked.
    let good = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let url = upstream_url(&good);
    let exposing = Host::start(
        &test_harness::component("doc_proxy"),
        &["--upstream-url", &url, "--expose-server-timing"],
    );
    let reply = request(exposing.public, "GET", "/4", &[]).await;
    assert_eq!(reply.status, 200);
    let header = reply
        .header("server-timing")
        .expect("passed on with --expose-server-timing");
    assert!(header.starts_with("upstream;desc=ok;dur="), "{header}");
    assert!(header.contains(", validate;dur="), "{header}");
    assert_eq!(exposing.metric(&upstream("ok")).await, 1.0, "and still counted");
    assert_eq!(
        exposing
            .metric(r#"server_timing_entries_total{desc="",entry="validate"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn responses_are_counted_by_type_and_bytes() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    let (mut pdf, mut png, mut bytes) = (0.0, 0.0, 0.0);
    for id in 1..=20 {
        let reply = request(proxy.public, "GET", &format!("/{id}"), &[]).await;
        assert_eq!(reply.status, 200);
        match reply.header("content-type") {
            Some("application/pdf") => pdf += 1.0,
            Some("image/png") => png += 1.0,
            other => panic!("unexpected type {other:?}"),
        }
        bytes += reply.body.len() as f64;
    }
    request(proxy.public, "GET", "/not-a-number", &[]).await.problem(400);

    let by_type = |t: &str| format!(r#"http_responses_by_type_total{{content_type="{t}",route="/..."}}"#);
    assert_eq!(proxy.metric(&by_type("application/pdf")).await, pdf);
    assert_eq!(proxy.metric(&by_type("image/png")).await, png);
    assert_eq!(proxy.metric(&by_type("application/problem+json")).await, 1.0);
    let served_bytes = proxy
        .metric(r#"http_response_body_bytes_total{content_type="application/pdf",route="/..."}"#)
        .await
        + proxy
            .metric(r#"http_response_body_bytes_total{content_type="image/png",route="/..."}"#)
            .await;
    assert_eq!(served_bytes, bytes);
    assert_eq!(proxy.metric("wasm_instances_live").await, 0.0);
    assert!(proxy.metric("wasm_component_load_seconds").await > 0.0);
    assert_eq!(proxy.metric("doc_proxy_host_build_info").await, 1.0);
}

/// docs/metrics.md lists every metric family a live host exports, and names
/// none the host does not define.
#[tokio::test]
async fn the_metric_catalogue_matches_what_the_host_exports() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let catalogue = std::fs::read_to_string(repo.join("docs/metrics.md")).unwrap();
    let documented: std::collections::BTreeSet<String> = catalogue
        .lines()
        // Rows of the five-column metric tables.
        .filter(|l| l.starts_with("| `") && l.split('|').count() >= 7)
        .flat_map(|l| {
            let first_cell = l.split('|').nth(1).unwrap();
            first_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|name| name.contains('_'))
        .collect();

    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&upstream_url(&upstream), &[]);
    for id in 1..=5 {
        request(proxy.public, "GET", &format!("/{id}"), &[]).await;
    }
    let exposition = request(proxy.admin, "GET", "/metrics", &[]).await.body;
    let exported: std::collections::BTreeSet<String> = String::from_utf8_lossy(&exposition)
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    let undocumented: Vec<_> = exported.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "exported but not in docs/metrics.md: {undocumented:?}"
    );

    // Families that appear later (a breaker's first change) are still the
    // host's own: defined in its source, or by the prometheus crate's process
    // collector, whose families are all exported from the start.
    let source: String = ["ops/metrics.rs", "ops/logging.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(repo.join("host/src").join(f)).unwrap())
        .collect();
    let unknown: Vec<_> = documented
        .iter()
        .filter(|name| !exported.contains(*name) && !source.contains(&format!("\"{name}\"")))
        .collect();
    assert!(
        unknown.is_empty(),
        "in docs/metrics.md but not defined by the host: {unknown:?}"
    );

    // The outcome classes the component reports are all explained.
    for class in doc_core::telemetry::AttemptClass::ALL {
        assert!(
            catalogue.contains(&format!("`{}`", class.as_str())),
            "docs/metrics.md does not explain desc=\"{}\"",
            class.as_str()
        );
    }
}
