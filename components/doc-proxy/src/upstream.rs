//! One bounded attempt to fetch a document over `wasi:http/outgoing-handler`.
//!
//! Every wait is a `wasi:io/poll` over the operation's pollable and a
//! monotonic-clock pollable for the attempt's deadline, so an upstream that never
//! answers, or drips its body a byte at a time, cannot hold the request past it.
//! The body is buffered whole (up to the size cap) before anyone looks at it.
//!
//! Under a host with a verdict cache (the doc-proxy host, `docs/verdict-cache.md`)
//! the body's trailers say whether these exact bytes were already validated;
//! elsewhere there is no token, the trailers are not read, and every body is
//! validated.

use doc_core::config::UpstreamUrl;
use doc_core::retry::AttemptOutcome;
use wasi::clocks::monotonic_clock;
use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, IncomingBody, IncomingResponse, OutgoingRequest, RequestOptions, Scheme};
use wasi::io::poll;
use wasi::io::streams::StreamError;

/// What a successful attempt brought back (not yet validated).
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// The host's `repr-digest` trailer, when a verdict cache is on.
    pub digest: Option<String>,
    /// The host vouches that these bytes were validated before.
    pub known_valid: bool,
}

/// The verdict-cache token the host gave this instance, if any.
pub fn verdict_token() -> Option<String> {
    std::env::var("VERDICT_CACHE_TOKEN").ok().filter(|t| !t.is_empty())
}

/// Bounds for one attempt.
pub struct AttemptLimits<'a> {
    pub timeout_ns: u64,
    pub connect_timeout_ns: u64,
    pub max_bytes: u64,
    /// See [`verdict_token`].
    pub verdict_token: Option<&'a str>,
}

const READ_CHUNK: u64 = 64 * 1024;

/// GETs `path` from `upstream` within `limits`.
pub fn fetch(
    upstream: &UpstreamUrl,
    path: &str,
    limits: &AttemptLimits<'_>,
    request_id: &str,
) -> Result<Fetched, AttemptOutcome> {
    let deadline = monotonic_clock::now().saturating_add(limits.timeout_ns);
    let request = build_request(upstream, path, request_id)?;
    let options = RequestOptions::new();
    // The host may refuse to set options it does not support; the deadline
    // pollable below bounds the attempt either way.
    let _ = options.set_connect_timeout(Some(limits.connect_timeout_ns.min(limits.timeout_ns)));
    let _ = options.set_first_byte_timeout(Some(limits.timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(limits.timeout_ns));

    let pending = outgoing_handler::handle(request, Some(options)).map_err(outcome_of)?;
    let timer = monotonic_clock::subscribe_instant(deadline);
    wait_ready(&pending.subscribe(), &timer)?;
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(outcome_of(code)),
        Some(Err(())) | None => return Err(AttemptOutcome::Broken("response already taken".into())),
    };
    read_response(response, &timer, limits)
}

fn build_request(upstream: &UpstreamUrl, path: &str, request_id: &str) -> Result<OutgoingRequest, AttemptOutcome> {
    let headers = Fields::new();
    let _ = headers.append(&"accept".to_string(), &b"application/pdf, image/png".to_vec());
    let _ = headers.append(&"x-request-id".to_string(), &request_id.as_bytes().to_vec());
    let request = OutgoingRequest::new(headers);
    let scheme = if upstream.scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let bad = |what: &str| AttemptOutcome::Unreachable(format!("invalid upstream {what}"));
    request.set_scheme(Some(&scheme)).map_err(|()| bad("scheme"))?;
    request
        .set_authority(Some(&upstream.authority))
        .map_err(|()| bad("authority"))?;
    request.set_path_with_query(Some(path)).map_err(|()| bad("path"))?;
    Ok(request)
}

fn read_response(
    response: IncomingResponse,
    timer: &poll::Pollable,
    limits: &AttemptLimits<'_>,
) -> Result<Fetched, AttemptOutcome> {
    let max_bytes = limits.max_bytes;
    let status = response.status();
    if !(200..300).contains(&status) {
        return Err(AttemptOutcome::Status(status));
    }
    let headers = response.headers();
    let header = |name: &str| {
        headers
            .get(&name.to_string())
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let content_type = header("content-type");
    let declared: Option<u64> = header("content-length").and_then(|v| v.trim().parse().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        // Refused on the header alone: not a byte of the body is read.
        return Err(AttemptOutcome::TooLarge { limit: max_bytes });
    }
    drop(headers);

    let body = response
        .consume()
        .map_err(|()| AttemptOutcome::Broken("body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| AttemptOutcome::Broken("body stream already taken".into()))?;
    let mut buffer = Vec::with_capacity(declared.unwrap_or(0) as usize);
    let readable = stream.subscribe();
    loop {
        wait_ready(&readable, timer)?;
        match stream.read(READ_CHUNK) {
            Ok(chunk) => {
                let needed = buffer.len() + chunk.len();
                if needed as u64 > max_bytes {
                    return Err(AttemptOutcome::TooLarge { limit: max_bytes });
                }
                if needed > buffer.capacity() {
                    // Doubling, but never past the cap: left to `Vec`, a body
                    // just under the cap would ask for twice the cap, and the
                    // instance's memory is sized for the cap (k8s sizing rule).
                    let grown = (buffer.capacity() * 2).max(needed).min(max_bytes as usize);
                    buffer.reserve_exact(grown - buffer.len());
                }
                buffer.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(AttemptOutcome::Broken(e.to_debug_string()));
            }
        }
    }
    if declared.is_some_and(|n| n != buffer.len() as u64) {
        return Err(AttemptOutcome::Broken(format!(
            "body has {} bytes, content-length said {}",
            buffer.len(),
            declared.unwrap_or(0)
        )));
    }
    // The stream must be gone before the body can be finished.
    drop(readable);
    drop(stream);
    let (digest, known_valid) = match limits.verdict_token {
        Some(token) => read_verdict(body, timer, token)?,
        None => (None, false),
    };
    Ok(Fetched {
        body: buffer,
        content_type,
        digest,
        known_valid,
    })
}

/// The host's `repr-digest` trailer, and whether `verdict-cache-hit` carries
/// our token.
fn read_verdict(
    body: IncomingBody,
    timer: &poll::Pollable,
    token: &str,
) -> Result<(Option<String>, bool), AttemptOutcome> {
    let trailers = IncomingBody::finish(body);
    wait_ready(&trailers.subscribe(), timer)?;
    let fields = match trailers.get() {
        Some(Ok(Ok(Some(fields)))) => fields,
        Some(Ok(Err(code))) => return Err(outcome_of(code)),
        _ => return Ok((None, false)),
    };
    let first = |name: &str| {
        fields
            .get(&name.to_string())
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let known_valid = first("verdict-cache-hit").is_some_and(|hit| hit == token);
    Ok((first("repr-digest"), known_valid))
}

/// Blocks until `pollable` is ready, or fails with a timeout when the attempt's
/// `deadline` timer fires first.
fn wait_ready(pollable: &poll::Pollable, deadline: &poll::Pollable) -> Result<(), AttemptOutcome> {
    while !pollable.ready() {
        poll::poll(&[pollable, deadline]);
        if deadline.ready() && !pollable.ready() {
            return Err(AttemptOutcome::TimedOut);
        }
    }
    Ok(())
}

/// Sorts a `wasi:http` error into the outcomes the retry policy knows.
fn outcome_of(code: ErrorCode) -> AttemptOutcome {
    match code {
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => AttemptOutcome::TimedOut,
        ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTimeout
        | ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable => AttemptOutcome::Unreachable(format!("{code:?}")),
        ErrorCode::HttpRequestDenied => AttemptOutcome::Denied(format!("{code:?}")),
        // What the doc-proxy host answers while its circuit breaker for the
        // upstream is open, and when its retry budget refuses a retry
        // (docs/reliability.md). Other runtimes do not send these for
        // ordinary failures.
        ErrorCode::DestinationUnavailable => AttemptOutcome::CircuitOpen,
        ErrorCode::ConnectionLimitReached => AttemptOutcome::RetryRefused,
        other => AttemptOutcome::Broken(format!("{other:?}")),
    }
}
