//! The accept loop both listeners share: HTTP/1.1 with keep-alive, TCP_NODELAY,
//! a bounded request head, and graceful shutdown that lets in-flight requests
//! finish within the drain timeout. Connections hyper ends itself (a head too
//! large or too slow, a malformed one) never reach the service, so they are
//! counted here, by kind.

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

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
}

/// Serves `listener` with `handler` until `shutdown` turns true, then stops
/// accepting and waits up to `drain` for open requests. `errors` counts the
/// connections that end in an error, by listener and `connection_error_kind`.
pub async fn serve<F, Fut, B>(
    name: &'static str,
    listener: TcpListener,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    errors: prometheus::IntCounterVec,
    handler: F,
) where
    F: Fn(http::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<B>, Infallible>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
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
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .keep_alive(true)
                    .max_buf_size(limits.max_header_bytes)
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service_fn(handler));
                let connection = graceful.watch(connection);
                let errors = errors.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
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

/// Every value [`connection_error_kind`] returns.
pub const CONNECTION_ERROR_KINDS: [&str; 5] = ["header_too_large", "header_timeout", "malformed", "incomplete", "io"];

/// The metric label for a connection hyper ended with `e`.
fn connection_error_kind(e: &hyper::Error) -> &'static str {
    if e.is_parse_too_large() {
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
