//! Structured logs: one JSON object per line on stderr, for the host's own events
//! and for the lines components write. The field names (`time`, `severity`,
//! `message`) are the ones GKE's logging agent lifts into its log entries.
//!
//! Lines go through a bounded queue to one writer thread: a log pipe that
//! stalls (a slow collector, a full disk) must not stall request handling, so
//! when the queue is full a line is dropped and counted in
//! `log_lines_dropped_total` instead.

use serde_json::{Map, Value};
use std::io::Write;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Log lines that did not fit in the queue; registered by `ops::metrics`.
pub static DROPPED: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::IntCounter::new(
        "log_lines_dropped_total",
        "Log lines dropped because the log output could not keep up (the queue was full).",
    )
    .expect("valid metric")
});

enum Message {
    Line(String),
    /// Answered once every line queued before it is written.
    Flush(mpsc::Sender<()>),
}

static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();

/// Installs the JSON layer with `filter` (EnvFilter syntax, e.g. `info`) and
/// starts the writer thread with room for `queue_lines` lines.
pub fn init(filter: &str, queue_lines: usize) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)?;
    let (sender, receiver) = mpsc::sync_channel::<Message>(queue_lines);
    std::thread::Builder::new().name("log-writer".into()).spawn(move || {
        for message in receiver {
            match message {
                // One write call per line keeps lines whole.
                Message::Line(text) => {
                    let _ = std::io::stderr().lock().write_all(text.as_bytes());
                }
                Message::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    })?;
    let _ = QUEUE.set(sender);
    tracing_subscriber::registry().with(filter).with(JsonLines).try_init()?;
    Ok(())
}

/// Waits up to `limit` for the queued lines to be written (before exiting).
pub fn flush(limit: Duration) {
    let Some(queue) = QUEUE.get() else { return };
    let (done, written) = mpsc::channel();
    let deadline = Instant::now() + limit;
    let mut message = Message::Flush(done);
    loop {
        match queue.try_send(message) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                message = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return,
        }
    }
    let _ = written.recv_timeout(deadline.saturating_duration_since(Instant::now()));
}

/// Writes one log line: `fields` plus `time` and `severity`, which are the
/// host's even when `fields` has its own.
pub fn write_line(severity: &str, fields: Map<String, Value>) {
    let mut text = Value::Object(with_host_fields(severity, fields)).to_string();
    text.push('\n');
    match QUEUE.get() {
        Some(queue) => match queue.try_send(Message::Line(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => DROPPED.inc(),
            Err(TrySendError::Disconnected(Message::Line(text))) => {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
            Err(TrySendError::Disconnected(_)) => {}
        },
        // Before `init` (and in unit tests): straight to stderr.
        None => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// `fields` with the host's `time` and `severity`, replacing any of those names.
fn with_host_fields(severity: &str, mut fields: Map<String, Value>) -> Map<String, Value> {
    fields.insert(
        "time".into(),
        humantime::format_rfc3339_micros(std::time::SystemTime::now())
            .to_string()
            .into(),
    );
    fields.insert("severity".into(), severity.into());
    fields
}

/// Orders severities, so a minimum can be applied: DEBUG < INFO < WARNING < ERROR
/// (the order of `--guest-log-level`'s values).
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "DEBUG" => 0,
        "INFO" => 1,
        "WARNING" => 2,
        _ => 3,
    }
}

/// Maps a guest's `level` field (`info`, `warn`, …) to a severity.
pub fn severity_of_guest_level(level: Option<&str>) -> &'static str {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("error") => "ERROR",
        Some("warn" | "warning") => "WARNING",
        Some("debug" | "trace") => "DEBUG",
        _ => "INFO",
    }
}

fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

struct JsonLines;

impl<S: Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldMap(Map::new());
        event.record(&mut fields);
        let mut fields = fields.0;
        fields.insert("target".into(), event.metadata().target().into());
        write_line(severity(event.metadata().level()), fields);
    }
}

struct FieldMap(Map<String, Value>);

impl Visit for FieldMap {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_fields_cannot_replace_time_or_severity() {
        // write_line's merge, without the writer: the same insert order.
        let mut fields = Map::new();
        fields.insert("severity".into(), "DEBUG".into());
        fields.insert("time".into(), "1970-01-01T00:00:00Z".into());
        fields.insert("message".into(), "hi".into());
        let line = with_host_fields("ERROR", fields);
        assert_eq!(line["severity"], "ERROR");
        assert_ne!(line["time"], "1970-01-01T00:00:00Z");
        assert_eq!(line["message"], "hi");
    }
}
