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
