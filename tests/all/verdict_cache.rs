//! The verdict cache end to end (`host/src/outbound/verdict.rs`): the same valid bytes
//! are validated once, then recognised by their digest; a damaged document is
//! refused every time, however often a valid one was seen; the cache's
//! headers never reach the client; with the cache off, every body is checked.

use std::path::Path;
use test_harness::{component, request, Host, Script, ScriptedUpstream};

fn corpus_file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/doc-core/tests/corpus")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// doc-proxy with one attempt per request and these host flags.
fn doc_proxy(upstream: &ScriptedUpstream, host_args: &[&str]) -> Host {
    let url = upstream.url();
    let mut args = vec![
        "--upstream-url",
        url.as_str(),
        "--variable",
        "max_attempts=1",
        "--variable",
        "max_content_attempts=1",
    ];
    args.extend_from_slice(host_args);
    Host::start(&component("doc_proxy"), &args)
}

/// `verdict_cached` of the component's request line for each request id.
fn cached_flags(host: &Host, ids: &[String]) -> Vec<bool> {
    let lines = host.log_lines();
    ids.iter()
        .map(|id| {
            let line = lines
                .iter()
                .find(|l| l["message"] == "request" && l["request_id"] == id.as_str())
                .unwrap_or_else(|| panic!("no request line for {id}"));
            line["verdict_cached"].as_bool().expect("verdict_cached is logged")
        })
        .collect()
}

#[tokio::test]
async fn a_valid_document_is_checked_once_and_a_damaged_one_every_time() {
    let valid = corpus_file("valid/fixture.png");
    let damaged = corpus_file("damaged/png-idat-missing.png");
    let served = valid.clone();
    // Even requests get the valid PNG, odd ones the damaged copy.
    let upstream = ScriptedUpstream::start(move |n| {
        Script::ok("image/png", if n % 2 == 0 { served.clone() } else { damaged.clone() })
    })
    .await;
    let proxy = doc_proxy(&upstream, &[]);

    let mut valid_ids = Vec::new();
    for round in 0..3 {
        let id = format!("valid{round}");
        let reply = request(proxy.public, "GET", "/7", &[("x-request-id", &id)]).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.body.as_ref(), valid.as_slice(), "served byte for byte");
        assert_eq!(reply.header("content-type"), Some("image/png"));
        assert!(reply.header("verdict-cache-put").is_none(), "the host strips it");
        valid_ids.push(id);

        let refused = request(proxy.public, "GET", "/7", &[]).await;
        refused.problem(502);
    }
    assert_eq!(cached_flags(&proxy, &valid_ids), [false, true, true]);
    let metric = |s: &'static str| proxy.metric(s);
    assert_eq!(metric("verdict_cache_lookups_total{result=\"hit\"}").await, 2.0);
    assert_eq!(metric("verdict_cache_lookups_total{result=\"miss\"}").await, 4.0);
    assert_eq!(metric("verdict_cache_puts_total{result=\"stored\"}").await, 1.0);
    assert_eq!(metric("verdict_cache_entries").await, 1.0);
}

#[tokio::test]
async fn with_the_cache_off_every_body_is_validated() {
    let valid = corpus_file("valid/fixture.pdf");
    let upstream = ScriptedUpstream::start(move |_| Script::ok("application/pdf", valid.clone())).await;
    let proxy = doc_proxy(&upstream, &["--verdict-cache-entries", "0"]);
    let mut ids = Vec::new();
    for round in 0..3 {
        let id = format!("off{round}");
        let reply = request(proxy.public, "GET", "/8", &[("x-request-id", &id)]).await;
        assert_eq!(reply.status, 200);
        ids.push(id);
    }
    assert_eq!(cached_flags(&proxy, &ids), [false, false, false]);
    assert_eq!(proxy.metric("verdict_cache_lookups_total{result=\"miss\"}").await, 0.0);
}
