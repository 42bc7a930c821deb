//! Structured logs: one JSON object per line on stderr, for the host's own events
//! and for the lines components write. The field names (`time`, `severity`,
//! `message`) are the ones GKE's logging agent lifts into its log entries.

use serde_json::{Map, Value};
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the JSON layer with `filter` (EnvFilter syntax, e.g. `info`).
pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)?;
    tracing_subscriber::registry().with(filter).with(JsonLines).try_init()?;
    Ok(())
}

/// Writes one log line: `fields` plus `time` and `severity`.
pub fn write_line(severity: &str, mut fields: Map<String, Value>) {
    let mut line = Map::new();
    line.insert(
        "time".into(),
        humantime::format_rfc3339_micros(std::time::SystemTime::now())
            .to_string()
            .into(),
    );
    line.insert("severity".into(), severity.into());
    line.append(&mut fields);
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    // One write call per line keeps concurrent lines whole.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Orders severities, so a minimum can be applied: DEBUG < INFO < WARNING < ERROR
/// (the order of [`crate::cli::GuestLogLevel`]).
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
