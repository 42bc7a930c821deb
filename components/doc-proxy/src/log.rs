//! Structured log lines on stderr, one JSON object per line. Hosts capture
//! stderr: ours adds a timestamp and its own request id; Spin prints it as is.

use serde_json::{json, Map, Value};
use std::io::Write;

/// Writes `{"level":…, "msg":…, …fields}` as one line.
pub fn emit(level: &str, msg: &str, fields: Value) {
    let mut line = Map::new();
    line.insert("level".into(), json!(level));
    line.insert("msg".into(), json!(msg));
    if let Value::Object(extra) = fields {
        line.extend(extra);
    }
    // Formatted first, then written at once: stderr is unbuffered, and
    // `eprintln!` would hand the host every fragment the JSON formatter
    // writes (each key, quote and value) as a write of its own, each a host
    // call, and a host that interleaves output could split the line.
    let mut text = match serde_json::to_vec(&Value::Object(line)) {
        Ok(text) => text,
        Err(_) => return,
    };
    text.push(b'\n');
    let _ = std::io::stderr().write_all(&text);
}
