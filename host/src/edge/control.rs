//! The control listener: `POST /admin/reload`, the one endpoint that changes
//! the host. It listens on a loopback address only (`--control-addr`), apart
//! from the admin listener that probes and scrapers reach: who can only probe
//! or scrape cannot reload. Loopback is not enough on its own (every process
//! in the pod, and a component allowed `http://127.0.0.1:*` before the host
//! refused its own addresses outbound, can reach it), so each request must
//! carry `Authorization: Bearer <token>`, the token read from
//! `--control-token-file` (made there at start, 0600, when the file does not
//! exist). Without that flag the listener refuses everything; SIGHUP works
//! either way. A refusal says where its reason is logged, not the reason
//! itself.

use crate::app::reload::{digests, Reloader};
use crate::edge::admin::reply;
use crate::edge::problem::problem_json;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;

pub struct Control {
    pub app: Arc<Reloader>,
    /// `None`: no token file was given, and every request is refused.
    pub token: Option<ControlToken>,
}

/// The secret a control request must carry, kept as its digest.
#[derive(Clone)]
pub struct ControlToken([u8; 32]);

/// Shortest token accepted from a file.
const MIN_TOKEN_LENGTH: usize = 16;

impl ControlToken {
    /// The token in `path`, or a new one written there (mode 0600) when the
    /// file does not exist or is empty.
    pub fn load_or_create(path: &std::path::Path) -> anyhow::Result<ControlToken> {
        use anyhow::Context as _;
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading --control-token-file {}", path.display())),
        };
        let token = match existing {
            Some(token) if token.len() < MIN_TOKEN_LENGTH => anyhow::bail!(
                "--control-token-file {}: the token is {} characters; use at least {MIN_TOKEN_LENGTH}",
                path.display(),
                token.len()
            ),
            Some(token) => token,
            None => {
                let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
                crate::app::compile_cache::write_atomically(path, token.as_bytes(), 0o600)
                    .with_context(|| format!("writing --control-token-file {}", path.display()))?;
                tracing::info!(file = %path.display(), "control token written");
                token
            }
        };
        Ok(ControlToken::of(&token))
    }

    fn of(token: &str) -> ControlToken {
        use sha2::Digest as _;
        ControlToken(sha2::Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `authorization` is `Bearer <this token>`. Digests are
    /// compared, in time that does not depend on where they differ.
    pub fn accepts(&self, authorization: Option<&http::HeaderValue>) -> bool {
        let Some(given) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let given = ControlToken::of(given.trim());
        given
            .0
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// A problem answer of the control listener (RFC 9457), with its extension members.
fn problem(
    status: u16,
    slug: &str,
    title: &str,
    detail: String,
    extra: serde_json::Value,
) -> http::Response<Full<Bytes>> {
    let mut body = problem_json(status, slug, title, &detail);
    if let serde_json::Value::Object(extra) = extra {
        body.extend(extra);
    }
    let body = serde_json::Value::Object(body).to_string();
    reply(status, "application/problem+json", Bytes::from(body))
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
        let authorized = self
            .token
            .as_ref()
            .is_some_and(|token| token.accepts(request.headers().get(http::header::AUTHORIZATION)));
        if !authorized {
            tracing::warn!("control request refused: no valid token");
            let detail = if self.token.is_some() {
                "send Authorization: Bearer <the token in --control-token-file>"
            } else {
                "the host was started without --control-token-file, so it takes no control requests; use SIGHUP"
            };
            let mut response = problem(401, "unauthorized", "Unauthorized", detail.into(), json!({}));
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
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
            // The served version stays; the reason is logged.
            Err(refused) => problem(
                422,
                "reload-refused",
                "Reload refused",
                format!(
                    "the new version was refused and the served version stays; the reason is in the \
                     host's log line \"reload refused: the served version stays\" with reload_id {}",
                    refused.reload_id
                ),
                json!({"reload_id": refused.reload_id, "serving": digests(&self.app.current())}),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{check_loopback, ControlToken};

    #[test]
    fn a_token_file_is_made_once_then_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control-token");
        let made = ControlToken::load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let read = ControlToken::load_or_create(&path).unwrap();
        let bearer = |t: &str| http::HeaderValue::from_str(&format!("Bearer {t}")).unwrap();
        assert!(made.accepts(Some(&bearer(&text))));
        assert!(read.accepts(Some(&bearer(&text))));
        assert!(!read.accepts(Some(&bearer("wrong-token-of-some-length"))));
        assert!(
            !read.accepts(Some(&http::HeaderValue::from_str(&text).unwrap())),
            "no Bearer"
        );
        assert!(!read.accepts(None));
        std::fs::write(&path, "short\n").unwrap();
        assert!(ControlToken::load_or_create(&path).is_err(), "too short");
    }

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
