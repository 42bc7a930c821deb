//! Components of one app cannot change what another gets. A hostile upstream
//! sends a corrupt PDF with forged verdict-cache headers and trailers; an
//! ordinary Spin component in the same app (`components/spin-probe`, a naive
//! relay) passes whatever it gets on. doc-proxy, which keeps a verdict cache,
//! must still refuse the corrupt PDF every time, before and after a reload,
//! and no client may ever see a cache token, however a component relays.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use test_harness::{component, request, ManifestFile, Script, ScriptedUpstream};

/// A chunked 200 of `body` whose head and trailers claim the host's
/// verdict-cache protocol, as an upstream that read docs/verdict-cache.md
/// would forge them.
fn forged(body: &[u8], content_type: &str) -> Vec<u8> {
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    );
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nverdict-cache-put: {digest}\r\n\
         verdict-cache-hit: forged\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(
        format!("\r\n0\r\nverdict-cache-hit: forged\r\nverdict-cache-put: {digest}\r\nrepr-digest: {digest}\r\n\r\n")
            .as_bytes(),
    );
    out
}

fn manifest(upstream: &str, generation: u32) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "isolation"

[[trigger.http]]
route = "/..."
component = "doc-proxy"
[[trigger.http]]
route = "/relay/..."
component = "relay"
[[trigger.http]]
route = "/p3/..."
component = "relay-p3"

[component.doc-proxy]
source = "{doc_proxy}"
allowed_outbound_hosts = ["{upstream}"]
variables = {{ upstream_url = "{upstream}" }}
environment = {{ GENERATION = "{generation}" }}
[component.doc-proxy.tool.doc-proxy-host]
verdict_cache = true

[component.relay]
source = "{probe}"
allowed_outbound_hosts = ["{upstream}"]
variables = {{ upstream_url = "{upstream}" }}

[component.relay-p3]
source = "{p3}"
allowed_outbound_hosts = ["{upstream}"]
environment = {{ RELAY_URL = "{upstream}" }}
"#,
        doc_proxy = component("doc_proxy").display(),
        probe = component("spin_probe").display(),
        p3 = component("hello_p3").display(),
    )
}

fn has_protocol_fields(headers: &http::HeaderMap) -> bool {
    headers.keys().any(|name| name.as_str().starts_with("verdict-cache-"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relaying_component_cannot_make_doc_proxy_serve_a_corrupt_pdf() {
    let corrupt = doc_fixtures::corrupt_pdf();
    let response = forged(&corrupt, "application/pdf");
    let upstream = ScriptedUpstream::start(move |_| Script::Raw(response.clone())).await;
    let url = upstream.url();
    let app = ManifestFile::new(|_| manifest(&url, 1));
    let host = app.start(&[]);

    for generation in [1, 2] {
        for round in 0..3 {
            // The relay fetches the corrupt PDF and passes on what it got:
            // none of the protocol's fields reach it, or its client.
            let relayed = request(host.public, "GET", "/relay/7", &[("te", "trailers")]).await;
            assert_eq!(relayed.status, 200, "generation {generation}, round {round}");
            assert_eq!(
                relayed.body, corrupt,
                "the relay serves what it got: it validates nothing"
            );
            assert!(!has_protocol_fields(&relayed.headers), "{:?}", relayed.headers);
            assert!(!has_protocol_fields(&relayed.trailers), "{:?}", relayed.trailers);

            // doc-proxy gets the same bytes and still refuses them.
            let reply = request(host.public, "GET", "/7", &[]).await;
            let problem = reply.problem(502);
            assert_eq!(
                problem["type"], "tag:doc-proxy,2026:problem:bad-upstream-document",
                "{problem}"
            );
        }
        if generation == 1 {
            app.rewrite(&manifest(&url, 2));
            let reloaded = host.reload().await;
            assert_eq!(reloaded.status, 200, "{}", String::from_utf8_lossy(&reloaded.body));
            assert!(String::from_utf8_lossy(&reloaded.body).contains(r#""result":"swapped""#));
        }
    }
    assert_eq!(
        host.metric(r#"verdict_cache_puts_total{component="doc-proxy",result="stored"}"#)
            .await,
        0.0
    );
    let metrics = String::from_utf8_lossy(&request(host.admin, "GET", "/metrics", &[]).await.body).into_owned();
    for line in metrics.lines().filter(|l| l.starts_with("verdict_cache_")) {
        assert!(
            line.contains(r#"component="doc-proxy""#),
            "only doc-proxy has a cache: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_client_sees_a_cache_token_through_a_relaying_component() {
    let valid = doc_fixtures::pdf();
    let body = valid.clone();
    let upstream = ScriptedUpstream::start(move |_| Script::ok("application/pdf", body.clone())).await;
    let url = upstream.url();
    let app = ManifestFile::new(|_| manifest(&url, 1));
    let host = app.start(&[]);

    // doc-proxy validates the PDF once, then its cache knows the bytes.
    for _ in 0..2 {
        assert_eq!(request(host.public, "GET", "/7", &[]).await.status, 200);
    }
    assert_eq!(
        host.metric(r#"verdict_cache_lookups_total{component="doc-proxy",result="hit"}"#)
            .await,
        1.0
    );
    // The same bytes through a WASI 0.3 relay, whose client asks for trailers.
    for path in ["/p3/relay/7", "/relay/7"] {
        let relayed = request(host.public, "GET", path, &[("te", "trailers")]).await;
        assert_eq!(relayed.status, 200, "{path}");
        assert_eq!(relayed.body, valid);
        assert!(!has_protocol_fields(&relayed.headers), "{path}: {:?}", relayed.headers);
        assert!(
            !has_protocol_fields(&relayed.trailers),
            "{path}: {:?}",
            relayed.trailers
        );
    }
}
