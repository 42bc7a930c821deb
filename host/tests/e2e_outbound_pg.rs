//! Spin 4's PostgreSQL interface 4.2.0 through a spin-sdk 6 app
//! (`spin-apps/rust-outbound-pg`), against real servers the tests start on
//! loopback ports (`test_harness::services::PostgresServer`), plain and
//! with TLS: rows streamed back by `query-async`, `execute-async`'s counts,
//! a `connection-builder` trusting the app's CA, the server's certificate
//! verified without it, `sslmode=require` refused by a plain server, and a
//! denied address never connected, by the listener's own count.
//!
//! A test whose server is not installed says so on stderr and passes
//! without running, except under `CI`.

use test_harness::services::{CountingListener, PostgresServer};
use test_harness::{built_spin_app, request_with_body, Host, ManifestFile};

/// `spin-apps/rust-outbound-pg` as `scripts/spin-apps/build.sh` builds it,
/// its grant given `port`.
fn rust_outbound_pg(port: u16) -> ManifestFile {
    let manifest = built_spin_app("rust-outbound-pg", "target/wasm32-wasip2/release/rust_outbound_pg.wasm");
    ManifestFile::new(|_| {
        manifest.replace(
            "\"postgres://{{ pg_host }}\"",
            &format!("\"postgres://{{{{ pg_host }}}}:{port}\""),
        )
    })
}

/// The app serving `address`, trusting `ca` (a PEM text) when given.
fn start(app: &ManifestFile, address: &str, ca: Option<&str>) -> Host {
    let mut variables = vec![("SPIN_VARIABLE_PG_ADDRESS", address)];
    variables.extend(ca.map(|ca| ("SPIN_VARIABLE_PG_CA", ca)));
    Host::start_manifest(&app.path, "127.0.0.1:0", &[], &variables)
}

async fn call(host: &Host, method: &str, path: &str) -> (u16, String) {
    let reply = request_with_body(host.public, method, path, &[], bytes::Bytes::new()).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

#[tokio::test]
async fn spin_4s_postgres_4_2_streams_rows_and_counts_executed_rows() {
    let Some(server) = PostgresServer::start("spin_4s_postgres_4_2_streams_rows_and_counts_executed_rows") else {
        return;
    };
    let app = rust_outbound_pg(server.port);
    let host = start(&app, &server.connection_string("postgres"), None);
    assert_eq!(call(&host, "POST", "/seed/3").await, (200, "3".into()));
    assert_eq!(
        call(&host, "GET", "/items").await,
        (200, "n,name\n1 item 1\n2 item 2\n3 item 3".into())
    );
    // More rows than one read of the stream takes.
    assert_eq!(call(&host, "POST", "/seed/500").await, (200, "500".into()));
    let (status, items) = call(&host, "GET", "/items").await;
    assert_eq!(status, 200, "{items}");
    let lines: Vec<&str> = items.lines().collect();
    assert_eq!(lines.len(), 1 + 503);
    assert_eq!(lines.last(), Some(&"500 item 500"));
    // `prefer` (the default) against a server without TLS: plain text.
    assert_eq!(call(&host, "GET", "/tls").await, (200, "ssl=false".into()));
    let connected = host
        .metric("outbound_service_uses_total{component=\"rust-outbound-pg\",service=\"postgres\",result=\"connected\"}")
        .await;
    let reused = host
        .metric("outbound_service_uses_total{component=\"rust-outbound-pg\",service=\"postgres\",result=\"reused\"}")
        .await;
    assert_eq!((connected, reused), (1.0, 4.0), "one connection, pooled");
}

#[tokio::test]
async fn tls_connections_verify_the_server_against_the_apps_ca() {
    let Some(server) = PostgresServer::start_tls("tls_connections_verify_the_server_against_the_apps_ca") else {
        return;
    };
    let ca = server.ca_pem.clone().expect("a TLS server has a CA");
    let app = rust_outbound_pg(server.port);
    let address = server.connection_string("postgres");
    let required = format!("{address} sslmode=require");

    // The CA given to `connection-builder.set-ca-root`: encrypted, with
    // `require` and with `prefer`.
    for address in [&required, &address] {
        let host = start(&app, address, Some(&ca));
        assert_eq!(call(&host, "GET", "/tls").await, (200, "ssl=true".into()), "{address}");
    }

    // Without it the server's certificate is not trusted, whatever the mode.
    for address in [&required, &address] {
        let host = start(&app, address, None);
        let (status, said) = call(&host, "GET", "/tls").await;
        assert_eq!(status, 500, "{address}: {said}");
        assert!(
            said.starts_with("open: PgError(Error::ConnectionFailed(\"error performing TLS handshake: ")
                && said.contains("UnknownIssuer"),
            "{address}: {said}"
        );
    }

    // Plain text when the address asks for it.
    let host = start(&app, &format!("{address} sslmode=disable"), None);
    assert_eq!(call(&host, "GET", "/tls").await, (200, "ssl=false".into()));

    // A CA that is not a certificate: Spin's error, from `set-ca-root`.
    let host = start(&app, &required, Some("not a certificate"));
    let (status, said) = call(&host, "GET", "/tls").await;
    assert_eq!(status, 500);
    assert!(
        said.starts_with("open: PgError(Error::Other(\"invalid root certificate: "),
        "{said}"
    );
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_fails_clearly() {
    let Some(server) = PostgresServer::start("sslmode_require_against_a_server_without_tls_fails_clearly") else {
        return;
    };
    let app = rust_outbound_pg(server.port);
    let host = start(
        &app,
        &format!("{} sslmode=require", server.connection_string("postgres")),
        None,
    );
    assert_eq!(
        call(&host, "GET", "/tls").await,
        (
            500,
            "open: PgError(Error::ConnectionFailed(\"error performing TLS handshake: server does not support TLS\"))"
                .into()
        )
    );
}

#[tokio::test]
async fn denied_addresses_never_connect_through_open_or_the_builder() {
    let listener = CountingListener::start();
    // Granted the next port only.
    let app = rust_outbound_pg(listener.port + 1);
    let ca = include_str!("../src/app/factors/outbound_pg/testdata/ca.pem");
    let address = format!("host=127.0.0.1 port={} user=postgres sslmode=require", listener.port);
    for trusting in [None, Some(ca)] {
        let host = start(&app, &address, trusting);
        assert_eq!(
            call(&host, "GET", "/tls").await,
            (
                500,
                format!(
                    "open: PgError(Error::ConnectionFailed(\"address postgres://127.0.0.1:{} is not permitted\"))",
                    listener.port
                )
            ),
            "with a CA: {}",
            trusting.is_some()
        );
    }
    assert_eq!(listener.accepted(), 0, "no connection was opened");
}
