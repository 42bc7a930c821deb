//! The three files the real upstream serves (`../shared/upstream` beside the repo)
//! are the strictest check we have: the validator must accept the PDF and the PNG
//! and reject the corrupt PDF, whose magic bytes and trailer look fine.
//!
//! The folder is outside the repo. `build.rs` looks for it at build time: when
//! it is absent these tests are reported as ignored, with the reason, rather
//! than as passed.

use doc_core::document::pdf::PdfLimits;
use doc_core::{validate, DocumentKind, Rejection};

fn shared_file(name: &str) -> Vec<u8> {
    #[cfg(shared_upstream)]
    let dir = std::path::Path::new(env!("DOC_PROXY_SHARED_DIR"));
    #[cfg(not(shared_upstream))]
    let dir = std::path::Path::new("../shared/upstream (absent)");
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(name).display()))
}

#[test]
#[cfg_attr(
    not(shared_upstream),
    ignore = "../shared/upstream is absent (set DOC_PROXY_SHARED_UPSTREAM)"
)]
fn real_pdf_is_accepted() {
    let pdf = shared_file("dummy.pdf");
    assert_eq!(pdf.len(), 13264);
    assert_eq!(validate(&pdf, &PdfLimits::default()), Ok(DocumentKind::Pdf));
    let info = doc_core::document::pdf::validate(&pdf, &PdfLimits::default()).unwrap();
    // The three Flate streams inflate to 189 + 23164 + 450 bytes.
    assert_eq!(info.inflated_bytes, 189 + 23164 + 450);
}

#[test]
#[cfg_attr(
    not(shared_upstream),
    ignore = "../shared/upstream is absent (set DOC_PROXY_SHARED_UPSTREAM)"
)]
fn real_png_is_accepted() {
    let png = shared_file("dummy.png");
    assert_eq!(validate(&png, &PdfLimits::default()), Ok(DocumentKind::Png));
    let info = doc_core::document::png::validate(&png, PdfLimits::default().max_inflated_bytes).unwrap();
    assert_eq!((info.width, info.height), (1239, 1754));
}

#[test]
#[cfg_attr(
    not(shared_upstream),
    ignore = "../shared/upstream is absent (set DOC_PROXY_SHARED_UPSTREAM)"
)]
fn real_corrupt_pdf_is_rejected() {
    let corrupt = shared_file("corrupt-dummy.pdf");
    assert!(corrupt.starts_with(b"%PDF-1.4"));
    let verdict = validate(&corrupt, &PdfLimits::default());
    assert!(matches!(verdict, Err(Rejection::Pdf(_))), "{verdict:?}");
}

#[test]
#[cfg_attr(
    not(shared_upstream),
    ignore = "../shared/upstream is absent (set DOC_PROXY_SHARED_UPSTREAM)"
)]
fn real_files_truncated_anywhere_are_rejected() {
    let (pdf, png) = (shared_file("dummy.pdf"), shared_file("dummy.png"));
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
#[cfg_attr(
    not(shared_upstream),
    ignore = "../shared/upstream is absent (set DOC_PROXY_SHARED_UPSTREAM)"
)]
fn real_files_with_a_flipped_byte_in_the_data_are_rejected() {
    let (pdf, png) = (shared_file("dummy.pdf"), shared_file("dummy.png"));
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
