//! The accept loop every listener shares: HTTP/1.1 with keep-alive,
//! TCP_NODELAY, a bounded request head, a cap on open connections (past it a
//! connection is closed as soon as it is accepted), a bounded socket send
//! buffer and a write timeout, so clients that never read hold neither memory
//! nor requests for long (`edge::write_timeout`), and graceful shutdown that lets
//! in-flight requests finish within the drain timeout. Connections hyper ends
//! itself (a head too large or too slow, a malformed one, a client that stopped
//! reading) never reach the service, so they are counted here, by kind.

use crate::edge::write_timeout::{WriteTimeout, STALLED};
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The peer of a request's connection, in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    /// Open connections at most, per listener.
    pub max_connections: usize,
    /// A write that moves no byte for this long fails, and the connection ends.
    pub write_timeout: Duration,
    /// `SO_SNDBUF` of each accepted socket: what the kernel may queue for a
    /// client that does not read (it reserves twice this, see `ops::memory`).
    pub send_buffer_bytes: usize,
}

/// What the listeners count, by listener.
#[derive(Clone)]
pub struct ConnectionMetrics {
    /// Connections that ended in an error, by `connection_error_kind`.
    pub errors: prometheus::IntCounterVec,
    pub open: prometheus::IntGaugeVec,
    /// Closed at once because `max_connections` were open.
    pub refused: prometheus::IntCounterVec,
}

/// Serves `listener` with `handler` until `shutdown` turns true, then stops
/// accepting and waits up to `drain` for open requests.
pub async fn serve<F, Fut, B>(
    name: &'static str,
    listener: TcpListener,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    metrics: ConnectionMetrics,
    handler: F,
) where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<B>, Infallible>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let open = metrics.open.with_label_values(&[name]);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors, most likely: back off instead of spinning.
                        tracing::warn!(listener = name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    // Full: closed at once, before hyper reads a byte.
                    metrics.refused.with_label_values(&[name]).inc();
                    tracing::debug!(listener = name, %peer, "connection refused: --max-connections are open");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                if let Err(e) = socket2::SockRef::from(&stream).set_send_buffer_size(limits.send_buffer_bytes) {
                    tracing::warn!(listener = name, error = %e, "cannot bound the socket's send buffer");
                }
                let stream = WriteTimeout::new(stream, limits.write_timeout);
                let handler = handler.clone();
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .keep_alive(true)
                    .max_buf_size(limits.max_header_bytes)
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |mut request: http::Request<Incoming>| {
                            request.extensions_mut().insert(ClientAddr(peer));
                            handler(request)
                        }),
                    );
                let connection = graceful.watch(connection);
                let errors = metrics.errors.clone();
                let open = open.clone();
                open.inc();
                tokio::spawn(async move {
                    let result = connection.await;
                    open.dec();
                    drop(slot);
                    if let Err(e) = result {
                        let kind = connection_error_kind(&e);
                        errors.with_label_values(&[name, kind]).inc();
                        tracing::debug!(listener = name, %peer, kind, error = %e, "connection ended with an error");
                    }
                });
            }
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!(listener = name, "drained"),
        _ = tokio::time::sleep(drain) => tracing::warn!(listener = name, drain_ms = drain.as_millis() as u64, "drain timeout: closing open connections"),
    }
}

/// The metric label for a connection hyper ended with `e`.
fn connection_error_kind(e: &hyper::Error) -> &'static str {
    let stalled = std::error::Error::source(e)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut && io.to_string() == STALLED);
    if stalled {
        "write_timeout"
    } else if e.is_parse_too_large() {
        "header_too_large"
    } else if e.is_timeout() {
        "header_timeout"
    } else if e.is_parse() {
        "malformed"
    } else if e.is_incomplete_message() {
        "incomplete"
    } else {
        "io"
    }
}

/// Resolves once `shutdown` is true (the guard is dropped before returning).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
