//! Object streams (`/Type /ObjStm`): the objects the cross-reference data
//! places in one must be there, at the index it gives, and parse; built here
//! byte by byte, with one thing wrong in each refused case.

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
// pdf(header, objects, n, index): object 2 in object stream 3 at `index`.
use doc_fixtures::xref_stream::object_stream_pdf as pdf;
use doc_fixtures::xref_stream::object_stream_pdf_with;

const PAGES: &str = "<< /Type /Pages /Kids [] /Count 0 >>";

fn check(data: &[u8]) -> Result<(), PdfError> {
    validate(data, &PdfLimits::default()).map(|_| ())
}

#[test]
fn an_object_in_its_object_stream_is_accepted() {
    assert_eq!(check(&pdf("2 0 ", PAGES, 1, 0)), Ok(()));
    // A second object before it: object 2 is at index 1.
    let objects = format!("null {PAGES}");
    assert_eq!(check(&pdf("9 0 2 5 ", &objects, 2, 1)), Ok(()));
}

#[test]
fn an_index_past_the_stream_is_refused() {
    let verdict = check(&pdf("2 0 ", PAGES, 1, 1));
    assert_eq!(
        verdict,
        Err(PdfError::Object {
            num: 2,
            what: "its object stream does not hold it"
        })
    );
}

#[test]
fn another_object_at_the_index_is_refused() {
    let verdict = check(&pdf("7 0 ", PAGES, 1, 0));
    assert_eq!(
        verdict,
        Err(PdfError::Object {
            num: 2,
            what: "its object stream holds another object at its index"
        })
    );
}

#[test]
fn a_malformed_object_stream_is_refused() {
    let objects = format!("null {PAGES}");
    let cases = [
        (
            "2 5 9 0 ",
            objects.as_str(),
            2,
            "object stream offsets are not ascending",
        ),
        ("2 0 ", "<< /Type /Pages", 1, "dictionary is not closed"),
        ("2 0 9 ", PAGES, 2, "object stream header is malformed"),
        ("2 400 ", PAGES, 1, "object stream header is malformed"),
    ];
    for (header, objects, n, what) in cases {
        let verdict = check(&pdf(header, objects, n, 0));
        assert!(
            matches!(verdict, Err(PdfError::Object { .. })),
            "{header:?}: {verdict:?}"
        );
        let text = verdict.unwrap_err().to_string();
        assert!(
            text.contains(what) || what == "dictionary is not closed",
            "{header:?}: {text}"
        );
    }
}

#[test]
fn an_object_stream_larger_than_its_limit_is_refused() {
    let limits = PdfLimits {
        max_object_stream_bytes: 10,
        ..PdfLimits::default()
    };
    assert_eq!(
        validate(&pdf("2 0 ", PAGES, 1, 0), &limits).map(|_| ()),
        Err(PdfError::InflateLimit)
    );
}

/// A PDF whose content stream (object 6, holding `HELLO`) has `/Length 5 0 R`,
/// and object 5 is `length` inside object stream 3 (with the page tree, 2).
/// Object numbers are chosen so that the content stream comes after object 5
/// and before nothing: the object stream must be read first either way.
fn packed_length_pdf(length: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = b"%PDF-1.5\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let content = out.len();
    out.extend_from_slice(b"6 0 obj\n<< /Length 5 0 R >>\nstream\nHELLO\nendstream\nendobj\n");
    let objstm = out.len();
    let header = format!("2 0 5 {} ", PAGES.len() + 1);
    let data = doc_fixtures::xref_stream::zlib(format!("{header}{PAGES} {length}").as_bytes());
    write!(
        out,
        "3 0 obj\n<< /Type /ObjStm /N 2 /First {} /Filter /FlateDecode /Length {} >>\nstream\n",
        header.len(),
        data.len()
    )
    .unwrap();
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    let rows = doc_fixtures::xref_stream::xref_rows(&[
        (0u8, 0u32, 0xffffu16),
        (1, catalog as u32, 0),
        (2, 3, 0),
        (1, objstm as u32, 0),
        (1, xref as u32, 0),
        (2, 3, 1),
        (1, content as u32, 0),
    ]);
    let rows = doc_fixtures::xref_stream::zlib(&rows);
    write!(
        out,
        "4 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {} >>\nstream\n",
        rows.len()
    )
    .unwrap();
    out.extend_from_slice(&rows);
    write!(out, "\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").unwrap();
    out
}

#[test]
fn an_indirect_length_inside_an_object_stream_is_resolved() {
    assert_eq!(check(&packed_length_pdf("5")), Ok(()));
    // Short by one, or reaching into `endstream` (one more would only take
    // the end of line, which a length may include).
    for wrong in ["4", "7"] {
        assert_eq!(
            check(&packed_length_pdf(wrong)),
            Err(PdfError::StreamLength { num: 6 }),
            "/Length {wrong}"
        );
    }
    // Not an integer.
    assert_eq!(
        check(&packed_length_pdf("(five)")),
        Err(PdfError::StreamLength { num: 6 })
    );
}

#[test]
fn a_length_reference_into_an_object_stream_must_have_generation_0() {
    let pdf = packed_length_pdf("5");
    let at = pdf.windows(13).position(|w| w == b"/Length 5 0 R").unwrap();
    let mut gen_1 = pdf;
    gen_1[at + 10] = b'1'; // same size: every offset still holds
    assert_eq!(check(&gen_1), Err(PdfError::StreamLength { num: 6 }));
}

#[test]
fn an_object_offset_at_the_end_of_the_data_is_malformed() {
    // The object would start exactly where the stream's data ends.
    let header = format!("2 {} ", PAGES.len());
    let verdict = check(&pdf(&header, PAGES, 1, 0)).unwrap_err().to_string();
    assert!(verdict.contains("object stream header is malformed"), "{verdict}");
}

#[test]
fn first_may_reach_the_end_of_the_data_but_not_pass_it() {
    let what = |data: &[u8]| match check(data) {
        Err(PdfError::Object { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    // /First 4 made /First 9, same size: past the 4 bytes of data.
    let good = pdf("2 0 ", "", 1, 0);
    let at = good.windows(9).position(|w| w == b"/First 4 ").unwrap();
    let mut past = good.clone();
    past[at + 7] = b'9';
    assert_eq!(what(&past), "object stream /First is past its data");
    // Exactly at the end (no object bodies): a different fault, found later.
    assert_ne!(what(&good), "object stream /First is past its data");
}

#[test]
fn two_objects_in_one_object_stream_are_accepted() {
    let objects = format!("{PAGES} null");
    assert_eq!(
        check(&object_stream_pdf_with(
            &format!("2 0 5 {} ", PAGES.len() + 1),
            &objects,
            2,
            0,
            &[1]
        )),
        Ok(())
    );
}

#[test]
fn two_rows_claiming_one_slot_are_refused_whichever_object_is_there() {
    // Only one object can sit at index 0; the other row names an object the
    // stream does not hold, so a reader would take one object for another.
    for header in ["2 0 ", "5 0 "] {
        let verdict = check(&object_stream_pdf_with(header, PAGES, 1, 0, &[0]));
        assert_eq!(
            verdict,
            Err(PdfError::Object {
                num: 5,
                what: "another object's row claims its place in its object stream"
            }),
            "{header}"
        );
    }
}

/// The verdict's reason code, as logs and metrics carry it.
fn code(data: &[u8]) -> Result<(), &'static str> {
    check(data).map_err(|e| e.code())
}

#[test]
fn an_offset_into_the_middle_of_an_object_is_refused() {
    // Offset 3 is `/Type` inside the page tree's dictionary: a value parses
    // there, but no object starts there, and a reader finds no page tree.
    assert_eq!(code(&pdf("2 3 ", PAGES, 1, 0)), Err("pdf_object_stream_offset"));
    // The second object's offset (9, `/Pages`) inside the first object.
    let objects = format!("{PAGES} null");
    assert_eq!(
        code(&object_stream_pdf_with("2 0 5 9 ", &objects, 2, 0, &[1])),
        Err("pdf_object_stream_offset")
    );
}

#[test]
fn only_white_space_lies_between_the_objects_of_an_object_stream() {
    // Between the header pairs and the first object, and between objects.
    let first_after_a_number = pdf("2 2 ", &format!("7 {PAGES}"), 1, 0);
    assert_eq!(code(&first_after_a_number), Err("pdf_object_stream_offset"));
    let after = PAGES.len() + 3;
    let number_between = object_stream_pdf_with(&format!("2 0 5 {after} "), &format!("{PAGES} 7 null"), 2, 0, &[1]);
    assert_eq!(code(&number_between), Err("pdf_object_stream_offset"));
    // White space of any kind is fine, before the first object too.
    assert_eq!(code(&pdf("2 2 ", &format!("\r\n{PAGES}"), 1, 0)), Ok(()));
    let after = PAGES.len() + 3;
    let spaced = object_stream_pdf_with(&format!("2 0 5 {after} "), &format!("{PAGES}\r\n\tnull"), 2, 0, &[1]);
    assert_eq!(code(&spaced), Ok(()));
}
