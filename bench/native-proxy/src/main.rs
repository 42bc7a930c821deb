//! The yardstick of `make bench`: doc-proxy's job done by a plain native Rust
//! proxy, so the cost of the component path can be quoted as a ratio.
//!
//! Same job as the component: `GET /{id}` → fetch from the upstream over a
//! pooled keep-alive client, validate with `doc-core`, retry by `doc-core`'s
//! policy, answer the document or an RFC 9457 problem. Configuration is the
//! component's own (`doc_core::config`, from the environment) plus
//! `LISTEN_ADDR`. It is a measuring stick, not a product: no metrics, no
//! limits, no drain.

use bytes::Bytes;
use doc_core::config::Config;
use doc_core::problem::{final_error, ProxyError};
use doc_core::response::document_headers;
use doc_core::retry::{AttemptOutcome, Next};
use doc_core::route::{route, Route, RouteError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Upstream = Client<HttpConnector, Full<Bytes>>;

struct Proxy {
    config: Config,
    upstream: Upstream,
    requests: AtomicU64,
}

#[tokio::main]
async fn main() {
    let config = Config::from_lookup(|k| std::env::var(k).ok()).unwrap_or_else(|e| panic!("configuration: {e}"));
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(config.connect_timeout));
    let upstream = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build(connector);
    let proxy = Arc::new(Proxy {
        config,
        upstream,
        requests: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind LISTEN_ADDR");
    // Scripts wait for this line.
    eprintln!("native-proxy listening on {}", listener.local_addr().expect("bound"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| proxy.clone().handle(request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Proxy {
    async fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, hyper::Error> {
        let started = Instant::now();
        let request_id = format!("{:016x}", self.requests.fetch_add(1, Ordering::Relaxed));
        let path = request.uri().path().to_owned();
        let answer = match route(request.method().as_str(), &path) {
            Ok(Route::Document(id)) => self.serve_document(id, &request_id, started).await,
            Ok(Route::Usage) => Ok(text(doc_core::response::USAGE)),
            Err(RouteError::BadId(e)) => Err(ProxyError::BadId(e)),
            Err(RouteError::NotFound) => Err(ProxyError::NotFound),
            Err(RouteError::MethodNotAllowed) => Err(ProxyError::MethodNotAllowed),
        };
        Ok(answer.unwrap_or_else(|error| problem(&error, &path, &request_id)))
    }

    async fn serve_document(
        &self,
        id: u64,
        request_id: &str,
        started: Instant,
    ) -> Result<http::Response<Full<Bytes>>, ProxyError> {
        let policy = &self.config.retry;
        let uri: http::Uri = format!("{}{}", self.config.upstream, self.config.upstream.document_path(id))
            .parse()
            .map_err(|_| ProxyError::Misconfigured("upstream URL".into()))?;
        let mut outcomes = Vec::new();
        let mut timeout = policy.first_attempt_timeout();
        loop {
            let outcome = match tokio::time::timeout(timeout, self.fetch(uri.clone())).await {
                Err(_) => AttemptOutcome::TimedOut,
                Ok(Err(outcome)) => outcome,
                Ok(Ok(body)) => match doc_core::validate(&body, &self.config.pdf_limits) {
                    Ok(kind) => {
                        let mut response = http::Response::builder().status(200);
                        for (name, value) in document_headers(kind, id, body.len(), request_id) {
                            response = response.header(name, value);
                        }
                        return Ok(response.body(Full::new(body)).expect("valid headers"));
                    }
                    Err(rejection) => AttemptOutcome::Rejected(rejection),
                },
            };
            let next = policy.next(outcomes.len() as u32 + 1, &outcome, started.elapsed(), jitter());
            outcomes.push(outcome);
            match next {
                Next::Retry { delay, timeout: next } => {
                    tokio::time::sleep(delay).await;
                    timeout = next;
                }
                Next::GiveUp | Next::DeadlineExceeded => {
                    let deadline_ms = policy.deadline.as_millis() as u64;
                    return Err(final_error(&outcomes, next == Next::DeadlineExceeded, deadline_ms));
                }
            }
        }
    }

    /// One attempt: a 2xx body of at most the document cap.
    async fn fetch(&self, uri: http::Uri) -> Result<Bytes, AttemptOutcome> {
        let response = self.upstream.get(uri).await.map_err(|e| {
            if e.is_connect() {
                AttemptOutcome::Unreachable(e.to_string())
            } else {
                AttemptOutcome::Broken(e.to_string())
            }
        })?;
        if !response.status().is_success() {
            return Err(AttemptOutcome::Status(response.status().as_u16()));
        }
        let limit = self.config.max_document_bytes;
        match Limited::new(response.into_body(), limit as usize).collect().await {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(AttemptOutcome::TooLarge { limit }),
            Err(e) => Err(AttemptOutcome::Broken(e.to_string())),
        }
    }
}

fn text(body: &'static str) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("valid headers")
}

fn problem(error: &ProxyError, path: &str, request_id: &str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::builder().status(error.status());
    for (name, value) in error.headers() {
        response = response.header(name, value);
    }
    response
        .header("x-request-id", request_id)
        .body(Full::new(Bytes::from(error.to_problem(path, request_id).to_json())))
        .expect("valid headers")
}

/// Backoff jitter; quality does not matter for a yardstick.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}
