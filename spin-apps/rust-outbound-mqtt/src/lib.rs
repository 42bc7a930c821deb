//! Outbound MQTT over HTTP, in the shape of the Rust SDK's MQTT example
//! (spin-sdk 6, Spin 4's async `spin:mqtt@3.0.0`): the broker is the
//! `mqtt_address` variable, the request path the topic.
//!
//! - `POST /t?qos=N` publishes the request body to topic `t` with QoS N (0,
//!   1 or 2; 1 by default): 200 when the broker has it as the QoS promises.
//! - Any MQTT error is a 500 with its Debug (`open: ` first when opening
//!   failed); other methods are 405.

use bytes::Bytes;
use http::{Method, StatusCode};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::mqtt::{Connection, Qos};

#[http_service]
async fn handle_request(req: Request) -> anyhow::Result<impl IntoResponse> {
    if req.method() != Method::POST {
        return reply(StatusCode::METHOD_NOT_ALLOWED, Vec::new());
    }
    let address = spin_sdk::variables::get("mqtt_address").await?;
    let topic = req.uri().path().trim_start_matches('/').to_string();
    let qos = match req.uri().query().unwrap_or_default() {
        "qos=0" => Qos::AtMostOnce,
        "qos=2" => Qos::ExactlyOnce,
        _ => Qos::AtLeastOnce,
    };
    let connection = match Connection::open(&address, "", "", 30).await {
        Ok(connection) => connection,
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("open: {e:?}")),
    };
    let payload = req.into_body().bytes().await?.to_vec();
    match connection.publish(&topic, payload, qos).await {
        Ok(()) => reply(StatusCode::OK, Vec::new()),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}")),
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> anyhow::Result<http::Response<FullBody<Bytes>>> {
    Ok(http::Response::builder().status(status).body(FullBody::new(body.into()))?)
}
