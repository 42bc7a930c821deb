//! Spin's outbound MQTT against a real `mosquitto` each test starts on a
//! loopback port (`test_harness::services::MosquittoServer`): messages a
//! component publishes through Spin 2's interface (`components/spin-probe`)
//! and Spin 4's async one (`spin-apps/rust-outbound-mqtt`) reach a
//! subscriber at every QoS; a denied address never opens a connection, by
//! the broker's own log and a listener's count; connections are bounded per
//! request, connecting is bounded in time, and a broker's refusal is the
//! guest's `connection-failed`.
//!
//! A test whose broker is not installed says so on stderr and passes
//! without running locally; under `CI` it fails (`.ci/run` installs it).

use std::time::Duration;
use test_harness::services::{CountingListener, MosquittoServer};
use test_harness::{built_spin_app, query_encoded, request_with_body, Host, ManifestFile};

/// `granted` may publish to the broker at `port` through the name in the
/// `broker` variable; `refused` is the same code, granted nothing.
fn manifest(port: u16) -> String {
    test_harness::granted_and_refused_probes("mqtt", "broker", &[&format!("mqtt://{{{{ broker }}}}:{port}")])
}

/// `probe=mqtt` as `who` at `address`, with the rest of the query.
async fn mqtt(host: &Host, who: &str, address: &str, query: &str, body: &[u8]) -> (u16, String) {
    let path = format!("/{who}/?probe=mqtt&addr={}&{query}", query_encoded(address));
    let reply = request_with_body(host.public, "POST", &path, &[], bytes::Bytes::copy_from_slice(body)).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

fn address(broker: &MosquittoServer, client_id: &str) -> String {
    format!("{}?client_id={client_id}", broker.url())
}

#[tokio::test]
async fn mqtt_messages_reach_the_broker_at_every_qos_through_spin_2s_interface() {
    let test = "mqtt_messages_reach_the_broker_at_every_qos_through_spin_2s_interface";
    let Some(broker) = MosquittoServer::start(test) else {
        return;
    };
    let app = ManifestFile::new(|_| manifest(broker.port));
    let host = Host::start_manifest(&app.path, "127.0.0.1:0", &["--max-mqtt-payload-bytes", "2KiB"], &[]);
    let subscriber = broker.subscribe("probe/#");
    // Each request its own client id: a broker hands an id to its newest
    // connection, and a request's connection closes after its answer.
    let at = |n: u32| address(&broker, &format!("spin-probe-{n}"));
    for qos in [0u8, 1, 2] {
        let body = format!("Eureka at QoS {qos}!");
        let said = mqtt(
            &host,
            "granted",
            &at(u32::from(qos)),
            &format!("op=publish&topic=probe/q{qos}&qos={qos}&user=u&pass=p"),
            body.as_bytes(),
        )
        .await;
        assert_eq!(said, (200, String::new()), "QoS {qos}");
        let (topic, payload, delivered) = subscriber.next(Duration::from_secs(10)).expect("the message arrives");
        assert_eq!(
            (topic.as_str(), payload.as_slice()),
            (format!("probe/q{qos}").as_str(), body.as_bytes())
        );
        assert_eq!(delivered, qos, "delivered at the QoS it was published with");
    }
    // Several messages on one connection, each through before the next.
    assert_eq!(
        mqtt(
            &host,
            "granted",
            &at(3),
            "op=publish&topic=probe/many&qos=1&times=5",
            b"again"
        )
        .await,
        (200, String::new())
    );
    for _ in 0..5 {
        let (topic, payload, _) = subscriber.next(Duration::from_secs(10)).expect("each message arrives");
        assert_eq!((topic.as_str(), payload.as_slice()), ("probe/many", &b"again"[..]));
    }
    // Past the payload limit: refused with Spin's words, nothing sent.
    let said = mqtt(&host, "granted", &at(4), "op=publish&topic=probe/big", &[7; 2049]).await;
    assert_eq!(
        said,
        (
            500,
            "Error::Other(\"payload size 2049 exceeds the maximum allowed size of 2048 bytes\")".into()
        )
    );
    // A topic the protocol forbids to publish to (a broker would drop the
    // connection): refused before it is sent.
    let said = mqtt(&host, "granted", &at(5), "op=publish&topic=probe/%23", b"x").await;
    assert_eq!(
        said,
        (
            500,
            "Error::Other(\"topic \\\"probe/#\\\" cannot be published to (empty, or a wildcard or NUL in it)\")".into()
        )
    );
    assert!(
        subscriber.next(Duration::from_millis(300)).is_none(),
        "nothing else arrived"
    );
    let metric = |result: &'static str| {
        let host = &host;
        async move {
            host.metric(&format!(
                "outbound_service_uses_total{{component=\"granted\",service=\"mqtt\",result=\"{result}\"}}"
            ))
            .await
        }
    };
    assert_eq!(metric("connected").await, 6.0);
    assert_eq!(metric("call").await, 8.0);
    assert_eq!(metric("error").await, 2.0, "the payload and the topic refused");
    // Each connection ended with a DISCONNECT, not a dropped socket.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while broker.logged("disconnected.") < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(broker.logged("Received DISCONNECT from spin-probe-"), 6);
}

#[tokio::test]
async fn denied_mqtt_addresses_never_open_a_connection() {
    let Some(broker) = MosquittoServer::start("denied_mqtt_addresses_never_open_a_connection") else {
        return;
    };
    let listener = CountingListener::start();
    let app = ManifestFile::new(|_| manifest(broker.port));
    let host = Host::start_manifest(&app.path, "127.0.0.1:0", &[], &[]);
    let before = broker.connections_received();
    let port = broker.port;
    for (who, address) in [
        ("refused", format!("mqtt://127.0.0.1:{port}?client_id=a")),
        ("refused", format!("mqtt://127.0.0.1:{}?client_id=a", listener.port)),
        // The same broker, not as granted: by name, on the default port,
        // another scheme; and a listener the grant does not name.
        ("granted", format!("mqtt://localhost:{port}?client_id=a")),
        ("granted", "mqtt://127.0.0.1?client_id=a".to_string()),
        ("granted", format!("tcp://127.0.0.1:{port}?client_id=a")),
        ("granted", format!("mqtt://127.0.0.1:{}?client_id=a", listener.port)),
    ] {
        let said = mqtt(&host, who, &address, "op=publish&topic=t", b"x").await;
        assert_eq!(
            said,
            (
                500,
                format!("open: Error::ConnectionFailed(\"address {address} is not permitted\")")
            ),
            "{who} {address}"
        );
    }
    // Granted, but not an address Spin's client can use: no client id.
    let said = mqtt(&host, "granted", &broker.url(), "op=publish&topic=t", b"x").await;
    assert_eq!(said, (500, "open: Error::InvalidAddress".into()));
    assert_eq!(broker.connections_received(), before, "the broker saw no connection");
    assert_eq!(listener.accepted(), 0, "the listener saw no connection");
    let denied = host
        .metric("outbound_service_uses_total{service=\"mqtt\",destination=\"-\",result=\"denied\"}")
        .await;
    assert_eq!(denied, 6.0);
    // The same broker as granted is reached.
    let said = mqtt(&host, "granted", &address(&broker, "ok"), "op=publish&topic=t", b"x").await;
    assert_eq!(said, (200, String::new()));
    assert_eq!(broker.connections_received(), before + 1);
}

#[tokio::test]
async fn mqtt_connections_are_bounded_per_request_and_in_time_and_refusals_are_told() {
    let test = "mqtt_connections_are_bounded_per_request_and_in_time_and_refusals_are_told";
    let (Some(broker), Some(refusing)) = (MosquittoServer::start(test), MosquittoServer::refusing(test)) else {
        return;
    };
    // A server that accepts and never answers, not even the handshake.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let app = ManifestFile::new(|_| {
        manifest(broker.port).replace(
            "allowed_outbound_hosts = [",
            &format!(
                "allowed_outbound_hosts = [\"mqtt://127.0.0.1:{silent_port}\", \"mqtt://127.0.0.1:{}\", ",
                refusing.port
            ),
        )
    });
    let host = Host::start_manifest(
        &app.path,
        "127.0.0.1:0",
        &["--max-service-connections", "3", "--outbound-connect-timeout", "300ms"],
        &[],
    );
    // An empty client id: the broker names each connection itself.
    let any_id = address(&broker, "");
    for (count, says) in [
        (3, (200, String::new())),
        (4, (500, "open: Error::TooManyConnections after 3".into())),
    ] {
        let held = mqtt(&host, "granted", &any_id, &format!("op=hold&count={count}"), b"").await;
        assert_eq!(held, says, "count {count}");
    }
    let said = mqtt(
        &host,
        "granted",
        &format!("mqtt://127.0.0.1:{}?client_id=r", refusing.port),
        "op=publish&topic=t",
        b"x",
    )
    .await;
    assert_eq!(said.0, 500);
    assert!(
        said.1.starts_with("open: Error::ConnectionFailed(") && said.1.contains("NotAuthorized"),
        "{}",
        said.1
    );
    let started = std::time::Instant::now();
    let said = mqtt(
        &host,
        "granted",
        &format!("mqtt://127.0.0.1:{silent_port}?client_id=s"),
        "op=publish&topic=t",
        b"x",
    )
    .await;
    assert_eq!(
        said,
        (
            500,
            "open: Error::ConnectionFailed(\"connecting timed out after 300ms\")".into()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let connect_errors = host
        .metric("outbound_service_uses_total{component=\"granted\",service=\"mqtt\",result=\"connect_error\"}")
        .await;
    assert_eq!(connect_errors, 2.0);
    drop(silent);
}

/// `spin-apps/rust-outbound-mqtt` (spin-sdk 6, Spin 4's async
/// `spin:mqtt@3.0.0`), as `scripts/spin-apps/build.sh` builds it.
fn rust_outbound_mqtt() -> ManifestFile {
    let manifest = built_spin_app(
        "rust-outbound-mqtt",
        "target/wasm32-wasip2/release/rust_outbound_mqtt.wasm",
    );
    ManifestFile::new(|_| manifest)
}

#[tokio::test]
async fn spin_4s_async_mqtt_interface_reaches_the_broker() {
    let Some(broker) = MosquittoServer::start("spin_4s_async_mqtt_interface_reaches_the_broker") else {
        return;
    };
    let app = rust_outbound_mqtt();
    let at = address(&broker, "rust-outbound-mqtt");
    let host = Host::start_manifest(
        &app.path,
        "127.0.0.1:0",
        &[],
        &[("SPIN_VARIABLE_MQTT_ADDRESS", at.as_str())],
    );
    let subscriber = broker.subscribe("pets/#");
    for qos in [0u8, 1, 2] {
        let path = format!("/pets/q{qos}?qos={qos}");
        let reply = request_with_body(host.public, "POST", &path, &[], bytes::Bytes::from_static(b"a picture")).await;
        assert_eq!(reply.status, 200, "{:?}", String::from_utf8_lossy(&reply.body));
        let (topic, payload, delivered) = subscriber.next(Duration::from_secs(10)).expect("the message arrives");
        assert_eq!(
            (topic, payload, delivered),
            (format!("pets/q{qos}"), b"a picture".to_vec(), qos)
        );
    }
    drop(host);

    // Not granted: the same broker by another name.
    let before = broker.connections_received();
    let elsewhere = format!("mqtt://localhost:{}?client_id=x", broker.port);
    let host = Host::start_manifest(
        &app.path,
        "127.0.0.1:0",
        &[],
        &[("SPIN_VARIABLE_MQTT_ADDRESS", elsewhere.as_str())],
    );
    let reply = request_with_body(host.public, "POST", "/pets/x", &[], bytes::Bytes::new()).await;
    assert_eq!(
        (reply.status, String::from_utf8_lossy(&reply.body).into_owned()),
        (
            500,
            format!("open: Error::ConnectionFailed(\"address {elsewhere} is not permitted\")")
        )
    );
    assert_eq!(broker.connections_received(), before, "no connection was opened");
}
