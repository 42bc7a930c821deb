//! The component's settings as an operator (or a bad manifest) may write them:
//! `KEY=VALUE` lines, read through `Config::from_lookup`. Every input is a
//! configuration or a clear error, never a panic.
#![no_main]

use doc_core::config::{Config, UpstreamUrl};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings: HashMap<&str, &str> = text.lines().filter_map(|line| line.split_once('=')).collect();
    let _ = Config::from_lookup(|key| settings.get(key).map(|v| v.to_string()));
    for value in settings.values() {
        let _ = UpstreamUrl::parse(value);
    }
});
