//! One guest run: a fresh store for one request (its factors' instance
//! state, of the app version the request arrived in), run on its
//! component's CPU lanes against its CPU budget and the request's time
//! limit, and how it ended: an answer, or a trap, a spent CPU budget, a
//! timeout, a `wasi:http` error code or no answer at all, each counted in
//! `wasm_traps_total`, logged with the request id, and told to the app
//! (a version that only fails after a reload is rolled back, `reload`).
//! The guest keeps running in its own task after the response head is out,
//! to stream the body; what the caller holds for it (the edge's concurrency
//! and buffer permits) goes with that task. A component that reuses
//! instances (`app::reuse`) may start from an idle instance instead of a
//! fresh store, and its instance, when the run ended well, goes back to its
//! idle instances with its concurrency permits.

use crate::app::factors::limits::OnLane;
use crate::app::factors::Prepare;
use crate::app::reload::Reloader;
use crate::app::reuse::{Idle, Retired, Slots};
use crate::app::Component;
use crate::ops::metrics::{Live, Metrics};
use crate::ops::trace::TraceContext;
use crate::outbound::verdict::SeenDigests;
use bytes::Bytes;
use http_body_util::Full;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// How a guest run ended, when it did not end well.
pub enum GuestFailure {
    /// It trapped, a host call failed, or its task panicked.
    Trap,
    /// It used up its CPU budget (`--request-cpu-budget`).
    CpuBudget,
    Timeout,
    /// It returned without setting a response.
    NoResponse,
    /// It set a `wasi:http` error code instead of a response.
    ErrorCode,
}

impl GuestFailure {
    /// The `kind` label of `wasm_traps_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            GuestFailure::Trap => "trap",
            GuestFailure::CpuBudget => "cpu_budget",
            GuestFailure::Timeout => "timeout",
            GuestFailure::NoResponse => "no_response",
            GuestFailure::ErrorCode => "error_code",
        }
    }
}

/// One request's run of `component`, with what it is run under.
pub struct GuestRun<'a> {
    /// Of the app version current when the request arrived: the request
    /// keeps it to the end, whatever reloads happen.
    pub component: Arc<Component>,
    pub app: &'a Arc<Reloader>,
    pub metrics: &'a Metrics,
    pub request_id: &'a str,
    pub trace: &'a TraceContext,
    /// How many in-process calls led to this request.
    pub depth: u32,
    pub timeout: Duration,
    /// Pass `Server-Timing` on instead of consuming it.
    pub expose_server_timing: bool,
}

/// The guest's answer, finished by its component (verdict-cache headers
/// taken, `Server-Timing` read); `failed` is set if the guest fails while
/// its body is still being written, before the body's writer is dropped.
pub struct Answered {
    pub response: http::Response<HyperOutgoingBody>,
    pub failed: Arc<AtomicBool>,
}

/// What a run starts from.
pub enum Begin {
    /// A new instance, in a new store, holding these slots.
    Fresh(Slots),
    /// An idle instance of the component, with the slots it kept.
    Reused(Idle),
}

impl GuestRun<'_> {
    /// Runs the request; `reservation` is its body's share of the buffer
    /// budget, held until the guest is done.
    pub async fn run(
        self,
        request: http::Request<Full<Bytes>>,
        begin: Begin,
        reservation: Option<OwnedSemaphorePermit>,
    ) -> Result<Answered, GuestFailure> {
        let (request_id, trace, depth) = (self.request_id, self.trace, self.depth);
        let component = self.component.clone();
        let seen = SeenDigests::default();
        let prepare = Prepare {
            request_id,
            trace,
            sha256: &component.code.sha256,
            seen: &seen,
            depth,
            service_slots: Default::default(),
        };
        let (mut store, instance, slots, uses, entries) = match begin {
            Begin::Fresh(slots) => (component.new_store(self.app.factors(), &prepare), None, slots, 0, None),
            Begin::Reused(idle) => {
                let mut store = idle.store;
                crate::app::state::renew_store(&mut store, self.app.factors(), &component.states, &prepare);
                (store, Some(idle.instance), idle.slots, idle.uses, idle.entries)
            }
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // Set when the guest fails, before its store (and so the writing end
        // of its response body) is dropped: the body then ends in an error.
        let failed = Arc::new(AtomicBool::new(false));

        let handler = component.code.handler.clone();
        let lanes = component.states.limits.lanes.clone();
        let meter = store.data().cpu().clone();
        let metrics = self.metrics.clone();
        let timeout = self.timeout;
        let id = request_id.to_owned();
        let app = self.app.clone();
        let ran = component.clone();
        let guest_failed = failed.clone();
        // Formatted only if a failure is logged.
        let trace_id = trace.trace_id;
        let task = tokio::spawn(async move {
            let live = Live::new(&metrics.instances_live);
            let instantiation = metrics.instantiation.clone();
            let outcome = {
                let run = handler.run(&mut store, instance, request, sender, |took| {
                    instantiation.observe(took.as_secs_f64())
                });
                let run = OnLane::new(run, lanes, meter);
                tokio::select! {
                    ended = run => Some(ended),
                    () = tokio::time::sleep(timeout) => None,
                }
            };
            let mut kept = None;
            let failure = match outcome {
                Some(Ok(instance)) => {
                    kept = Some(instance);
                    None
                }
                Some(Err(e)) => Some(match crate::app::state::cpu_budget_exceeded(&e) {
                    Some(spent) => {
                        tracing::error!(request_id = %id, trace_id = %format_args!("{trace_id:032x}"), component = %ran.id, error = %spent, "component stopped: CPU budget spent");
                        GuestFailure::CpuBudget
                    }
                    None => {
                        tracing::error!(request_id = %id, trace_id = %format_args!("{trace_id:032x}"), component = %ran.id, error = %format!("{e:?}"), "component trapped");
                        GuestFailure::Trap
                    }
                }),
                None => {
                    tracing::error!(request_id = %id, trace_id = %format_args!("{trace_id:032x}"), component = %ran.id, timeout_ms = timeout.as_millis() as u64, "component timed out");
                    Some(GuestFailure::Timeout)
                }
            };
            if failure.is_some() {
                guest_failed.store(true, Ordering::Release);
            }
            let idle = &ran.idle;
            match kept.filter(|_| idle.policy().is_some()) {
                Some(instance) => idle.put(Idle::new(store, instance, uses + 1, entries, slots)),
                None => {
                    if idle.policy().is_some() {
                        idle.retired(Retired::Failed);
                    }
                    // The store goes first: the instance's memory goes back
                    // to the pool before the permit lets the next request
                    // in, so live instances never exceed the plan.
                    drop(store);
                    drop(slots);
                }
            }
            drop(live);
            drop(reservation);
            match failure {
                None => Ok(()),
                Some(failure) => {
                    metrics.traps.with_label_values(&[failure.kind()]).inc();
                    app.observe(&ran, false);
                    Err(failure)
                }
            }
        });

        match receiver.await {
            Ok(Ok(mut response)) => {
                component.finish_response(response.headers_mut(), &seen, self.expose_server_timing);
                self.app.observe(&component, true);
                Ok(Answered { response, failed })
            }
            Ok(Err(code)) => {
                tracing::error!(request_id, component = %component.id, error = %code, "component answered with an error code");
                self.app.observe(&component, false);
                Err(self.count_failure(GuestFailure::ErrorCode))
            }
            // The sender was dropped with the store: the task ended without answering.
            Err(_) => match task.await {
                // Counted and told by the task.
                Ok(Err(failure)) => Err(failure),
                Ok(Ok(())) => {
                    tracing::error!(request_id, component = %component.id, "component returned without setting a response");
                    self.app.observe(&component, false);
                    Err(self.count_failure(GuestFailure::NoResponse))
                }
                Err(join) => {
                    tracing::error!(request_id, component = %component.id, error = %join, "component task failed");
                    self.app.observe(&component, false);
                    Err(self.count_failure(GuestFailure::Trap))
                }
            },
        }
    }

    fn count_failure(&self, failure: GuestFailure) -> GuestFailure {
        self.metrics.traps.with_label_values(&[failure.kind()]).inc();
        failure
    }
}
