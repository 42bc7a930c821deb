//! Spin's outbound services against real servers the tests start on
//! loopback ports (`test_harness::services`): a component reaches the
//! addresses its `allowed_outbound_hosts` grants (templates resolved from
//! the app's variables, default ports, `*` schemes) and nothing else; a
//! denied address never opens a connection, by the server's own count;
//! connections are pooled per component and address, bounded per request,
//! and each call is bounded in time. Spin 2's interfaces are driven by
//! `components/spin-probe`, Spin 4's async MySQL by `components/hello-p3`.
//!
//! A test whose server is not installed says so on stderr and passes
//! without running; `.ci/run` installs every one.

use test_harness::services::{CountingListener, MariadbServer, PostgresServer, RedisServer};
use test_harness::{built_spin_app, component, request_with_body, Host, ManifestFile};

/// `granted` may call the Redis server at `port` through the name in the
/// `redis_host` variable; `refused` is the same code, granted nothing.
fn manifest(port: u16) -> String {
    test_harness::granted_and_refused_probes(
        "services",
        "redis_host",
        &[&format!("redis://{{{{ redis_host }}}}:{port}")],
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
    test_harness::granted_and_refused_probes("services", "redis_host", &[&format!("*://127.0.0.1:{port}")])
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

/// Spin 3's and Spin 2's PostgreSQL interfaces (spin-sdk 5's `pg3` and `pg`)
/// reach the same server through the same grants, each in its own types:
/// what it has no type for is `unsupported`, a server's error is its text.
#[tokio::test]
async fn postgres_queries_reach_a_granted_server_through_spin_2s_and_3s_interfaces() {
    let test = "postgres_queries_reach_a_granted_server_through_spin_2s_and_3s_interfaces";
    let Some(server) = PostgresServer::start(test) else {
        return;
    };
    let app = ManifestFile::new(|_| pg_manifest(server.port));
    let host = start(&app, &[]);
    let call = |who: &'static str, version: u8, query: String| {
        let (host, address) = (&host, encoded(&server.connection_string("postgres")));
        async move { pg(host, who, &format!("probe=pg&v={version}&addr={address}&{query}")).await }
    };
    let sql = |text: &str| encoded(text);
    let create = sql("CREATE TABLE pets (id int4, name text, born date, tag uuid)");
    assert_eq!(
        call("granted", 3, format!("op=execute&sql={create}")).await,
        (200, "0".into())
    );
    let insert = sql("INSERT INTO pets VALUES ($1, $2, '2020-02-29', gen_random_uuid())");
    assert_eq!(
        call("granted", 2, format!("op=execute&sql={insert}&args=i32:1,str:Rover")).await,
        (200, "1".into())
    );
    assert_eq!(
        call("granted", 3, format!("op=execute&sql={insert}&args=i64:2,null"))
            .await
            .0,
        500,
        "an int8 parameter for an int4 column is refused, as for 4.0.0"
    );
    let select = sql("SELECT id, name, born, tag FROM pets");
    assert_eq!(
        call("granted", 3, format!("op=query&sql={select}")).await,
        (
            200,
            "id:DbDataType::Int32,name:DbDataType::Str,born:DbDataType::Date,tag:DbDataType::Other\n\
             DbValue::Int32(1)|DbValue::Str(\"Rover\")|DbValue::Date((2020, 2, 29))|DbValue::Unsupported"
                .into()
        )
    );
    assert_eq!(
        call("granted", 2, format!("op=query&sql={select}")).await,
        (
            200,
            "id:DbDataType::Int32,name:DbDataType::Str,born:DbDataType::Other,tag:DbDataType::Other\n\
             DbValue::Int32(1)|DbValue::Str(\"Rover\")|DbValue::Unsupported|DbValue::Unsupported"
                .into()
        )
    );
    let (status, said) = call("granted", 2, format!("op=query&sql={}", sql("SELECT * FROM nowhere"))).await;
    assert_eq!(status, 500);
    assert!(
        said.starts_with("Error::QueryFailed(\"") && said.contains("nowhere"),
        "{said}"
    );
    // Not granted: Spin's words, and the server is not asked.
    for version in [2, 3] {
        let (status, said) = call("refused", version, format!("op=query&sql={select}")).await;
        assert_eq!(status, 500);
        assert!(
            said.starts_with("open: Error::ConnectionFailed(\"address postgres://127.0.0.1:")
                && said.ends_with("is not permitted\")"),
            "{said}"
        );
    }
    let denied = host
        .metric("outbound_service_uses_total{component=\"refused\",service=\"postgres\",result=\"denied\"}")
        .await;
    assert_eq!(denied, 2.0);
}

/// `granted` may reach the MySQL server at `port` as `mysql://` grants it;
/// `refused` nothing.
fn mysql_manifest(port: u16) -> String {
    test_harness::granted_and_refused_probes("services", "redis_host", &[&format!("mysql://127.0.0.1:{port}")])
}

/// `probe=mysql` at `address` with `query` (its SQL URL-encoded by the caller).
async fn mysql(host: &Host, who: &str, address: &str, query: &str) -> (u16, String) {
    pg(host, who, &format!("probe=mysql&addr={}&{query}", encoded(address))).await
}

#[tokio::test]
async fn mysql_queries_reach_a_granted_server_through_spin_2s_interface() {
    let Some(server) = MariadbServer::start("mysql_queries_reach_a_granted_server_through_spin_2s_interface") else {
        return;
    };
    let app = ManifestFile::new(|_| mysql_manifest(server.port));
    let host = start(&app, &[]);
    let url = server.url();
    let call = |query: String| {
        let (host, url) = (&host, &url);
        async move { mysql(host, "granted", url, &query).await }
    };
    let create = "CREATE TABLE pets (id INT, age TINYINT, big BIGINT UNSIGNED, weight DOUBLE, \
                  name VARCHAR(20), tag VARBINARY(8), price DECIMAL(5,2))";
    assert_eq!(
        call(format!("op=execute&sql={}", encoded(create))).await,
        (200, String::new())
    );
    let insert = "INSERT INTO pets VALUES (?, ?, ?, ?, ?, ?, NULL)";
    assert_eq!(
        call(format!(
            "op=execute&sql={}&args=i32:1,i8:-3,u64:18446744073709551615,f64:12.5,str:Rover,bin:ab",
            encoded(insert)
        ))
        .await,
        (200, String::new())
    );
    assert_eq!(
        server.sql("SELECT name, big FROM spin_dev.pets"),
        "Rover\t18446744073709551615",
        "written to the server"
    );
    let select = "SELECT id, age, big, weight, name, tag, price FROM pets WHERE id = ?";
    assert_eq!(
        call(format!("op=query&sql={}&args=i32:1", encoded(select))).await,
        (
            200,
            "id:DbDataType::Int32,age:DbDataType::Int8,big:DbDataType::Uint64,weight:DbDataType::Floating64,\
             name:DbDataType::Str,tag:DbDataType::Binary,price:DbDataType::Other\n\
             DbValue::Int32(1)|DbValue::Int8(-3)|DbValue::Uint64(18446744073709551615)|DbValue::Floating64(12.5)|\
             DbValue::Str(\"Rover\")|DbValue::Binary([97, 98])|DbValue::DbNull"
                .into()
        )
    );
    // The user the address names is the one the server was told.
    let (status, user) = call(format!("op=query&sql={}", encoded("SELECT USER() AS u"))).await;
    assert_eq!(status, 200);
    assert!(user.contains("DbValue::Str(\"spin@"), "{user}");
    // Errors, in Spin's cases: the server's refusal, a type Spin has no
    // case for (DECIMAL), the wrong number of parameters.
    let (status, said) = call(format!("op=query&sql={}", encoded("SELECT * FROM nowhere"))).await;
    assert_eq!(status, 500);
    assert!(
        said.starts_with("Error::QueryFailed(") && said.contains("1146"),
        "{said}"
    );
    let (status, said) = call(format!(
        "op=query&sql={}",
        encoded("SELECT CAST(1.5 AS DECIMAL(3,1)) AS d")
    ))
    .await;
    assert_eq!(status, 500);
    assert!(said.starts_with("Error::ValueConversionFailed("), "{said}");
    let (status, said) = call(format!("op=execute&sql={}&args=i32:1", encoded("DELETE FROM pets"))).await;
    assert_eq!(status, 500);
    assert!(said.starts_with("Error::QueryFailed("), "{said}");
    let counted = host
        .metric("outbound_service_uses_total{component=\"granted\",service=\"mysql\",result=\"call\"}")
        .await;
    assert_eq!(counted, 4.0, "create, insert, two selects");
}

#[tokio::test]
async fn denied_mysql_addresses_never_open_a_connection() {
    let Some(server) = MariadbServer::start("denied_mysql_addresses_never_open_a_connection") else {
        return;
    };
    let listener = CountingListener::start();
    let app = ManifestFile::new(|_| mysql_manifest(server.port));
    let host = start(&app, &[]);
    let before = server.connections_received();
    let port = server.port;
    for (who, address, shown) in [
        ("refused", server.url(), format!("mysql://127.0.0.1:{port}")),
        // Same server, not as granted: by name, on another port, another scheme.
        (
            "granted",
            format!("mysql://spin:spin@localhost:{port}/spin_dev"),
            format!("mysql://localhost:{port}"),
        ),
        (
            "granted",
            format!("mysql://spin@127.0.0.1:{}/db", listener.port),
            format!("mysql://127.0.0.1:{}", listener.port),
        ),
        (
            "granted",
            "mysql://spin@127.0.0.1/db".into(),
            "mysql://127.0.0.1".into(),
        ),
        (
            "granted",
            format!("postgres://127.0.0.1:{port}"),
            format!("postgres://127.0.0.1:{port}"),
        ),
    ] {
        let said = mysql(&host, who, &address, "op=query&sql=select+1").await;
        assert_eq!(
            said,
            (
                500,
                format!("open: Error::ConnectionFailed(\"address {shown} is not permitted\")")
            ),
            "{who} {address}"
        );
    }
    // Granted, but naming a Unix socket: refused before connecting too.
    let socket = format!("{}?socket=/tmp/mysqld.sock", server.url());
    let (status, said) = mysql(&host, "granted", &socket, "op=query&sql=select+1").await;
    assert_eq!(status, 500);
    assert!(said.contains("Unix sockets"), "{said}");
    assert_eq!(listener.accepted(), 0, "no connection was opened");
    assert_eq!(
        server.connections_received(),
        before,
        "no connection reached the server"
    );
    let denied = host
        .metric("outbound_service_uses_total{service=\"mysql\",destination=\"-\",result=\"denied\"}")
        .await;
    assert_eq!(denied, 5.0);
    // The same server as granted is reached.
    assert_eq!(
        mysql(&host, "granted", &server.url(), "op=query&sql=select+1").await.0,
        200
    );
    assert_eq!(server.connections_received(), before + 1);
}

#[tokio::test]
async fn mysql_connections_are_pooled_reset_and_bounded() {
    let Some(server) = MariadbServer::start("mysql_connections_are_pooled_reset_and_bounded") else {
        return;
    };
    let app = ManifestFile::new(|_| mysql_manifest(server.port));
    let host = start(
        &app,
        &["--max-service-connections", "2", "--service-call-timeout", "500ms"],
    );
    let url = server.url();
    let query = |sql: &str| format!("op=query&sql={}", encoded(sql));
    let (status, first) = mysql(&host, "granted", &url, &query("SELECT CONNECTION_ID() AS id")).await;
    assert_eq!(status, 200, "{first}");
    // Session state made in one request is gone in the next, on the same connection.
    let set = "SET @leaked = 'yes'";
    assert_eq!(
        mysql(&host, "granted", &url, &format!("op=execute&sql={}", encoded(set)))
            .await
            .0,
        200
    );
    let (_, gone) = mysql(&host, "granted", &url, &query("SELECT @leaked IS NULL AS gone")).await;
    assert!(gone.ends_with("(1)"), "{gone}");
    let (_, again) = mysql(&host, "granted", &url, &query("SELECT CONNECTION_ID() AS id")).await;
    assert_eq!(first, again, "the same connection, pooled");
    let reused = host
        .metric("outbound_service_uses_total{component=\"granted\",service=\"mysql\",result=\"reused\"}")
        .await;
    assert_eq!(reused, 3.0);
    // A call past its time is cut off, and its connection closed, not pooled.
    let (status, said) = mysql(&host, "granted", &url, &query("SELECT SLEEP(5)")).await;
    assert_eq!(status, 500);
    assert_eq!(said, "Error::QueryFailed(\"the query timed out after 500ms\")");
    let (_, after) = mysql(&host, "granted", &url, &query("SELECT CONNECTION_ID() AS id")).await;
    assert_ne!(after, first, "a new connection");
    // Past the request's share: Spin's words.
    let held = mysql(&host, "granted", &url, "op=hold&count=3").await;
    assert_eq!(
        held,
        (
            500,
            "open: Error::ConnectionFailed(\"too many connections\") after 2".into()
        )
    );
}

#[tokio::test]
async fn mysql_results_are_bounded_in_size() {
    let Some(server) = MariadbServer::start("mysql_results_are_bounded_in_size") else {
        return;
    };
    let app = ManifestFile::new(|_| mysql_manifest(server.port));
    let host = start(&app, &["--max-store-result-bytes", "65536"]);
    let url = server.url();
    let query = |sql: &str| format!("op=query&sql={}", encoded(sql));
    // Many small rows past the bound, then one row larger than it.
    let many =
        "SELECT REPEAT('x', 1000) AS s FROM information_schema.columns a, information_schema.columns b LIMIT 200";
    let (status, said) = mysql(&host, "granted", &url, &query(many)).await;
    assert_eq!(status, 500);
    assert_eq!(said, "Error::Other(\"query result exceeds limit of 65536 bytes\")");
    let (status, said) = mysql(&host, "granted", &url, &query("SELECT REPEAT('x', 100000) AS s")).await;
    assert_eq!(status, 500, "{said}");
    assert_eq!(mysql(&host, "granted", &url, &query("SELECT 1 AS one")).await.0, 200);
}

/// `components/hello-p3` (spin-sdk 7, Spin 4's async `spin:mysql@3.0.0`),
/// granted the server at `port`.
fn p3_mysql_manifest(port: u16) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "p3-mysql"
[[trigger.http]]
route = "/..."
component = "p3"
[component.p3]
source = "{p3}"
allowed_outbound_hosts = ["mysql://127.0.0.1:{port}"]
"#,
        p3 = component("hello_p3").display(),
    )
}

#[tokio::test]
async fn spin_4s_async_mysql_interface_reaches_the_server() {
    let Some(server) = MariadbServer::start("spin_4s_async_mysql_interface_reaches_the_server") else {
        return;
    };
    let app = ManifestFile::new(|_| p3_mysql_manifest(server.port));
    let host = start(&app, &[]);
    let url = server.url();
    let call = |op: &'static str, sql: &'static str, args: &'static str| {
        let (public, url) = (host.public, url.clone());
        async move {
            let headers = [("x-mysql-address", url.as_str()), ("x-sql", sql), ("x-args", args)];
            let reply = request_with_body(public, "GET", &format!("/mysql/{op}"), &headers, bytes::Bytes::new()).await;
            (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
        }
    };
    assert_eq!(
        call("execute", "CREATE TABLE pets (id INT, name TEXT)", "").await,
        (200, String::new())
    );
    assert_eq!(
        call(
            "execute",
            "INSERT INTO pets VALUES (?, ?), (?, ?)",
            "i32:1,str:Rover,i32:2,null"
        )
        .await,
        (200, String::new())
    );
    assert_eq!(
        call("query", "SELECT id, name FROM pets ORDER BY id", "").await,
        (
            200,
            "id:DbDataType::Int32,name:DbDataType::Str\nDbValue::Int32(1)|DbValue::Str(\"Rover\")\n\
             DbValue::Int32(2)|DbValue::DbNull\nOk(())"
                .into()
        )
    );
    let (status, said) = call("query", "SELECT * FROM nowhere", "").await;
    assert_eq!(status, 500);
    assert!(said.contains("QueryFailed") && said.contains("1146"), "{said}");
    // Not granted: the same server by another name, never connected.
    let before = server.connections_received();
    let headers = [
        ("x-mysql-address", "mysql://spin@localhost:1/spin_dev"),
        ("x-sql", "SELECT 1"),
    ];
    let reply = request_with_body(host.public, "GET", "/mysql/query", &headers, bytes::Bytes::new()).await;
    let said = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(reply.status, 500);
    assert!(
        said.starts_with("open: ")
            && said.contains("ConnectionFailed(\"address mysql://localhost:1 is not permitted\")"),
        "{said}"
    );
    assert_eq!(server.connections_received(), before);
}
