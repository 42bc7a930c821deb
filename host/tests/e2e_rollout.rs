//! Zero-loss rollouts: what a Kubernetes rolling update does to a pod. SIGTERM
//! arrives while the Service still sends new connections for a few seconds, so
//! the host keeps serving through `--shutdown-delay` (readiness already off),
//! then stops accepting and drains what is in flight.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_harness::{request, start_dummy_upstream, Host};

fn doc_proxy(upstream: &Host, args: &[&str]) -> Host {
    let url = format!("http://{}", upstream.public);
    let mut all = vec!["--upstream-url", url.as_str()];
    all.extend_from_slice(args);
    Host::start(&test_harness::component("doc_proxy"), &all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_connections_are_served_through_the_shutdown_delay_and_in_flight_requests_finish() {
    const DELAY: Duration = Duration::from_millis(2000);
    // Every upstream answer takes 300 ms, so requests are in flight at each moment.
    let upstream = start_dummy_upstream(&["DELAY_MS=300", "CORRUPT_PERCENT=0"]);
    let mut proxy = doc_proxy(&upstream, &["--shutdown-delay", "2s", "--drain-timeout", "5s"]);
    let addr = proxy.public;

    // Four clients, each opening a new connection per request, as traffic that
    // keeps arriving while endpoints are being updated does.
    let stop = Arc::new(AtomicBool::new(false));
    let served_after_sigterm = Arc::new(AtomicUsize::new(0));
    let sigterm_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let mut clients = Vec::new();
    for client in 0..4 {
        let (stop, served, sigterm_at) = (stop.clone(), served_after_sigterm.clone(), sigterm_at.clone());
        clients.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                let started = Instant::now();
                let reply = request(addr, "GET", &format!("/{}", client * 1000 + n), &[]).await;
                if reply.status != 200 {
                    failures.push(reply.status);
                } else if sigterm_at.lock().unwrap().is_some_and(|t| started > t) {
                    served.fetch_add(1, Ordering::Relaxed);
                    assert_eq!(reply.header("connection"), Some("close"), "draining responses close");
                }
            }
            failures
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.terminate();
    *sigterm_at.lock().unwrap() = Some(Instant::now());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        request(proxy.admin, "GET", "/readyz", &[]).await.status,
        503,
        "readiness fails at once"
    );

    // Keep the clients going until shortly before the delay ends; the request
    // each has in flight then finishes during the drain.
    tokio::time::sleep(DELAY - Duration::from_millis(400)).await;
    stop.store(true, Ordering::Release);
    for client in clients {
        let failures = client.await.expect("client task");
        assert!(
            failures.is_empty(),
            "requests failed during the shutdown delay: {failures:?}"
        );
    }
    let served = served_after_sigterm.load(Ordering::Relaxed);
    assert!(served >= 8, "only {served} new connections were served after SIGTERM");

    // After the delay the listener is closed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "new connections are refused once the delay is over"
    );
    let status = proxy.wait_exit(Duration::from_secs(6)).expect("exits after draining");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let upstream = start_dummy_upstream(&[]);
    let mut proxy = doc_proxy(&upstream, &["--shutdown-delay", "30s"]);
    proxy.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(proxy.wait_exit(Duration::ZERO).is_none(), "still in its shutdown delay");
    proxy.signal("INT");
    let status = proxy
        .wait_exit(Duration::from_secs(2))
        .expect("exits at the second signal");
    assert_eq!(status.code(), Some(130));
}
