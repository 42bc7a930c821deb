//! docs/configuration.md's two references are generated from the code: the
//! component's settings from `doc_core::config::KNOBS`, the host's flags from
//! their clap declarations. This test fails when the file differs from what
//! the code says, and rewrites the generated parts with `UPDATE_DOCS=1`
//! (`make docs`); the prose around them is left as written.

use std::path::PathBuf;

fn configuration_md() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md")
}

/// `text` with the lines between `<!-- BEGIN generated: NAME ... -->` and
/// `<!-- END generated: NAME -->` replaced by `content`; an error names a
/// missing or unordered marker.
fn with_region(text: &str, name: &str, content: &str) -> Result<String, String> {
    let begin = format!("<!-- BEGIN generated: {name} ");
    let end = format!("<!-- END generated: {name} -->");
    let start = text.find(&begin).ok_or(format!("no {begin}… marker"))?;
    let body = start + text[start..].find('\n').ok_or("a marker ends the file")? + 1;
    let stop = text[body..].find(&end).ok_or(format!("no {end} after {begin}…"))? + body;
    Ok(format!("{}{}{}", &text[..body], content, &text[stop..]))
}

fn generated(text: &str) -> Result<String, String> {
    let text = with_region(text, "component settings", &doc_core::config::settings_reference())?;
    with_region(&text, "host flags", &doc_proxy_host::cli::flag_reference())
}

#[test]
fn the_configuration_reference_is_what_the_code_declares() {
    let path = configuration_md();
    let written = std::fs::read_to_string(&path).unwrap();
    let expected = generated(&written).unwrap();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        written == expected,
        "{} differs from the code's flags and settings: run `make docs`",
        path.display()
    );
}

#[test]
fn a_stale_or_unmarked_reference_is_caught() {
    let written = std::fs::read_to_string(configuration_md()).unwrap();
    let expected = generated(&written).unwrap();
    let stale = expected.replacen("| `max_attempts` | 3 |", "| `max_attempts` | 4 |", 1);
    assert_ne!(stale, expected, "the settings table names max_attempts");
    assert_eq!(generated(&stale).unwrap(), expected, "a stale row is regenerated");
    let stale = expected.replacen("`--request-timeout`", "`--request-timeout-old`", 1);
    assert_ne!(generated(&stale).unwrap(), stale, "a stale flag is caught");
    let unmarked = expected.replace("<!-- END generated: host flags -->", "");
    assert!(generated(&unmarked).is_err(), "a missing marker is an error");
}
