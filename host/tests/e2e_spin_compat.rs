//! Real Spin apps run here unchanged: the behaviours Spin's public
//! conformance suite (fermyon/conformance-tests) checks of an HTTP runtime,
//! tested with our own small components. `components/spin-probe` (spin-sdk
//! 5.2, Spin 2's variables interface) reports the request as it received it;
//! `components/hello-p3` (spin-sdk 7) reads variables through Spin 3's.
//!
//! - request shape: Spin's `spin-*` headers, one `spin-path-match-<name>` per
//!   `:name` segment, `spin-client-addr`, and no `spin-*` header a client
//!   sent;
//! - an empty answer goes out with `Content-Length: 0` and nothing the
//!   component did not set;
//! - variables: defined, undefined and invalid names answer as in Spin;
//! - outbound HTTP: allowed and denied by `allowed_outbound_hosts`.

use std::net::SocketAddr;
use test_harness::{component, request, ManifestFile, Script, ScriptedUpstream};

fn manifest(upstream: &str, allowed_to_upstream: &str) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "spin-compat"

[[trigger.http]]
route = "/base/:path_segment/:path_end/..."
component = "probe"
[[trigger.http]]
route = "/outbound/..."
component = "outbound"
[[trigger.http]]
route = "/outbound-denied/..."
component = "outbound-denied"
[[trigger.http]]
route = "/p3/..."
component = "p3"

[component.probe]
source = "{probe}"
[component.probe.variables]
variable = "value"

[component.outbound]
source = "{probe}"
allowed_outbound_hosts = ["{allowed_to_upstream}"]
variables = {{ upstream_url = "{upstream}" }}

[component.outbound-denied]
source = "{probe}"
variables = {{ upstream_url = "{upstream}" }}

[component.p3]
source = "{p3}"
variables = {{ variable = "value" }}
"#,
        probe = component("spin_probe").display(),
        p3 = component("hello_p3").display(),
    )
}

async fn start_with(
    allowed: impl Fn(&ScriptedUpstream) -> String,
) -> (ScriptedUpstream, ManifestFile, test_harness::Host) {
    let upstream = ScriptedUpstream::start(|_| Script::ok("text/plain", b"Hello, world!".to_vec())).await;
    let url = upstream.url();
    let allowed = allowed(&upstream);
    let app = ManifestFile::new(|_| manifest(&url, &allowed));
    let host = app.start(&[]);
    (upstream, app, host)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_gets_the_request_as_spin_gives_it() {
    let (_upstream, _app, host) = start_with(|u| u.url()).await;
    let reply = request(
        host.public,
        "GET",
        "/base/path/end/rest?key=value&probe=shape",
        &[
            ("host", "example.com"),
            ("user-agent", "my-agent"),
            // A client must not be able to forge what the host tells a component.
            ("spin-path-info", "/forged"),
            ("spin-client-addr", "10.9.9.9:1"),
            ("spin-made-up", "x"),
            ("spin_underscored", "x"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let shape: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(shape["path_with_query"], "/base/path/end/rest?key=value&probe=shape");
    let headers = shape["headers"].as_object().unwrap();
    let one = |name: &str| -> String {
        let values = headers[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name} missing: {headers:?}"));
        assert_eq!(values.len(), 1, "{name}: {values:?}");
        values[0].as_str().unwrap().to_string()
    };
    assert_eq!(one("spin-raw-component-route"), "/base/:path_segment/:path_end/...");
    assert_eq!(one("spin-matched-route"), "/base/:path_segment/:path_end/...");
    assert_eq!(one("spin-component-route"), "/base/:path_segment/:path_end");
    assert_eq!(
        one("spin-full-url"),
        "http://example.com/base/path/end/rest?key=value&probe=shape"
    );
    assert_eq!(one("spin-path-info"), "/rest");
    assert_eq!(one("spin-base-path"), "/");
    assert_eq!(one("spin-path-match-path-segment"), "path");
    assert_eq!(one("spin-path-match-path-end"), "end");
    let client: SocketAddr = one("spin-client-addr").parse().expect("a socket address");
    assert!(client.ip().is_loopback(), "{client}");
    let spin_headers: Vec<&String> = headers
        .keys()
        .filter(|k| k.starts_with("spin-") || k.starts_with("spin_"))
        .collect();
    assert_eq!(spin_headers.len(), 9, "exactly Spin's headers: {spin_headers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_answer_says_so_and_carries_nothing_the_component_did_not_set() {
    let (_upstream, _app, host) = start_with(|u| u.url()).await;
    for probe in ["empty", "variables"] {
        let reply = request(
            host.public,
            "GET",
            &format!("/base/a/b/c?probe={probe}"),
            &[("host", "example.com")],
        )
        .await;
        assert_eq!(reply.status, 200, "{probe}: {}", String::from_utf8_lossy(&reply.body));
        assert!(reply.body.is_empty());
        assert_eq!(
            reply.header("content-length"),
            Some("0"),
            "{probe}: {:?}",
            reply.headers
        );
        let names: Vec<&str> = reply.headers.keys().map(|k| k.as_str()).collect();
        assert!(
            names.iter().all(|n| ["content-length", "date"].contains(n)),
            "{probe}: only what Spin sends: {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spin_3_variables_answer_as_spin_does() {
    let (_upstream, _app, host) = start_with(|u| u.url()).await;
    let get = |name: &str| {
        let path = format!("/p3/variable/{name}");
        async move { request(host.public, "GET", &path, &[]).await }
    };
    let reply = get("variable").await;
    assert_eq!((reply.status, &reply.body[..]), (200, &b"value"[..]));
    let reply = get("non_existent").await;
    assert_eq!(reply.status, 404, "{}", String::from_utf8_lossy(&reply.body));
    for invalid in ["invalid-name", "4invalidname"] {
        let reply = get(invalid).await;
        assert_eq!(reply.status, 400, "{invalid}: {}", String::from_utf8_lossy(&reply.body));
        assert!(String::from_utf8_lossy(&reply.body).starts_with("invalid-name"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_http_goes_where_the_manifest_allows_and_no_further() {
    let (_upstream, _app, host) = start_with(|u| u.url()).await;
    let reply = request(host.public, "GET", "/outbound/hello", &[]).await;
    assert_eq!((reply.status, &reply.body[..]), (200, &b"Hello, world!"[..]));
    let reply = request(host.public, "GET", "/outbound-denied/hello", &[]).await;
    assert_eq!(reply.status, 502);
    assert!(
        String::from_utf8_lossy(&reply.body).contains("HttpRequestDenied"),
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_range_ends_before_its_last_number_as_in_spin() {
    // `port..port` would be empty; `port..port+1` holds the port alone.
    let (_upstream, _app, host) =
        start_with(|u| format!("http://127.0.0.1:{}..{}", u.addr.port() - 1, u.addr.port())).await;
    let reply = request(host.public, "GET", "/outbound/hello", &[]).await;
    assert_eq!(reply.status, 502, "the range's end is excluded");
    let (_upstream, _app, host) =
        start_with(|u| format!("http://127.0.0.1:{}..{}", u.addr.port(), u.addr.port() + 1)).await;
    let reply = request(host.public, "GET", "/outbound/hello", &[]).await;
    assert_eq!(reply.status, 200);
}
