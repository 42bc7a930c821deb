//! `wasi:sockets` TCP as Spin grants it: a component reaches the addresses
//! its `allowed_outbound_hosts` names (`tcp://`, `*://`, IP ranges) and
//! nothing else; a denied address never sees a connection (each test server
//! counts what it accepts); the host's own listeners stay out of reach
//! whatever the grant; one request opens at most `--max-outbound-per-request`
//! connections. The component is `components/spin-probe` (`probe=tcp`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use test_harness::{component, request_with_body, Host, ManifestFile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback TCP server that answers each connection with what it read,
/// upper-cased, and counts the connections it accepted.
struct EchoServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

async fn echo_server(ip: &str) -> EchoServer {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut read = Vec::new();
                if stream.read_to_end(&mut read).await.is_ok() {
                    let _ = stream.write_all(&read.to_ascii_uppercase()).await;
                }
            });
        }
    });
    EchoServer { port, accepted }
}

fn manifest(grant: &str) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "sockets"
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/bare/..."
component = "bare"
[component.granted]
source = "{probe}"
allowed_outbound_hosts = [{grant}]
[component.bare]
source = "{probe}"
allowed_outbound_hosts = ["http://127.0.0.1:1"]
"#,
        probe = component("spin_probe").display(),
    )
}

async fn tcp(host: &Host, who: &str, addr: &str, count: usize) -> (u16, String) {
    let path = format!("/{who}/?probe=tcp&addr={addr}&count={count}");
    let reply = request_with_body(host.public, "POST", &path, &[], bytes::Bytes::from_static(b"ping")).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

#[tokio::test]
async fn granted_addresses_connect_and_nothing_else_is_reached() {
    let (granted, ranged, other) = (
        echo_server("127.0.0.1").await,
        echo_server("127.0.0.9").await,
        echo_server("127.0.0.1").await,
    );
    let grant = format!(
        r#""tcp://127.0.0.1:{}", "*://127.0.0.0/24:{}""#,
        granted.port, ranged.port
    );
    let app = ManifestFile::new(|_| manifest(&grant));
    let host = Host::start_manifest(&app.path, "127.0.0.1:0", &[], &[]);

    assert_eq!(
        tcp(&host, "granted", &format!("127.0.0.1:{}", granted.port), 1).await,
        (200, "PING".into())
    );
    // Inside the range: any loopback address of 127.0.0.0/24.
    assert_eq!(
        tcp(&host, "granted", &format!("127.0.0.9:{}", ranged.port), 1).await,
        (200, "PING".into())
    );
    // Another port, the same code without the grant, an address outside
    // the entry: all denied before any connection is made.
    for (who, addr) in [
        ("granted", format!("127.0.0.1:{}", other.port)),
        ("granted", format!("127.0.0.2:{}", granted.port)),
        ("bare", format!("127.0.0.1:{}", granted.port)),
    ] {
        let (status, body) = tcp(&host, who, &addr, 1).await;
        assert_eq!(status, 502, "{who} {addr}: {body}");
        assert!(body.starts_with("PermissionDenied"), "{who} {addr}: {body}");
    }
    assert_eq!(
        granted.accepted.load(Ordering::SeqCst),
        1,
        "only the granted connection"
    );
    assert_eq!(ranged.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(
        other.accepted.load(Ordering::SeqCst),
        0,
        "a denied address never sees a connection"
    );

    for (result, count) in [("allowed", 2.0), ("denied", 2.0)] {
        let sample = format!(r#"outbound_socket_uses_total{{component="granted",protocol="tcp",result="{result}"}}"#);
        assert_eq!(host.metric(&sample).await, count, "{sample}");
    }
    let bare = r#"outbound_socket_uses_total{component="bare"}"#;
    assert_eq!(host.metric(bare).await, 0.0, "no grant: no socket is even created");
}

#[tokio::test]
async fn the_hosts_listeners_and_a_requests_connection_cap_hold_whatever_the_grant() {
    let server = echo_server("127.0.0.1").await;
    let app = ManifestFile::new(|_| manifest(r#""*://127.0.0.1:*""#));
    let host = Host::start_manifest(&app.path, "127.0.0.1:0", &["--max-outbound-per-request", "3"], &[]);

    let (status, body) = tcp(&host, "granted", &host.admin.to_string(), 1).await;
    assert_eq!(status, 502, "the admin listener: {body}");
    assert!(body.starts_with("PermissionDenied"), "{body}");

    assert_eq!(
        tcp(&host, "granted", &format!("127.0.0.1:{}", server.port), 3).await,
        (200, "PING".into())
    );
    let (status, body) = tcp(&host, "granted", &format!("127.0.0.1:{}", server.port), 4).await;
    assert_eq!((status, body.as_str()), (502, "PermissionDenied after 3 connections"));
    assert_eq!(server.accepted.load(Ordering::SeqCst), 6, "3, then 3 of 4");

    for (result, count) in [("own_listener", 1.0), ("request_limit", 1.0), ("allowed", 6.0)] {
        let sample = format!(r#"outbound_socket_uses_total{{component="granted",protocol="tcp",result="{result}"}}"#);
        assert_eq!(host.metric(&sample).await, count, "{sample}");
    }
}
