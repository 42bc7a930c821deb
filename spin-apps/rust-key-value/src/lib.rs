//! Key-value storage over HTTP, in the shape of the Rust SDK's key-value
//! example: the request path is the key, in the `default` store.
//!
//! - `POST /k` stores the request body under `/k`: 200, empty body.
//! - `GET /k` answers the value (200), or 404 with an empty body.
//! - `DELETE /k` removes it (200, also when it was absent).
//! - `HEAD /k` answers 200 when `/k` exists, else 404.
//! - any other method: 405.

use bytes::Bytes;
use http::{Method, StatusCode};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{EmptyBody, FullBody, IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;

#[http_service]
async fn handle_request(req: Request) -> anyhow::Result<impl IntoResponse> {
    let store = Store::open_default().await?;
    let key = req.uri().path().to_string();

    let (status, value) = match req.method().clone() {
        Method::POST => {
            let body = req.into_body().bytes().await?;
            store.set(key, body).await?;
            (StatusCode::OK, None)
        }
        Method::GET => match store.get(&key).await? {
            Some(value) => (StatusCode::OK, Some(value)),
            None => (StatusCode::NOT_FOUND, None),
        },
        Method::DELETE => {
            store.delete(&key).await?;
            (StatusCode::OK, None)
        }
        Method::HEAD => {
            let found = store.exists(&key).await?;
            (if found { StatusCode::OK } else { StatusCode::NOT_FOUND }, None)
        }
        _ => (StatusCode::METHOD_NOT_ALLOWED, None),
    };

    let response = http::Response::builder().status(status);
    Ok(match value {
        Some(value) => response.body(FullBody::new(Bytes::from(value))).into_response()?,
        None => response.body(EmptyBody::new()).into_response()?,
    })
}
