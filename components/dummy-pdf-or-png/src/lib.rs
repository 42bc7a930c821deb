//! An emulator of the real upstream, `dummy-pdf-or-png`, as a WASI HTTP component.
//!
//! Like the real service it answers every path and method the same way: per
//! request, 50% a PNG, 40% a PDF, 10% a corrupt PDF (valid header and trailer,
//! broken inside), with `Content-Type` chosen by file kind, so the corrupt file
//! is labelled `application/pdf` too. The files are the project's own, made by
//! `doc-fixtures` at build time.
//!
//! Fault knobs, read as the component's variables (`wasi:config/store`; all
//! default to the real upstream's behaviour, and a value that is not a number
//! counts as unset):
//! - `corrupt_percent` (0-100, default 10): share of corrupt PDFs; the remainder
//!   is split 5:4 between PNG and PDF.
//! - `error_percent` (0-100, default 0): share of `500` answers with an HTML body.
//! - `delay_ms` (0-60000, default 0): wait this long before answering.
//! - `trap_percent` (0-100, default 0): share of requests where the component
//!   panics (a trap), to exercise a host's fault isolation.
//! - `busy_ms` (0-60000, default 0): compute this long without yielding, to
//!   exercise a host's request timeout.
//! - `fault_routes` (0 or 1, default 0): with 1, `/fault/trap` panics,
//!   `/fault/spin` computes forever and `/fault/grow` allocates until memory is
//!   refused, while other paths answer as usual: one host then serves hostile
//!   and ordinary requests side by side (`make chaos`). The path is taken below
//!   the component's route (`spin-path-info`), so the routes work under a
//!   prefix such as `/upstream/...` too.
//! - `log_requests` (0 or 1, default 0): with 1, one JSON line on stderr per
//!   answer (status and what was sent). `make run` turns it on, so the
//!   emulator's lines show the trace id the caller's host propagated.

#[path = "../../shared/variables.rs"]
mod variables;

use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

const PNG: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dummy.png"));
const PDF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dummy.pdf"));
const CORRUPT_PDF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/corrupt-dummy.pdf"));

const ERROR_PAGE: &str = "<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>\n";

#[http_component]
fn handle(request: Request) -> Response {
    let knob = |name: &str, default: u64, max: u64| {
        variables::get(name)
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(default, |v| v.min(max))
    };
    if knob("fault_routes", 0, 1) == 1 {
        // Below its route: `/upstream/fault/trap` on a `/upstream/...` route
        // is `/fault/trap` (Spin and doc-proxy-host both say so).
        let below_route = request
            .header("spin-path-info")
            .and_then(|v| v.as_str())
            .filter(|p| !p.is_empty());
        fault_route(below_route.unwrap_or(request.path()));
    }
    if percent_roll() < knob("trap_percent", 0, 100) {
        panic!("trap_percent: trapping on purpose");
    }
    let busy_ms = knob("busy_ms", 0, 60_000);
    if busy_ms > 0 {
        let until = wasi::clocks::monotonic_clock::now() + busy_ms * 1_000_000;
        while wasi::clocks::monotonic_clock::now() < until {
            std::hint::spin_loop();
        }
    }
    let delay_ms = knob("delay_ms", 0, 60_000);
    if delay_ms > 0 {
        wasi::clocks::monotonic_clock::subscribe_duration(delay_ms * 1_000_000).block();
    }
    let (status, sent, content_type, body): (u16, &str, &str, &[u8]) = if percent_roll() < knob("error_percent", 0, 100)
    {
        (500, "error_page", "text/html; charset=utf-8", ERROR_PAGE.as_bytes())
    } else {
        let corrupt = knob("corrupt_percent", 10, 100);
        let png_share = (100 - corrupt) * 5 / 9;
        match percent_roll() {
            r if r < corrupt => (200, "corrupt_pdf", "application/pdf", CORRUPT_PDF),
            r if r < corrupt + png_share => (200, "png", "image/png", PNG),
            _ => (200, "pdf", "application/pdf", PDF),
        }
    };
    if knob("log_requests", 0, 1) == 1 {
        // Fixed words and numbers only: no escaping needed.
        eprintln!(
            r#"{{"level":"info","msg":"answered","status":{status},"sent":"{sent}","bytes":{}}}"#,
            body.len()
        );
    }
    let is_head = matches!(request.method(), Method::Head);
    let mut response = Response::new(status, if is_head { Vec::new() } else { body.to_vec() });
    response.set_header("content-type", content_type);
    if !is_head {
        response.set_header("content-length", body.len().to_string());
    }
    response
}

/// Misbehaves as `path` says, or returns for an ordinary request.
fn fault_route(path: &str) {
    match path {
        "/fault/trap" => panic!("/fault/trap: trapping on purpose"),
        "/fault/spin" => loop {
            std::hint::spin_loop();
        },
        "/fault/grow" => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            loop {
                // Written, so every page is really taken.
                held.push(std::hint::black_box(vec![0xA5; 1 << 20]));
            }
        }
        _ => {}
    }
}

/// A uniform draw from 0..100.
fn percent_roll() -> u64 {
    wasi::random::insecure::get_insecure_random_u64() % 100
}
