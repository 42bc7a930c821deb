//! The admin listener: `/metrics` (Prometheus text format), `/livez`,
//! `/readyz`, and `POST /admin/reload`. Readiness means the app's components are
//! loaded, the public listener is bound, and the host is not draining; a
//! refused reload does not change it (the served version stays).

use crate::metrics::Metrics;
use crate::reload::{digests, Reloader};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Admin {
    pub metrics: Metrics,
    pub ready: Arc<AtomicBool>,
    pub app: Arc<Reloader>,
}

impl Admin {
    pub async fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        let reply = |status: u16, content_type: &str, body: Bytes| {
            http::Response::builder()
                .status(status)
                .header("content-type", content_type)
                .header("cache-control", "no-store")
                .body(Full::new(body))
                .expect("static response parts")
        };
        let path = request.uri().path();
        if path == "/admin/reload" {
            if request.method() != http::Method::POST {
                let mut response = reply(405, "text/plain", Bytes::from_static(b"POST /admin/reload\n"));
                response
                    .headers_mut()
                    .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
                return Ok(response);
            }
            return Ok(match self.app.reload("POST /admin/reload").await {
                Ok(reloaded) => {
                    let components: Vec<_> = reloaded
                        .components
                        .iter()
                        .map(|c| json!({"id": &*c.id, "sha256": &*c.sha256, "from": c.from.as_deref()}))
                        .collect();
                    let result = if reloaded.swapped { "swapped" } else { "unchanged" };
                    let body = json!({"result": result, "components": components});
                    reply(200, "application/json", Bytes::from(body.to_string()))
                }
                Err(error) => {
                    // RFC 9457: the served version stays, and the reason is given.
                    let body = json!({
                        "type": "tag:doc-proxy,2026:problem:reload-refused",
                        "title": "Reload refused",
                        "status": 422,
                        "detail": format!("{error:#}"),
                        "serving": digests(&self.app.current()),
                    });
                    reply(422, "application/problem+json", Bytes::from(body.to_string()))
                }
            });
        }
        if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
            return Ok(reply(405, "text/plain", Bytes::from_static(b"method not allowed\n")));
        }
        Ok(match path {
            "/metrics" => reply(200, prometheus::TEXT_FORMAT, Bytes::from(self.metrics.render())),
            "/livez" => reply(200, "text/plain", Bytes::from_static(b"ok\n")),
            "/readyz" if self.ready.load(Ordering::Acquire) => reply(200, "text/plain", Bytes::from_static(b"ready\n")),
            "/readyz" => reply(503, "text/plain", Bytes::from_static(b"not ready\n")),
            _ => reply(
                404,
                "text/plain",
                Bytes::from_static(b"admin endpoints: /metrics /livez /readyz, POST /admin/reload\n"),
            ),
        })
    }
}
