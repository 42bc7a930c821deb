//! The validator's corpus (`crates/doc-core/tests/corpus`: re-encodings of
//! the fixture PDF and PNG by real tools, and damaged copies) end to end: each
//! file, served by a scripted upstream, goes through doc-proxy on a real host.
//! Valid documents arrive byte for byte with the MIME type of their kind;
//! damaged ones become a 502 problem.

use std::path::{Path, PathBuf};
use test_harness::{request, start_doc_proxy, Script, ScriptedUpstream};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/doc-core/tests/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 14, "{}: the corpus lost files", dir.display());
    files
}

/// The MIME type of a corpus file, from its extension.
fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        other => panic!("{}: unexpected extension {other:?}", path.display()),
    }
}

/// Serves the file at `path` (labelled by its extension) from a scripted
/// upstream through a fresh doc-proxy that makes one attempt, and returns the
/// reply.
async fn through_doc_proxy(path: &Path) -> test_harness::Reply {
    let body = std::fs::read(path).unwrap();
    let label = mime_type(path);
    let upstream = ScriptedUpstream::start(move |_| Script::ok(label, body.clone())).await;
    let proxy = start_doc_proxy(&upstream.url(), &["MAX_CONTENT_ATTEMPTS=1"]);
    request(proxy.public, "GET", "/42", &[]).await
}

#[tokio::test]
async fn valid_documents_are_served_unchanged() {
    for path in corpus("valid") {
        let body = std::fs::read(&path).unwrap();
        let reply = through_doc_proxy(&path).await;
        assert_eq!(
            reply.status,
            200,
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(
            reply.header("content-type"),
            Some(mime_type(&path)),
            "{}",
            path.display()
        );
        assert!(reply.body == body, "{}: the body changed on the way", path.display());
    }
}

#[tokio::test]
async fn damaged_documents_are_refused() {
    for path in corpus("damaged") {
        let reply = through_doc_proxy(&path).await;
        let problem = reply.problem(502);
        assert_eq!(problem["attempts"], 1, "{}", path.display());
    }
}
