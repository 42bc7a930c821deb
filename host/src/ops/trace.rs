//! W3C Trace Context (`traceparent`, `tracestate`): the host joins each request
//! to its caller's trace, or starts one, and passes it on, so one trace id
//! links the client's logs, ours, the component's and the upstream's.
//!
//! The host is one span per request: the component receives a `traceparent`
//! naming that span as parent, and every outbound call the component makes
//! without its own `traceparent` gets one with a new span id of the same trace.
//! Spans are not exported; the ids are for joining logs (`docs/logging.md`).

use http::{HeaderMap, HeaderValue};

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
/// The spec's limit for `tracestate`; longer values are dropped, not cut.
const MAX_TRACESTATE: usize = 512;

/// The trace a request belongs to, and its span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: u128,
    pub span_id: u64,
    /// The caller's span, when the request came with a valid `traceparent`.
    pub parent_span_id: Option<u64>,
    /// Trace flags (bit 0: sampled), passed on as received.
    pub flags: u8,
    pub tracestate: Option<HeaderValue>,
}

impl TraceContext {
    /// A span for a request with `headers`: in the caller's trace when its
    /// `traceparent` is valid, in a new trace otherwise.
    pub fn for_request(headers: &HeaderMap) -> TraceContext {
        let parent = headers
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_traceparent);
        match parent {
            Some((trace_id, parent_span_id, flags)) => TraceContext {
                trace_id,
                span_id: new_span_id(),
                parent_span_id: Some(parent_span_id),
                flags,
                tracestate: headers.get(TRACESTATE).filter(|v| v.len() <= MAX_TRACESTATE).cloned(),
            },
            None => TraceContext {
                trace_id: new_trace_id(),
                span_id: new_span_id(),
                parent_span_id: None,
                flags: 0,
                tracestate: None,
            },
        }
    }

    /// A new span of the same trace whose parent is this one.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            span_id: new_span_id(),
            parent_span_id: Some(self.span_id),
            ..self.clone()
        }
    }

    /// The `traceparent` that names this span as the parent.
    pub fn traceparent(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "00-{}-{}-{:02x}",
            self.trace_id_hex(),
            self.span_id_hex(),
            self.flags
        ))
        .expect("hex digits and dashes are a valid header value")
    }

    /// Sets `traceparent` (and `tracestate`, when there is one) in `headers`,
    /// naming this span as the parent.
    pub fn inject(&self, headers: &mut HeaderMap) {
        headers.insert(TRACEPARENT, self.traceparent());
        match &self.tracestate {
            Some(state) => headers.insert(TRACESTATE, state.clone()),
            None => headers.remove(TRACESTATE),
        };
    }

    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    pub fn parent_span_id_hex(&self) -> Option<String> {
        self.parent_span_id.map(|id| format!("{id:016x}"))
    }
}

/// `(trace id, parent span id, flags)` of a valid `traceparent`. Version 00 must
/// be exactly 55 characters; a later version may append fields after a dash,
/// which are ignored, as the spec asks. All-zero ids and version `ff` are invalid.
fn parse_traceparent(value: &str) -> Option<(u128, u64, u8)> {
    let value = value.trim();
    let bytes = value.as_bytes();
    if bytes.len() < 55 || !value.is_char_boundary(55) {
        return None;
    }
    let (head, rest) = value.split_at(55);
    let version = hex_field(&head[0..2])? as u8;
    if version == 0xff || (version == 0 && !rest.is_empty()) || (!rest.is_empty() && !rest.starts_with('-')) {
        return None;
    }
    if [2, 35, 52].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let trace_id = hex_field(&head[3..35])?;
    let span_id = hex_field(&head[36..52])? as u64;
    let flags = hex_field(&head[53..55])? as u8;
    (trace_id != 0 && span_id != 0).then_some((trace_id, span_id, flags))
}

/// Lower-case hex only, as the spec requires.
fn hex_field(field: &str) -> Option<u128> {
    if !field.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u128::from_str_radix(field, 16).ok()
}

fn new_trace_id() -> u128 {
    // A v4 UUID's 122 random bits; never zero (its version bits are set).
    uuid::Uuid::new_v4().as_u128()
}

fn new_span_id() -> u64 {
    // The low half holds the variant bits, so it is never zero.
    uuid::Uuid::new_v4().as_u128() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_valid_traceparent_is_joined_with_a_new_span() {
        let trace = TraceContext::for_request(&headers(&[(TRACEPARENT, VALID), (TRACESTATE, "vendor=x")]));
        assert_eq!(trace.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.parent_span_id, Some(0x00f0_67aa_0ba9_02b7));
        assert_ne!(trace.span_id, 0x00f0_67aa_0ba9_02b7);
        assert_eq!(trace.flags, 1);
        let mut out = HeaderMap::new();
        trace.inject(&mut out);
        let sent = out[TRACEPARENT].to_str().unwrap();
        assert_eq!(
            sent,
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", trace.span_id_hex())
        );
        assert_eq!(out[TRACESTATE], "vendor=x");
    }

    #[test]
    fn invalid_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            let trace = TraceContext::for_request(&headers(&[(TRACEPARENT, bad), (TRACESTATE, "vendor=x")]));
            assert_eq!(trace.parent_span_id, None, "{bad:?}");
            assert_ne!(trace.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736", "{bad:?}");
            assert_eq!(trace.tracestate, None, "a new trace does not inherit state: {bad:?}");
        }
        assert_eq!(TraceContext::for_request(&HeaderMap::new()).flags, 0);
    }

    #[test]
    fn a_later_version_may_append_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        let trace = TraceContext::for_request(&headers(&[(TRACEPARENT, later)]));
        assert_eq!(trace.parent_span_id, Some(0x00f0_67aa_0ba9_02b7));
    }

    #[test]
    fn children_share_the_trace_and_name_their_parent() {
        let trace = TraceContext::for_request(&HeaderMap::new());
        let child = trace.child();
        assert_eq!(child.trace_id, trace.trace_id);
        assert_eq!(child.parent_span_id, Some(trace.span_id));
        assert_ne!(child.span_id, trace.span_id);
        assert_ne!(trace.trace_id, 0);
    }

    #[test]
    fn an_oversized_tracestate_is_dropped() {
        let long = "a=".to_string() + &"b".repeat(600);
        let trace = TraceContext::for_request(&headers(&[(TRACEPARENT, VALID), (TRACESTATE, &long)]));
        assert_eq!(trace.tracestate, None);
    }
}
