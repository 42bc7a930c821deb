//! A deliberately hostile (or merely buggy) component: the host's isolation
//! tests (issue 33) serve it beside doc-proxy and check that nothing it does
//! reaches the host's memory, CPU, addresses or the other components. Not part
//! of doc-proxy. It is a plain `wasi` 0.2 component (`wasi:http/proxy`, no
//! Spin SDK) so it can reach the raw resources: `fields`, outgoing requests,
//! pollables and the monotonic clock.
//!
//! The attack is chosen by the `attack` query parameter; when there is none,
//! by the environment variable `HOSTILE_DEFAULT` (a manifest's
//! `environment = { HOSTILE_DEFAULT = "trap" }` makes every request trap);
//! with neither it answers 200 `ok`. Each attack answers with a small JSON
//! body saying what happened; only `trap` (and `memory` past the host's cap)
//! trap on purpose.
//!
//! - `attack=fields&count=N&bytes=B` (defaults 15000, 102400): creates N
//!   `wasi:http/types.fields`, each holding one header `x-fill` of B bytes,
//!   and keeps every handle until the response is sent, so the host holds
//!   them all. Stops at the first error: `{"created": k, "error": "<debug>" | null}`.
//! - `attack=spin&ms=M`: a busy loop of pure computation for M ms of wall
//!   time (the monotonic clock is read once per few million iterations), then
//!   `{"spun_ms": .., "iterations": ..}`. Without `ms`, or `ms=0`, it loops
//!   forever and makes no host call at all.
//! - `attack=trap`: executes `unreachable`.
//! - `attack=fanout&url=U&n=N&first=K` (defaults n=2000, first=0): N
//!   concurrent GETs to U, every `outgoing-handler.handle` made before waiting
//!   on any; then waits on all and keeps every response (body unread,
//!   connection busy) until it has answered:
//!   `{"ok": a, "statuses": {"200": a, ..}, "errors": {"<error code debug>": count, ..}}`.
//!   `{i}` in U becomes K + the request's index, so one request can reach N
//!   destinations (`url=http://127.0.0.1:{i}/&first=20000`; write the braces
//!   `%7B` `%7D` for curl, or use `curl -g`): a host that counts every call
//!   after the first to one destination as a retry lets few of N through.
//! - `attack=fetch&url=U`: one GET to U: `{"status": s, "bytes": n,
//!   "body_prefix": "<first 200 bytes, lossy UTF-8>"}` or `{"error": ".."}`
//!   (can it reach the host's own admin or control address?).
//! - `attack=relay&url=U`: GETs U and answers with the upstream's status,
//!   content type and body (buffered, up to 16 MiB), or 502 `{"error": ..}`:
//!   a relay to a failing path trips breakers.
//! - `attack=memory&mb=M` (default 128): allocates M MiB of guest memory and
//!   writes a byte every 4 KiB of it: `{"allocated_mb": M}`. An allocation the
//!   host's memory cap refuses aborts the instance: a trap.
//! - `attack=big-headers&count=N&bytes=B` (defaults 100, 1024): answers 200
//!   with N response headers `x-big-<i>` of B bytes each:
//!   `{"headers": added, "bytes_each": B, "error": null | "<debug>"}`.
//! - `attack=slow-body&chunks=N&ms=M` (defaults 60, 1000): answers 200 with N
//!   chunks of 1 KiB, flushed one by one, waiting M ms between them (a
//!   monotonic-clock pollable), without a content-length: a host timeout
//!   must cut it visibly (no clean end of the body).
//!
//! - `attack=remember`: counts the requests this instance has served in a
//!   global and answers `{"served": n}`, writing `served n` to stderr. Under
//!   a host that gives every request a fresh instance (Spin) `n` is always 1;
//!   under one that reuses instances it climbs.
//! - `attack=leak`: as `remember`, but also keeps one `fields` handle per
//!   request in a global, never dropped: `{"served": n, "kept": k}`. A host
//!   that reuses instances must retire one whose handles grow.
//!
//! Every query value is percent-decoded: any `%XX` becomes that byte (`+` is
//! left as it is). So `url=http%3A%2F%2F127.0.0.1%3A9090%2Fmetrics` and
//! `url=http://127.0.0.1:9090/metrics` both work; a `&` inside `url` must be
//! written `%26`. URLs are `http://` or `https://`, then an authority, then
//! an optional path and query (`/` when absent).
//!
//! An unknown attack or a malformed parameter answers 400 `{"error": ..}`.
//!
//! Errors a host raises as traps instead of returning them cannot be
//! reported: under wasmtime-wasi-http 48, one `fields` over 128 KiB in all
//! (`big-headers` past about 100 x 1 KiB, `fields` with `bytes` near 128 KiB)
//! and a store's 100,000th handle (`fields` with `count` near 100,000) trap
//! the instance, and the host answers 500.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::str::FromStr;

use serde_json::{json, Value};
use wasi::clocks::monotonic_clock;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingRequest, IncomingResponse, OutgoingBody, OutgoingRequest, OutgoingResponse, RequestOptions,
    ResponseOutparam, Scheme,
};
use wasi::io::poll::{self, Pollable};
use wasi::io::streams::StreamError;

wasi::http::proxy::export!(Hostile);

struct Hostile;

impl Guest for Hostile {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        drop(request);
        let query = Query::parse(path.split_once('?').map_or("", |(_, q)| q));
        let attack = match query.get("attack") {
            Some(name) => Some(name.to_string()),
            None => std::env::var("HOSTILE_DEFAULT").ok().filter(|name| !name.is_empty()),
        };
        let Some(attack) = attack else {
            return respond(out, 200, "text/plain", b"ok");
        };
        match Attack::plan(&attack, &query) {
            Ok(plan) => plan.run(out),
            Err(error) => respond_json(out, 400, &json!({ "error": error })),
        }
    }
}

/// One attack, its parameters read and checked before anything happens.
enum Attack {
    Fields { count: usize, bytes: usize },
    Spin { ms: u64 },
    Trap,
    Fanout { url: String, first: u64, n: usize },
    Fetch { url: Url },
    Relay { url: Url },
    Memory { mb: usize },
    BigHeaders { count: usize, bytes: usize },
    SlowBody { chunks: usize, ms: u64 },
    Remember,
    Leak,
}

const ATTACKS: &str = "fields, spin, trap, fanout, fetch, relay, memory, big-headers, slow-body, remember, leak";

impl Attack {
    fn plan(name: &str, q: &Query) -> Result<Attack, String> {
        Ok(match name {
            "fields" => Attack::Fields {
                count: q.num("count", 15_000)?,
                bytes: q.num("bytes", 102_400)?,
            },
            "spin" => Attack::Spin { ms: q.num("ms", 0)? },
            "trap" => Attack::Trap,
            "fanout" => {
                let first = q.num("first", 0)?;
                let url = q.get("url").ok_or("this attack needs url=")?.to_string();
                Url::parse(&numbered(&url, first))?;
                Attack::Fanout {
                    url,
                    first,
                    n: q.num("n", 2_000)?,
                }
            }
            "fetch" => Attack::Fetch { url: q.url()? },
            "relay" => Attack::Relay { url: q.url()? },
            "memory" => Attack::Memory { mb: q.num("mb", 128)? },
            "big-headers" => Attack::BigHeaders {
                count: q.num("count", 100)?,
                bytes: q.num("bytes", 1_024)?,
            },
            "slow-body" => Attack::SlowBody {
                chunks: q.num("chunks", 60)?,
                ms: q.num("ms", 1_000)?,
            },
            "remember" => Attack::Remember,
            "leak" => Attack::Leak,
            other => return Err(format!("unknown attack {other:?}; the attacks are {ATTACKS}")),
        })
    }

    fn run(self, out: ResponseOutparam) {
        match self {
            Attack::Fields { count, bytes } => fields(count, bytes, out),
            Attack::Spin { ms } => spin(ms, out),
            Attack::Trap => trap(),
            Attack::Fanout { url, first, n } => fanout(&url, first, n, out),
            Attack::Fetch { url } => fetch(&url, out),
            Attack::Relay { url } => relay(&url, out),
            Attack::Memory { mb } => memory(mb, out),
            Attack::BigHeaders { count, bytes } => big_headers(count, bytes, out),
            Attack::SlowBody { chunks, ms } => slow_body(chunks, ms, out),
            Attack::Remember => remember(false, out),
            Attack::Leak => remember(true, out),
        }
    }
}

// ---- the attacks ----

thread_local! {
    /// Requests this instance has served (`remember`, `leak`).
    static SERVED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Handles `leak` keeps, one per request.
    static KEPT: std::cell::RefCell<Vec<Fields>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// State kept in globals from one request to the next, and with `leak` a
/// handle more each time.
fn remember(leak: bool, out: ResponseOutparam) {
    let served = SERVED.with(|served| {
        served.set(served.get() + 1);
        served.get()
    });
    eprintln!("served {served}");
    if leak {
        let kept = KEPT.with(|kept| {
            kept.borrow_mut().push(Fields::new());
            kept.borrow().len()
        });
        return respond_json(out, 200, &json!({ "served": served, "kept": kept }));
    }
    respond_json(out, 200, &json!({ "served": served }));
}

/// Host memory no guest limit counts: `count` field sets of `bytes` each,
/// all alive until the answer is sent.
fn fields(count: usize, bytes: usize, out: ResponseOutparam) {
    let entry = [("x-fill".to_string(), vec![b'a'; bytes])];
    let mut kept = Vec::with_capacity(count.min(1 << 20));
    let mut error = None;
    for _ in 0..count {
        match Fields::from_list(&entry) {
            Ok(fields) => kept.push(fields),
            Err(e) => {
                error = Some(format!("{e:?}"));
                break;
            }
        }
    }
    respond_json(out, 200, &json!({ "created": kept.len(), "error": error }));
    drop(kept);
}

/// Iterations between two looks at the clock (a few milliseconds).
const SPIN_BATCH: u64 = 1 << 22;

/// Holds a core: pure computation for `ms` of wall time, or forever.
fn spin(ms: u64, out: ResponseOutparam) {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    if ms == 0 {
        loop {
            churn(&mut x);
        }
    }
    let start = monotonic_clock::now();
    let budget = ms.saturating_mul(1_000_000);
    let mut iterations = 0u64;
    loop {
        churn(&mut x);
        iterations += SPIN_BATCH;
        if monotonic_clock::now().saturating_sub(start) >= budget {
            break;
        }
    }
    let spun_ms = monotonic_clock::now().saturating_sub(start) / 1_000_000;
    respond_json(out, 200, &json!({ "spun_ms": spun_ms, "iterations": iterations }));
}

/// One batch of work the compiler cannot remove or shorten.
fn churn(x: &mut u64) {
    for _ in 0..SPIN_BATCH {
        *x = black_box(
            x.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
}

fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::unreachable()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::process::abort()
    }
}

/// `url` with `{i}` replaced by `i`.
fn numbered(url: &str, i: u64) -> String {
    url.replace("{i}", &i.to_string())
}

/// `n` outgoing requests in flight at once, every response kept (its body
/// unread) until the answer is sent.
fn fanout(url: &str, first: u64, n: usize, out: ResponseOutparam) {
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut waiting: Vec<(Pollable, outgoing_handler::FutureIncomingResponse)> = Vec::with_capacity(n.min(1 << 20));
    for i in (0..n as u64).map(|i| first.saturating_add(i)) {
        let started = Url::parse(&numbered(url, i))
            .and_then(|url| url.request())
            .and_then(|request| outgoing_handler::handle(request, None).map_err(|code| format!("{code:?}")));
        match started {
            Ok(future) => waiting.push((future.subscribe(), future)),
            Err(error) => *errors.entry(error).or_default() += 1,
        }
    }
    let mut responses: Vec<IncomingResponse> = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    while !waiting.is_empty() {
        let mut ready: Vec<usize> = {
            let pollables: Vec<&Pollable> = waiting.iter().map(|(pollable, _)| pollable).collect();
            poll::poll(&pollables).into_iter().map(|i| i as usize).collect()
        };
        ready.sort_unstable();
        ready.dedup();
        // From the highest index down, so `swap_remove` only moves entries
        // that are not in `ready`.
        for i in ready.into_iter().rev() {
            let (pollable, future) = waiting.swap_remove(i);
            // A pollable is its future's child: it must go first.
            drop(pollable);
            match future.get() {
                Some(Ok(Ok(response))) => {
                    *statuses.entry(response.status()).or_default() += 1;
                    responses.push(response);
                }
                Some(Ok(Err(code))) => *errors.entry(format!("{code:?}")).or_default() += 1,
                Some(Err(())) | None => *errors.entry("no response".to_string()).or_default() += 1,
            }
        }
    }
    respond_json(
        out,
        200,
        &json!({ "ok": responses.len(), "statuses": statuses, "errors": errors }),
    );
    drop(responses);
}

fn fetch(url: &Url, out: ResponseOutparam) {
    let answer = get(url).and_then(|response| {
        let status = response.status();
        let (bytes, prefix) = read_body(response, 200)?;
        Ok(json!({
            "status": status,
            "bytes": bytes,
            "body_prefix": String::from_utf8_lossy(&prefix),
        }))
    });
    match answer {
        Ok(answer) => respond_json(out, 200, &answer),
        Err(error) => respond_json(out, 200, &json!({ "error": error })),
    }
}

/// What `relay` buffers at most.
const RELAY_MAX: usize = 16 << 20;

fn relay(url: &Url, out: ResponseOutparam) {
    let relayed = get(url).and_then(|response| {
        let status = response.status();
        let content_type = {
            // The headers are the response's child: gone before it is.
            let headers = response.headers();
            headers.get(&"content-type".to_string()).into_iter().next()
        };
        let (bytes, body) = read_body(response, RELAY_MAX)?;
        if bytes > body.len() as u64 {
            return Err(format!("upstream body of {bytes} bytes is over {RELAY_MAX}"));
        }
        Ok((status, content_type, body))
    });
    match relayed {
        Ok((status, content_type, body)) => {
            let headers = Fields::new();
            if let Some(value) = content_type {
                let _ = headers.append(&"content-type".to_string(), &value);
            }
            send(out, status, headers, &body);
        }
        Err(error) => respond_json(out, 502, &json!({ "error": error })),
    }
}

/// Guest memory: `mb` MiB, every 4 KiB page written. Past the host's cap the
/// allocation fails and the instance aborts (a trap).
fn memory(mb: usize, out: ResponseOutparam) {
    let bytes = mb.saturating_mul(1 << 20);
    // Zeroed pages fresh from `memory.grow` are not written by the
    // allocator: the loop below is what touches them.
    let mut block = vec![0u8; bytes];
    for i in (0..bytes).step_by(4096) {
        block[i] = 0xa5;
    }
    black_box(&block);
    respond_json(out, 200, &json!({ "allocated_mb": mb }));
}

fn big_headers(count: usize, bytes: usize, out: ResponseOutparam) {
    let headers = Fields::new();
    let value = vec![b'a'; bytes];
    let mut added = 0usize;
    let mut error = None;
    for i in 0..count {
        match headers.append(&format!("x-big-{i}"), &value) {
            Ok(()) => added += 1,
            Err(e) => {
                error = Some(format!("{e:?}"));
                break;
            }
        }
    }
    let _ = headers.append(&"content-type".to_string(), &b"application/json".to_vec());
    let body = json!({ "headers": added, "bytes_each": bytes, "error": error });
    send(out, 200, headers, body.to_string().as_bytes());
}

/// `chunks` KiB, one at a time, `ms` apart, with no content-length.
fn slow_body(chunks: usize, ms: u64, out: ResponseOutparam) {
    let headers = Fields::new();
    let _ = headers.append(&"content-type".to_string(), &b"text/plain".to_vec());
    let response = OutgoingResponse::new(headers);
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    let Ok(stream) = body.write() else {
        return;
    };
    let mut chunk = [b'.'; 1024];
    chunk[1023] = b'\n';
    for i in 0..chunks {
        if i > 0 {
            monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
        }
        if stream.blocking_write_and_flush(&chunk).is_err() {
            // The host or the client cut it: the body stays unfinished.
            return;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

// ---- outgoing requests ----

/// A parsed `url` parameter.
struct Url {
    https: bool,
    authority: String,
    path_with_query: String,
}

impl Url {
    fn parse(url: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(format!("url {url:?} is not http:// or https://"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("url {url:?} has no authority"));
        }
        let path_with_query = match path.chars().next() {
            None => "/".to_string(),
            Some('?') => format!("/{path}"),
            Some(_) => path.to_string(),
        };
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }

    /// A GET of this URL, no body.
    fn request(&self) -> Result<OutgoingRequest, String> {
        let request = OutgoingRequest::new(Fields::new());
        let scheme = if self.https { Scheme::Https } else { Scheme::Http };
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "scheme refused".to_string())?;
        request
            .set_authority(Some(&self.authority))
            .map_err(|()| format!("authority {:?} refused", self.authority))?;
        request
            .set_path_with_query(Some(&self.path_with_query))
            .map_err(|()| format!("path {:?} refused", self.path_with_query))?;
        Ok(request)
    }
}

/// One GET, waited for; connect within 5 s and first byte within 10 s when
/// the host honours the options (it may refuse them).
fn get(url: &Url) -> Result<IncomingResponse, String> {
    let request = url.request()?;
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(5_000_000_000));
    let _ = options.set_first_byte_timeout(Some(10_000_000_000));
    let future = outgoing_handler::handle(request, Some(options)).map_err(|code| format!("{code:?}"))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(format!("{code:?}")),
        Some(Err(())) | None => Err("no response".to_string()),
    }
}

/// Reads the whole body: its length, and its first `keep` bytes.
fn read_body(response: IncomingResponse, keep: usize) -> Result<(u64, Vec<u8>), String> {
    let body = response.consume().map_err(|()| "body already taken".to_string())?;
    let stream = body.stream().map_err(|()| "body stream already taken".to_string())?;
    let mut total = 0u64;
    let mut kept = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                total += chunk.len() as u64;
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("body read after {total} bytes: {}", e.to_debug_string()));
            }
        }
    }
    Ok((total, kept))
}

// ---- answers ----

fn respond_json(out: ResponseOutparam, status: u16, body: &Value) {
    respond(out, status, "application/json", body.to_string().as_bytes());
}

fn respond(out: ResponseOutparam, status: u16, content_type: &str, body: &[u8]) {
    let headers = Fields::new();
    let _ = headers.append(&"content-type".to_string(), &content_type.as_bytes().to_vec());
    send(out, status, headers, body);
}

/// Sends `body` whole, in the 4096-byte writes `wasi:io/streams` allows.
fn send(out: ResponseOutparam, status: u16, headers: Fields, body: &[u8]) {
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        for chunk in body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing, None);
}

// ---- the query ----

/// `key=value` pairs, both percent-decoded.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Query {
        Query(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    /// The first value of `key`.
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn num<T: FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| format!("{key}={value:?} is not a non-negative integer")),
        }
    }

    fn url(&self) -> Result<Url, String> {
        Url::parse(self.get("url").ok_or("this attack needs url=")?)
    }
}

/// `%XX` to its byte; anything else (a `%` without two hex digits, `+`) as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
