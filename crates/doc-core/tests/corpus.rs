//! Documents real tools made (`corpus/make-corpus.sh`: qpdf and Ghostscript
//! rewrites of the project's fixture PDF, ImageMagick/optipng/pngcrush
//! re-encodings of its fixture PNG, documents from Pillow, reportlab, pikepdf,
//! MuPDF and poppler, and damaged copies): every file in `corpus/valid` must be
//! accepted as the kind its extension names, and every file in
//! `corpus/damaged` refused.

use doc_core::document::pdf::PdfLimits;
use doc_core::{validate, DocumentKind};
use std::path::{Path, PathBuf};

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_valid_document_is_accepted() {
    let files = files("valid");
    assert!(files.len() >= 39, "the corpus lost files: {files:?}");
    let refused: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let expected = match path.extension().and_then(|e| e.to_str()) {
                Some("pdf") => DocumentKind::Pdf,
                Some("png") => DocumentKind::Png,
                other => panic!("{}: unexpected extension {other:?}", path.display()),
            };
            let verdict = validate(&std::fs::read(path).unwrap(), &PdfLimits::default());
            (verdict != Ok(expected)).then(|| format!("{}: {verdict:?}", path.display()))
        })
        .collect();
    assert!(refused.is_empty(), "refused valid documents:\n{}", refused.join("\n"));
}

#[test]
fn every_damaged_document_is_refused() {
    let files = files("damaged");
    assert!(files.len() >= 24, "the corpus lost files: {files:?}");
    let accepted: Vec<String> = files
        .iter()
        .filter(|path| validate(&std::fs::read(path).unwrap(), &PdfLimits::default()).is_ok())
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        accepted.is_empty(),
        "accepted damaged documents:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn ciphertext_of_the_wrong_shape_is_refused() {
    // One byte short of whole AES blocks, every offset still right: only the
    // ciphertext-shape check can see it.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/damaged/encrypted-stream-short.pdf");
    let verdict = doc_core::document::pdf::validate(&std::fs::read(path).unwrap(), &PdfLimits::default());
    assert!(
        matches!(verdict, Err(doc_core::document::pdf::PdfError::Ciphertext { .. })),
        "{verdict:?}"
    );
}
