//! Reads the `Server-Timing` header a component puts on its response and turns
//! its entries into metrics: the channel through which a component reports
//! what it decided inside (doc-proxy: how each upstream attempt ended, and
//! validation time) while importing only `wasi:*`. The host strips the header
//! unless told to pass it to clients (`--expose-server-timing`).
//!
//! Entries are `name;desc=…;dur=…` (W3C Server Timing). Label values are kept
//! bounded whatever a component sends: names and descriptions must be short
//! tokens, and past [`MAX_SERIES`] distinct pairs new ones count as `other`.
//! Each component has its own budget and its own `component` label, so what
//! one component reports can neither crowd out nor pass for another's.

use crate::ops::metrics::Metrics;
use http::HeaderMap;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub const SERVER_TIMING: &str = "server-timing";
/// Distinct (name, desc) label pairs recorded per component.
pub const MAX_SERIES: usize = 64;
/// Longest name or description kept as a label value.
const MAX_TOKEN: usize = 32;
/// Entries read from one response; the rest are ignored.
const MAX_ENTRIES: usize = 32;

/// One entry of a `Server-Timing` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub desc: Option<String>,
    /// Milliseconds, as the header carries them.
    pub dur_ms: Option<f64>,
}

/// Parses every `Server-Timing` value in `headers`, at most [`MAX_ENTRIES`]
/// entries. Malformed entries are skipped; parameters other than `desc` and
/// `dur` are ignored.
pub fn parse(headers: &HeaderMap) -> Vec<Entry> {
    headers
        .get_all(SERVER_TIMING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_entry)
        .take(MAX_ENTRIES)
        .collect()
}

fn parse_entry(text: &str) -> Option<Entry> {
    let mut parts = text.split(';').map(str::trim);
    let name = parts.next().filter(|n| is_token(n))?.to_string();
    let mut entry = Entry {
        name,
        desc: None,
        dur_ms: None,
    };
    for param in parts {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "desc" if entry.desc.is_none() => entry.desc = Some(value.to_string()),
            "dur" if entry.dur_ms.is_none() => {
                entry.dur_ms = value.parse::<f64>().ok().filter(|d| d.is_finite() && *d >= 0.0);
            }
            _ => {}
        }
    }
    Some(entry)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TOKEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Counts one component's entries in
/// `server_timing_entries_total{component, entry, desc}` and their durations in
/// `server_timing_duration_seconds{component, entry}`.
pub struct Recorder {
    metrics: Metrics,
    component: Arc<str>,
    seen: Mutex<HashSet<(String, String)>>,
}

impl Recorder {
    pub fn new(metrics: Metrics, component: Arc<str>) -> Self {
        Recorder {
            metrics,
            component,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Records the entries of a response's headers, and removes the header
    /// unless `keep`.
    pub fn consume(&self, headers: &mut HeaderMap, keep: bool) {
        if !headers.contains_key(SERVER_TIMING) {
            return;
        }
        for entry in parse(headers) {
            self.record(&entry);
        }
        if !keep {
            headers.remove(SERVER_TIMING);
        }
    }

    fn record(&self, entry: &Entry) {
        let desc = entry.desc.as_deref().filter(|d| is_token(d)).unwrap_or("");
        let (name, desc) = self.bounded(&entry.name, desc);
        self.metrics
            .server_timing_entries
            .with_label_values(&[&*self.component, name, desc])
            .inc();
        if let Some(ms) = entry.dur_ms {
            self.metrics
                .server_timing_duration
                .with_label_values(&[&*self.component, name])
                .observe(ms / 1e3);
        }
    }

    /// Removes every series this recorder made (its component left the app).
    pub fn retire(&self) {
        let seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut names = HashSet::new();
        for (name, desc) in seen
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_str()))
            .chain([("other", "other")])
        {
            let _ = self
                .metrics
                .server_timing_entries
                .remove_label_values(&[&*self.component, name, desc]);
            names.insert(name);
        }
        for name in names {
            let _ = self
                .metrics
                .server_timing_duration
                .remove_label_values(&[&*self.component, name]);
        }
    }

    /// The label pair to use: the entry's own while the series budget lasts.
    fn bounded<'a>(&self, name: &'a str, desc: &'a str) -> (&'a str, &'a str) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (name.to_string(), desc.to_string());
        if seen.contains(&key) {
            return (name, desc);
        }
        if seen.len() < MAX_SERIES {
            seen.insert(key);
            (name, desc)
        } else {
            ("other", "other")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(SERVER_TIMING, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn entries_from_every_header_value_in_order() {
        let parsed = parse(&headers(&[
            "upstream;desc=corrupt;dur=12.5, upstream;desc=ok;dur=3",
            "validate;dur=0.25, cache;desc=\"hit\"",
        ]));
        let names: Vec<_> = parsed
            .iter()
            .map(|e| (e.name.as_str(), e.desc.as_deref(), e.dur_ms))
            .collect();
        assert_eq!(
            names,
            [
                ("upstream", Some("corrupt"), Some(12.5)),
                ("upstream", Some("ok"), Some(3.0)),
                ("validate", None, Some(0.25)),
                ("cache", Some("hit"), None),
            ]
        );
    }

    #[test]
    fn malformed_entries_and_values_are_skipped() {
        let parsed = parse(&headers(&[
            "bad name;dur=1, ;dur=2, x;dur=-1, y;dur=NaN, z;dur=abc;desc=d, w;flag",
        ]));
        let kept: Vec<_> = parsed.iter().map(|e| (e.name.as_str(), e.dur_ms)).collect();
        assert_eq!(kept, [("x", None), ("y", None), ("z", None), ("w", None)]);
        assert_eq!(parsed[2].desc.as_deref(), Some("d"));
    }

    #[test]
    fn label_values_stay_bounded_whatever_the_component_sends() {
        let metrics = Metrics::new();
        let recorder = Recorder::new(metrics.clone(), "c".into());
        for i in 0..(MAX_SERIES + 50) {
            let mut h = headers(&[&format!("n{i};desc=d{i};dur=1")]);
            recorder.consume(&mut h, false);
            assert!(h.get(SERVER_TIMING).is_none(), "stripped");
        }
        let text = String::from_utf8(metrics.render()).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("server_timing_entries_total{"))
            .count();
        assert_eq!(series, MAX_SERIES + 1, "the budget plus `other`");
        assert!(text.contains(r#"server_timing_entries_total{component="c",desc="other",entry="other"} 50"#));
        // A long description is not a label value.
        let mut h = headers(&[&format!("n0;desc={}", "x".repeat(100))]);
        recorder.consume(&mut h, true);
        assert!(h.get(SERVER_TIMING).is_some(), "kept when asked");
    }

    #[test]
    fn one_component_cannot_spend_anothers_budget() {
        let metrics = Metrics::new();
        let relay = Recorder::new(metrics.clone(), "relay".into());
        let proxy = Recorder::new(metrics.clone(), "doc-proxy".into());
        for i in 0..(MAX_SERIES * 2) {
            relay.consume(&mut headers(&[&format!("upstream;desc=d{i}")]), false);
        }
        proxy.consume(&mut headers(&["upstream;desc=corrupt;dur=2"]), false);
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains(r#"server_timing_entries_total{component="doc-proxy",desc="corrupt",entry="upstream"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"server_timing_entries_total{component="relay",desc="other",entry="other"} 64"#));
    }

    #[test]
    fn a_retired_recorder_leaves_no_series() {
        let metrics = Metrics::new();
        let relay = Recorder::new(metrics.clone(), "relay".into());
        let proxy = Recorder::new(metrics.clone(), "doc-proxy".into());
        for i in 0..(MAX_SERIES + 3) {
            relay.consume(&mut headers(&[&format!("upstream;desc=d{i};dur=1")]), false);
        }
        proxy.consume(&mut headers(&["upstream;desc=ok;dur=2"]), false);
        relay.retire();
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(!text.contains(r#"component="relay""#), "{text}");
        assert!(text.contains(r#"component="doc-proxy""#), "{text}");
    }
}
