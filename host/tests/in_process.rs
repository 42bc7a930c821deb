//! The host as a library: started inside this test process with
//! `Host::builder()`, the way `main` starts it, then served and stopped. The
//! other host tests run the binary; this one proves the library is the host
//! (the same flags, listeners, admin and drain), not a second path beside it.

use doc_proxy_host::{Host, HostFlags};
use std::net::SocketAddr;
use std::time::Duration;

/// One GET through the harness's client: status and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let reply = test_harness::request(addr, "GET", path, &[]).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_built_in_process_serves_reports_ready_and_drains() {
    let component = test_harness::component("hello_p3");
    let cache = test_harness::test_cache_dir();
    let flags = HostFlags::from_args([
        "--component",
        component.to_str().unwrap(),
        "--listen-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
        "--shutdown-delay",
        "0s",
        "--guest-memory-budget",
        "256MiB",
        "--env",
        "GREETING=hi",
        // The tests' shared cache, not the user's: compiled once for all.
        "--cache-dir",
        cache.to_str().unwrap(),
    ])
    .unwrap();
    let host = Host::builder(flags).start().await.unwrap();
    let (public, admin) = (host.public_addr(), host.admin_addr());
    assert_ne!(public.port(), 0, "the bound port is reported");
    let stopper = host.stopper();
    let serving = tokio::spawn(host.serve());

    let (status, body) = get(public, "/greeting").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "hi from wasi:http@0.3 at /greeting\n");
    assert_eq!(get(admin, "/readyz").await.0, 200);
    let (_, metrics) = get(admin, "/metrics").await;
    assert!(
        metrics.contains("http_requests_total"),
        "the admin listener serves metrics"
    );

    stopper.stop();
    tokio::time::timeout(Duration::from_secs(20), serving)
        .await
        .expect("the host drains and returns within the drain timeout")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(public).await.is_err(),
        "the public listener is closed after the drain"
    );
}

#[test]
fn bad_flags_are_refused_before_anything_starts() {
    let error = HostFlags::from_args(["--max-connections", "0"]).unwrap_err();
    assert!(error.to_string().contains("--max-connections"), "{error}");
}
