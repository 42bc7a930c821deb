//! An ordinary Spin app, written the way Spin's own examples are (spin-sdk
//! 5.2, `#[http_component]`, Spin 2's variables interface): the host's tests
//! serve it beside doc-proxy to check that it runs unchanged and that nothing
//! it does reaches another component. What it does is chosen by the `probe`
//! query parameter:
//!
//! - `relay` (the default): fetches `{upstream_url}{spin-path-info}`, where
//!   `upstream_url` is a component variable, and answers with the upstream's
//!   status, every header and the body, as a naive relay would.
//! - `shape`: answers 200 with JSON of the request as the component received
//!   it: `method`, `path_with_query`, and every header.
//! - `variables`: checks Spin's variables rules against the manifest's
//!   `variable = "value"`: 200 with an empty body when they hold, else 500
//!   and the first rule broken.
//! - `empty`: 200 with no body at all.
//! - `kv`: Spin's key-value store `store` (default `default`): `op=set` (the
//!   request body is the value), `get` (the value as the body, 404 when
//!   absent), `delete`, `keys` (JSON); a store error is 500 with its Debug.
//! - `sqlite`: runs `sql` (URL-encoded, `+` for space) on database `db`
//!   (default `default`), answering JSON `{"columns": [...], "rows": [[...]]}`,
//!   or 500 with the error's Debug.
//! - `tcp`: opens `count` (default 1) TCP connections to `addr` (an
//!   `ip:port`) through `wasi:sockets`, holding them all, writes the request
//!   body on the last one, closes its writing half and answers 200 with
//!   what came back; a connection refused is 502 with the error's kind
//!   (`PermissionDenied` for an address the manifest does not grant).
//! - `redis`: Spin 2's outbound Redis at `addr` (a `redis://` URL,
//!   URL-encoded): `op=set` (`key`, the request body as the value), `get`
//!   (the value, 404 when absent), `incr`, `del` (`key`), `sets` (`sadd`,
//!   `smembers`, `srem` on `key` with `members`, comma-separated, answering
//!   the three results), `publish` (`channel`, the body), `execute`
//!   (`command`, `args` comma-separated, answering the results as
//!   `nil`, `status:S`, `int:N` or `binary:B`, comma-separated), or
//!   `hold` (opens `count` connections, answering 200 when all opened);
//!   an error is 500 with its Debug (`open: ` first when opening failed).
//! - `pg`: Spin's PostgreSQL 4 (`pg4`; Spin 3's `pg3` with `v=3`, Spin 2's
//!   `pg` with `v=2`, answering each column as `name:Type`) with the connection string `addr`:
//!   `op=execute` runs `sql` and answers the rows it changed, `op=query`
//!   answers the column names (comma-separated) on the first line and each
//!   row's values' Debug (`|`-separated) on the next; `args` are the
//!   parameters, comma-separated `i32:N`, `i64:N`, `str:S`, `dec:D` or
//!   `null`; `op=hold` opens `count` connections. An error is 500 with its
//!   Debug (`open: ` first when opening failed).
//! - `mqtt`: Spin 2's outbound MQTT at `addr` (URL-encoded), as `user` with
//!   `pass`, keep-alive `keep` seconds (default 30): `op=publish` publishes
//!   the request body to `topic` with QoS `qos` (0, 1 or 2; default 1),
//!   `times` times (default 1) on one connection; `op=hold` opens `count`
//!   connections. An error is 500 with its Debug (`open: ` first when
//!   opening failed).
//! - `mysql`: Spin 2's MySQL (`spin_sdk::mysql`) at `addr` (a `mysql://`
//!   URL), as `pg` with `op=execute` answering an empty body, and the
//!   parameters `bool:B`, `i8:N`, `i32:N`, `i64:N`, `u64:N`, `f64:N`,
//!   `str:S`, `bin:S` (its bytes) or `null`.

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use spin_sdk::variables::{self, Error};

#[http_component]
async fn handle(request: Request) -> Response {
    let probe = request
        .query()
        .split('&')
        .find_map(|pair| pair.strip_prefix("probe="))
        .unwrap_or("relay")
        .to_string();
    match probe.as_str() {
        "shape" => shape(&request),
        "variables" => match check_variables() {
            Ok(()) => Response::new(200, ()),
            Err(broken) => Response::new(500, broken),
        },
        "empty" => Response::new(200, ()),
        "kv" => key_value(&request),
        "sqlite" => sqlite(&request),
        "tcp" => tcp(&request),
        "redis" => redis(&request),
        "pg" => pg(&request),
        "mqtt" => mqtt(&request),
        "mysql" => mysql(&request),
        _ => relay(&request).await,
    }
}

fn shape(request: &Request) -> Response {
    let mut headers = serde_json::Map::new();
    for (name, value) in request.headers() {
        let values = headers
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| serde_json::json!([]));
        if let Some(list) = values.as_array_mut() {
            list.push(value.as_str().unwrap_or("<not utf-8>").into());
        }
    }
    let body = serde_json::json!({
        "method": format!("{:?}", request.method()),
        "path_with_query": request.path_and_query(),
        "headers": headers,
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

/// The query parameter `name`, URL-decoded (`%XX` and `+`).
fn param(request: &Request, name: &str) -> Option<String> {
    let raw = request
        .query()
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn key_value(request: &Request) -> Response {
    use spin_sdk::key_value::Store;
    let label = param(request, "store").unwrap_or_else(|| "default".into());
    let store = match Store::open(&label) {
        Ok(store) => store,
        Err(e) => return Response::new(500, format!("open: {e:?}")),
    };
    let key = param(request, "key").unwrap_or_default();
    let answered = match param(request, "op").as_deref() {
        Some("set") => store.set(&key, request.body()).map(|()| Response::new(200, ())),
        Some("get") => store.get(&key).map(|value| match value {
            Some(value) => Response::new(200, value),
            None => Response::new(404, ()),
        }),
        Some("delete") => store.delete(&key).map(|()| Response::new(200, ())),
        Some("keys") => store
            .get_keys()
            .map(|keys| Response::new(200, serde_json::json!(keys).to_string())),
        other => return Response::new(400, format!("op {other:?}")),
    };
    answered.unwrap_or_else(|e| Response::new(500, format!("{e:?}")))
}

fn sqlite(request: &Request) -> Response {
    use spin_sdk::sqlite::{Connection, Value};
    let label = param(request, "db").unwrap_or_else(|| "default".into());
    let connection = match Connection::open(&label) {
        Ok(connection) => connection,
        Err(e) => return Response::new(500, format!("open: {e:?}")),
    };
    let sql = param(request, "sql").unwrap_or_default();
    match connection.execute(&sql, &[]) {
        Ok(result) => {
            let rows: Vec<Vec<serde_json::Value>> = result
                .rows
                .iter()
                .map(|row| {
                    row.values
                        .iter()
                        .map(|value| match value {
                            Value::Integer(i) => serde_json::json!(i),
                            Value::Real(f) => serde_json::json!(f),
                            Value::Text(t) => serde_json::json!(t),
                            Value::Blob(b) => serde_json::json!(b),
                            Value::Null => serde_json::Value::Null,
                        })
                        .collect()
                })
                .collect();
            let body = serde_json::json!({"columns": result.columns, "rows": rows});
            Response::new(200, body.to_string())
        }
        Err(e) => Response::new(500, format!("{e:?}")),
    }
}

fn tcp(request: &Request) -> Response {
    use std::io::{Read, Write};
    let Some(addr) = param(request, "addr") else {
        return Response::new(400, "addr=ip:port is required");
    };
    let count: usize = param(request, "count").and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut held = Vec::new();
    for _ in 0..count {
        match std::net::TcpStream::connect(addr.as_str()) {
            Ok(stream) => held.push(stream),
            Err(e) => return Response::new(502, format!("{:?} after {} connections", e.kind(), held.len())),
        }
    }
    let Some(last) = held.last_mut() else {
        return Response::new(200, ());
    };
    let mut echoed = Vec::new();
    let exchanged = last
        .write_all(request.body())
        .and_then(|()| last.shutdown(std::net::Shutdown::Write))
        .and_then(|()| last.read_to_end(&mut echoed));
    match exchanged {
        Ok(_) => Response::new(200, echoed),
        Err(e) => Response::new(502, format!("{:?}", e.kind())),
    }
}

fn redis(request: &Request) -> Response {
    use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
    let address = param(request, "addr").unwrap_or_default();
    let list = |name: &str| -> Vec<String> {
        param(request, name)
            .map(|text| text.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    if param(request, "op").as_deref() == Some("hold") {
        return hold(request, || Connection::open(&address));
    }
    let connection = match Connection::open(&address) {
        Ok(connection) => connection,
        Err(e) => return Response::new(500, format!("open: {e:?}")),
    };
    let key = param(request, "key").unwrap_or_default();
    let answered = match param(request, "op").as_deref() {
        Some("set") => connection.set(&key, request.body()).map(|()| Response::new(200, ())),
        Some("get") => connection.get(&key).map(|value| match value {
            Some(value) => Response::new(200, value),
            None => Response::new(404, ()),
        }),
        Some("incr") => connection.incr(&key).map(|n| Response::new(200, n.to_string())),
        Some("del") => connection.del(&[key]).map(|n| Response::new(200, n.to_string())),
        Some("sets") => {
            let members = list("members");
            connection.sadd(&key, &members).and_then(|added| {
                let listed = connection.smembers(&key)?;
                let removed = connection.srem(&key, &members)?;
                Ok(Response::new(200, format!("{added} {} {removed}", listed.len())))
            })
        }
        Some("publish") => connection
            .publish(&param(request, "channel").unwrap_or_default(), request.body())
            .map(|()| Response::new(200, ())),
        Some("execute") => {
            let arguments: Vec<RedisParameter> = list("args")
                .into_iter()
                .map(|a| match a.parse::<i64>() {
                    Ok(n) => RedisParameter::Int64(n),
                    Err(_) => RedisParameter::Binary(a.into_bytes()),
                })
                .collect();
            connection
                .execute(&param(request, "command").unwrap_or_default(), &arguments)
                .map(|results| {
                    let shown: Vec<String> = results
                        .iter()
                        .map(|result| match result {
                            RedisResult::Nil => "nil".to_string(),
                            RedisResult::Status(s) => format!("status:{s}"),
                            RedisResult::Int64(n) => format!("int:{n}"),
                            RedisResult::Binary(b) => format!("binary:{}", String::from_utf8_lossy(b)),
                        })
                        .collect();
                    Response::new(200, shown.join(","))
                })
        }
        other => return Response::new(400, format!("op {other:?}")),
    };
    answered.unwrap_or_else(|e| Response::new(500, format!("{e:?}")))
}

fn pg(request: &Request) -> Response {
    match param(request, "v").as_deref() {
        Some("2") => pg2(request),
        Some("3") => pg3(request),
        _ => pg4(request),
    }
}

/// `probe=pg&v=2` and `v=3`: `op=execute`, `op=query` and `op=hold` as for `pg4`,
/// through Spin 2's (`pg`) or Spin 3's (`pg3`) interface, whose parameters
/// are `i32:N`, `i64:N`, `str:S` or `null`.
macro_rules! older_pg {
    ($name:ident, $module:ident) => {
        fn $name(request: &Request) -> Response {
            use spin_sdk::$module::{Connection, ParameterValue};
            let connection = match opened(request, Connection::open) {
                Ok(connection) => connection,
                Err(answer) => return answer,
            };
            let sql = param(request, "sql").unwrap_or_default();
            let arguments = arguments(request, |kind, text| match kind {
                "i32" => ParameterValue::Int32(text.parse().unwrap_or_default()),
                "i64" => ParameterValue::Int64(text.parse().unwrap_or_default()),
                "str" => ParameterValue::Str(text.to_string()),
                _ => ParameterValue::DbNull,
            });
            match param(request, "op").as_deref() {
                Some("execute") => match connection.execute(&sql, &arguments) {
                    Ok(changed) => Response::new(200, changed.to_string()),
                    Err(e) => Response::new(500, format!("{e:?}")),
                },
                Some("query") => match connection.query(&sql, &arguments) {
                    Ok(set) => table(
                        set.columns
                            .iter()
                            .map(|c| format!("{}:{:?}", c.name, c.data_type)),
                        &set.rows,
                    ),
                    Err(e) => Response::new(500, format!("{e:?}")),
                },
                other => Response::new(400, format!("op {other:?}")),
            }
        }
    };
}

older_pg!(pg2, pg);
older_pg!(pg3, pg3);

fn pg4(request: &Request) -> Response {
    use spin_sdk::pg4::{Connection, ParameterValue};
    let connection = match opened(request, Connection::open) {
        Ok(connection) => connection,
        Err(answer) => return answer,
    };
    let sql = param(request, "sql").unwrap_or_default();
    let arguments = arguments(request, |kind, text| match kind {
        "i32" => ParameterValue::Int32(text.parse().unwrap_or_default()),
        "i64" => ParameterValue::Int64(text.parse().unwrap_or_default()),
        "dec" => ParameterValue::Decimal(text.to_string()),
        "str" => ParameterValue::Str(text.to_string()),
        _ => ParameterValue::DbNull,
    });
    match param(request, "op").as_deref() {
        Some("execute") => match connection.execute(&sql, &arguments) {
            Ok(changed) => Response::new(200, changed.to_string()),
            Err(e) => Response::new(500, format!("{e:?}")),
        },
        Some("query") => match connection.query(&sql, &arguments) {
            Ok(set) => table(set.columns.iter().map(|c| c.name.clone()), &set.rows),
            Err(e) => Response::new(500, format!("{e:?}")),
        },
        other => Response::new(400, format!("op {other:?}")),
    }
}

fn mqtt(request: &Request) -> Response {
    use spin_sdk::mqtt::{Connection, Qos};
    let user = param(request, "user").unwrap_or_default();
    let pass = param(request, "pass").unwrap_or_default();
    let keep = param(request, "keep").and_then(|k| k.parse().ok()).unwrap_or(30);
    let connection = match opened(request, |address| Connection::open(address, &user, &pass, keep)) {
        Ok(connection) => connection,
        Err(answer) => return answer,
    };
    let qos = match param(request, "qos").as_deref() {
        Some("0") => Qos::AtMostOnce,
        Some("2") => Qos::ExactlyOnce,
        _ => Qos::AtLeastOnce,
    };
    let times: usize = param(request, "times").and_then(|n| n.parse().ok()).unwrap_or(1);
    let topic = param(request, "topic").unwrap_or_default();
    match param(request, "op").as_deref() {
        Some("publish") => {
            for _ in 0..times {
                if let Err(e) = connection.publish(&topic, request.body(), qos) {
                    return Response::new(500, format!("{e:?}"));
                }
            }
            Response::new(200, ())
        }
        other => Response::new(400, format!("op {other:?}")),
    }
}

fn mysql(request: &Request) -> Response {
    use spin_sdk::mysql::{Connection, ParameterValue};
    let connection = match opened(request, Connection::open) {
        Ok(connection) => connection,
        Err(answer) => return answer,
    };
    let sql = param(request, "sql").unwrap_or_default();
    let arguments = arguments(request, |kind, text| match kind {
        "bool" => ParameterValue::Boolean(text == "true"),
        "i8" => ParameterValue::Int8(text.parse().unwrap_or_default()),
        "i32" => ParameterValue::Int32(text.parse().unwrap_or_default()),
        "i64" => ParameterValue::Int64(text.parse().unwrap_or_default()),
        "u64" => ParameterValue::Uint64(text.parse().unwrap_or_default()),
        "f64" => ParameterValue::Floating64(text.parse().unwrap_or_default()),
        "str" => ParameterValue::Str(text.to_string()),
        "bin" => ParameterValue::Binary(text.as_bytes().to_vec()),
        _ => ParameterValue::DbNull,
    });
    match param(request, "op").as_deref() {
        Some("execute") => match connection.execute(&sql, &arguments) {
            Ok(()) => Response::new(200, ()),
            Err(e) => Response::new(500, format!("{e:?}")),
        },
        Some("query") => match connection.query(&sql, &arguments) {
            Ok(set) => table(
                set.columns.iter().map(|c| format!("{}:{:?}", c.name, c.data_type)),
                &set.rows,
            ),
            Err(e) => Response::new(500, format!("{e:?}")),
        },
        other => Response::new(400, format!("op {other:?}")),
    }
}

/// The connection `open` makes to `addr`, or the answer already decided:
/// `op=hold`'s, or 500 with `open: ` and the error.
fn opened<C, E: std::fmt::Debug>(request: &Request, open: impl Fn(&str) -> Result<C, E>) -> Result<C, Response> {
    let address = param(request, "addr").unwrap_or_default();
    if param(request, "op").as_deref() == Some("hold") {
        return Err(hold(request, || open(&address)));
    }
    open(&address).map_err(|e| Response::new(500, format!("open: {e:?}")))
}

/// The `args` parameter's values (comma-separated `kind:text`, or a bare
/// `kind`), each made by `value(kind, text)`.
fn arguments<P>(request: &Request, value: impl Fn(&str, &str) -> P) -> Vec<P> {
    let Some(text) = param(request, "args") else {
        return Vec::new();
    };
    text.split(',')
        .map(|arg| {
            let (kind, text) = arg.split_once(':').unwrap_or((arg, ""));
            value(kind, text)
        })
        .collect()
}

/// 200 with `header` (comma-separated) on the first line and each row's
/// values' Debug (`|`-separated) on the next.
fn table<V: std::fmt::Debug>(header: impl Iterator<Item = String>, rows: &[Vec<V>]) -> Response {
    let mut lines = vec![header.collect::<Vec<_>>().join(",")];
    for row in rows {
        lines.push(row.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join("|"));
    }
    Response::new(200, lines.join("\n"))
}

/// Opens `count` connections with `open` and holds them all: 200, or 500
/// with the error and how many opened before it.
fn hold<C, E: std::fmt::Debug>(request: &Request, open: impl Fn() -> Result<C, E>) -> Response {
    let count: usize = param(request, "count").and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut held = Vec::new();
    for _ in 0..count {
        match open() {
            Ok(connection) => held.push(connection),
            Err(e) => return Response::new(500, format!("open: {e:?} after {}", held.len())),
        }
    }
    Response::new(200, ())
}

/// The rules Spin's conformance test for variables checks.
fn check_variables() -> Result<(), String> {
    match variables::get("variable") {
        Ok(value) if value == "value" => {}
        other => return Err(format!("variable: {other:?}")),
    }
    if !matches!(variables::get("non_existent"), Err(Error::Undefined(_))) {
        return Err("non_existent is not undefined".into());
    }
    for invalid in ["invalid-name", "invalid!name", "4invalidname"] {
        if !matches!(variables::get(invalid), Err(Error::InvalidName(_))) {
            return Err(format!("{invalid} is not an invalid name"));
        }
    }
    Ok(())
}

async fn relay(request: &Request) -> Response {
    let base = match variables::get("upstream_url") {
        Ok(base) => base,
        Err(e) => return Response::new(500, format!("upstream_url: {e}")),
    };
    let below = request
        .header("spin-path-info")
        .and_then(|v| v.as_str())
        .unwrap_or("/")
        .to_string();
    let upstream: Result<Response, _> = spin_sdk::http::send(Request::get(format!("{base}{below}")).build()).await;
    match upstream {
        Ok(answer) => {
            let mut relayed = Response::builder();
            relayed.status(*answer.status());
            for (name, value) in answer.headers() {
                relayed.header(name, value.as_str().unwrap_or_default());
            }
            relayed.body(answer.into_body()).build()
        }
        Err(e) => Response::new(502, format!("relay failed: {e:?}")),
    }
}
