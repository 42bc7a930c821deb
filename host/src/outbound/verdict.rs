//! The verdict cache: upstream bodies a component has already validated, known
//! by the SHA-256 of their bytes, so a deep check (a PNG's image data is
//! inflated whole) runs once per distinct document instead of once per request.
//!
//! The host decides; the component only reads standard HTTP trailers, so it
//! still imports nothing but `wasi:*` and runs unchanged where there is no cache
//! (Spin, SpinKube): there it validates every time. The protocol, also
//! in `docs/verdict-cache.md`:
//!
//! 0. A cache belongs to one component version: the component's id, its code's
//!    digest and its configuration (`app` keeps it across reloads only while
//!    all three stay the same). Only a component whose manifest opts in
//!    (`[component.X.tool.doc-proxy-host] verdict_cache = true`) has one; no
//!    other component can read or fill it.
//! 1. Each instance of that component gets the cache's random secret in
//!    [`TOKEN_ENV`].
//! 2. The body of every 2xx outbound response is hashed as it streams past;
//!    at its end the host adds the trailer `repr-digest: sha-256=:…:` (RFC
//!    9530) and, when that digest is in the cache, `verdict-cache-hit: <token>`.
//! 3. A component that validated a body answers with the header
//!    `verdict-cache-put: <the repr-digest value>`. The host strips it and
//!    stores the digest only if an outbound response of the same request
//!    produced it: a component cannot vouch for bytes it never fetched.
//!
//! Every `verdict-cache-*` header and trailer is removed from every outbound
//! response before any component sees it ([`strip_outbound`]), and from every
//! component's response before a client sees it ([`strip_headers`],
//! [`strip_trailers`]): an upstream cannot forge a hit or a put through a
//! component that relays what it gets, and no client ever sees a token.

use crate::ops::metrics::Metrics;
use base64::Engine as _;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use lru::LruCache;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi_http::{Error, WasiBody};

/// The environment variable that carries the token into each instance.
pub const TOKEN_ENV: &str = "VERDICT_CACHE_TOKEN";
/// Trailer: the SHA-256 of the body, as RFC 9530 spells it.
pub const DIGEST_TRAILER: &str = "repr-digest";
/// Trailer: present, with the token, when the digest is known to be valid.
pub const HIT_TRAILER: &str = "verdict-cache-hit";
/// Response header: the component vouches for this `repr-digest` value.
pub const PUT_HEADER: &str = "verdict-cache-put";

/// What every header and trailer of the protocol's own starts with.
const PROTOCOL_PREFIX: &str = "verdict-cache-";

/// Digests kept per request: a component makes a few attempts, not hundreds.
const SEEN_PER_REQUEST: usize = 16;

type Sha256Digest = [u8; 32];

/// The verdicts of one component version, shared by its requests.
pub struct VerdictCache {
    token: String,
    valid: Mutex<LruCache<Sha256Digest, ()>>,
    metrics: Metrics,
    /// The component's id: the `component` label of the cache's metrics.
    component: Arc<str>,
}

impl VerdictCache {
    pub fn new(entries: NonZeroUsize, metrics: Metrics, component: Arc<str>) -> Self {
        metrics.verdict_cache_entries.with_label_values(&[&*component]).set(0);
        VerdictCache {
            token: uuid::Uuid::new_v4().simple().to_string(),
            valid: Mutex::new(LruCache::new(entries)),
            metrics,
            component,
        }
    }

    /// Removes the cache's series (its component left the app).
    pub fn retire(&self) {
        let component = &*self.component;
        let _ = self.metrics.verdict_cache_entries.remove_label_values(&[component]);
        for result in ["hit", "miss"] {
            let _ = self
                .metrics
                .verdict_cache_lookups
                .remove_label_values(&[component, result]);
        }
        for result in ["stored", "refused"] {
            let _ = self
                .metrics
                .verdict_cache_puts
                .remove_label_values(&[component, result]);
        }
    }

    /// The secret given to instances in [`TOKEN_ENV`].
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Hashes `body` as it streams and ends it with the digest trailers.
    pub fn digesting(self: &Arc<Self>, body: WasiBody, seen: SeenDigests) -> WasiBody {
        http_body_util::BodyExt::boxed_unsync(Digesting {
            inner: body,
            hasher: Some(Sha256::new()),
            cache: self.clone(),
            seen,
        })
    }

    /// Removes the component's `verdict-cache-put` header and stores the digest
    /// it names if this request fetched a body with that digest.
    pub fn take_put(&self, headers: &mut http::HeaderMap, seen: &SeenDigests) {
        let Some(value) = headers.remove(PUT_HEADER) else {
            return;
        };
        let vouched = value.to_str().ok().and_then(parse_repr_digest);
        match vouched.filter(|digest| seen.contains(digest)) {
            Some(digest) => {
                let mut valid = self.valid.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                valid.put(digest, ());
                self.metrics
                    .verdict_cache_entries
                    .with_label_values(&[&*self.component])
                    .set(valid.len() as i64);
                self.count_put("stored");
            }
            None => {
                tracing::warn!(component = %self.component, value = ?value, "verdict-cache-put names no body this request fetched; ignored");
                self.count_put("refused");
            }
        }
    }

    fn count_put(&self, result: &str) {
        self.metrics
            .verdict_cache_puts
            .with_label_values(&[&*self.component, result])
            .inc();
    }

    /// Looks a finished body up (promoting it, so documents in use stay).
    fn is_known_valid(&self, digest: &Sha256Digest) -> bool {
        let hit = self
            .valid
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(digest)
            .is_some();
        let label = if hit { "hit" } else { "miss" };
        self.metrics
            .verdict_cache_lookups
            .with_label_values(&[&*self.component, label])
            .inc();
        hit
    }

    /// The trailers a body of `digest` ends with: the upstream's own, minus
    /// any it sent under our names, plus ours.
    fn trailers(&self, mut trailers: http::HeaderMap, digest: &Sha256Digest) -> http::HeaderMap {
        strip_headers(&mut trailers);
        trailers.remove(DIGEST_TRAILER);
        let value = http::HeaderValue::from_str(&repr_digest(digest)).expect("base64 is a valid header value");
        trailers.insert(DIGEST_TRAILER, value);
        if self.is_known_valid(digest) {
            let token = http::HeaderValue::from_str(&self.token).expect("hex is a valid header value");
            trailers.insert(HIT_TRAILER, token);
        }
        trailers
    }
}

/// Removes every header of the protocol's (`verdict-cache-*`) from `headers`;
/// returns whether there was one.
pub fn strip_headers(headers: &mut http::HeaderMap) -> bool {
    let ours: Vec<http::HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(PROTOCOL_PREFIX))
        .cloned()
        .collect();
    for name in &ours {
        headers.remove(name);
    }
    !ours.is_empty()
}

/// A body whose trailers lose the protocol's fields.
pub fn strip_trailers<B>(body: B) -> http_body_util::combinators::MapFrame<B, impl FnMut(Frame<Bytes>) -> Frame<Bytes>>
where
    B: Body<Data = Bytes>,
{
    http_body_util::BodyExt::map_frame(body, |frame| match frame.into_trailers() {
        Ok(mut trailers) => {
            strip_headers(&mut trailers);
            Frame::trailers(trailers)
        }
        Err(frame) => frame,
    })
}

/// What every component gets of an outbound response: the protocol's fields
/// gone from its headers and trailers, whoever sent them. With `cache` (the
/// caller's own, for a 2xx), the body is digested and ends with the cache's
/// trailers.
pub fn strip_outbound(
    mut response: http::Response<WasiBody>,
    cache: Option<(&Arc<VerdictCache>, SeenDigests)>,
) -> http::Response<WasiBody> {
    if strip_headers(response.headers_mut()) {
        tracing::warn!("an outbound response carried verdict-cache-* headers; removed");
    }
    match cache.filter(|_| response.status().is_success()) {
        Some((cache, seen)) => response.map(|body| cache.digesting(body, seen)),
        None => response.map(|body| http_body_util::BodyExt::boxed_unsync(strip_trailers(body))),
    }
}

/// The digests the outbound responses of one request produced.
#[derive(Clone, Default)]
pub struct SeenDigests(Arc<Mutex<Vec<Sha256Digest>>>);

impl SeenDigests {
    fn record(&self, digest: Sha256Digest) {
        let mut seen = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() == SEEN_PER_REQUEST {
            seen.remove(0);
        }
        seen.push(digest);
    }

    fn contains(&self, digest: &Sha256Digest) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(digest)
    }
}

/// `sha-256=:<base64>:`, the RFC 9530 field value.
fn repr_digest(digest: &Sha256Digest) -> String {
    format!("sha-256=:{}:", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The SHA-256 in a `repr-digest` value, if that is exactly what it holds.
fn parse_repr_digest(value: &str) -> Option<Sha256Digest> {
    let encoded = value.strip_prefix("sha-256=:")?.strip_suffix(':')?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    bytes.try_into().ok()
}

/// A response body that hashes its data and ends with the digest trailers.
struct Digesting {
    inner: WasiBody,
    /// `None` once the trailers are out.
    hasher: Option<Sha256>,
    cache: Arc<VerdictCache>,
    seen: SeenDigests,
}

impl Digesting {
    fn finish(&mut self, upstream_trailers: http::HeaderMap) -> Frame<Bytes> {
        let digest: Sha256Digest = self.hasher.take().expect("finished once").finalize().into();
        self.seen.record(digest);
        Frame::trailers(self.cache.trailers(upstream_trailers, &digest))
    }
}

impl Body for Digesting {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let Some(hasher) = this.hasher.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    hasher.update(&data);
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => {
                    let upstream = frame.into_trailers().unwrap_or_default();
                    Poll::Ready(Some(Ok(self.finish(upstream))))
                }
            },
            Poll::Ready(None) => Poll::Ready(Some(Ok(self.finish(http::HeaderMap::new())))),
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.hasher.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;

    fn cache() -> Arc<VerdictCache> {
        Arc::new(VerdictCache::new(
            NonZeroUsize::new(2).unwrap(),
            Metrics::new(),
            "c".into(),
        ))
    }

    /// A body of these data frames, then these trailers.
    fn body_of(chunks: &[&'static [u8]], trailers: Option<http::HeaderMap>) -> WasiBody {
        let mut frames: VecDeque<Frame<Bytes>> = chunks.iter().map(|c| Frame::data(Bytes::from_static(c))).collect();
        frames.extend(trailers.map(Frame::trailers));
        Frames(frames).boxed_unsync()
    }

    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Error;

        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    /// Reads a body to its end: the data, and the trailers.
    async fn read(body: WasiBody) -> (Vec<u8>, http::HeaderMap) {
        let collected = body.collect().await.expect("no error");
        let trailers = collected.trailers().cloned().unwrap_or_default();
        (collected.to_bytes().to_vec(), trailers)
    }

    fn put_header(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(PUT_HEADER, value.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn the_digest_trailer_is_the_sha256_of_the_bytes_and_a_miss_has_no_token() {
        let cache = cache();
        let seen = SeenDigests::default();
        let (data, trailers) = read(cache.digesting(body_of(&[b"%PDF-", b"1.7"], None), seen.clone())).await;
        assert_eq!(data, b"%PDF-1.7");
        let expected = repr_digest(&Sha256::digest(b"%PDF-1.7").into());
        assert_eq!(trailers[DIGEST_TRAILER], expected.as_str());
        assert!(trailers.get(HIT_TRAILER).is_none());
        assert!(seen.contains(&Sha256::digest(b"%PDF-1.7").into()));
    }

    #[tokio::test]
    async fn a_vouched_digest_is_a_hit_next_time_with_the_token() {
        let cache = cache();
        let seen = SeenDigests::default();
        let (_, trailers) = read(cache.digesting(body_of(&[b"abc"], None), seen.clone())).await;
        let mut headers = put_header(trailers[DIGEST_TRAILER].to_str().unwrap());
        cache.take_put(&mut headers, &seen);
        assert!(headers.get(PUT_HEADER).is_none(), "the header never reaches the client");

        let (_, again) = read(cache.digesting(body_of(&[b"ab", b"c"], None), SeenDigests::default())).await;
        assert_eq!(again[HIT_TRAILER], cache.token());
        let (_, other) = read(cache.digesting(body_of(&[b"abd"], None), SeenDigests::default())).await;
        assert!(other.get(HIT_TRAILER).is_none());
    }

    #[tokio::test]
    async fn a_digest_this_request_did_not_fetch_is_not_stored() {
        let cache = cache();
        let fetched_elsewhere = repr_digest(&Sha256::digest(b"abc").into());
        let mut headers = put_header(&fetched_elsewhere);
        cache.take_put(&mut headers, &SeenDigests::default());
        assert!(headers.get(PUT_HEADER).is_none());
        let (_, trailers) = read(cache.digesting(body_of(&[b"abc"], None), SeenDigests::default())).await;
        assert!(trailers.get(HIT_TRAILER).is_none());
        // Garbage is refused, not a panic.
        for bad in ["sha-256=:abc:", "md5=:AAAA:", "sha-256=:!!!:", ""] {
            cache.take_put(&mut put_header(bad), &SeenDigests::default());
        }
    }

    #[tokio::test]
    async fn upstream_trailers_cannot_forge_a_hit_and_others_pass_through() {
        let cache = cache();
        let mut forged = http::HeaderMap::new();
        forged.insert(HIT_TRAILER, cache.token().parse().unwrap());
        forged.insert(DIGEST_TRAILER, "sha-256=:AAAA:".parse().unwrap());
        forged.insert("x-other", "kept".parse().unwrap());
        let (_, trailers) = read(cache.digesting(body_of(&[b"abc"], Some(forged)), SeenDigests::default())).await;
        assert!(trailers.get(HIT_TRAILER).is_none());
        assert_eq!(
            trailers[DIGEST_TRAILER],
            repr_digest(&Sha256::digest(b"abc").into()).as_str()
        );
        assert_eq!(trailers["x-other"], "kept");
    }

    #[tokio::test]
    async fn components_never_see_the_protocol_from_an_upstream() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert(HIT_TRAILER, "forged".parse().unwrap());
        trailers.insert("verdict-cache-put", "forged".parse().unwrap());
        trailers.insert("x-other", "kept".parse().unwrap());
        let forged = |trailers: &http::HeaderMap| {
            let mut response = http::Response::new(body_of(&[b"abc"], Some(trailers.clone())));
            response
                .headers_mut()
                .insert(PUT_HEADER, "sha-256=:AAAA:".parse().unwrap());
            response.headers_mut().insert("verdict-cache-hit", "x".parse().unwrap());
            response
                .headers_mut()
                .insert("content-type", "application/pdf".parse().unwrap());
            response
        };

        // A component without a cache: nothing of the protocol, in or out.
        let response = strip_outbound(forged(&trailers), None);
        assert!(response
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("verdict-cache-")));
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let (data, got) = read(response.into_body()).await;
        assert_eq!(data, b"abc");
        assert!(got.keys().all(|k| !k.as_str().starts_with("verdict-cache-")), "{got:?}");
        assert!(got.get(DIGEST_TRAILER).is_none(), "no digest without a cache");
        assert_eq!(got["x-other"], "kept");

        // The component's own cache: the host's trailers only.
        let cache = cache();
        let seen = SeenDigests::default();
        let response = strip_outbound(forged(&trailers), Some((&cache, seen.clone())));
        assert!(response
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("verdict-cache-")));
        let (_, got) = read(response.into_body()).await;
        assert!(got.get("verdict-cache-put").is_none() && got.get(HIT_TRAILER).is_none());
        assert_eq!(
            got[DIGEST_TRAILER],
            repr_digest(&Sha256::digest(b"abc").into()).as_str()
        );

        // A 404's body is not digested, and still loses the protocol's trailers.
        let mut not_found = forged(&trailers);
        *not_found.status_mut() = http::StatusCode::NOT_FOUND;
        let (_, got) = read(strip_outbound(not_found, Some((&cache, seen))).into_body()).await;
        assert!(got.get(DIGEST_TRAILER).is_none() && got.get(HIT_TRAILER).is_none());
    }

    #[tokio::test]
    async fn a_clients_trailers_lose_the_protocol() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert(HIT_TRAILER, "token".parse().unwrap());
        trailers.insert("x-other", "kept".parse().unwrap());
        let (_, got) = read(strip_trailers(body_of(&[b"x"], Some(trailers))).boxed_unsync()).await;
        assert!(got.get(HIT_TRAILER).is_none());
        assert_eq!(got["x-other"], "kept");
        let mut headers = put_header("v");
        assert!(strip_headers(&mut headers) && headers.is_empty());
        assert!(!strip_headers(&mut headers));
    }

    #[tokio::test]
    async fn the_cache_holds_its_capacity_and_forgets_the_least_recently_used() {
        let cache = cache(); // two entries
        let mut digests = Vec::new();
        for doc in [&b"one"[..], b"two", b"three"] {
            let seen = SeenDigests::default();
            let digest: Sha256Digest = Sha256::digest(doc).into();
            seen.record(digest);
            cache.take_put(&mut put_header(&repr_digest(&digest)), &seen);
            digests.push(digest);
        }
        let valid = cache.valid.lock().unwrap();
        assert_eq!(valid.len(), 2);
        assert!(!valid.contains(&digests[0]));
        assert!(valid.contains(&digests[2]));
    }
}
