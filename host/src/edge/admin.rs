//! The admin listener, for probes and scrapers: `/metrics` (Prometheus text
//! format), `/livez`, `/readyz`. Readiness means the app's components are
//! loaded, the public listener is bound, and the host is not draining; a
//! refused reload does not change it (the served version stays). Nothing here
//! changes the host: reloads are on the control listener (`edge::control`).

use crate::ops::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Admin {
    pub metrics: Metrics,
    pub ready: Arc<AtomicBool>,
}

/// A small answer of the admin and control listeners.
pub fn reply(status: u16, content_type: &str, body: Bytes) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Full::new(body))
        .expect("static response parts")
}

impl Admin {
    pub async fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
            let mut response = reply(405, "text/plain", Bytes::from_static(b"method not allowed\n"));
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
            return Ok(response);
        }
        Ok(match request.uri().path() {
            "/metrics" => reply(200, prometheus::TEXT_FORMAT, Bytes::from(self.metrics.render())),
            "/livez" => reply(200, "text/plain", Bytes::from_static(b"ok\n")),
            "/readyz" if self.ready.load(Ordering::Acquire) => reply(200, "text/plain", Bytes::from_static(b"ready\n")),
            "/readyz" => reply(503, "text/plain", Bytes::from_static(b"not ready\n")),
            _ => reply(
                404,
                "text/plain",
                Bytes::from_static(
                    b"admin endpoints: /metrics /livez /readyz (reloads: POST /admin/reload on the control listener, or SIGHUP)\n",
                ),
            ),
        })
    }
}
