//! Cross-reference streams: the path real producers (qpdf, Ghostscript,
//! anything writing PDF 1.5+) use, built here byte by byte so each check has a
//! test that fails without it, and hostile ones (deflate bombs, huge /Size,
//! long /Prev chains) refused with a rejection, never a trap.

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
use doc_fixtures::xref_stream::{pdf, zlib, Xref};
use std::io::Write;
use std::time::{Duration, Instant};

fn check(data: &[u8]) -> Result<(), PdfError> {
    validate(data, &PdfLimits::default()).map(|_| ())
}

#[test]
fn xref_streams_are_accepted_plain_with_predictor_and_with_parms_in_an_array() {
    assert_eq!(check(&pdf(&Xref::default())), Ok(()));
    let info = validate(&pdf(&Xref::default()), &PdfLimits::default()).unwrap();
    assert_eq!(
        (info.objects, info.inflated_bytes),
        (3, 28),
        "4 rows of 7 bytes are inflated"
    );
    assert_eq!(
        check(&pdf(&Xref {
            predictor: true,
            ..Xref::default()
        })),
        Ok(())
    );
    let in_array = Xref {
        predictor: true,
        params_in_array: true,
        ..Xref::default()
    };
    assert_eq!(check(&pdf(&in_array)), Ok(()));
    assert_eq!(
        check(&pdf(&Xref {
            extra: " /Index [0 4]".into(),
            ..Xref::default()
        })),
        Ok(())
    );
}

#[test]
fn the_predictor_is_applied_not_ignored() {
    // The same rows, Up-filtered, read without /DecodeParms: offsets come out
    // wrong, so the entries no longer point at their objects.
    let mut filtered = pdf(&Xref {
        predictor: true,
        ..Xref::default()
    });
    let at = filtered.windows(14).position(|w| w == b" /DecodeParms ").unwrap();
    let end = at + filtered[at..].windows(2).position(|w| w == b">>").unwrap() + 2;
    filtered.splice(at..end, std::iter::repeat_n(b' ', end - at));
    assert!(check(&filtered).is_err());
}

#[test]
fn an_empty_index_subsection_is_allowed() {
    let verdict = check(&pdf(&Xref {
        extra: " /Index [0 4 4 0]".into(),
        size: 5,
        ..Xref::default()
    }));
    assert_eq!(verdict, Ok(()));
}

#[test]
fn an_index_must_be_pairs_of_non_negative_numbers() {
    for index in [" /Index [0 4 9]", " /Index [-1 4]", " /Index [0 -4]"] {
        let verdict = check(&pdf(&Xref {
            extra: index.into(),
            size: 10,
            ..Xref::default()
        }));
        assert!(
            matches!(verdict, Err(PdfError::Xref { what: "bad /Index", .. })),
            "{index}: {verdict:?}"
        );
    }
}

#[test]
fn w_filter_and_columns_are_checked() {
    let with = |extra: &str| {
        check(&pdf(&Xref {
            extra: extra.into(),
            ..Xref::default()
        }))
    };
    // The later key wins: these replace the fixture's own entries.
    assert_eq!(with(" /Filter [/FlateDecode]"), Ok(()));
    let bad_w = with(" /W [1 4 2 0]");
    assert!(matches!(bad_w, Err(PdfError::Xref { what: "bad /W", .. })), "{bad_w:?}");
    assert!(matches!(
        with(" /Filter /LZWDecode"),
        Err(PdfError::StreamDecode { .. })
    ));
    let no_columns = with(" /DecodeParms << /Predictor 12 /Columns 0 >>");
    assert!(
        matches!(no_columns, Err(PdfError::StreamDecode { .. })),
        "{no_columns:?}"
    );
}

#[test]
fn predictors_other_than_png_are_refused() {
    // Plain rows declared TIFF-predicted (2) or with an unknown predictor (5):
    // the validator decodes only the PNG predictors (10 and up) and says so.
    // Eight rows of 7 bytes are also seven rows of 1 + 7: read as PNG rows
    // they would decode, to the wrong offsets.
    for predictor in [2, 5] {
        let verdict = check(&pdf(&Xref {
            extra: format!(" /DecodeParms << /Predictor {predictor} /Columns 7 >>"),
            free_rows: 4,
            size: 8,
            ..Xref::default()
        }));
        assert!(
            matches!(verdict, Err(PdfError::StreamDecode { .. })),
            "{predictor}: {verdict:?}"
        );
    }
}

#[test]
fn a_wrong_offset_in_an_xref_stream_is_refused() {
    let good = pdf(&Xref::default());
    let catalog = good.windows(7).position(|w| w == b"1 0 obj").unwrap() as u32;
    let mut rows = Vec::new();
    for (kind, off, gen) in [(0u8, 0u32, 0xffffu16), (1, catalog + 1, 0), (1, 0, 0), (1, 0, 0)] {
        rows.push(kind);
        rows.extend_from_slice(&off.to_be_bytes());
        rows.extend_from_slice(&gen.to_be_bytes());
    }
    let verdict = check(&pdf(&Xref {
        body: Some(zlib(&rows)),
        ..Xref::default()
    }));
    assert!(matches!(verdict, Err(PdfError::ObjectOffset { .. })), "{verdict:?}");
}

#[test]
fn index_beyond_size_is_a_producers_slip_as_in_a_classic_table() {
    // /Size one short of the rows, or a subsection past it: the rows are
    // checked one by one, so /Size is not evidence of damage (pdf_edges.rs,
    // a_size_below_the_highest_row_is_a_producers_slip).
    for (size, index, free_rows) in [(3, " /Index [0 4]", 0), (4, " /Index [0 4 10 1]", 1)] {
        let x = Xref {
            size,
            extra: index.into(),
            free_rows,
            ..Xref::default()
        };
        assert_eq!(check(&pdf(&x)), Ok(()), "/Size {size}{index}");
    }
}

#[test]
fn an_xref_stream_longer_than_its_index_is_refused() {
    let mut rows = vec![0u8; 7 * 5];
    rows[7] = 1;
    let verdict = check(&pdf(&Xref {
        body: Some(zlib(&rows)),
        ..Xref::default()
    }));
    assert!(
        matches!(
            verdict,
            Err(PdfError::Xref {
                what: "xref stream longer than /Index says",
                ..
            })
        ),
        "{verdict:?}"
    );
}

#[test]
fn a_deflate_bomb_in_the_xref_stream_is_refused_quickly() {
    // 64 MiB of zeros packs into about 64 KB; /Index says 4 rows of 7 bytes.
    let bomb = zlib(&vec![0u8; 64 << 20]);
    let started = Instant::now();
    let verdict = check(&pdf(&Xref {
        body: Some(bomb),
        ..Xref::default()
    }));
    assert!(matches!(verdict, Err(PdfError::Xref { .. })), "{verdict:?}");
    // It stops at the 29th byte, not after 64 MiB (bound generous for a shared machine).
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_huge_size_is_refused_before_anything_is_inflated() {
    let x = Xref {
        size: 4_000_000_000,
        ..Xref::default()
    };
    assert_eq!(check(&pdf(&x)), Err(PdfError::XrefLimit));
    // Within the row limit but beyond the inflation budget: refused up front too.
    let small_budget = PdfLimits {
        max_inflated_bytes: 1000,
        ..PdfLimits::default()
    };
    let x = Xref {
        size: 200,
        extra: " /Index [0 200]".into(),
        ..Xref::default()
    };
    assert_eq!(
        validate(&pdf(&x), &small_budget).map(|_| ()),
        Err(PdfError::InflateLimit)
    );
}

#[test]
fn xref_streams_share_the_document_inflation_budget() {
    let data = pdf(&Xref::default());
    let limits = PdfLimits {
        max_inflated_bytes: 27, // the stream inflates to 28 bytes
        ..PdfLimits::default()
    };
    assert_eq!(validate(&data, &limits).map(|_| ()), Err(PdfError::InflateLimit));
    let limits = PdfLimits {
        max_inflated_bytes: 28,
        ..PdfLimits::default()
    };
    assert_eq!(validate(&data, &limits).map(|_| ()), Ok(()));
}

#[test]
fn rows_of_every_section_count_against_one_limit() {
    let data = pdf(&Xref::default());
    let limits = |rows| PdfLimits {
        max_xref_entries: rows,
        ..PdfLimits::default()
    };
    assert_eq!(validate(&data, &limits(4)).map(|_| ()), Ok(()));
    assert_eq!(validate(&data, &limits(3)).map(|_| ()), Err(PdfError::XrefLimit));
}

#[test]
fn a_classic_table_declaring_more_rows_than_the_limit_is_refused() {
    let mut out = b"%PDF-1.4\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    let xref = out.len();
    write!(
        out,
        "xref\n0 2\n0000000000 65535 f \n{catalog:010} 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    let limits = |rows| PdfLimits {
        max_xref_entries: rows,
        ..PdfLimits::default()
    };
    assert_eq!(validate(&out, &limits(2)).map(|_| ()), Ok(()));
    assert_eq!(validate(&out, &limits(1)).map(|_| ()), Err(PdfError::XrefLimit));
}
