//! A WASI 0.3 HTTP component: `wasi:http/handler@0.3.0`, async from end to
//! end, built with spin-sdk 7. It is the host's test that 0.3 components run
//! beside 0.2 ones from one manifest, with the same allow-list, environment
//! and limits; it is not part of doc-proxy.
//!
//! - `GET /relay/{n}`: fetches `{RELAY_URL}/{n}` through `wasi:http` 0.3's
//!   client and answers with what came back (status, type, body), or 502 when
//!   the call failed (for example, refused by the allow-list).
//! - `GET /variable/{name}`: the component variable `name`, read through
//!   Spin 3's `spin:variables/variables@3.0.0`: `200` and its value, or `404
//!   undefined: …` / `400 invalid-name: …` / `500 …` as Spin's error says.
//! - `GET /mysql/{execute,query}`: Spin 4's async MySQL
//!   (`spin:mysql/mysql@3.0.0`) at the `x-mysql-address` header's address,
//!   running the `x-sql` header's statement with the `x-args` header's
//!   parameters (comma-separated `i32:N`, `str:S` or `null`): `execute`
//!   answers an empty body; `query` the columns (`name:Type`,
//!   comma-separated) on the first line, each row's values' Debug
//!   (`|`-separated) on the next, and the stream's end result on the last.
//!   An error is 500 with its Debug (`open: ` first when opening failed).
//! - Any other path: `200 text/plain`, the greeting from `GREETING` and the
//!   path below the component's route (`spin-path-info`).

use spin_sdk::http::{send, EmptyBody, IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::wasip3::http::types::{ErrorCode, Response};

type Answer = Result<Response, ErrorCode>;

#[http_service]
async fn handle(request: Request) -> Answer {
    let below_route = request
        .headers()
        .get("spin-path-info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(request.uri().path())
        .to_string();
    if let Some(name) = below_route.strip_prefix("/variable/") {
        return variable(name).await;
    }
    if let Some(op) = below_route.strip_prefix("/mysql/") {
        let header = |name: &str| {
            let value = request.headers().get(name).and_then(|v| v.to_str().ok());
            value.unwrap_or_default().to_string()
        };
        return mysql(op, &header("x-mysql-address"), header("x-sql"), &header("x-args")).await;
    }
    match below_route.strip_prefix("/relay/") {
        Some(id) => relay(id).await,
        None => {
            let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".to_string());
            text(200, format!("{greeting} from wasi:http@0.3 at {below_route}\n"))
        }
    }
}

/// Passes `{RELAY_URL}/{id}` on.
async fn relay(id: &str) -> Answer {
    let Ok(base) = std::env::var("RELAY_URL") else {
        return text(500, "RELAY_URL is not set\n".into());
    };
    let outgoing = match Request::get(format!("{base}/{id}")).body(EmptyBody::new()) {
        Ok(request) => request,
        Err(e) => return text(400, format!("bad relay target: {e}\n")),
    };
    match send(outgoing).await {
        Ok(response) => response.into_response(),
        Err(e) => text(502, format!("relay failed: {e:?}\n")),
    }
}

/// A component variable, or Spin's reason it has none.
async fn variable(name: &str) -> Answer {
    use spin_sdk::variables::Error;
    match spin_sdk::variables::get(name).await {
        Ok(value) => text(200, value),
        Err(Error::Undefined(why)) => text(404, format!("undefined: {why}\n")),
        Err(Error::InvalidName(why)) => text(400, format!("invalid-name: {why}\n")),
        Err(e) => text(500, format!("{e:?}\n")),
    }
}

/// Runs `sql` with Spin 4's MySQL interface (see the module's docs).
async fn mysql(op: &str, address: &str, sql: String, args: &str) -> Answer {
    use spin_sdk::mysql::{Connection, ParameterValue};
    let connection = match Connection::open(address).await {
        Ok(connection) => connection,
        Err(e) => return text(500, format!("open: {e:?}")),
    };
    let params: Vec<ParameterValue> = args
        .split(',')
        .filter(|arg| !arg.is_empty())
        .map(|arg| match arg.split_once(':') {
            Some(("i32", n)) => ParameterValue::Int32(n.parse().unwrap_or_default()),
            Some(("str", s)) => ParameterValue::Str(s.to_string()),
            _ => ParameterValue::DbNull,
        })
        .collect();
    if op == "execute" {
        return match connection.execute(sql, params).await {
            Ok(()) => text(200, String::new()),
            Err(e) => text(500, format!("{e:?}")),
        };
    }
    let mut result = match connection.query(sql, params).await {
        Ok(result) => result,
        Err(e) => return text(500, format!("{e:?}")),
    };
    let width = result.columns().len();
    let columns = result.columns().iter().map(|c| format!("{}:{:?}", c.name, c.data_type));
    let mut lines = vec![columns.collect::<Vec<_>>().join(",")];
    while let Some(row) = result.next().await {
        let values = (0..width).map(|i| format!("{:?}", row[i]));
        lines.push(values.collect::<Vec<_>>().join("|"));
    }
    lines.push(format!("{:?}", result.result().await.map_err(|e| e.to_string())));
    text(200, lines.join("\n"))
}

fn text(status: u16, body: String) -> Answer {
    let response = body.into_response()?;
    response
        .set_status_code(status)
        .map_err(|()| ErrorCode::InternalError(Some(format!("status {status}"))))?;
    Ok(response)
}
