//! Outbound PostgreSQL over HTTP, in the shape of the Rust SDK's PostgreSQL
//! example (spin-sdk 6, Spin 4's `spin:postgres@4.2.0`): the server is the
//! `pg_address` variable; when `pg_ca` holds a PEM certificate, connections
//! are opened with it as their CA root (`connection-builder.set-ca-root`),
//! else with `open`.
//!
//! - `POST /seed/N` creates the table `items` if need be and inserts items
//!   1 to N (`execute`): 200 with the count of rows inserted.
//! - `GET /items` answers `n,name` and then every item, `N item N`, one per
//!   line, read from the query's row stream, then its result.
//! - `GET /tls` answers `ssl=true` or `ssl=false`: whether the session is
//!   encrypted, by the server's own `pg_stat_ssl`.
//!
//! Any error is a 500 with its Debug (`open: ` first when opening failed).

use bytes::Bytes;
use http::{Method, StatusCode};
use spin_sdk::http::{FullBody, IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::pg::{Certificate, Connection, Error, OpenOptions};

#[http_service]
async fn handle_request(req: Request) -> anyhow::Result<impl IntoResponse> {
    let connection = match open().await? {
        Ok(connection) => connection,
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("open: {e:?}")),
    };
    let path = req.uri().path().to_string();
    let answered = match (req.method().clone(), path.as_str()) {
        (Method::POST, seed) if seed.starts_with("/seed/") => match seed["/seed/".len()..].parse::<i32>() {
            Ok(count) => insert(&connection, count).await,
            Err(_) => return reply(StatusCode::BAD_REQUEST, "a count, please"),
        },
        (Method::GET, "/items") => items(&connection).await,
        (Method::GET, "/tls") => encrypted(&connection).await,
        _ => return reply(StatusCode::NOT_FOUND, Vec::new()),
    };
    match answered {
        Ok(text) => reply(StatusCode::OK, text),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}")),
    }
}

/// A connection to `pg_address`, trusting `pg_ca` when it is set.
async fn open() -> anyhow::Result<Result<Connection, Error>> {
    let address = spin_sdk::variables::get("pg_address").await?;
    let ca = spin_sdk::variables::get("pg_ca").await?;
    Ok(if ca.is_empty() {
        Connection::open(address).await
    } else {
        let options = OpenOptions {
            ca_root: Some(Certificate::Text(ca)),
        };
        Connection::open_with_options(address, options).await
    })
}

async fn insert(connection: &Connection, count: i32) -> Result<String, Error> {
    connection
        .execute("CREATE TABLE IF NOT EXISTS items (n int4, name text)", [])
        .await?;
    let inserted = connection
        .execute(
            "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, $1) g",
            [count.into()],
        )
        .await?;
    Ok(inserted.to_string())
}

async fn items(connection: &Connection) -> Result<String, Error> {
    let mut result = connection.query("SELECT n, name FROM items ORDER BY n", []).await?;
    let names: Vec<String> = result.columns().iter().map(|c| c.name.clone()).collect();
    let mut lines = vec![names.join(",")];
    while let Some(row) = result.next().await {
        let n: i32 = row.get("n").unwrap_or(-1);
        let name: String = row.get("name").unwrap_or_default();
        lines.push(format!("{n} {name}"));
    }
    result.result().await?;
    Ok(lines.join("\n"))
}

async fn encrypted(connection: &Connection) -> Result<String, Error> {
    let mut result = connection
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", [])
        .await?;
    let ssl = match result.next().await {
        Some(row) => row.get::<bool>("ssl").unwrap_or(false),
        None => false,
    };
    result.result().await?;
    Ok(format!("ssl={ssl}"))
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> anyhow::Result<http::Response<FullBody<Bytes>>> {
    Ok(http::Response::builder().status(status).body(FullBody::new(body.into()))?)
}
