//! The project's own fixtures (from `doc-fixtures`) against the validator, plus
//! the bad bodies an upstream can send with status 200.

use doc_core::document::pdf::PdfLimits;
use doc_core::{validate, DocumentKind, Rejection};

fn check(data: &[u8]) -> Result<DocumentKind, Rejection> {
    validate(data, &PdfLimits::default())
}

#[test]
fn fixtures_are_judged_like_the_real_files() {
    assert_eq!(check(&doc_fixtures::pdf()), Ok(DocumentKind::Pdf));
    assert_eq!(check(&doc_fixtures::png()), Ok(DocumentKind::Png));
    let verdict = check(&doc_fixtures::corrupt_pdf());
    assert!(matches!(verdict, Err(Rejection::Pdf(_))), "{verdict:?}");
}

#[test]
fn kinds_and_rejections_have_stable_names() {
    assert_eq!(DocumentKind::Pdf.to_string(), "pdf");
    assert_eq!(DocumentKind::Png.to_string(), "png");
    assert_eq!(Rejection::Empty.code(), "empty");
    assert_eq!(Rejection::Empty.to_string(), "empty body");
    let corrupt = check(&doc_fixtures::corrupt_pdf()).unwrap_err();
    assert!(corrupt.code().starts_with("pdf_"), "{}", corrupt.code());
    assert!(corrupt.to_string().starts_with("invalid PDF: "), "{corrupt}");
    let mut png = doc_fixtures::png();
    let last = png.len() - 1;
    png[last] ^= 1; // the IEND CRC
    let bad_png = check(&png).unwrap_err();
    assert_eq!(bad_png.code(), "png_crc");
    assert!(
        bad_png.to_string().starts_with("invalid PNG: CRC mismatch"),
        "{bad_png}"
    );
}

#[test]
fn error_pages_and_empty_bodies_are_rejected() {
    assert_eq!(check(b""), Err(Rejection::Empty));
    let html = check(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>");
    assert_eq!(html, Err(Rejection::UnknownFormat { looks_like: "html" }));
    let xml = check(b"<note>not a document</note>");
    assert_eq!(xml, Err(Rejection::UnknownFormat { looks_like: "markup" }));
    let json = check(br#"{"error":"upstream exploded"}"#);
    assert_eq!(json, Err(Rejection::UnknownFormat { looks_like: "json" }));
    let array = check(b"[1, 2]");
    assert_eq!(array, Err(Rejection::UnknownFormat { looks_like: "json" }));
    let text = check(b"Service Unavailable\r\n");
    assert_eq!(text, Err(Rejection::UnknownFormat { looks_like: "text" }));
    let gif = check(b"GIF89a\x01\x00\x01\x00");
    assert_eq!(gif, Err(Rejection::UnknownFormat { looks_like: "binary" }));
    assert!(check(b"%PDF-").is_err());
    // The version must be digits: the fixture with `%PDF-x.y` is not a PDF.
    let mut lettered = doc_fixtures::pdf();
    lettered[5] = b'x';
    lettered[7] = b'y';
    let verdict = check(&lettered);
    assert!(
        matches!(verdict, Err(Rejection::Pdf(ref e)) if e.code() == "pdf_header"),
        "{verdict:?}"
    );
    for at in [5, 7] {
        let mut one = doc_fixtures::pdf();
        one[at] = b'x';
        assert!(check(&one).is_err(), "a letter at byte {at} passed");
    }
    assert!(check(b"\x89PNG\r\n\x1a\n").is_err());
}

#[test]
fn every_truncation_of_the_fixtures_is_rejected() {
    for doc in [doc_fixtures::pdf(), doc_fixtures::png()] {
        for cut in 0..doc.len() - 1 {
            // Cutting only the final end-of-line of a PDF leaves a complete file.
            let whole = doc.starts_with(b"%PDF") && doc[cut..].iter().all(|b| b.is_ascii_whitespace());
            if !whole {
                assert!(check(&doc[..cut]).is_err(), "accepted a cut at {cut} of {}", doc.len());
            }
        }
    }
}

#[test]
fn trailing_bytes_after_iend_are_rejected() {
    let mut png = doc_fixtures::png();
    png.extend_from_slice(b"junk");
    assert!(check(&png).is_err());
}

#[test]
fn a_wrong_stream_length_is_rejected() {
    let pdf = doc_fixtures::pdf();
    // Object 6 holds the content stream's length; make it one byte shorter.
    let marker = b"6 0 obj\r\n";
    let at = pdf.windows(marker.len()).position(|w| w == marker).unwrap() + marker.len();
    let end = at + pdf[at..].iter().position(|&b| b == b'\r').unwrap();
    let len: usize = std::str::from_utf8(&pdf[at..end]).unwrap().parse().unwrap();
    let shorter = format!("{:<width$}", len - 1, width = end - at);
    let mut bad = pdf.clone();
    bad[at..end].copy_from_slice(shorter.as_bytes());
    let verdict = check(&bad);
    assert!(
        matches!(
            verdict,
            Err(Rejection::Pdf(doc_core::document::pdf::PdfError::StreamLength { .. }))
        ),
        "{verdict:?}"
    );
}

#[test]
fn nul_padding_after_the_end_marker_is_accepted_in_both_kinds() {
    // One rule for both: zero bytes after %%EOF or IEND are padding (a
    // store that rounds files up to a block), the document before them is
    // whole; any other byte after IEND is refused, and after %%EOF anything
    // but PDF white space.
    for (document, kind) in [
        (doc_fixtures::pdf(), DocumentKind::Pdf),
        (doc_fixtures::png(), DocumentKind::Png),
    ] {
        for padding in [&b"\0"[..], &[0u8; 512][..]] {
            let mut padded = document.clone();
            padded.extend_from_slice(padding);
            assert_eq!(check(&padded), Ok(kind), "{kind} + {} NULs", padding.len());
        }
        let mut junk = document.clone();
        junk.extend_from_slice(b"\0\0x\0");
        assert!(check(&junk).is_err(), "{kind} + junk after NULs");
    }
    let mut png = doc_fixtures::png();
    let end = png.len();
    png.extend_from_slice(b"\0\0x\0");
    assert_eq!(
        check(&png),
        Err(Rejection::Png(doc_core::document::png::PngError::TrailingData {
            at: end + 2
        }))
    );
}
