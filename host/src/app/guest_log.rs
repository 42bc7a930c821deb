//! Captures a component's stdout and stderr per request and re-emits each line
//! as a host log line carrying the request id. A JSON object line keeps its
//! fields (`msg` becomes `message`, `level` sets the severity); any other line
//! becomes the `message`. Lines below the minimum severity are dropped, and
//! output per request and stream is capped.

use crate::ops::logging::{severity_of_guest_level, severity_rank, write_line};
use crate::ops::trace::TraceContext;
use serde_json::{Map, Value};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// A line longer than this is emitted in pieces.
const MAX_LINE: usize = 16 * 1024;

/// How a host treats its components' output.
#[derive(Clone)]
pub struct GuestLogSettings {
    /// Named in every line, so logs say which component wrote it.
    pub component: Arc<str>,
    /// Bytes re-emitted per request and stream.
    pub budget: usize,
    /// Lines of lower severity are dropped ([`severity_rank`]).
    pub min_rank: u8,
}

/// The fields every line of one request carries: its id, its trace and span,
/// and the SHA-256 of the component version serving it (reloads change it).
/// Formatted once per request and shared by its stdout and stderr.
pub fn request_fields(request_id: &str, trace: &TraceContext, component_sha256: &str) -> Arc<Map<String, Value>> {
    let mut fields = Map::new();
    fields.insert("request_id".into(), request_id.into());
    fields.insert("trace_id".into(), trace.trace_id_hex().into());
    fields.insert("span_id".into(), trace.span_id_hex().into());
    if let Some(parent) = trace.parent_span_id_hex() {
        fields.insert("parent_span_id".into(), parent.into());
    }
    fields.insert("component_sha256".into(), component_sha256.into());
    Arc::new(fields)
}

/// One request's output stream (`stdout` or `stderr`), shared by every handle the
/// guest opens on it.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<LineSink>>);

impl GuestOutput {
    /// `request` is [`request_fields`] of the request the stream belongs to.
    pub fn new(stream: &'static str, request: Arc<Map<String, Value>>, settings: &GuestLogSettings) -> Self {
        GuestOutput(Arc::new(Mutex::new(LineSink {
            stream,
            request,
            budget: settings.budget,
            settings: settings.clone(),
            partial: Vec::new(),
            truncated: false,
            emit: write_line,
        })))
    }

    /// Hands the stream to the next request of a reused instance
    /// (`app::reuse`): a line the last request left unfinished is written
    /// under that request, and the new one gets its own fields and a whole
    /// budget. Handles the guest kept from earlier requests write here too.
    pub fn retarget(&self, request: Arc<Map<String, Value>>) {
        let mut sink = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !sink.partial.is_empty() {
            sink.flush_line();
        }
        sink.request = request;
        sink.budget = sink.settings.budget;
        sink.truncated = false;
    }
}

struct LineSink {
    stream: &'static str,
    request: Arc<Map<String, Value>>,
    settings: GuestLogSettings,
    partial: Vec<u8>,
    budget: usize,
    truncated: bool,
    /// Where finished lines go: [`write_line`], or a test's collector.
    emit: fn(&str, Map<String, Value>),
}

impl LineSink {
    fn write(&mut self, mut bytes: &[u8]) {
        while let Some(newline) = bytes.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&bytes[..newline]);
            self.flush_line();
            bytes = &bytes[newline + 1..];
        }
        self.partial.extend_from_slice(bytes);
        while self.partial.len() > MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            self.flush_line();
            self.partial = rest;
        }
    }

    fn flush_line(&mut self) {
        let line = std::mem::take(&mut self.partial);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            return;
        }
        if self.truncated {
            return;
        }

        let (severity, mut fields) = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(mut map)) => {
                let level = map.remove("level");
                let severity = severity_of_guest_level(level.as_ref().and_then(Value::as_str));
                if let Some(msg) = map.remove("msg") {
                    map.insert("message".into(), msg);
                }
                (severity, map)
            }
            _ => {
                let mut map = Map::new();
                map.insert("message".into(), text.into());
                (if self.stream == "stderr" { "WARNING" } else { "INFO" }, map)
            }
        };
        // Filtered lines cost nothing: the budget is for what is written.
        if severity_rank(severity) < self.settings.min_rank {
            return;
        }
        if text.len() > self.budget {
            // Once over, every later line is dropped too, however short: the
            // log says where the output stopped, not a sample of the rest.
            self.truncated = true;
            let mut fields = self.context();
            fields.insert(
                "message".into(),
                "component output limit reached; further lines dropped".into(),
            );
            (self.emit)("WARNING", fields);
            return;
        }
        self.budget -= text.len();
        fields.append(&mut self.context());
        (self.emit)(severity, fields);
    }

    /// Fields the host adds; they win over the guest's of the same name.
    fn context(&self) -> Map<String, Value> {
        let mut fields = (*self.request).clone();
        fields.insert("component".into(), self.settings.component.to_string().into());
        fields.insert("stream".into(), self.stream.into());
        fields
    }
}

impl Drop for LineSink {
    fn drop(&mut self) {
        // The store is gone: emit a last line the guest did not end.
        if !self.partial.is_empty() {
            self.flush_line();
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        // Lines are written out synchronously: each is one short stderr write.
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static EMITTED: RefCell<Vec<(String, Map<String, Value>)>> = const { RefCell::new(Vec::new()) };
    }

    fn collect(severity: &str, fields: Map<String, Value>) {
        EMITTED.with(|e| e.borrow_mut().push((severity.to_string(), fields)));
    }

    /// Writes `output` to a stdout sink with `budget` bytes and minimum
    /// severity INFO; returns the (severity, message) of each emitted line.
    fn run(output: &str, budget: usize) -> Vec<(String, String)> {
        EMITTED.with(|e| e.borrow_mut().clear());
        let settings = GuestLogSettings {
            component: "test".into(),
            budget,
            min_rank: severity_rank("INFO"),
        };
        let mut sink = LineSink {
            stream: "stdout",
            request: request_fields("rid", &TraceContext::for_request(&http::HeaderMap::new()), "c"),
            budget,
            settings,
            partial: Vec::new(),
            truncated: false,
            emit: collect,
        };
        sink.write(output.as_bytes());
        drop(sink);
        EMITTED.with(|e| {
            e.borrow()
                .iter()
                .map(|(s, f)| (s.clone(), f["message"].as_str().unwrap_or_default().to_string()))
                .collect()
        })
    }

    #[test]
    fn json_lines_keep_their_fields_and_levels() {
        let lines = run("{\"level\":\"warn\",\"msg\":\"careful\",\"n\":1}\nplain text\n", 1024);
        assert_eq!(
            lines,
            [
                ("WARNING".into(), "careful".into()),
                ("INFO".into(), "plain text".into())
            ]
        );
    }

    #[test]
    fn filtered_lines_do_not_spend_the_budget() {
        // Fifty debug lines of 40 bytes would spend a 100-byte budget many times over.
        let debug = "{\"level\":\"debug\",\"msg\":\"0123456789012\"}\n".repeat(50);
        let lines = run(&format!("{debug}kept\n"), 100);
        assert_eq!(lines, [("INFO".into(), "kept".into())]);
    }

    #[test]
    fn after_the_limit_every_line_is_dropped_with_one_notice() {
        let lines = run("aaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbb\nc\nd\n", 15);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].1, "aaaaaaaaaa");
        assert_eq!(lines[1].0, "WARNING");
        assert!(lines[1].1.contains("limit reached"), "{lines:?}");
    }
}
