//! The accept loop every listener shares: HTTP/1.1 with keep-alive,
//! TCP_NODELAY, a bounded request head, a bounded socket send buffer and a
//! write timeout, so clients that never read hold neither memory nor requests
//! for long (`edge::write_timeout`), and graceful shutdown that lets in-flight
//! requests finish within the drain timeout. Connections hyper ends itself (a
//! head too large or too slow, a malformed one, a client that stopped
//! reading) never reach the service, so they are counted here, by kind.
//!
//! Open connections are capped per listener and per client address
//! (`connections`). When the listener is full, a new connection takes the
//! place of an idle one (no request in progress: a keep-alive connection
//! between requests, or one still trickling its request head), the oldest of
//! the client holding the most; only when none is idle is the new one
//! closed at once. So one client with a thousand slow connections holds its
//! own share, and everyone else is still served.

use crate::edge::connections::{Busy, Connections, Placed};
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
    /// Open connections at most from one client address.
    pub max_per_client: usize,
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
    /// Closed at once: the listener or the client had its maximum open and
    /// none of them was idle.
    pub refused: prometheus::IntCounterVec,
    /// Idle connections closed to make room for a new one.
    pub evicted: prometheus::IntCounterVec,
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
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let connections = Connections::new(limits.max_connections, limits.max_per_client);
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
                let slot = match connections.place(peer.ip()) {
                    Placed::Refused => {
                        // Full: closed at once, before hyper reads a byte.
                        metrics.refused.with_label_values(&[name]).inc();
                        tracing::debug!(listener = name, %peer, "connection refused: the listener or this client has its maximum open, none idle");
                        continue;
                    }
                    Placed::Open(slot) => slot,
                    Placed::InPlaceOf(slot, evicted) => {
                        metrics.evicted.with_label_values(&[name]).inc();
                        tracing::debug!(listener = name, %peer, evicted = %evicted, "idle connection closed to make room");
                        slot
                    }
                };
                let _ = stream.set_nodelay(true);
                if let Err(e) = socket2::SockRef::from(&stream).set_send_buffer_size(limits.send_buffer_bytes) {
                    tracing::warn!(listener = name, error = %e, "cannot bound the socket's send buffer");
                }
                let stream = WriteTimeout::new(stream, limits.write_timeout);
                let handler = handler.clone();
                let busy = slot.busy();
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .keep_alive(true)
                    .max_buf_size(limits.max_header_bytes)
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |mut request: http::Request<Incoming>| {
                            request.extensions_mut().insert(ClientAddr(peer));
                            // Busy from the head's arrival until the response
                            // body is gone: a busy connection is never evicted.
                            let busy = busy.start();
                            let answering = handler(request);
                            async move {
                                let response = answering.await?;
                                Ok::<_, Infallible>(response.map(|body| Busy::holding(body, busy)))
                            }
                        }),
                    );
                let connection = graceful.watch(connection);
                let errors = metrics.errors.clone();
                let open = open.clone();
                open.inc();
                tokio::spawn(async move {
                    let result = tokio::select! {
                        result = connection => result,
                        () = slot.evicted() => Ok(()),
                    };
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
