//! The control listener: `POST /admin/reload`, the one endpoint that changes
//! the host. It listens on a loopback address only (`--control-addr`), apart
//! from the admin listener that probes and scrapers reach: who can only probe
//! or scrape cannot reload. In a pod that means the pod itself; SIGHUP works
//! too. A refusal says where its reason is logged, not the reason itself.

use crate::app::reload::{digests, Reloader};
use crate::edge::admin::reply;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;

pub struct Control {
    pub app: Arc<Reloader>,
}

/// Refuses a control address another machine could reach.
pub fn check_loopback(addr: std::net::SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "--control-addr {addr}: the control listener reloads the app, so it listens on a loopback \
             address only (127.0.0.1 or [::1]); use SIGHUP from outside the host's network namespace"
        ))
    }
}

impl Control {
    pub async fn handle(
        self: Arc<Self>,
        request: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        if request.uri().path() != "/admin/reload" {
            return Ok(reply(
                404,
                "text/plain",
                Bytes::from_static(b"control endpoint: POST /admin/reload\n"),
            ));
        }
        if request.method() != http::Method::POST {
            let mut response = reply(405, "text/plain", Bytes::from_static(b"POST /admin/reload\n"));
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return Ok(response);
        }
        Ok(match self.app.reload("POST /admin/reload").await {
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
            Err(refused) => {
                // RFC 9457: the served version stays; the reason is logged.
                let body = json!({
                    "type": "tag:doc-proxy,2026:problem:reload-refused",
                    "title": "Reload refused",
                    "status": 422,
                    "detail": format!(
                        "the new version was refused and the served version stays; the reason is in the \
                         host's log line \"reload refused: the served version stays\" with reload_id {}",
                        refused.reload_id
                    ),
                    "reload_id": refused.reload_id,
                    "serving": digests(&self.app.current()),
                });
                reply(422, "application/problem+json", Bytes::from(body.to_string()))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn only_loopback_addresses_may_control_the_host() {
        for ok in ["127.0.0.1:9091", "[::1]:0", "127.0.0.2:1"] {
            assert!(check_loopback(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in ["0.0.0.0:9091", "10.0.0.1:9091", "[::]:9091"] {
            assert!(check_loopback(bad.parse().unwrap()).is_err(), "{bad}");
        }
    }
}
