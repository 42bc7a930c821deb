//! What goes out to clients as a response body: answers the host makes
//! itself (a trigger's `static_response`, plain text, empty), a component's
//! empty body framed as Spin frames it, and a body that ends in an error
//! rather than a clean end when the guest writing it failed.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// What polling an outgoing body gives.
type Polled = Poll<Option<Result<Frame<Bytes>, wasmtime_wasi_http::Error>>>;

/// An answer whose body turns out to be empty goes out with
/// `Content-Length: 0`, as Spin sends it, rather than as a chunked nothing:
/// when the component named no length, its first frame is awaited before
/// the head goes out (a body that has data loses nothing but that wait).
pub async fn frame_empty_body(response: http::Response<HyperOutgoingBody>) -> http::Response<HyperOutgoingBody> {
    let headers = response.headers();
    if headers.contains_key(http::header::CONTENT_LENGTH) || headers.contains_key(http::header::TRANSFER_ENCODING) {
        return response;
    }
    let (mut parts, mut body) = response.into_parts();
    let first = loop {
        match body.frame().await {
            // An empty chunk says nothing yet.
            Some(Ok(frame)) if frame.data_ref().is_some_and(Bytes::is_empty) => continue,
            other => break other,
        }
    };
    let body = match first {
        None => {
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
            full_body(Bytes::new())
        }
        Some(first) => FirstThenRest {
            first: Some(first),
            rest: body,
        }
        .boxed_unsync(),
    };
    http::Response::from_parts(parts, body)
}

/// A component's response body that ends in an error, not a clean end, when
/// its guest failed before finishing it (trapped, ran out of CPU or time):
/// hyper then closes the connection without the final chunk (or short of
/// the `Content-Length`), so the client knows the body is incomplete.
pub struct AbortsOnFailure {
    pub body: HyperOutgoingBody,
    /// Set when the guest failed before finishing the body.
    pub failed: Arc<AtomicBool>,
}

impl http_body::Body for AbortsOnFailure {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(None) if self.failed.load(Ordering::Acquire) => {
                Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionTerminated)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A body whose first frame was already read.
struct FirstThenRest {
    first: Option<Result<Frame<Bytes>, wasmtime_wasi_http::Error>>,
    rest: HyperOutgoingBody,
}

impl http_body::Body for FirstThenRest {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        match self.first.take() {
            Some(first) => Poll::Ready(Some(first)),
            None => Pin::new(&mut self.rest).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }
}

pub fn full_body(bytes: impl Into<Bytes>) -> HyperOutgoingBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A trigger's `static_response`, as Spin answers it to every method.
pub fn static_response(fixed: &crate::app::manifest::StaticResponse) -> http::Response<HyperOutgoingBody> {
    let mut response = http::Response::builder().status(fixed.status);
    for (name, value) in &fixed.headers {
        response = response.header(name, value);
    }
    response
        .body(full_body(fixed.body.clone()))
        .unwrap_or_else(|_| empty_response(500))
}

pub fn empty_response(status: u16) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .body(full_body(Bytes::new()))
        .expect("static response parts")
}

pub fn bytes_response(status: u16, content_type: &'static str, body: Vec<u8>) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(full_body(body))
        .expect("static response parts")
}

pub fn text_response(status: u16, text: &'static str) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(full_body(text))
        .expect("static response parts")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: HyperOutgoingBody) -> http::Response<HyperOutgoingBody> {
        http::Response::builder().status(200).body(body).unwrap()
    }

    async fn collect(
        body: impl http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error>,
    ) -> Result<Bytes, String> {
        body.collect().await.map(|c| c.to_bytes()).map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn an_empty_body_without_a_length_goes_out_with_content_length_zero() {
        let framed = frame_empty_body(response(full_body(Bytes::new()))).await;
        assert_eq!(framed.headers()[http::header::CONTENT_LENGTH], "0");
        assert_eq!(collect(framed.into_body()).await.unwrap(), Bytes::new());
    }

    #[tokio::test]
    async fn a_body_with_data_keeps_its_first_frame_and_gets_no_length() {
        let framed = frame_empty_body(response(full_body("hello"))).await;
        assert!(framed.headers().get(http::header::CONTENT_LENGTH).is_none());
        assert_eq!(collect(framed.into_body()).await.unwrap(), Bytes::from("hello"));
    }

    #[tokio::test]
    async fn a_failed_guest_ends_its_body_in_an_error_not_a_clean_end() {
        let failed = Arc::new(AtomicBool::new(true));
        let cut = AbortsOnFailure {
            body: full_body("part"),
            failed,
        };
        assert!(collect(cut).await.is_err(), "a clean end would pass for the whole body");
        let whole = AbortsOnFailure {
            body: full_body("all"),
            failed: Arc::new(AtomicBool::new(false)),
        };
        assert_eq!(collect(whole).await.unwrap(), Bytes::from("all"));
    }

    #[tokio::test]
    async fn static_responses_carry_their_status_headers_and_body() {
        let fixed = crate::app::manifest::StaticResponse {
            status: 418,
            headers: vec![("x-teapot".into(), "yes".into())],
            body: "short and stout".into(),
        };
        let answer = static_response(&fixed);
        assert_eq!(answer.status(), 418);
        assert_eq!(answer.headers()["x-teapot"], "yes");
        assert_eq!(
            collect(answer.into_body()).await.unwrap(),
            Bytes::from("short and stout")
        );
    }
}
