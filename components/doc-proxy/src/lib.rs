//! doc-proxy as a WASI HTTP component: `GET /{id}` fetches document `id` from the
//! upstream, validates it structurally, and returns it with the MIME type its
//! bytes prove. Bad upstream answers are retried within the retry policy and the
//! overall deadline; then the client gets an RFC 9457 problem.
//!
//! Everything decided here comes from `doc_core`; this file, `upstream.rs` and
//! `components/shared/variables.rs` are the thin WASI glue. It imports only
//! `wasi:*` interfaces (its settings arrive as variables through
//! `wasi:config/store`), so the same `.wasm` runs on Spin, SpinKube and the
//! doc-proxy host.

mod log;
mod upstream;
#[path = "../../shared/variables.rs"]
mod variables;

use doc_core::config::Config;
use doc_core::problem::{final_error, ProxyError};
use doc_core::response::{document_headers, USAGE};
use doc_core::retry::{AttemptOutcome, Next};
use doc_core::route::{route, sanitize_request_id, Route, RouteError};
use doc_core::telemetry::{AttemptClass, Timings};
use doc_core::DocumentKind;
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use std::time::Duration;
use wasi::clocks::monotonic_clock;

#[http_component]
fn handle(request: Request) -> Response {
    let started = monotonic_clock::now();
    let request_id = request
        .header("x-request-id")
        .and_then(|v| v.as_str())
        .and_then(sanitize_request_id)
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let method = method_name(request.method());
    let path = request.path().to_owned();
    let is_head = method == "HEAD";

    let routed = route(&method, &path);
    let id = match routed {
        Ok(Route::Document(id)) => Some(id),
        _ => None,
    };
    let mut timings = Timings::default();
    let (mut response, summary) = match answer(routed, &request_id, started, &mut timings) {
        Ok(served) => served,
        Err((error, attempts)) => {
            let response = problem_response(&error, &path, &request_id);
            (
                response,
                Summary {
                    attempts,
                    error: Some(error),
                    ..Summary::default()
                },
            )
        }
    };
    let status = *response.status();
    response.set_header("x-request-id", request_id.clone());
    if let Some(value) = timings.header_value() {
        response.set_header("server-timing", value);
    }
    if is_head {
        // Same headers as GET (Content-Length included), no body.
        response = strip_body(response);
    }
    log::emit(
        if status >= 500 { "warn" } else { "info" },
        "request",
        json!({
            "request_id": request_id,
            "method": method,
            "path": path,
            "id": id,
            "status": status,
            "attempts": summary.attempts,
            "kind": summary.kind.map(|k| k.extension()),
            "bytes": summary.bytes,
            "validate_us": summary.validate_us,
            "verdict_cached": summary.cached,
            "error": summary.error.as_ref().map(ProxyError::slug),
            "duration_ms": elapsed(started).as_secs_f64() * 1e3,
        }),
    );
    response
}

/// What the request log line reports besides the status.
#[derive(Default)]
struct Summary {
    attempts: u32,
    kind: Option<DocumentKind>,
    bytes: usize,
    validate_us: Option<f64>,
    /// The served document's verdict came from the host's cache.
    cached: bool,
    error: Option<ProxyError>,
}

/// A failed request: the error and how many upstream attempts it took.
type Failure = (ProxyError, u32);

fn answer(
    routed: Result<Route, RouteError>,
    request_id: &str,
    started: u64,
    timings: &mut Timings,
) -> Result<(Response, Summary), Failure> {
    match routed {
        Ok(Route::Usage) => Ok((text_response(200, USAGE), Summary::default())),
        Ok(Route::Document(id)) => {
            let config = read_config().map_err(|e| (ProxyError::Misconfigured(e), 0))?;
            serve_document(&config, id, request_id, started, timings)
        }
        Err(RouteError::BadId(e)) => Err((ProxyError::BadId(e), 0)),
        Err(RouteError::NotFound) => Err((ProxyError::NotFound, 0)),
        Err(RouteError::MethodNotAllowed) => Err((ProxyError::MethodNotAllowed, 0)),
    }
}

/// The settings, from the component's variables (`upstream_url`,
/// `max_attempts`, ...); a variable the host could not read is an error, as a
/// value out of bounds is.
fn read_config() -> Result<Config, String> {
    let unreadable = std::cell::RefCell::new(None);
    let config = Config::from_variables(|name| {
        variables::get(name).unwrap_or_else(|reason| {
            unreadable.borrow_mut().get_or_insert(reason);
            None
        })
    });
    match unreadable.into_inner() {
        Some(reason) => Err(reason),
        None => config.map_err(|e| e.to_string()),
    }
}

/// Fetches, validates and retries until a document passes or the policy gives
/// up; `timings` gets each attempt's class and duration, and validation's total.
fn serve_document(
    config: &Config,
    id: u64,
    request_id: &str,
    started: u64,
    timings: &mut Timings,
) -> Result<(Response, Summary), Failure> {
    let policy = &config.retry;
    let path = config.upstream.document_path(id);
    let mut outcomes: Vec<AttemptOutcome> = Vec::new();
    let mut timeout = policy.first_attempt_timeout();
    // Time spent validating, over all attempts: the budget `make bench` checks.
    let mut validate_ns = 0u64;
    let verdict_token = upstream::verdict_token();
    loop {
        let limits = upstream::AttemptLimits {
            timeout_ns: timeout.as_nanos() as u64,
            connect_timeout_ns: config.connect_timeout.as_nanos() as u64,
            max_bytes: config.max_document_bytes,
            verdict_token: verdict_token.as_deref(),
        };
        let attempt = outcomes.len() as u32 + 1;
        let attempt_started = monotonic_clock::now();
        let outcome = match upstream::fetch(&config.upstream, &path, &limits, request_id) {
            Ok(fetched) => match timed(&mut validate_ns, || checked_kind(&fetched, config)) {
                Ok(kind) => {
                    timings.attempt(AttemptClass::Ok, elapsed(attempt_started).as_secs_f64() * 1e3);
                    timings.validation(validate_ns as f64 / 1e6);
                    let headers = document_headers(kind, id, fetched.body.len(), request_id);
                    let bytes = fetched.body.len();
                    let mut response = Response::new(200, fetched.body);
                    for (name, value) in headers {
                        response.set_header(name, value);
                    }
                    if let Some(digest) = fetched.digest.filter(|_| !fetched.known_valid) {
                        // Validated here: the host may remember these bytes (and
                        // strips the header).
                        response.set_header("verdict-cache-put", digest);
                    }
                    let summary = Summary {
                        attempts: attempt,
                        kind: Some(kind),
                        bytes,
                        validate_us: Some(validate_ns as f64 / 1e3),
                        cached: fetched.known_valid,
                        error: None,
                    };
                    return Ok((response, summary));
                }
                Err(rejection) => {
                    log::emit(
                        "warn",
                        "upstream document rejected",
                        json!({
                            "request_id": request_id,
                            "id": id,
                            "attempt": attempt,
                            "code": rejection.code(),
                            "reason": rejection.to_string(),
                            "upstream_content_type": fetched.content_type,
                            "bytes": fetched.body.len(),
                        }),
                    );
                    AttemptOutcome::Rejected(rejection)
                }
            },
            Err(outcome) => {
                log::emit(
                    "warn",
                    "upstream attempt failed",
                    json!({"request_id": request_id, "id": id, "attempt": attempt, "code": outcome.code(), "reason": outcome.to_string()}),
                );
                outcome
            }
        };
        timings.attempt(AttemptClass::of(&outcome), elapsed(attempt_started).as_secs_f64() * 1e3);
        let next = policy.next(attempt, &outcome, elapsed(started), unit_random());
        outcomes.push(outcome);
        match next {
            Next::Retry {
                delay,
                timeout: next_timeout,
            } => {
                sleep(delay);
                timeout = next_timeout;
            }
            Next::GiveUp | Next::DeadlineExceeded => {
                if validate_ns > 0 {
                    timings.validation(validate_ns as f64 / 1e6);
                }
                let deadline_ms = policy.deadline.as_millis() as u64;
                let error = final_error(&outcomes, next == Next::DeadlineExceeded, deadline_ms);
                return Err((error, attempt));
            }
        }
    }
}

/// The document's kind: named from its first bytes when the host vouches these
/// exact bytes passed validation before, validated otherwise.
fn checked_kind(fetched: &upstream::Fetched, config: &Config) -> Result<DocumentKind, doc_core::Rejection> {
    match fetched.known_valid.then(|| doc_core::sniff(&fetched.body)).flatten() {
        Some(kind) => Ok(kind),
        None => doc_core::validate(&fetched.body, &config.pdf_limits),
    }
}

fn problem_response(error: &ProxyError, path: &str, request_id: &str) -> Response {
    let body = error.to_problem(path, request_id).to_json();
    let length = body.len();
    let mut response = Response::new(error.status(), body);
    response.set_header("content-length", length.to_string());
    for (name, value) in error.headers() {
        response.set_header(name, value);
    }
    response
}

fn text_response(status: u16, text: &str) -> Response {
    let mut response = Response::new(status, text.to_owned());
    response.set_header("content-type", "text/plain; charset=utf-8");
    response.set_header("content-length", text.len().to_string());
    response
}

fn strip_body(response: Response) -> Response {
    let mut builder = response.into_builder();
    builder.body(Vec::<u8>::new());
    builder.build()
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// Runs `f`, adding the time it took to `total_ns`.
fn timed<T>(total_ns: &mut u64, f: impl FnOnce() -> T) -> T {
    let start = monotonic_clock::now();
    let result = f();
    *total_ns += monotonic_clock::now().saturating_sub(start);
    result
}

fn elapsed(started: u64) -> Duration {
    Duration::from_nanos(monotonic_clock::now().saturating_sub(started))
}

fn sleep(delay: Duration) {
    if !delay.is_zero() {
        monotonic_clock::subscribe_duration(delay.as_nanos() as u64).block();
    }
}

/// A uniform number in [0, 1) for backoff jitter.
fn unit_random() -> f64 {
    (wasi::random::insecure::get_insecure_random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn new_request_id() -> String {
    format!("{:016x}", wasi::random::insecure::get_insecure_random_u64())
}
