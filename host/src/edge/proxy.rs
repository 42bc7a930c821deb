//! The public listener's handler: each request is routed to a component of
//! the app (or answered by the host: well-known paths, static responses, its
//! own problems), and gets a request id, a span of its trace, its body
//! received within its limits, and a concurrency permit (the component's and
//! the host's) before the guest runs (`app::run`: a fresh instance on the
//! component's CPU lanes, with a time limit). A failed run becomes a
//! problem+json for that request only; a body cut short ends in an error,
//! never in a clean end a client would take for the whole document. Each
//! answer is counted by route, status and type on the way out.

use crate::app::reload::Reloader;
use crate::app::reuse::Slots;
use crate::app::run::{Answered, Begin, GuestFailure, GuestRun};
use crate::app::{App, Component, Target};
use crate::edge::listener::ClientAddr;
use crate::edge::problem::HostError;
use crate::edge::request_id;
use crate::edge::response_body::{
    bytes_response, empty_response, frame_empty_body, static_response, text_response, AbortsOnFailure,
};
use crate::edge::spin_headers::{self, WellKnown};
use crate::ops::metrics::{content_type_label, method_label, Live, Metrics};
use crate::ops::trace::TraceContext;
use crate::outbound::verdict;
use crate::outbound::{InProcess, InProcessTarget};
use bytes::{Bytes, BytesMut};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiBody;

pub struct Proxy {
    /// The app version new requests get; swapped by reloads.
    app: Arc<Reloader>,
    metrics: Metrics,
    /// Instances, all components together: the pool's size.
    permits: Arc<Semaphore>,
    request_timeout: Duration,
    /// How long a request waits for a busy instance (`--queue-timeout`).
    queue_timeout: Duration,
    max_body_bytes: u64,
    /// Time to receive a whole request body.
    body_timeout: Duration,
    /// Request bodies held at once, in KiB ([`body_buffer_permits`]).
    body_buffer: Arc<Semaphore>,
    /// Pass `Server-Timing` on to clients instead of stripping it.
    expose_server_timing: bool,
    /// Set at the first shutdown signal: responses then carry `Connection:
    /// close`, so keep-alive clients reconnect (to another pod) instead of
    /// reusing a connection that is about to be closed under them.
    draining: Arc<AtomicBool>,
}

/// Why a request was shed (`http_requests_shed_total`).
fn shed_reason(error: &HostError, receiving_body: bool) -> Option<&'static str> {
    match error {
        HostError::Overloaded if receiving_body => Some("body_buffer"),
        HostError::Overloaded => Some("concurrency"),
        _ => None,
    }
}

/// The `route` label of paths no route serves.
const UNMATCHED: &str = "unmatched";

/// How deep in-process calls may nest (a component calling the app, which
/// calls it again...) before the host answers 508 instead.
const MAX_IN_PROCESS_DEPTH: u32 = 10;

/// The route an in-process call to `<id>.spin.internal` matches, as Spin
/// reports it: everything below `/...`.
static CHAINED_ROUTE: std::sync::LazyLock<crate::app::router::Route> =
    std::sync::LazyLock::new(|| crate::app::router::Route::parse("/...").expect("a valid route"));

/// How a request finds what serves it.
#[derive(Debug, Clone)]
enum Routing {
    /// By its path, through the app's routes: a client's, or a component's
    /// request to its own app.
    ByPath,
    /// To the component with this id, whatever its routes
    /// (`<id>.spin.internal`).
    Component(String),
}

impl InProcess for Proxy {
    fn call(
        self: Arc<Self>,
        target: InProcessTarget,
        request: http::Request<WasiBody>,
        depth: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = http::Response<WasiBody>> + Send>> {
        let routing = match target {
            InProcessTarget::App => Routing::ByPath,
            InProcessTarget::Component(id) => Routing::Component(id),
        };
        Box::pin(async move { self.serve(request, routing, depth).await })
    }
}

impl Proxy {
    /// The request path for `app`, with `concurrency` instances in all and
    /// the edge's limits; `draining` is set by the host at its first
    /// shutdown signal.
    pub fn new(
        app: Arc<Reloader>,
        metrics: Metrics,
        concurrency: u32,
        edge: &crate::edge::flags::EdgeFlags,
        draining: Arc<AtomicBool>,
    ) -> Proxy {
        Proxy {
            app,
            metrics,
            permits: Arc::new(Semaphore::new(concurrency as usize)),
            request_timeout: edge.request_timeout,
            queue_timeout: edge.queue_timeout,
            max_body_bytes: edge.max_request_body_bytes,
            body_timeout: edge.request_body_timeout,
            body_buffer: Arc::new(Semaphore::new(
                body_buffer_permits(edge.request_body_buffer_bytes) as usize
            )),
            expose_server_timing: edge.expose_server_timing,
            draining,
        }
    }

    /// A client's request, from the public listener.
    pub async fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
    ) -> Result<http::Response<HyperOutgoingBody>, Infallible> {
        Ok(self.serve(request, Routing::ByPath, 0).await)
    }

    /// Serves `request`, routed as `routing` says; `depth` is how many
    /// in-process calls led to it (0 for a client's).
    async fn serve<B>(
        self: Arc<Self>,
        mut request: http::Request<B>,
        routing: Routing,
        depth: u32,
    ) -> http::Response<HyperOutgoingBody>
    where
        B: http_body::Body<Data = Bytes> + Send + Unpin,
    {
        let started = Instant::now();
        let app = self.app.current();
        let path = request.uri().path();
        let well_known = match routing {
            Routing::ByPath => WellKnown::of(path),
            Routing::Component(_) => None,
        };
        let chained;
        let matched = match (&routing, &well_known) {
            (_, Some(_)) => None,
            (Routing::ByPath, None) => app.router.find(path),
            (Routing::Component(id), None) => {
                // Spin's synthetic match: the whole path below `/...`.
                chained = app
                    .spec
                    .triggered
                    .iter()
                    .any(|t| t == id)
                    .then(|| app.component(id).cloned())
                    .flatten()
                    .map(Target::Component);
                chained.as_ref().map(|target| crate::app::router::Matched {
                    route: &CHAINED_ROUTE,
                    target,
                    path_info: path.to_string(),
                    named: Vec::new(),
                })
            }
        };
        let route: Arc<str> = match (&well_known, &matched) {
            (Some(own), _) => own.route().into(),
            (None, Some(matched)) => matched.route.text().clone(),
            (None, None) => UNMATCHED.into(),
        };
        let method = method_label(request.method());
        let in_flight = Live::new(&self.metrics.in_flight);

        let request_id = request_id::from_caller(request.headers().get(request_id::HEADER));
        let header_value = http::HeaderValue::from_str(&request_id).expect("sanitized ids are valid header values");
        request.headers_mut().insert(request_id::HEADER, header_value.clone());
        // The component sees this host's span as its caller.
        let trace = TraceContext::for_request(request.headers());
        trace.inject(request.headers_mut());
        let instance = request.uri().path().to_owned();

        let declared_body: Option<u64> = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        // Answers the host makes itself carry the request id; a component's
        // answer is passed as it is (Spin adds nothing either).
        let mut from_component = false;
        let mut response = if depth > MAX_IN_PROCESS_DEPTH {
            HostError::LoopDetected {
                depth: MAX_IN_PROCESS_DEPTH,
            }
            .response(&instance, &request_id)
        } else if let Some(own) = well_known {
            match own {
                WellKnown::Health => text_response(200, "OK"),
                WellKnown::Info => bytes_response(
                    200,
                    "application/json",
                    spin_headers::info_body(&app.spec.name, &app.spec.version),
                ),
                WellKnown::NotFound => empty_response(404),
            }
        } else if matched.is_none() {
            HostError::NoRoute.response(&instance, &request_id)
        } else if let Some(Target::Static(fixed)) = matched.as_ref().map(|m| m.target) {
            static_response(fixed)
        } else if !request.headers().contains_key(http::header::HOST) {
            // HTTP/1.1 requires it (RFC 9112, 3.2), and the component's
            // request URL is built from it: the client's error, not the guest's.
            HostError::MissingHost.response(&instance, &request_id)
        } else if declared_body.is_some_and(|n| n > self.max_body_bytes) {
            HostError::PayloadTooLarge {
                limit: self.max_body_bytes,
            }
            .response(&instance, &request_id)
        } else {
            let shed = |error: HostError, receiving_body: bool| {
                if let Some(reason) = shed_reason(&error, receiving_body) {
                    self.metrics.shed.with_label_values(&[reason]).inc();
                }
                error.response(&instance, &request_id)
            };
            let Some(matched) = matched else {
                unreachable!("unmatched paths are answered above")
            };
            let Target::Component(component) = matched.target.clone() else {
                unreachable!("static responses are answered above")
            };
            // An in-process call has no client: Spin says 0.0.0.0:0.
            let client = match request.extensions().get::<ClientAddr>() {
                Some(ClientAddr(addr)) => *addr,
                None => SocketAddr::from(([0, 0, 0, 0], 0)),
            };
            spin_headers::add(&mut request, &matched, Some(client));
            match self.receive_body(request).await {
                Err(error) => shed(error, true),
                Ok((request, reservation)) => match self.begin(&app, &component).await {
                    None => shed(HostError::Overloaded, false),
                    Some(begin) => match self
                        .run_guest(
                            component.clone(),
                            request,
                            &request_id,
                            &trace,
                            (begin, reservation),
                            depth,
                        )
                        .await
                    {
                        Ok(response) => {
                            from_component = true;
                            response
                        }
                        Err(GuestFailure::Timeout) => {
                            let timeout_ms = self.request_timeout.as_millis() as u64;
                            HostError::RequestTimeout { timeout_ms }.response(&instance, &request_id)
                        }
                        Err(_) => HostError::Internal.response(&instance, &request_id),
                    },
                },
            }
        };
        if !from_component {
            response.headers_mut().entry(request_id::HEADER).or_insert(header_value);
        }
        if self.draining.load(Ordering::Acquire) {
            response
                .headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }

        let status = response.status().as_u16();
        let route = &*route;
        self.metrics
            .requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.metrics
            .request_duration
            .with_label_values(&[route])
            .observe(started.elapsed().as_secs_f64());
        let content_type = content_type_label(response.headers());
        self.metrics
            .responses_by_type
            .with_label_values(&[route, content_type])
            .inc();
        let body_bytes = self.metrics.response_bytes.with_label_values(&[route, content_type]);
        // A request is in flight until its body has gone out (or the client
        // went away), not just its head: the gauge goes with the body, and
        // bytes are counted as they are handed to the connection.
        response.map(|body| {
            body.map_frame(move |frame| {
                let _ = &in_flight;
                if let Some(data) = frame.data_ref() {
                    body_bytes.inc_by(data.len() as u64);
                }
                match frame.into_trailers() {
                    // A token or a put never reaches a client, not even in
                    // trailers a component relayed.
                    Ok(mut trailers) => {
                        verdict::strip_headers(&mut trailers);
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                }
            })
            .boxed_unsync()
        })
    }

    /// Receives the whole request body before the guest runs, and before a
    /// concurrency slot is taken: a client that sends its body slowly holds its
    /// connection, not an instance. Bounded in size (413), time (408) and, all
    /// requests together, memory: the buffer budget is reserved as bytes
    /// arrive (503 when it is spent), so a body that trickles holds only what
    /// it has sent, not what its `Content-Length` announces.
    async fn receive_body<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<Full<Bytes>>, Option<OwnedSemaphorePermit>), HostError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
    {
        let (parts, mut body) = request.into_parts();
        if http_body::Body::is_end_stream(&body) {
            return Ok((http::Request::from_parts(parts, Full::new(Bytes::new())), None));
        }
        let limit = self.max_body_bytes;
        let mut reserved: Option<OwnedSemaphorePermit> = None;
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut received: u64 = 0;
        let receiving = async {
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame.map_err(|_| HostError::BadRequestBody)?.into_data() else {
                    continue;
                };
                received += data.len() as u64;
                if received > limit {
                    return Err(HostError::PayloadTooLarge { limit });
                }
                let held = reserved.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
                let needed = body_buffer_permits(received) as usize;
                if needed > held {
                    let more = self
                        .body_buffer
                        .clone()
                        .try_acquire_many_owned((needed - held) as u32)
                        .map_err(|_| HostError::Overloaded)?;
                    match reserved.as_mut() {
                        Some(permit) => permit.merge(more),
                        None => reserved = Some(more),
                    }
                }
                chunks.push(data);
            }
            Ok(())
        };
        match tokio::time::timeout(self.body_timeout, receiving).await {
            Err(_) => Err(HostError::BodyTimeout {
                timeout_ms: self.body_timeout.as_millis() as u64,
            }),
            Ok(Err(error)) => Err(error),
            Ok(Ok(())) => {
                let whole = match chunks.len() {
                    0 => Bytes::new(),
                    1 => chunks.pop().expect("one chunk"),
                    _ => {
                        let mut whole = BytesMut::with_capacity(received as usize);
                        chunks.iter().for_each(|chunk| whole.extend_from_slice(chunk));
                        whole.freeze()
                    }
                };
                Ok((http::Request::from_parts(parts, Full::new(whole)), reserved))
            }
        }
    }

    /// An instance for a request of `component`: an idle one (`app::reuse`),
    /// which comes with the slots it kept, or slots for a fresh one (its
    /// component's and the pool's). When every slot is taken the request
    /// waits up to `--queue-timeout` for one, or for an instance to go idle;
    /// `None` when none came (503).
    async fn begin(&self, app: &App, component: &Component) -> Option<Begin> {
        if let Some(idle) = component.idle.take() {
            return Some(Begin::Reused(idle));
        }
        if let Ok(own) = component.states.limits.permits.clone().try_acquire_owned() {
            if let Some(pool) = self.pool_slot(app) {
                return Some(Begin::Fresh(Slots { own, pool }));
            }
        }
        if self.queue_timeout.is_zero() {
            return None;
        }
        let waiting = async {
            loop {
                let own = tokio::select! {
                    own = component.states.limits.permits.clone().acquire_owned() => own.ok()?,
                    () = component.idle.went_idle() => match component.idle.take() {
                        Some(idle) => return Some(Begin::Reused(idle)),
                        None => continue,
                    },
                };
                let pool = match self.pool_slot(app) {
                    Some(pool) => pool,
                    None => self.permits.clone().acquire_owned().await.ok()?,
                };
                return Some(Begin::Fresh(Slots { own, pool }));
            }
        };
        tokio::time::timeout(self.queue_timeout, waiting).await.ok().flatten()
    }

    /// A pool slot now, if there is one. A pool that is full may be full of
    /// idle instances (`app::reuse`): one of them is retired to make room.
    fn pool_slot(&self, app: &App) -> Option<OwnedSemaphorePermit> {
        if let Ok(pool) = self.permits.clone().try_acquire_owned() {
            return Some(pool);
        }
        if !app.components.iter().any(|other| other.idle.evict_one()) {
            return None;
        }
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Runs the component on `request` (`app::run`) from `begin`, holding
    /// its slots and the body's `reservation` until the guest is done; a
    /// body the guest fails to finish ends in an error, and a bodiless answer
    /// is framed as Spin frames it.
    async fn run_guest(
        &self,
        component: Arc<Component>,
        request: http::Request<Full<Bytes>>,
        request_id: &str,
        trace: &TraceContext,
        (begin, reservation): (Begin, Option<OwnedSemaphorePermit>),
        depth: u32,
    ) -> Result<http::Response<HyperOutgoingBody>, GuestFailure> {
        let is_head = request.method() == http::Method::HEAD;
        let run = GuestRun {
            component,
            app: &self.app,
            metrics: &self.metrics,
            request_id,
            trace,
            depth,
            timeout: self.request_timeout,
            expose_server_timing: self.expose_server_timing,
        };
        let Answered { response, failed } = run.run(request, begin, reservation).await?;
        let response = response.map(|body| AbortsOnFailure { body, failed }.boxed_unsync());
        Ok(if is_head {
            response
        } else {
            frame_empty_body(response).await
        })
    }
}

/// The buffer budget counts KiB, so a semaphore's `u32` permits reach 4 TiB.
fn body_buffer_permits(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}
