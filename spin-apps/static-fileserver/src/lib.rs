//! Serves the files mounted into the component (`files = [...]` in the
//! manifest) read-only through `wasi:filesystem`, the job Spin's
//! `static-fileserver` template gives spin-fileserver. Our own, smaller
//! component; what it answers:
//!
//! - The file is the request's `spin-path-info` (the path below the route),
//!   under the guest's `/`. A path that is empty, ends in `/`, or names a
//!   directory serves that directory's `index.html`.
//! - 200 with the file's bytes, `content-type` from its extension
//!   (`application/octet-stream` when unknown), `cache-control: max-age=60`
//!   and an `etag` (a hash of the bytes, quoted).
//! - 304 with no body when `if-none-match` carries that etag.
//! - 404 with no body for a missing file, or a path with `..` in it.
//! - 405 for a method other than GET and HEAD.

use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use std::path::PathBuf;

const CACHE_CONTROL: &str = "max-age=60";
const DIRECTORY_INDEX: &str = "index.html";

#[http_component]
fn serve(req: Request) -> anyhow::Result<impl IntoResponse> {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Ok(Response::builder().status(405).header("allow", "GET, HEAD").build());
    }
    let path_info = req
        .header("spin-path-info")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| req.path());
    let Some(file) = resolve(path_info) else {
        return Ok(not_found());
    };
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(_) => return Ok(not_found()),
    };
    let etag = format!("\"{:016x}\"", fnv1a(&bytes));
    let fresh = req
        .header("if-none-match")
        .and_then(|v| v.as_str())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let name = file.to_string_lossy();
    let mut response = Response::builder();
    response
        .header("content-type", content_type(&name))
        .header("cache-control", CACHE_CONTROL)
        .header("etag", etag.clone());
    if fresh {
        return Ok(response.status(304).build());
    }
    Ok(response.status(200).body(bytes).build())
}

/// The file below the guest's `/` that `path_info` names, or `None` for a
/// path that tries to leave it.
fn resolve(path_info: &str) -> Option<PathBuf> {
    let relative = path_info.split('?').next().unwrap_or("").trim_start_matches('/');
    if relative.split('/').any(|segment| segment == "..") {
        return None;
    }
    let mut file = PathBuf::from("/").join(relative);
    if relative.is_empty() || relative.ends_with('/') || file.is_dir() {
        file.push(DIRECTORY_INDEX);
    }
    Some(file)
}

fn not_found() -> Response {
    Response::builder().status(404).build()
}

/// The media type for a file name, by its extension.
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("js" | "mjs") => "text/javascript",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// 64-bit FNV-1a: a cheap, stable fingerprint of the bytes for the etag.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
