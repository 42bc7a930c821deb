//! Request paths and ids from clients: routing never panics, an accepted id is
//! the canonical decimal of its value, and a kept request id is safe to echo.
#![no_main]

use doc_core::route::{parse_id, route, sanitize_request_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for method in ["GET", "HEAD", "POST"] {
        let _ = route(method, text);
    }
    if let Ok(id) = parse_id(text) {
        assert_eq!(id.to_string(), text, "accepted a non-canonical id");
    }
    if let Some(kept) = sanitize_request_id(text) {
        assert!(
            kept.len() <= 128 && kept.bytes().all(|b| b.is_ascii_graphic()),
            "unsafe request id kept: {kept:?}"
        );
    }
});
