//! Structured log lines on stderr, one JSON object per line. Hosts capture
//! stderr: ours adds a timestamp and its own request id; Spin prints it as is.

use serde_json::{json, Map, Value};

/// Writes `{"level":…, "msg":…, …fields}` as one line.
pub fn emit(level: &str, msg: &str, fields: Value) {
    let mut line = Map::new();
    line.insert("level".into(), json!(level));
    line.insert("msg".into(), json!(msg));
    if let Value::Object(extra) = fields {
        line.extend(extra);
    }
    // One write per line keeps lines whole when a host interleaves output.
    eprintln!("{}", Value::Object(line));
}
