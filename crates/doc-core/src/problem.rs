//! Every error the component answers, as an RFC 9457 `application/problem+json`
//! document, and the mapping from what went wrong to the status a client sees.
//! The host's own errors (overload, body limits, traps, timeouts) are the
//! host's (`host/src/edge/problem.rs`), in the same problem-type namespace.

use crate::retry::AttemptOutcome;
use crate::route::{IdError, ALLOWED_METHODS};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// The errors a client can get. Each has one status and one problem type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    BadId(IdError),
    NotFound,
    MethodNotAllowed,
    /// The upstream said the document does not exist (404/410).
    DocumentNotFound,
    /// Attempts are used up and none gave a servable document.
    BadUpstreamDocument {
        attempts: u32,
        last: String,
    },
    /// No attempt could connect to the upstream.
    UpstreamUnavailable {
        attempts: u32,
        last: String,
    },
    /// The overall deadline passed first.
    DeadlineExceeded {
        attempts: u32,
        deadline_ms: u64,
    },
    Misconfigured(String),
}

/// Seconds a client should wait after a 503 before trying again.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ProxyError {
    pub fn status(&self) -> u16 {
        match self {
            ProxyError::BadId(_) => 400,
            ProxyError::NotFound | ProxyError::DocumentNotFound => 404,
            ProxyError::MethodNotAllowed => 405,
            ProxyError::Misconfigured(_) => 500,
            ProxyError::BadUpstreamDocument { .. } => 502,
            ProxyError::UpstreamUnavailable { .. } => 503,
            ProxyError::DeadlineExceeded { .. } => 504,
        }
    }

    /// The last segment of the problem type URI; also used in logs.
    pub fn slug(&self) -> &'static str {
        match self {
            ProxyError::BadId(_) => "invalid-id",
            ProxyError::NotFound => "not-found",
            ProxyError::MethodNotAllowed => "method-not-allowed",
            ProxyError::DocumentNotFound => "document-not-found",
            ProxyError::BadUpstreamDocument { .. } => "bad-upstream-document",
            ProxyError::UpstreamUnavailable { .. } => "upstream-unavailable",
            ProxyError::DeadlineExceeded { .. } => "deadline-exceeded",
            ProxyError::Misconfigured(_) => "misconfigured",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ProxyError::BadId(_) => "Invalid document id",
            ProxyError::NotFound => "No such route",
            ProxyError::MethodNotAllowed => "Method not allowed",
            ProxyError::DocumentNotFound => "Document not found",
            ProxyError::BadUpstreamDocument { .. } => "Upstream gave no valid document",
            ProxyError::UpstreamUnavailable { .. } => "Upstream unavailable",
            ProxyError::DeadlineExceeded { .. } => "Deadline exceeded",
            ProxyError::Misconfigured(_) => "Service misconfigured",
        }
    }

    fn detail(&self) -> String {
        match self {
            ProxyError::BadId(e) => format!("{e}; use GET /{{id}} with a positive integer id, e.g. /42"),
            ProxyError::NotFound => "this service serves GET /{id} only".into(),
            ProxyError::MethodNotAllowed => format!("allowed methods: {ALLOWED_METHODS}"),
            ProxyError::DocumentNotFound => "the upstream has no document with this id".into(),
            ProxyError::BadUpstreamDocument { attempts, last } => {
                format!("no valid PDF or PNG after {attempts} attempt(s); last: {last}")
            }
            ProxyError::UpstreamUnavailable { attempts, last } => {
                format!("could not reach the upstream in {attempts} attempt(s); last: {last}")
            }
            ProxyError::DeadlineExceeded { attempts, deadline_ms } => {
                format!("no valid document within the {deadline_ms} ms deadline ({attempts} attempt(s))")
            }
            ProxyError::Misconfigured(why) => why.clone(),
        }
    }

    /// Headers that belong with this status besides `Content-Type`.
    pub fn extra_headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ProxyError::MethodNotAllowed => vec![("allow", ALLOWED_METHODS.into())],
            ProxyError::UpstreamUnavailable { .. } => vec![("retry-after", RETRY_AFTER_SECONDS.to_string())],
            _ => vec![],
        }
    }

    /// Every header of a problem response besides `Content-Length`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("content-type", CONTENT_TYPE.to_string()),
            ("cache-control", "no-store".to_string()),
        ];
        headers.extend(self.extra_headers());
        headers
    }

    pub fn attempts(&self) -> Option<u32> {
        match self {
            ProxyError::BadUpstreamDocument { attempts, .. }
            | ProxyError::UpstreamUnavailable { attempts, .. }
            | ProxyError::DeadlineExceeded { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// The problem document for a request to `instance` with id `request_id`.
    pub fn to_problem(&self, instance: &str, request_id: &str) -> Problem {
        Problem {
            type_uri: format!("tag:doc-proxy,2026:problem:{}", self.slug()),
            title: self.title(),
            status: self.status(),
            detail: self.detail(),
            instance: instance.to_string(),
            request_id: request_id.to_string(),
            attempts: self.attempts(),
        }
    }
}

/// An RFC 9457 problem details object, with two extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub instance: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

impl Problem {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a Problem always serialises")
    }
}

/// Maps the failed attempts of one request to the error its client gets:
/// 504 when time ran out (the deadline left no room for another attempt, or the
/// last attempt timed out), 404 when the upstream says the document does not
/// exist, 503 when no attempt could connect or the host's circuit breaker is
/// open, 502 otherwise. A retry the host's budget refused is not an attempt:
/// the request is judged by the attempts before it.
/// `deadline_hit` says the deadline, not the attempt count, ended the request.
pub fn final_error(outcomes: &[AttemptOutcome], deadline_hit: bool, deadline_ms: u64) -> ProxyError {
    let outcomes = match outcomes.split_last() {
        Some((AttemptOutcome::RetryRefused, made)) if !made.is_empty() => made,
        _ => outcomes,
    };
    let attempts = outcomes.len() as u32;
    let last = outcomes
        .last()
        .map(|o| o.to_string())
        .unwrap_or_else(|| "no attempt was made".into());
    if deadline_hit || outcomes.last() == Some(&AttemptOutcome::TimedOut) {
        return ProxyError::DeadlineExceeded { attempts, deadline_ms };
    }
    match outcomes.last() {
        Some(AttemptOutcome::Status(404 | 410)) => ProxyError::DocumentNotFound,
        // Ours to fix, not the client's to retry: a 500 without Retry-After.
        Some(AttemptOutcome::Denied(_)) => ProxyError::Misconfigured(
            "the host does not allow calls to the upstream: add its address to the host's outbound allow-list".into(),
        ),
        Some(AttemptOutcome::CircuitOpen | AttemptOutcome::RetryRefused) => {
            ProxyError::UpstreamUnavailable { attempts, last }
        }
        _ if !outcomes.is_empty() && outcomes.iter().all(|o| matches!(o, AttemptOutcome::Unreachable(_))) => {
            ProxyError::UpstreamUnavailable { attempts, last }
        }
        _ => ProxyError::BadUpstreamDocument { attempts, last },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Rejection;

    #[test]
    fn problem_json_has_the_rfc_9457_members() {
        let p = ProxyError::BadId(IdError::Zero).to_problem("/0", "rid-1");
        let v: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(v["status"], 400);
        assert_eq!(v["type"], "tag:doc-proxy,2026:problem:invalid-id");
        assert_eq!(v["instance"], "/0");
        assert_eq!(v["request_id"], "rid-1");
        assert!(v["title"].is_string() && v["detail"].is_string());
        assert!(v.get("attempts").is_none());
    }

    #[test]
    fn failed_attempts_map_to_statuses() {
        let corrupt = AttemptOutcome::Rejected(Rejection::Empty);
        let down = AttemptOutcome::Unreachable("refused".into());
        assert_eq!(
            final_error(&[corrupt.clone(), corrupt.clone()], false, 5000).status(),
            502
        );
        assert_eq!(final_error(&[down.clone(), down.clone()], false, 5000).status(), 503);
        assert_eq!(final_error(&[down.clone(), corrupt.clone()], false, 5000).status(), 502);
        assert_eq!(
            final_error(&[corrupt.clone(), AttemptOutcome::TimedOut], true, 5000).status(),
            504
        );
        assert_eq!(
            final_error(&[corrupt.clone(), AttemptOutcome::TimedOut], false, 5000).status(),
            504
        );
        assert_eq!(
            final_error(&[AttemptOutcome::TimedOut, corrupt], false, 5000).status(),
            502
        );
        assert_eq!(final_error(&[AttemptOutcome::Status(404)], false, 5000).status(), 404);
        assert_eq!(final_error(&[AttemptOutcome::Status(500)], false, 5000).status(), 502);
        let e = final_error(std::slice::from_ref(&down), false, 5000);
        assert_eq!(e.extra_headers(), vec![("retry-after", "1".to_string())]);
        assert_eq!(e.attempts(), Some(1));
        // A call the host refuses is our configuration: 500, nothing to retry.
        let denied = final_error(&[AttemptOutcome::Denied("HttpRequestDenied".into())], false, 5000);
        assert_eq!(denied.status(), 500);
        assert!(denied.extra_headers().is_empty());
        assert_eq!(denied.slug(), "misconfigured");
    }

    #[test]
    fn the_host_saying_no_is_a_503_or_the_attempts_before_it() {
        let corrupt = AttemptOutcome::Rejected(Rejection::Empty);
        let open = final_error(&[AttemptOutcome::Status(500), AttemptOutcome::CircuitOpen], false, 5000);
        assert_eq!(open.status(), 503);
        assert_eq!(open.extra_headers(), vec![("retry-after", "1".to_string())]);
        // A refused retry is judged by the attempt before it, and not counted.
        let refused = final_error(&[corrupt, AttemptOutcome::RetryRefused], false, 5000);
        assert_eq!(refused.status(), 502);
        assert_eq!(refused.attempts(), Some(1));
        assert_eq!(final_error(&[AttemptOutcome::RetryRefused], false, 5000).status(), 503);
    }

    #[test]
    fn problem_headers_are_type_cache_and_extras() {
        let headers = ProxyError::MethodNotAllowed.headers();
        assert_eq!(headers[0], ("content-type", "application/problem+json".to_string()));
        assert_eq!(headers[1], ("cache-control", "no-store".to_string()));
        assert_eq!(headers[2], ("allow", "GET, HEAD".to_string()));
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        assert_eq!(
            ProxyError::MethodNotAllowed.extra_headers(),
            vec![("allow", "GET, HEAD".to_string())]
        );
    }
}
