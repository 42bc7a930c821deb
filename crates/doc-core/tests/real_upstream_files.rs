//! The three files the real upstream serves (`../shared/upstream` beside the repo)
//! are the strictest check we have: the validator must accept the PDF and the PNG
//! and reject the corrupt PDF, whose magic bytes and trailer look fine.
//!
//! The folder is outside the repo. When it is absent these tests fail unless
//! `DOC_PROXY_NO_SHARED=1` says so explicitly: a silent skip would report a
//! check as passing that never ran.

use doc_core::document::pdf::PdfLimits;
use doc_core::{validate, DocumentKind, Rejection};
use std::path::PathBuf;

fn shared_file(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("DOC_PROXY_SHARED_UPSTREAM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream"));
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => Some(bytes),
        Err(e) if std::env::var("DOC_PROXY_NO_SHARED").as_deref() == Ok("1") => {
            eprintln!("shared upstream files not available ({e}); DOC_PROXY_NO_SHARED=1 set");
            None
        }
        Err(e) => panic!(
            "cannot read {}: {e} (set DOC_PROXY_SHARED_UPSTREAM, or DOC_PROXY_NO_SHARED=1)",
            dir.join(name).display()
        ),
    }
}

#[test]
fn real_pdf_is_accepted() {
    let Some(pdf) = shared_file("dummy.pdf") else { return };
    assert_eq!(pdf.len(), 13264);
    assert_eq!(validate(&pdf, &PdfLimits::default()), Ok(DocumentKind::Pdf));
    let info = doc_core::document::pdf::validate(&pdf, &PdfLimits::default()).unwrap();
    // The three Flate streams inflate to 189 + 23164 + 450 bytes.
    assert_eq!(info.inflated_bytes, 189 + 23164 + 450);
}

#[test]
fn real_png_is_accepted() {
    let Some(png) = shared_file("dummy.png") else { return };
    assert_eq!(validate(&png, &PdfLimits::default()), Ok(DocumentKind::Png));
    let info = doc_core::document::png::validate(&png).unwrap();
    assert_eq!((info.width, info.height), (1239, 1754));
}

#[test]
fn real_corrupt_pdf_is_rejected() {
    let Some(corrupt) = shared_file("corrupt-dummy.pdf") else {
        return;
    };
    assert!(corrupt.starts_with(b"%PDF-1.4"));
    let verdict = validate(&corrupt, &PdfLimits::default());
    assert!(matches!(verdict, Err(Rejection::Pdf(_))), "{verdict:?}");
}

#[test]
fn real_files_truncated_anywhere_are_rejected() {
    let (Some(pdf), Some(png)) = (shared_file("dummy.pdf"), shared_file("dummy.png")) else {
        return;
    };
    for doc in [&pdf, &png] {
        for cut in (1..doc.len()).step_by(97) {
            assert!(
                validate(&doc[..cut], &PdfLimits::default()).is_err(),
                "accepted a cut at {cut}"
            );
        }
    }
}

#[test]
fn real_files_with_a_flipped_byte_in_the_data_are_rejected() {
    let (Some(pdf), Some(png)) = (shared_file("dummy.pdf"), shared_file("dummy.png")) else {
        return;
    };
    // A flip inside the compressed stream data (not in a comment or string).
    let mut bad_pdf = pdf.clone();
    let stream = pdf.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    bad_pdf[stream + 40] ^= 0x55;
    assert!(validate(&bad_pdf, &PdfLimits::default()).is_err());
    for at in (8..png.len()).step_by(211) {
        let mut bad_png = png.clone();
        bad_png[at] ^= 0x01;
        assert!(
            validate(&bad_png, &PdfLimits::default()).is_err(),
            "accepted a flip at {at}"
        );
    }
}
