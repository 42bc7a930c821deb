//! Real service servers for the tests, each the test's own: started on a
//! free loopback port in a temporary directory and stopped when dropped.
//! A server whose program is not installed gives `None` and says so on
//! stderr, and the test skips; `.ci/run` installs them all, so CI never
//! skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where `program` is: on `PATH`, or else in one of `extra` directories.
pub fn find_program(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Says that a test is skipped because `program` is not installed.
pub fn skipped(test: &str, program: &str, package: &str) {
    eprintln!("SKIPPED {test}: {program} is not installed (apt-get install {package}; .ci/run installs it)");
}

/// Waits until something listens on `port`, or panics naming `what`.
fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` of the test's own.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// Connections `command` opened, kept out of `connections_received`.
    own: AtomicU64,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// `None` (and a line on stderr) when `redis-server` is not installed.
    pub fn start(test: &str) -> Option<RedisServer> {
        let Some(program) = find_program("redis-server", &[]) else {
            skipped(test, "redis-server", "redis-server");
            return None;
        };
        let port = crate::closed_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(program)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_listening(port, "redis-server", &mut child);
        Some(RedisServer {
            child,
            port,
            own: AtomicU64::new(0),
            _dir: dir,
        })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one command on a connection of its own and answers the reply
    /// as the server wrote it (RESP, one reply).
    pub fn command(&self, args: &[&str]) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        self.own.fetch_add(1, Ordering::SeqCst);
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        match first.strip_prefix('$') {
            Some(length) => match length.trim().parse::<i64>().unwrap() {
                -1 => "(nil)".into(),
                length => {
                    let mut bulk = vec![0; length as usize + 2];
                    reader.read_exact(&mut bulk).unwrap();
                    String::from_utf8_lossy(&bulk[..length as usize]).into_owned()
                }
            },
            None => first.trim_end().to_string(),
        }
    }

    /// Connections the server has accepted since it started, as it counts
    /// them (`INFO stats`), less those the test's own `command`s opened.
    pub fn connections_received(&self) -> u64 {
        let stats = self.command(&["INFO", "stats"]);
        let total: u64 = stats
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .expect("INFO stats counts connections")
            .trim()
            .parse()
            .unwrap();
        total - self.own.load(Ordering::SeqCst)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
