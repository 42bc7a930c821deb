//! The host protects a sick upstream and the clients waiting on it: a circuit
//! breaker that fails calls at once after consecutive failures and lets one
//! probe through to find recovery, and a retry budget that caps retries at a
//! share of first attempts across all requests. Corrupt documents are the
//! component's business and open nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use test_harness::{component, request, Host, Script, ScriptedUpstream};

fn start_proxy(upstream: &ScriptedUpstream, host_flags: &[&str], settings: &[&str]) -> Host {
    let url = upstream.url();
    let variables = test_harness::variable_flags(settings);
    let mut args = vec!["--upstream-url", url.as_str()];
    args.extend_from_slice(host_flags);
    args.extend(variables.iter().map(String::as_str));
    Host::start(&component("doc_proxy"), &args)
}

fn hits(upstream: &ScriptedUpstream) -> usize {
    upstream.hits.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_failing_upstream_opens_the_breaker_and_a_probe_closes_it() {
    let healthy = Arc::new(AtomicBool::new(false));
    let state = healthy.clone();
    let upstream = ScriptedUpstream::start(move |_| {
        if state.load(Ordering::SeqCst) {
            Script::ok("image/png", doc_fixtures::png())
        } else {
            Script::Respond {
                status: 500,
                content_type: "text/plain",
                body: b"down".to_vec(),
                content_length: None,
            }
        }
    })
    .await;
    let proxy = start_proxy(
        &upstream,
        &["--breaker-failures", "3", "--breaker-open-for", "1500ms"],
        &["MAX_ATTEMPTS=1"],
    );
    for _ in 0..3 {
        request(proxy.public, "GET", "/7", &[]).await.problem(502);
    }
    assert_eq!(hits(&upstream), 3);

    // Open: answered at once, with Retry-After, and the upstream is spared.
    for _ in 0..5 {
        let reply = request(proxy.public, "GET", "/7", &[]).await;
        let problem = reply.problem(503);
        assert_eq!(problem["type"], "tag:doc-proxy,2026:problem:upstream-unavailable");
        assert!(
            problem["detail"].as_str().unwrap().contains("circuit breaker"),
            "{problem}"
        );
        assert_eq!(reply.header("retry-after"), Some("1"));
        assert!(reply.elapsed < Duration::from_millis(250), "took {:?}", reply.elapsed);
    }
    assert_eq!(hits(&upstream), 3, "no call reached the upstream while open");
    let destination = upstream.addr.to_string();
    let state_sample = format!("outbound_circuit_state{{destination=\"{destination}\"}}");
    assert_eq!(proxy.metric(&state_sample).await, 1.0);
    assert_eq!(
        proxy.metric("outbound_requests_total{status=\"circuit_open\"}").await,
        5.0
    );
    let opened = format!("outbound_circuit_transitions_total{{destination=\"{destination}\",state=\"open\"}}");
    assert_eq!(proxy.metric(&opened).await, 1.0);

    // Still failing when the probe goes: open again, one call spent.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    request(proxy.public, "GET", "/7", &[]).await.problem(502);
    request(proxy.public, "GET", "/7", &[]).await.problem(503);
    assert_eq!(hits(&upstream), 4);
    assert_eq!(proxy.metric(&opened).await, 2.0);

    // Recovered: the next probe succeeds and closes the breaker.
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    for _ in 0..3 {
        let reply = request(proxy.public, "GET", "/7", &[]).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    }
    assert_eq!(proxy.metric(&state_sample).await, 0.0);
    let logs = proxy.log_lines();
    let transitions: Vec<&str> = logs
        .iter()
        .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with("circuit breaker")))
        .map(|l| l["to"].as_str().unwrap_or("open"))
        .collect();
    assert_eq!(transitions, ["open", "half_open", "open", "half_open", "closed"]);
}

#[tokio::test]
async fn corrupt_documents_do_not_open_the_breaker() {
    let upstream = ScriptedUpstream::start(|_| Script::ok("application/pdf", doc_fixtures::corrupt_pdf())).await;
    let proxy = start_proxy(&upstream, &["--breaker-failures", "2"], &["MAX_CONTENT_ATTEMPTS=3"]);
    for _ in 0..5 {
        let problem = request(proxy.public, "GET", "/9", &[]).await.problem(502);
        assert_eq!(problem["attempts"], 3);
    }
    assert_eq!(hits(&upstream), 15);
    assert_eq!(
        proxy.metric("outbound_requests_total{status=\"circuit_open\"}").await,
        0.0
    );
}

#[tokio::test]
async fn retries_stay_within_the_budget() {
    let upstream = ScriptedUpstream::start(|_| Script::ok("application/pdf", doc_fixtures::corrupt_pdf())).await;
    // 20% of first attempts, no floor: 50 requests may retry 10 times in all,
    // where their own policy would retry 4 times each.
    let proxy = start_proxy(
        &upstream,
        &["--retry-budget-ratio", "0.2", "--retry-budget-min-per-second", "0"],
        &["MAX_CONTENT_ATTEMPTS=5"],
    );
    let mut attempts_reported = 0;
    for _ in 0..50 {
        let problem = request(proxy.public, "GET", "/11", &[]).await.problem(502);
        assert!(
            problem["detail"].as_str().unwrap().contains("invalid PDF"),
            "a refused retry reports the attempt before it: {problem}"
        );
        attempts_reported += problem["attempts"].as_u64().unwrap();
    }
    assert_eq!(hits(&upstream), 60, "50 first attempts and 10 retries");
    assert_eq!(attempts_reported, 60);
    assert_eq!(proxy.metric("outbound_attempts_total{attempt=\"first\"}").await, 50.0);
    assert_eq!(proxy.metric("outbound_attempts_total{attempt=\"retry\"}").await, 10.0);
    assert_eq!(
        proxy
            .metric("outbound_requests_total{status=\"retry_budget_exhausted\"}")
            .await,
        50.0,
        "every request ended at a refused retry"
    );
}
