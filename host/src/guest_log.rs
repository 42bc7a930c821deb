//! Captures a component's stdout and stderr per request and re-emits each line
//! as a host log line carrying the request id. A JSON object line keeps its
//! fields (`msg` becomes `message`, `level` sets the severity); any other line
//! becomes the `message`. Lines below the minimum severity are dropped, and
//! output per request and stream is capped.

use crate::logging::{severity_of_guest_level, severity_rank, write_line};
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

/// One request's output stream (`stdout` or `stderr`), shared by every handle the
/// guest opens on it.
#[derive(Clone)]
pub struct GuestOutput(Arc<Mutex<LineSink>>);

impl GuestOutput {
    pub fn new(stream: &'static str, request_id: &str, settings: &GuestLogSettings) -> Self {
        GuestOutput(Arc::new(Mutex::new(LineSink {
            stream,
            request_id: request_id.to_string(),
            budget: settings.budget,
            settings: settings.clone(),
            partial: Vec::new(),
            truncated: false,
        })))
    }
}

struct LineSink {
    stream: &'static str,
    request_id: String,
    settings: GuestLogSettings,
    partial: Vec<u8>,
    budget: usize,
    truncated: bool,
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
        if text.len() > self.budget {
            if !self.truncated {
                self.truncated = true;
                let mut fields = self.context();
                fields.insert(
                    "message".into(),
                    "component output limit reached; further lines dropped".into(),
                );
                write_line("WARNING", fields);
            }
            return;
        }
        self.budget -= text.len();

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
        if severity_rank(severity) < self.settings.min_rank {
            return;
        }
        fields.append(&mut self.context());
        write_line(severity, fields);
    }

    /// Fields the host adds; they win over the guest's of the same name.
    fn context(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("request_id".into(), self.request_id.clone().into());
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
