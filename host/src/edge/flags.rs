//! The edge's flags: where the three listeners bind, what a client may send
//! and how long it may take, what the host holds for clients that do not
//! read, and how it stops.

use std::net::SocketAddr;
use std::time::Duration;

/// Listeners, client limits and shutdown.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Listeners, client limits and shutdown")]
pub struct EdgeFlags {
    /// Public listener. Port 0 picks a free port; the bound address is logged.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Admin listener: /metrics, /livez, /readyz, for probes and scrapers.
    /// Kept apart so it is never exposed with the public port; nothing on it
    /// changes the host.
    #[arg(long, env = "ADMIN_ADDR", default_value = "127.0.0.1:9090")]
    pub admin_addr: SocketAddr,

    /// Control listener: `POST /admin/reload`. Loopback addresses only (the
    /// host refuses to start otherwise), so whoever can reach the admin port
    /// from outside cannot reload. The default port 0 picks a free one (the
    /// bound address is logged), so hosts sharing a network namespace never
    /// collide; `make run` uses 9091. SIGHUP reloads too.
    #[arg(long, env = "CONTROL_ADDR", default_value = "127.0.0.1:0")]
    pub control_addr: SocketAddr,

    /// The control listener's token: a request must carry `Authorization:
    /// Bearer <token>`. Read from this file, or made at start (64 hex digits,
    /// mode 0600) when the file does not exist. Without it the control
    /// listener refuses every request (SIGHUP still reloads). `make run` uses
    /// target/control-token.
    #[arg(long, env = "CONTROL_TOKEN_FILE")]
    pub control_token_file: Option<std::path::PathBuf>,

    /// A request that finds every instance it may use busy (its component's
    /// share, or the pool) waits this long for one before it gets 503 +
    /// Retry-After. A client that sends its next request the moment its last
    /// answer arrives would otherwise be shed now and then, its last
    /// instance not yet put away; waiters are served in order of arrival.
    /// 0 sheds at once.
    #[arg(long, env = "QUEUE_TIMEOUT", default_value = "100ms", value_parser = parse_queue_timeout)]
    pub queue_timeout: Duration,

    /// A request (guest work and response body) is cut off after this long
    /// (504).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Largest request head (request line + headers) accepted; larger gets 431.
    /// hyper's floor is 8 KiB.
    #[arg(long, env = "MAX_REQUEST_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_request_header_bytes: u32,

    /// Largest request body passed to the component (bytes, or `1MiB`). A larger
    /// `Content-Length` gets 413 at once; a chunked body gets 413 as soon as it
    /// passes the limit.
    #[arg(long, env = "MAX_REQUEST_BODY_BYTES", default_value = "1MiB", value_parser = crate::ops::memory::parse_size)]
    pub max_request_body_bytes: u64,

    /// Time a client has to send its whole request body. Bodies are received
    /// by the host before a concurrency slot is taken, so a slow client holds
    /// only its connection; past this it gets 408.
    #[arg(long, env = "REQUEST_BODY_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub request_body_timeout: Duration,

    /// Request bodies held in memory at once, all requests together (each
    /// reserves its `Content-Length`, or `--max-request-body-bytes` when
    /// chunked). A request whose body does not fit now gets 503.
    #[arg(long, env = "REQUEST_BODY_BUFFER_BYTES", default_value = "16MiB", value_parser = crate::ops::memory::parse_size)]
    pub request_body_buffer_bytes: u64,

    /// Time a client has to send the request head.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// A client that reads nothing of its response for this long is cut off:
    /// the connection closes and the request's instance and body are freed
    /// (`--request-timeout` ends when the component has answered; this covers
    /// the sending). A slow reader that keeps reading is not affected.
    #[arg(long, env = "CLIENT_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub client_write_timeout: Duration,

    /// Client connections open at once on the public listener; past it a new
    /// connection takes the place of an idle one (`http_connections_evicted_total`),
    /// or is closed as soon as it is accepted when none is idle
    /// (`http_connections_refused_total`). With the send buffer, this bounds
    /// what the kernel holds for clients (in the memory plan).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Client connections open at once from one address (at most
    /// `--max-connections`). Past it, or when the listener is full, a new
    /// connection takes the place of an idle one (no request in progress):
    /// the client's own, or the oldest of the client holding the most; it is
    /// closed at once only when none is idle. Behind a load balancer whose
    /// proxies are few, raise it to `--max-connections`.
    #[arg(long, env = "MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections_per_client: u32,

    /// `SO_SNDBUF` of every client connection: response bytes the kernel may
    /// queue for a client that does not read (Linux reserves twice this; the
    /// memory plan counts it so). 4KiB-4MiB.
    #[arg(long, env = "CLIENT_SEND_BUFFER_BYTES", default_value = "64KiB", value_parser = parse_send_buffer)]
    pub client_send_buffer_bytes: u64,

    /// Pass the component's `Server-Timing` header on to clients. By default
    /// the host reads it into metrics (`server_timing_*`, docs/metrics.md) and
    /// strips it: it tells how upstream attempts ended, which is for operators.
    #[arg(long, env = "EXPOSE_SERVER_TIMING")]
    pub expose_server_timing: bool,

    /// On SIGTERM/SIGINT readiness fails at once, but the host keeps accepting
    /// and serving for this long: Kubernetes removes a terminating pod from its
    /// Service endpoints asynchronously, so new connections keep arriving for a
    /// few seconds. Responses in this phase carry `Connection: close`, which moves
    /// keep-alive clients to other pods. `make run` uses 0.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,

    /// After the shutdown delay: stop accepting, close idle keep-alive
    /// connections, and give in-flight requests this long to finish. A second
    /// SIGINT or SIGTERM exits at once (status 130).
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

/// A socket send buffer in 4 KiB..=4 MiB (Linux's floor and a sane ceiling).
fn parse_send_buffer(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 4 * 1024, 4 * 1024 * 1024)
}

impl EdgeFlags {
    /// Refuses settings that contradict each other.
    pub fn check(&self) -> Result<(), String> {
        if self.request_body_buffer_bytes < self.max_request_body_bytes {
            return Err(format!(
                "--request-body-buffer-bytes ({}) cannot hold one body of --max-request-body-bytes ({}): raise it",
                crate::ops::memory::show(self.request_body_buffer_bytes),
                crate::ops::memory::show(self.max_request_body_bytes)
            ));
        }
        Ok(())
    }

    /// What each client connection of the public listener may take.
    pub fn connection_limits(&self) -> crate::edge::listener::ConnectionLimits {
        crate::edge::listener::ConnectionLimits {
            max_header_bytes: self.max_request_header_bytes as usize,
            header_read_timeout: self.header_read_timeout,
            max_connections: self.max_connections as usize,
            max_per_client: self.max_connections_per_client as usize,
            write_timeout: self.client_write_timeout,
            send_buffer_bytes: self.client_send_buffer_bytes as usize,
        }
    }
}

/// 0 to 10 s: a wait longer than that is a queue no client should sit in.
fn parse_queue_timeout(text: &str) -> Result<Duration, String> {
    let wait = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if wait <= Duration::from_secs(10) {
        Ok(wait)
    } else {
        Err(format!("{text} is over 10s"))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_send_buffer;

    #[test]
    fn the_client_send_buffer_is_bounded() {
        assert_eq!(parse_send_buffer("64KiB"), Ok(64 * 1024));
        assert!(parse_send_buffer("1KiB").is_err());
        assert!(parse_send_buffer("8MiB").is_err());
        assert_eq!(
            parse_send_buffer("1KiB").unwrap_err(),
            "1KiB is outside 4.0 KiB..=4.0 MiB"
        );
    }
}
