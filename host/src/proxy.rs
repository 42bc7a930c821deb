//! The public listener's handler: each request gets a request id, a concurrency
//! permit, a fresh instance of the component, and a time limit. A trap, a
//! missing response or a timeout becomes a problem+json for that request only.

use crate::metrics::{method_label, route_label, Metrics};
use crate::state::{HostState, StoreTemplate};
use crate::verdict::SeenDigests;
use bytes::Bytes;
use doc_core::problem::ProxyError;
use doc_core::route::sanitize_request_id;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

/// Spin's health path; answered by the host, as Spin does.
pub const SPIN_HEALTH_PATH: &str = "/.well-known/spin/health";

const REQUEST_ID: &str = "x-request-id";

pub struct Proxy {
    pub pre: ProxyPre<HostState>,
    pub template: StoreTemplate,
    pub metrics: Metrics,
    pub permits: Arc<Semaphore>,
    pub request_timeout: Duration,
    pub max_body_bytes: u64,
    /// Time to receive a whole request body.
    pub body_timeout: Duration,
    /// Request bodies held at once, in KiB ([`body_buffer_permits`]).
    pub body_buffer: Arc<Semaphore>,
    /// Set at the first shutdown signal: responses then carry `Connection:
    /// close`, so keep-alive clients reconnect (to another pod) instead of
    /// reusing a connection that is about to be closed under them.
    pub draining: Arc<AtomicBool>,
}

/// How a guest run ended, when it did not end well.
enum GuestFailure {
    Trap,
    Timeout,
}

impl Proxy {
    pub async fn handle(
        self: Arc<Self>,
        mut request: http::Request<Incoming>,
    ) -> Result<http::Response<HyperOutgoingBody>, Infallible> {
        let started = Instant::now();
        let route = route_label(request.uri().path());
        let method = method_label(request.method());
        let in_flight = InFlight::new(&self.metrics);

        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(sanitize_request_id)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let header_value = http::HeaderValue::from_str(&request_id).expect("sanitized ids are valid header values");
        request.headers_mut().insert(REQUEST_ID, header_value.clone());
        let instance = request.uri().path().to_owned();

        let declared_body: Option<u64> = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let mut response = if request.uri().path() == SPIN_HEALTH_PATH {
            text_response(200, "OK")
        } else if declared_body.is_some_and(|n| n > self.max_body_bytes) {
            problem(
                &ProxyError::PayloadTooLarge {
                    limit: self.max_body_bytes,
                },
                &instance,
                &request_id,
            )
        } else {
            match self.receive_body(request, declared_body).await {
                Err(error) => problem(&error, &instance, &request_id),
                Ok((request, reservation)) => match self.permits.clone().try_acquire_owned() {
                    Err(_) => problem(&ProxyError::Overloaded, &instance, &request_id),
                    Ok(permit) => match self.run_guest(request, &request_id, (permit, reservation)).await {
                        Ok(response) => response,
                        Err(GuestFailure::Trap) => problem(&ProxyError::Internal, &instance, &request_id),
                        Err(GuestFailure::Timeout) => {
                            let timeout_ms = self.request_timeout.as_millis() as u64;
                            problem(&ProxyError::RequestTimeout { timeout_ms }, &instance, &request_id)
                        }
                    },
                },
            }
        };
        response.headers_mut().entry(REQUEST_ID).or_insert(header_value);
        if self.draining.load(Ordering::Acquire) {
            response
                .headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }

        let status = response.status().as_u16();
        self.metrics
            .requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.metrics
            .request_duration
            .with_label_values(&[route])
            .observe(started.elapsed().as_secs_f64());
        // A request is in flight until its body has gone out (or the client
        // went away), not just its head: the gauge goes with the body.
        Ok(response.map(|body| {
            body.map_frame(move |frame| {
                let _ = &in_flight;
                frame
            })
            .boxed_unsync()
        }))
    }

    /// Receives the whole request body before the guest runs, and before a
    /// concurrency slot is taken: a client that sends its body slowly holds its
    /// connection, not an instance. Bounded in size (413), time (408) and, all
    /// requests together, memory (503 when the buffer budget is spent).
    async fn receive_body(
        &self,
        request: http::Request<Incoming>,
        declared: Option<u64>,
    ) -> Result<(http::Request<Full<Bytes>>, Option<OwnedSemaphorePermit>), ProxyError> {
        let (parts, body) = request.into_parts();
        if http_body::Body::is_end_stream(&body) {
            return Ok((http::Request::from_parts(parts, Full::new(Bytes::new())), None));
        }
        let reserved = declared.unwrap_or(self.max_body_bytes).min(self.max_body_bytes);
        let reservation = self
            .body_buffer
            .clone()
            .try_acquire_many_owned(body_buffer_permits(reserved))
            .map_err(|_| ProxyError::Overloaded)?;
        let limit = self.max_body_bytes;
        match tokio::time::timeout(self.body_timeout, Limited::new(body, limit as usize).collect()).await {
            Err(_) => Err(ProxyError::BodyTimeout {
                timeout_ms: self.body_timeout.as_millis() as u64,
            }),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ProxyError::PayloadTooLarge { limit }),
            Ok(Err(_)) => Err(ProxyError::BadRequestBody),
            Ok(Ok(collected)) => Ok((
                http::Request::from_parts(parts, Full::new(collected.to_bytes())),
                Some(reservation),
            )),
        }
    }

    /// Runs the component on `request`. The guest keeps running in its own task
    /// after the response head is out, to stream the body; the permits (its
    /// concurrency slot and its body's buffer) and the time limit go with it.
    async fn run_guest(
        &self,
        request: http::Request<Full<Bytes>>,
        request_id: &str,
        permits: (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>),
    ) -> Result<http::Response<HyperOutgoingBody>, GuestFailure> {
        let seen = SeenDigests::default();
        let mut store = self.template.new_store(self.pre.engine(), request_id, &seen);
        let request =
            request.map(|body| body.map_err(|never: Infallible| -> wasmtime_wasi_http::Error { match never {} }));
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| {
            let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
            let outparam = store.data_mut().http().new_response_outparam(sender)?;
            anyhow::Ok((incoming, outparam))
        })();
        let (incoming, outparam) = prepared.map_err(|e| {
            tracing::error!(request_id, error = %format!("{e:#}"), "could not hand the request to the component");
            GuestFailure::Trap
        })?;

        let pre = self.pre.clone();
        let metrics = self.metrics.clone();
        let timeout = self.request_timeout;
        let id = request_id.to_owned();
        let task = tokio::spawn(async move {
            let run = async {
                let instantiating = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                metrics.instantiation.observe(instantiating.elapsed().as_secs_f64());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            };
            let outcome = tokio::time::timeout(timeout, run).await;
            // The instance's memory goes back to the pool before the permit
            // lets the next request in: live instances never exceed the plan.
            drop(store);
            drop(permits);
            let failure = match outcome {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => {
                    tracing::error!(request_id = %id, error = %format!("{e:?}"), "component trapped");
                    GuestFailure::Trap
                }
                Err(_) => {
                    tracing::error!(request_id = %id, timeout_ms = timeout.as_millis() as u64, "component timed out");
                    GuestFailure::Timeout
                }
            };
            metrics.traps.inc();
            Err(failure)
        });

        match receiver.await {
            Ok(Ok(mut response)) => {
                if let Some(cache) = &self.template.verdicts {
                    cache.take_put(response.headers_mut(), &seen);
                }
                Ok(response)
            }
            Ok(Err(code)) => {
                tracing::error!(request_id, error = ?code, "component answered with an error code");
                Err(GuestFailure::Trap)
            }
            // The sender was dropped with the store: the task ended without answering.
            Err(_) => match task.await {
                Ok(Err(failure)) => Err(failure),
                Ok(Ok(())) => {
                    tracing::error!(request_id, "component returned without setting a response");
                    Err(GuestFailure::Trap)
                }
                Err(join) => {
                    tracing::error!(request_id, error = %join, "component task failed");
                    Err(GuestFailure::Trap)
                }
            },
        }
    }
}

/// The buffer budget counts KiB, so a semaphore's `u32` permits reach 4 TiB.
pub fn body_buffer_permits(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

fn full_body(bytes: impl Into<Bytes>) -> HyperOutgoingBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn text_response(status: u16, text: &'static str) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(full_body(text))
        .expect("static response parts")
}

/// A problem+json response made by the host itself.
pub fn problem(error: &ProxyError, instance: &str, request_id: &str) -> http::Response<HyperOutgoingBody> {
    let mut builder = http::Response::builder().status(error.status());
    for (name, value) in error.headers() {
        builder = builder.header(name, value);
    }
    builder
        .body(full_body(error.to_problem(instance, request_id).to_json()))
        .expect("problem responses have valid parts")
}

/// Counts a request in flight for as long as it lives.
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn new(metrics: &Metrics) -> Self {
        metrics.in_flight.inc();
        InFlight(metrics.in_flight.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
