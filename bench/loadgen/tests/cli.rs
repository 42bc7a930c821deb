//! `loadgen` as a user runs it, against small servers on loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

/// A keep-alive HTTP/1.1 server on an ephemeral loopback port that answers
/// every request with a 4-byte PNG-typed 200; it lives as long as the test.
fn tiny_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: 4\r\n\r\nabcd";
                        if writer.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn an_open_loop_run_sends_the_rate_and_counts_every_answer() {
    let addr = tiny_server();
    let dir = std::env::temp_dir().join(format!("loadgen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let samples = dir.join("samples.tsv");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--json", "--rate", "200", "--duration", "1s", "--samples"])
        .arg(&samples)
        .arg(format!("http://{addr}/{{n}}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Due at 0, 5, …, 995 ms: 200 requests in one second.
    assert_eq!(summary["due"], 200, "{summary}");
    assert_eq!(summary["not_sent"], 0, "{summary}");
    assert_eq!(summary["outcomes"]["200"], 200, "{summary}");
    assert_eq!(summary["content_types"]["image/png"]["bytes"], 800, "{summary}");
    let lines = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(lines.lines().count(), 201, "a header and one line per request");
    assert!(lines.starts_with("due_ms\tlag_ms\tlatency_ms\toutcome\tcontent_type\tbytes\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_server_that_does_not_answer_gives_errors_not_a_hang() {
    // Bound and never accepted from: connections queue, requests time out.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--json",
            "--rate",
            "20",
            "--duration",
            "500ms",
            "--timeout",
            "300ms",
        ])
        .arg(format!("http://{addr}/"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["outcomes"]["timeout"], 10, "{summary}");
    assert_eq!(summary["achieved_rate"], 0.0, "{summary}");
    drop(listener);
}

#[test]
fn first_200_times_a_server_from_start_to_its_first_200() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["first-200", "--repeat", "2", "--url", "http://127.0.0.1:{port}/", "--"])
        .args(["python3", "-m", "http.server", "--bind", "127.0.0.1", "{port}"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("start to first 200: median "), "{text}");
    assert!(text.contains("over 2 starts"), "{text}");
}

#[test]
fn first_200_fails_when_the_server_exits_first() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "first-200",
            "--repeat",
            "1",
            "--url",
            "http://127.0.0.1:{port}/",
            "--",
            "false",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exited"));
}
