//! The host's own errors: what it answers when the component cannot (no free
//! instance, a request body too large, too slow or malformed, a trap, a
//! timeout). RFC 9457 problems in the same vocabulary as doc-proxy's, so a
//! client sees one set of problem types whoever answered; the host does not
//! depend on any component's crate for them.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Where problem types live (shared with doc-proxy's component).
const TYPE_PREFIX: &str = "tag:doc-proxy,2026:problem:";
/// Seconds a client should wait after a 503 before trying again.
const RETRY_AFTER_SECONDS: &str = "1";

/// The RFC 9457 members every problem the host answers carries (the one
/// place they are spelled); callers add their extension members.
pub fn problem_json(status: u16, slug: &str, title: &str, detail: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::from_iter([
        ("type".to_owned(), format!("{TYPE_PREFIX}{slug}").into()),
        ("title".to_owned(), title.into()),
        ("status".to_owned(), status.into()),
        ("detail".to_owned(), detail.into()),
    ])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// Every instance is busy, or the request-body memory budget is spent.
    Overloaded,
    /// The request body is larger than allowed.
    PayloadTooLarge { limit: u64 },
    /// The component did not answer within the request timeout.
    RequestTimeout { timeout_ms: u64 },
    /// The client did not send its whole body in time.
    BodyTimeout { timeout_ms: u64 },
    /// The request body broke off or was malformed.
    BadRequestBody,
    /// The component trapped or failed.
    Internal,
    /// No route of the app serves the path.
    NoRoute,
    /// An HTTP/1.1 request without a `Host` header.
    MissingHost,
    /// In-process calls nested past the host's limit.
    LoopDetected { depth: u32 },
}

impl HostError {
    pub fn status(&self) -> u16 {
        match self {
            HostError::BadRequestBody | HostError::MissingHost => 400,
            HostError::LoopDetected { .. } => 508,
            HostError::NoRoute => 404,
            HostError::BodyTimeout { .. } => 408,
            HostError::PayloadTooLarge { .. } => 413,
            HostError::Internal => 500,
            HostError::Overloaded => 503,
            HostError::RequestTimeout { .. } => 504,
        }
    }

    /// The last segment of the problem type URI.
    pub fn slug(&self) -> &'static str {
        match self {
            HostError::Overloaded => "overloaded",
            HostError::PayloadTooLarge { .. } => "payload-too-large",
            HostError::RequestTimeout { .. } => "request-timeout",
            HostError::BodyTimeout { .. } => "request-body-timeout",
            HostError::BadRequestBody => "invalid-request-body",
            HostError::Internal => "internal-error",
            HostError::NoRoute => "no-route",
            HostError::MissingHost => "missing-host",
            HostError::LoopDetected { .. } => "loop-detected",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            HostError::Overloaded => "Too many requests in flight",
            HostError::PayloadTooLarge { .. } => "Request body too large",
            HostError::RequestTimeout { .. } => "Request timed out",
            HostError::BodyTimeout { .. } => "Request body too slow",
            HostError::BadRequestBody => "Invalid request body",
            HostError::Internal => "Internal error",
            HostError::NoRoute => "No route",
            HostError::MissingHost => "Missing Host header",
            HostError::LoopDetected { .. } => "Loop detected",
        }
    }

    fn detail(&self) -> String {
        match self {
            HostError::Overloaded => "the server is at its concurrency limit; retry shortly".into(),
            HostError::PayloadTooLarge { limit } => format!("request bodies are limited to {limit} bytes"),
            HostError::RequestTimeout { timeout_ms } => {
                format!("no response within the server's {timeout_ms} ms limit")
            }
            HostError::BodyTimeout { timeout_ms } => format!("the request body did not arrive within {timeout_ms} ms"),
            HostError::BadRequestBody => "the request body broke off or is not valid HTTP framing".into(),
            HostError::Internal => "the request could not be completed; it has been logged".into(),
            HostError::NoRoute => "no route of this app serves this path".into(),
            HostError::MissingHost => "an HTTP/1.1 request must carry a Host header (RFC 9112, section 3.2)".into(),
            HostError::LoopDetected { depth } => {
                format!("components called the app from inside it more than {depth} deep")
            }
        }
    }

    /// The problem+json response for a request to `instance` with id `request_id`.
    pub fn response(&self, instance: &str, request_id: &str) -> http::Response<HyperOutgoingBody> {
        let mut body = problem_json(self.status(), self.slug(), self.title(), &self.detail());
        body.insert("instance".into(), instance.into());
        body.insert("request_id".into(), request_id.into());
        let body = serde_json::Value::Object(body);
        let mut builder = http::Response::builder()
            .status(self.status())
            .header(http::header::CONTENT_TYPE, "application/problem+json")
            .header(http::header::CACHE_CONTROL, "no-store");
        if *self == HostError::Overloaded {
            builder = builder.header(http::header::RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        builder
            .body(
                Full::new(Bytes::from(body.to_string()))
                    .map_err(|never: Infallible| match never {})
                    .boxed_unsync(),
            )
            .expect("problem responses have valid parts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_the_rfc_9457_members_and_their_headers() {
        let response = HostError::Overloaded.response("/7", "rid-1");
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["retry-after"], "1");
        let timeout = HostError::RequestTimeout { timeout_ms: 30_000 }.response("/7", "rid-2");
        assert_eq!(timeout.status(), 504);
        assert!(timeout.headers().get("retry-after").is_none());
    }

    #[test]
    fn slugs_are_distinct_per_error() {
        let all = [
            HostError::Overloaded,
            HostError::PayloadTooLarge { limit: 1 },
            HostError::RequestTimeout { timeout_ms: 1 },
            HostError::BodyTimeout { timeout_ms: 1 },
            HostError::BadRequestBody,
            HostError::Internal,
            HostError::NoRoute,
            HostError::MissingHost,
            HostError::LoopDetected { depth: 1 },
        ];
        let slugs: std::collections::BTreeSet<_> = all.iter().map(HostError::slug).collect();
        assert_eq!(slugs.len(), all.len());
        for error in &all {
            let status = error.status();
            assert!((400..600).contains(&status), "{error:?}: {status}");
        }
    }
}
