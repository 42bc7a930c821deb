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

/// One scripted upstream serving every file of `files` (`/{n}` the n-th, from 1, labelled
/// by its extension) and one doc-proxy in front of it that makes one attempt:
/// the replies, in order.
async fn through_doc_proxy(files: &[PathBuf]) -> Vec<test_harness::Reply> {
    let served: Vec<(&'static str, Vec<u8>)> = files
        .iter()
        .map(|path| (mime_type(path), std::fs::read(path).unwrap()))
        .collect();
    let upstream = ScriptedUpstream::start_by_path(move |_, path| {
        let n: usize = path.trim_start_matches('/').parse().expect("/{n}");
        let (label, body) = &served[n - 1];
        Script::ok(label, body.clone())
    })
    .await;
    let proxy = start_doc_proxy(&upstream.url(), &["MAX_CONTENT_ATTEMPTS=1"]);
    let mut replies = Vec::new();
    for n in 1..=files.len() {
        replies.push(request(proxy.public, "GET", &format!("/{n}"), &[]).await);
    }
    replies
}

#[tokio::test]
async fn valid_documents_are_served_unchanged() {
    let files = corpus("valid");
    for (path, reply) in files.iter().zip(through_doc_proxy(&files).await) {
        let body = std::fs::read(path).unwrap();
        assert_eq!(
            reply.status,
            200,
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(
            reply.header("content-type"),
            Some(mime_type(path)),
            "{}",
            path.display()
        );
        assert!(reply.body == body, "{}: the body changed on the way", path.display());
    }
}

#[tokio::test]
async fn damaged_documents_are_refused() {
    let files = corpus("damaged");
    for (path, reply) in files.iter().zip(through_doc_proxy(&files).await) {
        let problem = reply.problem(502);
        assert_eq!(problem["attempts"], 1, "{}", path.display());
    }
}
