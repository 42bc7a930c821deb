//! `loadgen first-200`: how long a server takes from being started to its
//! first 200, the figure a scale-up or a restart waits for.
//!
//! Each try starts the command on a free loopback port, polls the URL over a
//! fresh connection every millisecond, and stops the server once it answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

pub fn main(url: &str, timeout: Duration, repeat: u32, command: &[String]) -> ExitCode {
    let mut times = Vec::new();
    for _ in 0..repeat {
        match once(url, timeout, command) {
            Ok(elapsed) => times.push(elapsed),
            Err(e) => {
                eprintln!("loadgen first-200: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort();
    let ms = |d: &Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    let all: Vec<String> = times.iter().map(ms).collect();
    println!(
        "start to first 200: median {} ms over {} starts (each: {})",
        ms(&times[times.len() / 2]),
        times.len(),
        all.join(", ")
    );
    ExitCode::SUCCESS
}

fn once(url: &str, timeout: Duration, command: &[String]) -> Result<Duration, String> {
    let port = free_port()?;
    let url = url.replace("{port}", &port.to_string());
    let (addr, path) = split_url(&url)?;
    let args: Vec<String> = command.iter().map(|a| a.replace("{port}", &port.to_string())).collect();
    let started = Instant::now();
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args[0]))?;
    let mut child = Stopper(child);
    loop {
        if ok_status(addr, &path) {
            return Ok(started.elapsed());
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!("{} exited ({status}) before answering 200", args[0]));
        }
        if started.elapsed() > timeout {
            return Err(format!("no 200 from {url} within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Kills the server however `once` returns.
struct Stopper(Child);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now (the server binds it next).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// `http://host:port/path` → the address and the path.
fn split_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = authority
        .parse()
        .map_err(|_| format!("{url}: the host must be an IP address and port"))?;
    Ok((addr, if path.is_empty() { "/".into() } else { path.into() }))
}

/// One GET over a new connection: did the status line say 200?
fn ok_status(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[8..12] == b" 200"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        let (addr, path) = split_url("http://127.0.0.1:8080/42").unwrap();
        assert_eq!(addr.to_string(), "127.0.0.1:8080");
        assert_eq!(path, "/42");
        assert_eq!(split_url("http://127.0.0.1:1").unwrap().1, "/");
        assert!(split_url("https://127.0.0.1:1/").is_err());
        assert!(split_url("http://localhost:1/").is_err());
    }
}
