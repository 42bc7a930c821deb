//! Outbound HTTP for components: an allow-list, timeouts the guest can shorten
//! but not lengthen, a shared keep-alive connection pool, and the limits that
//! keep one component's calls from hurting anyone else.
//!
//! wasmtime-wasi-http's default client opens a new connection per request, has
//! no allow-list, and waits up to 600 s; this replaces it through
//! [`WasiHttpHooks::send_request`]. Besides the allow-list, every call is held
//! to its component's circuit breaker and retry budget for the destination
//! (`protection`), to the request's cap on calls in flight (each holds a
//! connection and a file descriptor until its body ends), and may never reach
//! the host's own admin and control listeners, however the URL spells them
//! (checked on the connected socket, after DNS). Errors reach the guest as
//! `wasi:http` error codes without the host's internal messages, which are
//! logged instead.
//!
//! The outbound wing: this client (here), the allow-lists it applies
//! (`allowed_hosts`), what protects each destination (`breaker`,
//! `retry_budget`, per component in `protection`), and the verdict cache
//! that digests upstream bodies (`verdict`). Below `edge` and `app`; it
//! imports only `ops`.

pub mod allowed_hosts;
pub mod breaker;
pub mod flags;
pub mod own_addresses;
pub mod protection;
pub mod retry_budget;
pub mod verdict;

use crate::ops::metrics::Metrics;
use crate::ops::trace::{TraceContext, TRACEPARENT};
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::breaker::Admission;
use crate::outbound::own_addresses::{GuardedConnector, OwnAddresses};
use crate::outbound::protection::Protection;
use crate::outbound::verdict::{SeenDigests, VerdictCache};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Where an in-process call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InProcessTarget {
    /// The app, routed by the request's path: a relative URL, or the host
    /// `self.alt` (Spin's self-request).
    App,
    /// The component with this id, whatever its routes
    /// (`http://<id>.spin.internal/…`, Spin's service chaining).
    Component(String),
}

/// What serves in-process calls: the edge, which routes and runs them as it
/// does a client's request (the outbound wing cannot import it).
pub trait InProcess: Send + Sync {
    /// Serves `request`; `depth` is how many in-process calls led to it.
    fn call(
        self: Arc<Self>,
        target: InProcessTarget,
        request: http::Request<WasiBody>,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = http::Response<WasiBody>> + Send>>;
}

/// The in-process target of `uri`, if it names the app or one of its
/// components rather than another host.
pub fn in_process_target(uri: &http::Uri) -> Option<InProcessTarget> {
    // wasmtime spells a relative URL with an empty host (`https://:443`).
    let host = uri.host().unwrap_or("");
    if host.is_empty() || host.eq_ignore_ascii_case("self.alt") {
        return Some(InProcessTarget::App);
    }
    let id = host.to_ascii_lowercase().strip_suffix(".spin.internal")?.to_string();
    (!id.is_empty() && !id.contains('.')).then_some(InProcessTarget::Component(id))
}

/// Host-side outbound limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

impl Timeouts {
    /// The guest's options, each capped by the host's.
    fn capped_by(self, guest: Option<RequestOptions>) -> Timeouts {
        let cap = |host: Duration, asked: Option<Duration>| asked.map_or(host, |a| a.min(host));
        let guest = guest.unwrap_or_default();
        Timeouts {
            connect: cap(self.connect, guest.connect_timeout),
            first_byte: cap(self.first_byte, guest.first_byte_timeout),
            between_bytes: cap(self.between_bytes, guest.between_bytes_timeout),
        }
    }
}

/// Distinct guest connect timeouts that get their own pooled client; beyond
/// that, guests get the host's connect timeout.
const MAX_CONNECT_TIMEOUTS: usize = 8;

type PooledClient = Client<GuardedConnector, WasiBody>;

/// Shared by every request's store.
pub struct Outbound {
    timeouts: Timeouts,
    pool: PoolSettings,
    /// One pooled client per connect timeout in use: hyper's connector takes
    /// its timeout when built, not per request, and components ask for shorter
    /// ones than the host's (doc-proxy's `CONNECT_TIMEOUT_MS`). In practice one
    /// or two entries.
    clients: std::sync::Mutex<std::collections::HashMap<Duration, PooledClient>>,
    /// The host's own listeners, which no call may reach.
    own: OwnAddresses,
    /// What serves calls to the app itself, once the edge is up.
    in_process: std::sync::OnceLock<std::sync::Weak<dyn InProcess>>,
    metrics: Metrics,
}

/// The keep-alive clients' connection settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Idle connections kept per destination.
    pub max_idle_per_host: usize,
    /// Largest read buffer of one connection. hyper grows a connection's
    /// buffer while reads fill it (to ~400 KiB by default), and a pooled
    /// connection keeps what it grew to: capped at 16 KiB, the host's peak
    /// memory under 32 clients drops by about a third for about 3% of
    /// throughput (docs/performance.md).
    pub read_buffer_bytes: usize,
}

impl Outbound {
    pub fn new(timeouts: Timeouts, pool: PoolSettings, metrics: Metrics) -> Self {
        Outbound {
            timeouts,
            pool,
            clients: Default::default(),
            own: OwnAddresses::default(),
            in_process: std::sync::OnceLock::new(),
            metrics,
        }
    }

    /// Where calls to the app itself go (the edge registers itself once).
    pub fn serve_in_process(&self, server: std::sync::Weak<dyn InProcess>) {
        let _ = self.in_process.set(server);
    }

    /// The host's own listeners, once bound: calls to them are refused.
    pub fn own_addresses(&self) -> &OwnAddresses {
        &self.own
    }

    /// The pooled client whose connector gives up connecting after `connect`.
    fn client(&self, connect: Duration) -> PooledClient {
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let connect = if clients.contains_key(&connect) || clients.len() < MAX_CONNECT_TIMEOUTS {
            connect
        } else {
            self.timeouts.connect
        };
        clients
            .entry(connect)
            .or_insert_with(|| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(self.pool.max_idle_per_host)
                    .pool_timer(TokioTimer::new())
                    .http1_max_buf_size(self.pool.read_buffer_bytes)
                    .build(GuardedConnector::new(connect, self.own.clone()))
            })
            .clone()
    }

    /// The request's destination (`host:port`, the breakers', budgets' and
    /// metrics' key) when `allowed` lets it out. The key is the host and the
    /// port alone, so it is the same whatever else the URL holds; a URL with
    /// user info is refused (the upstream would get it in `Host`, and each
    /// spelling would otherwise get a breaker and a budget of its own).
    fn allowed_destination(allowed: &AllowList, uri: &http::Uri) -> Option<String> {
        let authority = uri.authority().filter(|a| !a.as_str().contains('@'))?;
        let scheme = uri.scheme_str()?;
        let destination = normalize_authority(scheme, authority.as_str());
        allowed.allows(uri).then_some(destination)
    }

    /// Counts a call refused before it went out, as `label`.
    fn refuse(&self, component: &str, label: &str, error: Error) -> Error {
        self.metrics
            .outbound_requests
            .with_label_values(&[component, label])
            .inc();
        error
    }

    /// Sends one call: allow-list (`destination` is `None` when it refused),
    /// the component's circuit breaker and retry budget for the destination
    /// (`retry`: an earlier call of the same request went there), then the
    /// network. The breaker learns how the call ended.
    async fn send(
        self: Arc<Self>,
        call: Call,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let component = &*call.component;
        let Some(destination) = call.destination else {
            // The host and path only: user info may be a credential.
            tracing::warn!(
                component,
                host = request.uri().host().unwrap_or_default(),
                path = request.uri().path(),
                "outbound request denied: not in the allow-list, or the URL has user info"
            );
            return Err(self.refuse(component, "denied", Error::HttpRequestDenied));
        };
        let protection = call.protection;
        let probe = match protection.admit(&destination) {
            Admission::Refused => return Err(self.refuse(component, "circuit_open", Error::DestinationUnavailable)),
            Admission::Allowed { probe } => probe,
        };
        // Releases the probe if no answer is recorded: the budget refuses the
        // call, or the caller gives up before the answer.
        let mut pending_probe = PendingProbe {
            protection: protection.clone(),
            destination: probe.then(|| destination.clone()),
        };
        if !protection.budget_allows(&destination, call.retry) {
            return Err(self.refuse(component, "retry_budget_exhausted", Error::ConnectionLimitReached));
        }
        let attempt = if call.retry { "retry" } else { "first" };
        self.metrics
            .outbound_attempts
            .with_label_values(&[component, attempt])
            .inc();
        let result = self.send_allowed(component, &destination, request, options).await;
        let failed = result
            .as_ref()
            .map_or(true, |response| response.status().is_server_error());
        pending_probe.destination = None;
        // A call to the host itself says nothing of the destination's health.
        if !matches!(result, Err(Error::HttpRequestDenied)) {
            protection.record(&destination, probe, failed);
        }
        result
    }

    async fn send_allowed(
        &self,
        component: &str,
        destination: &str,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let timeouts = self.timeouts.capped_by(options);
        let started = Instant::now();
        let result = if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            // TLS goes through wasmtime's client (a connection per request).
            let options = RequestOptions {
                connect_timeout: Some(timeouts.connect),
                first_byte_timeout: Some(timeouts.first_byte),
                between_bytes_timeout: Some(timeouts.between_bytes),
            };
            match wasmtime_wasi_http::default_send_request(request, Some(options)).await {
                Ok((response, io)) => {
                    tokio::spawn(io);
                    Ok(response.map(|b| b.boxed_unsync()))
                }
                Err(e) => Err(e),
            }
        } else {
            let client = self.client(timeouts.connect);
            match tokio::time::timeout(timeouts.first_byte, client.request(request)).await {
                Err(_) => Err(Error::ConnectionReadTimeout),
                Ok(Err(e)) if own_addresses::refused(&e) => {
                    tracing::warn!(
                        component,
                        destination,
                        "outbound request denied: it reached one of the host's own admin or control listeners"
                    );
                    Err(Error::HttpRequestDenied)
                }
                Ok(Err(e)) if e.is_connect() => Err(connect_error(&e)),
                Ok(Err(e)) => {
                    // The guest gets the kind of failure; the message, which
                    // names the host's internals, goes to the log.
                    let code = request_error(&e);
                    tracing::warn!(component, destination, error = %e, code = ?code, "outbound request failed");
                    Err(code)
                }
                Ok(Ok(response)) => Ok(response.map(|incoming| {
                    BetweenBytes::new(incoming.map_err(Error::from), timeouts.between_bytes).boxed_unsync()
                })),
            }
        };
        self.metrics.outbound_duration.observe(started.elapsed().as_secs_f64());
        let label = match &result {
            Ok(response) => response.status().as_u16().to_string(),
            Err(Error::HttpRequestDenied) => "denied".into(),
            Err(Error::ConnectionRefused | Error::ConnectionTimeout | Error::Connect(_)) => "connect_error".into(),
            Err(Error::ConnectionReadTimeout) => "timeout".into(),
            Err(_) => "error".into(),
        };
        self.metrics
            .outbound_requests
            .with_label_values(&[component, &label])
            .inc();
        result
    }
}

/// What one call is, as the hooks decided before it goes out.
struct Call {
    component: Arc<str>,
    /// `None`: the allow-list refused it.
    destination: Option<String>,
    retry: bool,
    protection: Arc<Protection>,
}

/// A half-open breaker's probe in flight; dropped unanswered, it frees the
/// probe slot.
struct PendingProbe {
    protection: Arc<Protection>,
    destination: Option<String>,
}

impl Drop for PendingProbe {
    fn drop(&mut self) {
        if let Some(destination) = &self.destination {
            self.protection.release_probe(destination);
        }
    }
}

/// Sorts a connect failure into refused or timed out, for the guest's error code.
fn connect_error(e: &hyper_util::client::legacy::Error) -> Error {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return Error::ConnectionTimeout;
            }
        }
        source = inner.source();
    }
    Error::ConnectionRefused
}

/// The `wasi:http` error code of a call that connected and then failed.
fn request_error(e: &hyper_util::client::legacy::Error) -> Error {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(hyper) = inner.downcast_ref::<hyper::Error>() {
            return if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                Error::ConnectionTerminated
            } else if hyper.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::HttpProtocolError
            };
        }
        source = inner.source();
    }
    Error::ConnectionTerminated
}

/// `host:port` in lower case, with the scheme's default port made explicit:
/// the one spelling of a destination (and of an allow-list's authority).
pub fn normalize_authority(scheme: &str, authority: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    if has_port {
        authority
    } else {
        format!("{authority}:{}", allowed_hosts::default_port(scheme))
    }
}

/// The `wasi:http` hooks of one store: outbound requests go through
/// [`Outbound`] with the component's allow-list and protection, responses
/// lose the verdict cache's fields whoever sent them, and with the
/// component's own verdict cache their 2xx bodies are digested.
pub struct OutboundHooks {
    pub outbound: Arc<Outbound>,
    /// The component's id, for logs and metrics.
    pub component: Arc<str>,
    /// The component's allow-list: everything else is denied.
    pub allowed: Arc<AllowList>,
    /// The component's breakers and retry budgets.
    pub protection: Arc<Protection>,
    pub verdicts: Option<(Arc<VerdictCache>, SeenDigests)>,
    /// Destinations this request has called: a second call to one is a retry.
    pub called: Vec<String>,
    /// The request's span: each call gets a child span's `traceparent`.
    pub trace: TraceContext,
    /// Calls this request may have in flight at once (each until its body
    /// ends): bounds the connections and file descriptors one request holds.
    pub in_flight: Arc<Semaphore>,
    /// How many in-process calls led to this request.
    pub depth: u32,
}

type SendFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
/// What `send_request` hands wasmtime: the response and what ends with its body.
type OutboundCall = Box<dyn Future<Output = Result<(http::Response<WasiBody>, SendFuture), Error>> + Send>;

/// The largest write a guest may make to an outgoing body (a request's or
/// its own response's) in one call, and so what the host buffers per body:
/// two such chunks at most (wasmtime's default is 1 MiB). In the memory plan.
pub const BODY_CHUNK_BYTES: usize = 64 * 1024;

impl WasiHttpHooks for OutboundHooks {
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_BYTES
    }

    fn p3_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_BYTES
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: SendFuture,
    ) -> OutboundCall {
        let Ok(slot) = self.in_flight.clone().try_acquire_owned() else {
            let (outbound, component) = (&self.outbound, &self.component);
            tracing::warn!(
                component = %component,
                limit = "--max-outbound-per-request",
                "outbound request refused: the request already has its maximum of calls in flight"
            );
            let refused = outbound.refuse(component, "request_limit", Error::ConnectionLimitReached);
            return Box::new(async move { Err(refused) });
        };
        // A component that propagates its own trace context keeps it.
        if !request.headers().contains_key(TRACEPARENT) {
            self.trace.child().inject(request.headers_mut());
        }
        if let Some(target) = in_process_target(request.uri()) {
            return self.call_in_process(target, request, slot);
        }
        let outbound = self.outbound.clone();
        let verdicts = self.verdicts.clone();
        let destination = Outbound::allowed_destination(&self.allowed, request.uri());
        let retry = destination.as_ref().is_some_and(|d| {
            let retry = self.called.contains(d);
            if !retry {
                self.called.push(d.clone());
            }
            retry
        });
        let call = Call {
            component: self.component.clone(),
            destination,
            retry,
            protection: self.protection.clone(),
        };
        Box::new(async move {
            let response = outbound.send(call, request, options).await?;
            let response =
                verdict::strip_outbound(response, verdicts.as_ref().map(|(cache, seen)| (cache, seen.clone())));
            let response = response.map(|body| HoldsSlot { body, _slot: slot }.boxed_unsync());
            Ok((response, Box::new(async { Ok(()) }) as SendFuture))
        })
    }
}

impl OutboundHooks {
    /// A call to the app itself or one of its components, served in-process
    /// through the edge (no connection), when the allow-list grants it as
    /// Spin grants it.
    fn call_in_process(
        &mut self,
        target: InProcessTarget,
        mut request: http::Request<WasiBody>,
        slot: OwnedSemaphorePermit,
    ) -> OutboundCall {
        let allowed = match &target {
            InProcessTarget::App => self.allowed.allows_self(),
            InProcessTarget::Component(_) => self.allowed.allows(request.uri()),
        };
        let component = self.component.clone();
        let outbound = self.outbound.clone();
        if !allowed {
            tracing::warn!(
                component = %component,
                target = ?target,
                "A component tried to make an HTTP request to its own app but it does not have permission"
            );
            let refused = outbound.refuse(&component, "denied", Error::HttpRequestDenied);
            return Box::new(async move { Err(refused) });
        }
        let Some(server) = outbound.in_process.get().and_then(std::sync::Weak::upgrade) else {
            let refused = outbound.refuse(&component, "error", Error::DestinationUnavailable);
            return Box::new(async move { Err(refused) });
        };
        // As the callee would get it from Spin: the caller's headers without
        // `Host` (no connection carries it), the path and query alone.
        request
            .headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_static("localhost"));
        if let Some(path) = request.uri().path_and_query().cloned() {
            *request.uri_mut() = http::Uri::from(path);
        }
        let depth = self.depth + 1;
        let verdicts = self.verdicts.clone();
        Box::new(async move {
            outbound
                .metrics
                .outbound_requests
                .with_label_values(&[&component, "in_process"])
                .inc();
            let response = server.call(target, request, depth).await;
            let response =
                verdict::strip_outbound(response, verdicts.as_ref().map(|(cache, seen)| (cache, seen.clone())));
            let response = response.map(|body| HoldsSlot { body, _slot: slot }.boxed_unsync());
            Ok((response, Box::new(async { Ok(()) }) as SendFuture))
        })
    }
}

/// A response body that keeps its call's in-flight slot until it is dropped.
struct HoldsSlot {
    body: WasiBody,
    _slot: OwnedSemaphorePermit,
}

impl Body for HoldsSlot {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that fails when no data arrives for `limit`.
struct BetweenBytes<B> {
    inner: B,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<B> BetweenBytes<B> {
    fn new(inner: B, limit: Duration) -> Self {
        BetweenBytes {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl<B: Body<Data = Bytes, Error = Error> + Unpin> Body for BetweenBytes<B> {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + self.limit;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_to_the_app_itself_are_told_apart() {
        let target = |url: &str| in_process_target(&url.parse().unwrap());
        assert_eq!(target("/hello"), Some(InProcessTarget::App));
        assert_eq!(target("https://:443/hello"), Some(InProcessTarget::App));
        assert_eq!(target("http://self.alt/hello"), Some(InProcessTarget::App));
        assert_eq!(
            target("http://hello-component.spin.internal/hello"),
            Some(InProcessTarget::Component("hello-component".into()))
        );
        assert_eq!(target("http://a.b.spin.internal/x"), None);
        assert_eq!(
            target("http://self/hello"),
            None,
            "`self` is a host name like any other, as in Spin"
        );
        assert_eq!(target("http://example.com/x"), None);
    }

    #[test]
    fn authorities_get_explicit_ports() {
        assert_eq!(normalize_authority("http", "Upstream"), "upstream:80");
        assert_eq!(normalize_authority("https", "x.example"), "x.example:443");
        assert_eq!(normalize_authority("http", "127.0.0.1:3000"), "127.0.0.1:3000");
        assert_eq!(normalize_authority("http", "[::1]"), "[::1]:80");
        assert_eq!(normalize_authority("http", "[::1]:8080"), "[::1]:8080");
    }

    #[test]
    fn destinations_are_host_and_port_whatever_the_url_spells() {
        let allowed = AllowList::new(vec![
            crate::outbound::allowed_hosts::AllowedHost::authority("up:3000").unwrap()
        ]);
        let key = |url: &str| Outbound::allowed_destination(&allowed, &url.parse().unwrap());
        assert_eq!(key("http://up:3000/7").as_deref(), Some("up:3000"));
        assert_eq!(key("http://UP:3000/7").as_deref(), Some("up:3000"));
        // User info would be a breaker, a budget and a metric series per
        // spelling, and reach the upstream in `Host`: refused.
        assert_eq!(key("http://u1@up:3000/7"), None);
        assert_eq!(key("http://u1:pw@up:3000/7"), None);
        assert_eq!(key("http://other:3000/7"), None, "not allowed");
        let any = AllowList::new(vec![
            crate::outbound::allowed_hosts::AllowedHost::parse("http://*:*").unwrap()
        ]);
        assert_eq!(
            Outbound::allowed_destination(&any, &"http://[::1]/x".parse().unwrap()).as_deref(),
            Some("[::1]:80")
        );
    }

    #[test]
    fn guest_timeouts_are_capped_by_the_host() {
        let host = Timeouts {
            connect: Duration::from_secs(2),
            first_byte: Duration::from_secs(10),
            between_bytes: Duration::from_secs(10),
        };
        let guest = RequestOptions {
            connect_timeout: Some(Duration::from_secs(1)),
            first_byte_timeout: Some(Duration::from_secs(600)),
            between_bytes_timeout: None,
        };
        let t = host.capped_by(Some(guest));
        assert_eq!(t.connect, Duration::from_secs(1));
        assert_eq!(t.first_byte, Duration::from_secs(10));
        assert_eq!(t.between_bytes, Duration::from_secs(10));
    }
}
