//! Components whose manifest gives `source = { url, digest }`: fetched
//! once, checked against the digest, and kept in the cache directory under
//! it (`sources/sha256_<hex>`), as Spin keeps them; a copy already there is
//! used without fetching, once its digest is checked again. A source that
//! cannot be fetched, is larger than [`MAX_SOURCE_BYTES`], or whose bytes
//! do not match the digest stops the load with the reason and the URL.

use anyhow::Context as _;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest component fetched (Python components are about 40 MB).
pub const MAX_SOURCE_BYTES: usize = 256 * 1024 * 1024;
/// Time to fetch one source, whole.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// The local copy of `url`, whose SHA-256 must be `digest`
/// (`sha256:<hex>`), fetched into `cache_dir` if it is not there yet.
/// Blocks: call it from a blocking thread of the runtime.
pub fn local_copy(url: &str, digest: &str, cache_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let expected = digest
        .strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .with_context(|| format!("invalid `digest` {digest:?}; must be 'sha256:' and 64 hex digits"))?
        .to_ascii_lowercase();
    let dir = cache_dir
        .map(|d| d.join("sources"))
        .unwrap_or_else(|| std::env::temp_dir().join("doc-proxy-host-sources"));
    let path = dir.join(format!("sha256_{expected}"));
    if let Ok(bytes) = std::fs::read(&path) {
        if format!("{:x}", Sha256::digest(&bytes)) == expected {
            return Ok(path);
        }
        tracing::warn!(file = %path.display(), "a cached source does not match its digest; fetching it again");
    }
    let fetching = tokio::runtime::Handle::current().block_on(fetch(url));
    let bytes = fetching.with_context(|| format!("Error fetching source URL {url:?}"))?;
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if actual != expected {
        anyhow::bail!("invalid content digest; expected {digest}, downloaded sha256:{actual} (from {url:?})");
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::app::compile_cache::write_atomically(&path, &bytes, 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(url, file = %path.display(), bytes = bytes.len(), "component source fetched");
    Ok(path)
}

/// GETs `url` (http or https), following no redirect, within
/// [`FETCH_TIMEOUT`] and [`MAX_SOURCE_BYTES`].
async fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
    let uri: http::Uri = url.parse().context("not a URL")?;
    let request = http::Request::get(uri.clone())
        .header(
            http::header::HOST,
            uri.authority().map(|a| a.as_str()).unwrap_or_default(),
        )
        .body(
            http_body_util::Empty::new()
                .map_err(|never: std::convert::Infallible| match never {})
                .boxed_unsync(),
        )?;
    let options = wasmtime_wasi_http::RequestOptions {
        connect_timeout: Some(Duration::from_secs(10)),
        first_byte_timeout: Some(Duration::from_secs(30)),
        between_bytes_timeout: Some(Duration::from_secs(30)),
    };
    let whole = async {
        let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options))
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let connection = tokio::spawn(io);
        if !response.status().is_success() {
            anyhow::bail!("HTTP status {}", response.status());
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_SOURCE_BYTES)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the body: {e}"))?;
        connection.abort();
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(FETCH_TIMEOUT, whole)
        .await
        .map_err(|_| anyhow::anyhow!("no whole answer within {} s", FETCH_TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_must_be_sha256_hex() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["md5:abc", "sha256:xyz", "sha256:", "abc"] {
            let refused = local_copy("http://127.0.0.1:1/x.wasm", bad, Some(dir.path())).unwrap_err();
            assert!(
                format!("{refused:#}").contains("invalid `digest`"),
                "{bad}: {refused:#}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cached_copy_is_used_when_its_digest_matches() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"\0asm component bytes".to_vec();
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        let cached = dir.path().join("sources").join(format!("sha256_{}", &digest[7..]));
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::write(&cached, &bytes).unwrap();
        let cache = dir.path().to_path_buf();
        // The URL leads nowhere: only the cache can answer.
        let found = tokio::task::spawn_blocking(move || local_copy("http://127.0.0.1:1/x.wasm", &digest, Some(&cache)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, cached);
        // A copy that does not match is fetched again, and here fails with the URL named.
        std::fs::write(&cached, b"tampered").unwrap();
        let cache = dir.path().to_path_buf();
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        let refused =
            tokio::task::spawn_blocking(move || local_copy("http://127.0.0.1:1/x.wasm", &digest, Some(&cache)))
                .await
                .unwrap()
                .unwrap_err();
        assert!(
            format!("{refused:#}").contains("Error fetching source URL \"http://127.0.0.1:1/x.wasm\""),
            "{refused:#}"
        );
    }
}
