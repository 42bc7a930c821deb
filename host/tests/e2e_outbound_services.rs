//! Spin's outbound services against real servers the tests start on
//! loopback ports (`test_harness::services`): a component reaches the
//! addresses its `allowed_outbound_hosts` grants (templates resolved from
//! the app's variables, default ports, `*` schemes) and nothing else; a
//! denied address never opens a connection, by the server's own count;
//! connections are pooled per component and address, bounded per request,
//! and each call is bounded in time. Spin 2's interfaces are driven by
//! `components/spin-probe`.
//!
//! A test whose server is not installed says so on stderr and passes
//! without running; `.ci/run` installs every one.

use test_harness::services::{CountingListener, PostgresServer, RedisServer};
use test_harness::{built_spin_app, component, request_with_body, Host, ManifestFile};

/// `granted` may call the Redis server at `port` through the name in the
/// `redis_host` variable; `refused` is the same code, granted nothing.
fn manifest(port: u16) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "services"
[variables]
redis_host = {{ default = "127.0.0.1" }}
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/refused/..."
component = "refused"
[component.granted]
source = "{probe}"
allowed_outbound_hosts = ["redis://{{{{ redis_host }}}}:{port}"]
[component.refused]
source = "{probe}"
"#,
        probe = component("spin_probe").display(),
    )
}

fn start(app: &ManifestFile, extra: &[&str]) -> Host {
    Host::start_manifest(&app.path, "127.0.0.1:0", extra, &[])
}

/// `probe=redis` with `query` (its address URL-encoded by the caller).
async fn redis(host: &Host, who: &str, query: &str, body: &[u8]) -> (u16, String) {
    let path = format!("/{who}/?probe=redis&{query}");
    let reply = request_with_body(host.public, "POST", &path, &[], bytes::Bytes::copy_from_slice(body)).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

/// `address` as a query parameter's value.
fn encoded(address: &str) -> String {
    address
        .chars()
        .map(|c| match c {
            ':' | '/' | '@' | '+' | ' ' | '&' | '?' | '%' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn redis_calls_reach_a_granted_server_through_spin_2s_interface() {
    let Some(server) = RedisServer::start("redis_calls_reach_a_granted_server_through_spin_2s_interface") else {
        return;
    };
    let app = ManifestFile::new(|_| manifest(server.port));
    let host = start(&app, &[]);
    let addr = format!("addr={}", encoded(&server.url()));
    let call = |query: String, body: &'static [u8]| {
        let (host, addr) = (&host, &addr);
        async move { redis(host, "granted", &format!("{addr}&{query}"), body).await }
    };
    assert_eq!(
        call("op=set&key=greeting".into(), b"Eureka!").await,
        (200, String::new())
    );
    assert_eq!(server.command(&["GET", "greeting"]), "Eureka!", "written to the server");
    assert_eq!(call("op=get&key=greeting".into(), b"").await, (200, "Eureka!".into()));
    assert_eq!(call("op=get&key=absent".into(), b"").await.0, 404);
    assert_eq!(call("op=incr&key=n".into(), b"").await, (200, "1".into()));
    assert_eq!(call("op=incr&key=n".into(), b"").await, (200, "2".into()));
    assert_eq!(call("op=del&key=n".into(), b"").await, (200, "1".into()));
    assert_eq!(
        call("op=sets&key=s&members=a,b,c".into(), b"").await,
        (200, "3 3 3".into()),
        "sadd, smembers, srem"
    );
    assert_eq!(
        call("op=publish&channel=news".into(), b"hello").await,
        (200, String::new())
    );
    assert_eq!(
        call("op=execute&command=set&args=spin-example,Eureka!".into(), b"").await,
        (200, "status:OK".into())
    );
    assert_eq!(
        call("op=execute&command=append&args=spin-example,+I've+got+it!".into(), b"").await,
        (200, "int:20".into())
    );
    assert_eq!(
        call("op=execute&command=get&args=spin-example".into(), b"").await,
        (200, "binary:Eureka! I've got it!".into())
    );
    // A type error is Spin's `type-error`... for what the client reads.
    let (status, said) = call("op=incr&key=greeting".into(), b"").await;
    assert_eq!(status, 500);
    assert!(
        said.starts_with("Error::Other(") || said == "Error::TypeError",
        "{said}"
    );
    let counted = host
        .metric("outbound_service_uses_total{component=\"granted\",service=\"redis\",result=\"call\"}")
        .await;
    assert!(counted >= 12.0, "{counted}");
}

#[tokio::test]
async fn denied_redis_addresses_never_open_a_connection() {
    let Some(server) = RedisServer::start("denied_redis_addresses_never_open_a_connection") else {
        return;
    };
    let app = ManifestFile::new(|_| manifest(server.port));
    let host = start(&app, &[]);
    let before = server.connections_received();
    for (who, address) in [
        ("refused", server.url()),
        // Same server, not as granted: by name, on another port, another scheme.
        ("granted", format!("redis://localhost:{}", server.port)),
        ("granted", "redis://127.0.0.1".to_string()),
        ("granted", format!("http://127.0.0.1:{}", server.port)),
        ("granted", "redis+unix:///tmp/redis.sock".to_string()),
        ("granted", "not an address".to_string()),
    ] {
        let said = redis(&host, who, &format!("addr={}&op=get&key=k", encoded(&address)), b"").await;
        assert_eq!(said, (500, "open: Error::InvalidAddress".into()), "{who} {address}");
    }
    assert_eq!(server.connections_received(), before, "no connection was opened");
    let denied = host
        .metric("outbound_service_uses_total{service=\"redis\",destination=\"-\",result=\"denied\"}")
        .await;
    assert_eq!(denied, 6.0);
    // The same server as granted is reached.
    let granted = redis(
        &host,
        "granted",
        &format!("addr={}&op=get&key=k", encoded(&server.url())),
        b"",
    )
    .await;
    assert_eq!(granted.0, 404);
    assert_eq!(server.connections_received(), before + 1);
}

#[tokio::test]
async fn redis_connections_are_pooled_per_component_and_bounded_per_request() {
    let Some(server) = RedisServer::start("redis_connections_are_pooled_per_component_and_bounded_per_request") else {
        return;
    };
    let app = ManifestFile::new(|_| manifest(server.port));
    let host = start(&app, &["--max-service-connections", "3"]);
    let addr = format!("addr={}", encoded(&server.url()));
    let before = server.connections_received();
    for _ in 0..4 {
        assert_eq!(
            redis(&host, "granted", &format!("{addr}&op=get&key=k"), b"").await.0,
            404
        );
    }
    assert_eq!(server.connections_received(), before + 1, "one connection, pooled");
    let reused = host
        .metric("outbound_service_uses_total{component=\"granted\",result=\"reused\"}")
        .await;
    assert_eq!(reused, 3.0);
    // Past the request's share: Spin's `too-many-connections`.
    let held = redis(&host, "granted", &format!("{addr}&op=hold&count=4"), b"").await;
    assert_eq!(held, (500, "open: Error::TooManyConnections after 3".into()));
    assert_eq!(
        redis(&host, "granted", &format!("{addr}&op=hold&count=3"), b"").await.0,
        200
    );
    // A connection `execute` used is not pooled: it may have changed state.
    let before = server.connections_received();
    let selected = redis(
        &host,
        "granted",
        &format!("{addr}&op=execute&command=select&args=1"),
        b"",
    )
    .await;
    assert_eq!(selected, (200, "status:OK".into()));
    assert_eq!(server.command(&["SET", "k", "in-db-0"]), "+OK");
    assert_eq!(
        redis(&host, "granted", &format!("{addr}&op=get&key=k"), b"").await,
        (200, "in-db-0".into()),
        "the next request is in database 0"
    );
    assert!(server.connections_received() <= before + 1);
}

#[tokio::test]
async fn redis_calls_and_connects_are_bounded_in_time() {
    let Some(server) = RedisServer::start("redis_calls_and_connects_are_bounded_in_time") else {
        return;
    };
    // A server that accepts and never answers, not even the handshake.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let app = ManifestFile::new(|_| {
        manifest(server.port).replace(
            "allowed_outbound_hosts = [",
            &format!("allowed_outbound_hosts = [\"redis://127.0.0.1:{silent_port}\", "),
        )
    });
    let host = start(
        &app,
        &["--service-call-timeout", "300ms", "--outbound-connect-timeout", "300ms"],
    );
    let started = std::time::Instant::now();
    // A call the server holds (a blocking pop of an empty list).
    let addr = format!("addr={}", encoded(&server.url()));
    let said = redis(
        &host,
        "granted",
        &format!("{addr}&op=execute&command=blpop&args=empty,0"),
        b"",
    )
    .await;
    assert_eq!(said, (500, "Error::Other(\"the call timed out after 300ms\")".into()));
    let silent_addr = format!("addr={}", encoded(&format!("redis://127.0.0.1:{silent_port}")));
    let said = redis(&host, "granted", &format!("{silent_addr}&op=get&key=k"), b"").await;
    assert_eq!(
        said,
        (500, "open: Error::Other(\"connecting timed out after 300ms\")".into())
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let metric = |result: &'static str| {
        let host = &host;
        async move {
            host.metric(&format!(
                "outbound_service_uses_total{{component=\"granted\",result=\"{result}\"}}"
            ))
            .await
        }
    };
    assert_eq!(metric("timeout").await, 1.0);
    assert_eq!(metric("connect_error").await, 1.0);
    drop(silent);
}

/// `spin-apps/rust-outbound-redis` (spin-sdk 6, Spin 4's async
/// `spin:redis@3.0.0`), as `scripts/spin-apps/build.sh` builds it; its
/// manifest's grant gets the server's port.
fn rust_outbound_redis(port: u16) -> ManifestFile {
    let manifest = built_spin_app(
        "rust-outbound-redis",
        "target/wasm32-wasip2/release/rust_outbound_redis.wasm",
    );
    ManifestFile::new(|_| {
        manifest.replace(
            "\"redis://{{ redis_host }}\"",
            &format!("\"redis://{{{{ redis_host }}}}:{port}\""),
        )
    })
}

#[tokio::test]
async fn spin_4s_async_redis_interface_reaches_the_server() {
    let Some(server) = RedisServer::start("spin_4s_async_redis_interface_reaches_the_server") else {
        return;
    };
    let app = rust_outbound_redis(server.port);
    let address = server.url();
    let host = Host::start_manifest(
        &app.path,
        "127.0.0.1:0",
        &[],
        &[("SPIN_VARIABLE_REDIS_ADDRESS", address.as_str())],
    );
    let call = |method: &'static str, path: &'static str, body: &'static [u8]| {
        let public = host.public;
        async move {
            let reply = request_with_body(public, method, path, &[], bytes::Bytes::from_static(body)).await;
            (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
        }
    };
    assert_eq!(call("POST", "/a", b"one").await, (200, "1".into()));
    assert_eq!(call("POST", "/a", b"two").await, (200, "2".into()));
    assert_eq!(call("POST", "/b", b"three").await, (200, "1".into()));
    assert_eq!(server.command(&["GET", "a"]), "two");
    assert_eq!(call("GET", "/a", b"").await, (200, "two".into()));
    assert_eq!(call("GET", "/", b"").await, (200, "a\nb".into()));
    assert_eq!(call("DELETE", "/a", b"").await, (200, "2".into()));
    assert_eq!(call("GET", "/a", b"").await.0, 404);
    assert_eq!(call("GET", "/", b"").await, (200, "b".into()));
    drop(host);

    // Not granted: the same server by another name.
    let before = server.connections_received();
    let elsewhere = format!("redis://localhost:{}", server.port);
    let host = Host::start_manifest(
        &app.path,
        "127.0.0.1:0",
        &[],
        &[("SPIN_VARIABLE_REDIS_ADDRESS", elsewhere.as_str())],
    );
    let reply = request_with_body(host.public, "GET", "/a", &[], bytes::Bytes::new()).await;
    assert_eq!(
        (reply.status, String::from_utf8_lossy(&reply.body).into_owned()),
        (500, "open: Error::InvalidAddress".into())
    );
    assert_eq!(server.connections_received(), before, "no connection was opened");
}

/// `granted` may reach the PostgreSQL server at `port` (by `*://`, as the
/// conformance suite grants it); `refused` nothing.
fn pg_manifest(port: u16) -> String {
    manifest(0).replace(
        "allowed_outbound_hosts = [\"redis://{{ redis_host }}:0\"]",
        &format!("allowed_outbound_hosts = [\"*://127.0.0.1:{port}\"]"),
    )
}

/// `probe=pg` with `query` (its address and SQL URL-encoded by the caller).
async fn pg(host: &Host, who: &str, query: &str) -> (u16, String) {
    let path = format!("/{who}/?{query}");
    let reply = request_with_body(host.public, "GET", &path, &[], bytes::Bytes::new()).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

#[tokio::test]
async fn postgres_queries_reach_a_granted_server_through_spin_4s_interface() {
    let Some(server) = PostgresServer::start("postgres_queries_reach_a_granted_server_through_spin_4s_interface")
    else {
        return;
    };
    let app = ManifestFile::new(|_| pg_manifest(server.port));
    let host = start(&app, &[]);
    let addr = format!("probe=pg&addr={}", encoded(&server.connection_string("postgres")));
    let call = |query: String| {
        let (host, addr) = (&host, &addr);
        async move { pg(host, "granted", &format!("{addr}&{query}")).await }
    };
    let sql = |text: &str| encoded(text);
    assert_eq!(
        call(format!(
            "op=execute&sql={}",
            sql("CREATE TABLE pets (id int4, name text, weight numeric, born date)")
        ))
        .await,
        (200, "0".into())
    );
    assert_eq!(
        call(format!(
            "op=execute&sql={}&args=i32:1,str:Rover,dec:12.50",
            sql("INSERT INTO pets VALUES ($1, $2, $3, '2020-02-29')")
        ))
        .await,
        (200, "1".into())
    );
    assert_eq!(
        call(format!("op=query&sql={}", sql("SELECT id, name, weight, born FROM pets"))).await,
        (
            200,
            "id,name,weight,born\nDbValue::Int32(1)|DbValue::Str(\"Rover\")|DbValue::Decimal(\"12.50\")|DbValue::Date((2020, 2, 29))"
                .into()
        )
    );
    let (status, said) = call(format!("op=query&sql={}", sql("SELECT * FROM nowhere"))).await;
    assert_eq!(status, 500);
    assert!(said.contains("QueryFailed") && said.contains("42P01"), "{said}");
    let (status, said) = call(format!("op=execute&sql={}&args=dec:twelve", sql("SELECT $1::numeric"))).await;
    assert_eq!(status, 500);
    assert!(said.starts_with("Error::ValueConversionFailed("), "{said}");
}

#[tokio::test]
async fn denied_postgres_addresses_never_open_a_connection() {
    let listener = CountingListener::start();
    let app = ManifestFile::new(|_| pg_manifest(listener.port + 1));
    let host = start(&app, &[]);
    for (who, address) in [
        (
            "refused",
            format!("host=127.0.0.1 port={} user=postgres", listener.port),
        ),
        (
            "granted",
            format!("host=127.0.0.1 port={} user=postgres", listener.port),
        ),
        (
            "granted",
            format!("postgres://postgres@localhost:{}/db", listener.port + 1),
        ),
    ] {
        let (status, said) = pg(
            &host,
            who,
            &format!("probe=pg&op=query&sql=select+1&addr={}", encoded(&address)),
        )
        .await;
        assert_eq!(status, 500);
        let port = if address.contains("localhost") {
            listener.port + 1
        } else {
            listener.port
        };
        let host_name = if address.contains("localhost") {
            "localhost"
        } else {
            "127.0.0.1"
        };
        assert_eq!(
            said,
            format!("open: Error::ConnectionFailed(\"address postgres://{host_name}:{port} is not permitted\")"),
            "{who} {address}"
        );
    }
    assert_eq!(listener.accepted(), 0, "no connection was opened");
}

#[tokio::test]
async fn postgres_connections_are_pooled_and_reset_between_requests() {
    let Some(server) = PostgresServer::start("postgres_connections_are_pooled_and_reset_between_requests") else {
        return;
    };
    let app = ManifestFile::new(|_| pg_manifest(server.port));
    let host = start(&app, &["--max-service-connections", "2"]);
    let addr = format!("probe=pg&addr={}", encoded(&server.connection_string("postgres")));
    let query = |sql: &str| format!("{addr}&op=query&sql={}", encoded(sql));
    let (status, first) = pg(&host, "granted", &query("SELECT pg_backend_pid()")).await;
    assert_eq!(status, 200, "{first}");
    // A setting made in one request is gone in the next, on the same connection.
    assert_eq!(
        pg(&host, "granted", &query("SET application_name = 'leaked'")).await.0,
        200
    );
    let (_, name) = pg(&host, "granted", &query("SELECT current_setting('application_name')")).await;
    assert!(!name.contains("leaked"), "{name}");
    let (_, again) = pg(&host, "granted", &query("SELECT pg_backend_pid()")).await;
    assert_eq!(first, again, "the same connection, pooled");
    let reused = host
        .metric("outbound_service_uses_total{component=\"granted\",service=\"postgres\",result=\"reused\"}")
        .await;
    assert_eq!(reused, 3.0);
    let held = pg(&host, "granted", &format!("{addr}&op=hold&count=3")).await;
    assert_eq!(held.0, 500);
    assert!(
        held.1
            .starts_with("open: Error::ConnectionFailed(\"too many connections\") after 2"),
        "{}",
        held.1
    );
}
