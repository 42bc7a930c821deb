//! `doc-proxy-host probe URL`: one GET, exit 0 on a 2xx answer. The image has
//! no shell and no curl, so its `HEALTHCHECK` (Docker, podman) runs the host
//! binary itself. Kubernetes uses its own HTTP probes instead.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// The status the URL answered with, or why there was none within `timeout`.
pub async fn probe(url: &str, timeout: Duration) -> anyhow::Result<http::StatusCode> {
    let uri: http::Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
    if uri.scheme_str() != Some("http") {
        anyhow::bail!("only http:// URLs can be probed: {url}");
    }
    let authority = uri.authority().context("the URL has no host")?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let exchange = async {
        let stream = TcpStream::connect((authority.host().trim_matches(['[', ']']), port))
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(http::header::HOST, authority.as_str())
            .header(http::header::USER_AGENT, "doc-proxy-host-probe")
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        anyhow::Ok(response.status())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .with_context(|| format!("no answer from {url} within {timeout:?}"))?
}
