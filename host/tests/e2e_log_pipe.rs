//! A log pipe nobody reads must not stall the server: the host's log lines go
//! through a bounded queue, and what does not fit is dropped and counted.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;
use test_harness::{component, request, start_dummy_upstream};

#[tokio::test]
async fn requests_are_served_while_the_log_pipe_is_stalled() {
    let upstream = start_dummy_upstream(&[]);
    let mut child = Command::new(test_harness::host_binary())
        .arg("--component")
        .arg(component("doc_proxy"))
        .args(["--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args(["--shutdown-delay", "0s", "--log-queue-lines", "16"])
        .args(["--upstream-url", &format!("http://{}", upstream.public)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the host binary starts");
    // Read up to the "listening" line, then never again: the pipe (64 KiB)
    // fills after a few hundred request lines.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let listening = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the host exited");
        if line.contains("\"listening\"") {
            break serde_json::from_str::<serde_json::Value>(&line).unwrap();
        }
    };
    let addr = |k: &str| listening[k].as_str().unwrap().parse().unwrap();
    let (public, admin) = (addr("public"), addr("admin"));

    for n in 1..=500u32 {
        let path = format!("/{n}");
        let reply = tokio::time::timeout(Duration::from_secs(5), request(public, "GET", &path, &[]))
            .await
            .unwrap_or_else(|_| panic!("request {n} stalled behind the log pipe"));
        assert!(matches!(reply.status, 200 | 502), "request {n}: {}", reply.status);
    }
    let metrics = request(admin, "GET", "/metrics", &[]).await;
    let text = String::from_utf8_lossy(&metrics.body);
    let dropped: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("log_lines_dropped_total "))
        .expect("the counter is exported")
        .parse()
        .unwrap();
    assert!(dropped > 0.0, "500 request lines fit in a 64 KiB pipe?");

    let _ = child.kill();
    let _ = child.wait();
    drop(stderr);
}
