//! Outbound Redis over HTTP, in the shape of the Rust SDK's Redis example
//! (spin-sdk 6, Spin 4's async `spin:redis@3.0.0`): the server is the
//! `redis_address` variable, the request path the key.
//!
//! - `POST /k` stores the request body under `k`, then counts it in
//!   `k:writes` (INCR) and in the set `keys` (SADD): 200 with the count.
//! - `GET /k` answers the value (200), or 404 when absent.
//! - `DELETE /k` deletes `k` and `k:writes` and removes `k` from `keys`:
//!   200 with how many keys went.
//! - `GET /` answers the members of `keys`, sorted, one per line, read with
//!   `execute("SMEMBERS")`.
//!
//! Any Redis error is a 500 with its Debug (`open: ` first when opening
//! failed).

use bytes::Bytes;
use http::{Method, StatusCode};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

#[http_service]
async fn handle_request(req: Request) -> anyhow::Result<impl IntoResponse> {
    let address = spin_sdk::variables::get("redis_address").await?;
    let connection = match Connection::open(&address).await {
        Ok(connection) => connection,
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("open: {e:?}")),
    };
    let key = req.uri().path().trim_start_matches('/').to_string();
    let answered = match (req.method().clone(), key.as_str()) {
        (Method::GET, "") => list(&connection).await,
        (Method::POST, _) => {
            let body = req.into_body().bytes().await?;
            write(&connection, &key, &body).await
        }
        (Method::GET, _) => match connection.get(&key).await {
            Ok(Some(value)) => return reply(StatusCode::OK, value),
            Ok(None) => return reply(StatusCode::NOT_FOUND, Vec::new()),
            Err(e) => Err(e),
        },
        (Method::DELETE, _) => remove(&connection, &key).await,
        _ => return reply(StatusCode::METHOD_NOT_ALLOWED, Vec::new()),
    };
    match answered {
        Ok(text) => reply(StatusCode::OK, text),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}")),
    }
}

async fn write(connection: &Connection, key: &str, value: &[u8]) -> Result<String, spin_sdk::redis::Error> {
    connection.set(key, value).await?;
    let writes = connection.incr(format!("{key}:writes")).await?;
    connection.sadd("keys", [key]).await?;
    Ok(writes.to_string())
}

async fn remove(connection: &Connection, key: &str) -> Result<String, spin_sdk::redis::Error> {
    let deleted = connection.del([key.to_string(), format!("{key}:writes")]).await?;
    connection.srem("keys", [key]).await?;
    Ok(deleted.to_string())
}

async fn list(connection: &Connection) -> Result<String, spin_sdk::redis::Error> {
    let members = connection
        .execute("SMEMBERS", [RedisParameter::Binary(b"keys".to_vec())])
        .await?;
    let mut names: Vec<String> = members
        .into_iter()
        .filter_map(|m| match m {
            RedisResult::Binary(b) => String::from_utf8(b).ok(),
            _ => None,
        })
        .collect();
    names.sort();
    let counted = connection.smembers("keys").await?.len();
    if counted != names.len() {
        return Err(spin_sdk::redis::Error::Other(format!(
            "SMEMBERS said {counted}, execute {}",
            names.len()
        )));
    }
    Ok(names.join("\n"))
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> anyhow::Result<http::Response<FullBody<Bytes>>> {
    Ok(http::Response::builder().status(status).body(FullBody::new(body.into()))?)
}
