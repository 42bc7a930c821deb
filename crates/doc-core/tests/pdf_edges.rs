//! Edges of the PDF checks that no other test pinned down (found by `cargo
//! mutants`): exact boundaries, and which error a malformed part gets.

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
use doc_fixtures::hostile::one_stream_pdf;
use std::io::Write;

fn check(data: &[u8]) -> Result<(), PdfError> {
    validate(data, &PdfLimits::default()).map(|_| ())
}

/// A catalog, one stream holding `data` as it is, and an `/Encrypt`
/// dictionary (object 3) named by the trailer.
fn encrypted_pdf(encrypt: &str, data: &[u8]) -> Vec<u8> {
    encrypted_pdf_with(encrypt, "", data)
}

/// [`encrypted_pdf`] with `entries` added to the stream's dictionary.
fn encrypted_pdf_with(encrypt: &str, entries: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"%PDF-1.6\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    let stream = out.len();
    write!(out, "2 0 obj\n<< /Length {}{entries} >>\nstream\n", data.len()).unwrap();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let dict = out.len();
    write!(out, "3 0 obj\n{encrypt}\nendobj\n").unwrap();
    let xref = out.len();
    write!(
        out,
        "xref\n0 4\n0000000000 65535 f \n{catalog:010} 00000 n \n{stream:010} 00000 n \n{dict:010} 00000 n \n\
         trailer\n<< /Size 4 /Root 1 0 R /Encrypt 3 0 R /ID [<00><00>] >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out
}

const AES_V4: &str = "<< /Filter /Standard /V 4 /R 4 /Length 128 /StmF /StdCF /StrF /StdCF \
     /CF << /StdCF << /CFM /AESV2 /Length 16 >> >> /O <00> /U <00> /P -4 >>";

#[test]
fn aes_streams_are_an_iv_and_whole_blocks() {
    for (len, sound) in [(0, true), (16, false), (31, false), (32, true), (40, false), (48, true)] {
        let verdict = check(&encrypted_pdf(AES_V4, &vec![7u8; len]));
        assert_eq!(verdict.is_ok(), sound, "{len} bytes: {verdict:?}");
    }
}

#[test]
fn a_misfit_aes_stream_has_its_own_error() {
    assert_eq!(
        check(&encrypted_pdf(AES_V4, &[7u8; 40])),
        Err(PdfError::Ciphertext { num: 2 })
    );
    assert_eq!(PdfError::Ciphertext { num: 2 }.code(), "pdf_ciphertext");
    assert_eq!(
        PdfError::Ciphertext { num: 2 }.to_string(),
        "stream of object 2: AES ciphertext is not a 16-byte IV plus whole 16-byte blocks"
    );
}

#[test]
fn metadata_is_in_clear_only_when_encrypt_metadata_is_false() {
    // qpdf --cleartext-metadata and pikepdf (metadata=False): the XMP stream
    // is plaintext, so its length is anything.
    let clear = AES_V4.replace("/P -4", "/P -4 /EncryptMetadata false");
    let xmp = b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta/>";
    let metadata = " /Type /Metadata /Subtype /XML";
    assert_eq!(check(&encrypted_pdf_with(&clear, metadata, xmp)), Ok(()));
    // Checked as plaintext: Flate there must inflate.
    let packed = doc_fixtures::xref_stream::zlib(xmp);
    let flate = format!("{metadata} /Filter /FlateDecode");
    assert_eq!(check(&encrypted_pdf_with(&clear, &flate, &packed)), Ok(()));
    assert_eq!(
        check(&encrypted_pdf_with(&clear, &flate, &packed[..packed.len() - 1])),
        Err(PdfError::StreamDecode { num: 2 })
    );
    // Encrypted metadata (the default, or said so), or another stream: ciphertext.
    let encrypted = AES_V4.replace("/P -4", "/P -4 /EncryptMetadata true");
    for (encrypt, entries) in [(AES_V4, metadata), (encrypted.as_str(), metadata), (clear.as_str(), "")] {
        assert_eq!(
            check(&encrypted_pdf_with(encrypt, entries, xmp)),
            Err(PdfError::Ciphertext { num: 2 }),
            "{encrypt} {entries}"
        );
    }
}

#[test]
fn streams_the_identity_crypt_filter_leaves_in_clear_are_checked_as_plaintext() {
    let packed = doc_fixtures::xref_stream::zlib(b"BT ET");
    let broken = &packed[..packed.len() - 1];
    // A /Crypt filter first in the chain, Identity by name or by default.
    for entries in [
        " /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /Identity >> null]",
        " /Filter [/Crypt /FlateDecode]",
        " /Filter [/Crypt /FlateDecode] /DecodeParms << /Type /CryptFilterDecodeParms >>",
    ] {
        assert_eq!(
            check(&encrypted_pdf_with(AES_V4, entries, &packed)),
            Ok(()),
            "{entries}"
        );
        assert_eq!(
            check(&encrypted_pdf_with(AES_V4, entries, broken)),
            Err(PdfError::StreamDecode { num: 2 }),
            "{entries}"
        );
    }
    // A /Crypt filter naming another crypt filter: ciphertext, not checked.
    let named = " /Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /StdCF >> null]";
    assert_eq!(check(&encrypted_pdf_with(AES_V4, named, broken)), Ok(()));
    // /StmF /Identity (or no /StmF) from version 4 on: every stream is in clear.
    for stmf in ["/StmF /Identity", ""] {
        let identity = AES_V4.replace("/StmF /StdCF", stmf);
        let flate = " /Filter /FlateDecode";
        assert_eq!(check(&encrypted_pdf_with(&identity, flate, &packed)), Ok(()), "{stmf}");
        assert_eq!(
            check(&encrypted_pdf_with(&identity, flate, broken)),
            Err(PdfError::StreamDecode { num: 2 }),
            "{stmf}"
        );
    }
}

#[test]
fn a_stream_filter_that_is_not_aes_or_identity_leaves_ciphertext_unchecked() {
    // Version 4 with RC4 crypt filters (qpdf --use-aes=n at 128 bits, R 4),
    // or a /StmF that /CF does not define: ciphertext of any length, never
    // inflated, whatever /Filter says.
    let rc4 = AES_V4.replace("/AESV2", "/V2");
    let undefined = AES_V4.replace("/StmF /StdCF", "/StmF /Other");
    for encrypt in [rc4, undefined] {
        assert_eq!(
            check(&encrypted_pdf_with(&encrypt, " /Filter /FlateDecode", &[7u8; 21])),
            Ok(()),
            "{encrypt}"
        );
    }
}

#[test]
fn before_version_4_streams_are_rc4_whatever_cf_says() {
    // RC4 ciphertext has any length; a /CF naming AES does not apply below /V 4.
    let v2 = AES_V4.replace("/V 4 /R 4", "/V 2 /R 3");
    assert_eq!(check(&encrypted_pdf(&v2, &[7u8; 20])), Ok(()));
}

#[test]
fn a_large_flate_stream_inflates_past_one_buffer() {
    // 4 MiB of zeros packs into a few KiB: the inflater produces output over
    // many calls after its input is used up.
    let packed = doc_fixtures::xref_stream::zlib(&vec![0u8; 4 << 20]);
    assert_eq!(check(&one_stream_pdf(" /Filter /FlateDecode", &packed)), Ok(()));
}

#[test]
fn a_prev_that_points_at_nothing_is_named_as_such() {
    let pdf = doc_fixtures::pdf();
    let at = pdf.windows(7).rposition(|w| w == b"trailer").unwrap();
    let dict = at + pdf[at..].windows(2).position(|w| w == b"<<").unwrap() + 2;
    let mut with_prev = pdf.clone();
    with_prev.splice(dict..dict, b" /Prev 3 ".iter().copied());
    assert_eq!(
        check(&with_prev),
        Err(PdfError::Xref {
            at: 3,
            what: "/Prev does not point at a cross-reference section"
        })
    );
}

#[test]
fn the_section_limit_counts_exactly() {
    // The corpus's incremental update has two cross-reference sections.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/valid/incremental-update.pdf");
    let pdf = std::fs::read(path).unwrap();
    let limits = |sections| PdfLimits {
        max_xref_sections: sections,
        ..PdfLimits::default()
    };
    assert!(validate(&pdf, &limits(2)).is_ok());
    let verdict = validate(&pdf, &limits(1));
    assert!(
        matches!(
            verdict,
            Err(PdfError::Xref {
                what: "too many cross-reference sections",
                ..
            })
        ),
        "{verdict:?}"
    );
}

/// The fixture PDF with `entry` added to its trailer dictionary.
fn with_trailer_entry(entry: &str) -> Vec<u8> {
    let pdf = doc_fixtures::pdf();
    let at = pdf.windows(7).rposition(|w| w == b"trailer").unwrap();
    let dict = at + pdf[at..].windows(2).position(|w| w == b"<<").unwrap() + 2;
    let mut out = pdf;
    out.splice(dict..dict, entry.bytes());
    out
}

#[test]
fn prev_must_be_an_offset_inside_the_file() {
    let bad = |entry: &str| {
        let verdict = check(&with_trailer_entry(entry));
        assert!(
            matches!(
                verdict,
                Err(PdfError::Xref {
                    what: "bad /Prev or /XRefStm",
                    ..
                })
            ),
            "{entry}: {verdict:?}"
        );
    };
    bad(" /Prev -5 ");
    // Exactly the file's length: zero-padded, so the entry's own size is known.
    let length = with_trailer_entry(" /Prev 0000000000 ").len();
    bad(&format!(" /Prev {length:010} "));
}

#[test]
fn a_subsection_longer_than_the_file_is_refused_before_reading() {
    let pdf = doc_fixtures::pdf();
    // The fixture's table starts `xref\r\n0 N\r\n`.
    let at = pdf.windows(6).position(|w| w == b"xref\r\n").unwrap() + 6;
    let end = at + pdf[at..].iter().position(|&b| b == b'\r').unwrap();
    // One row more than the rest of the file holds, and far more.
    let just_past = (pdf.len() - at) / 20 + 1;
    for count in [just_past, 99_999_999] {
        let mut huge = pdf.clone();
        huge.splice(at..end, format!("0 {count}").bytes());
        // Offsets after the table moved: the check must come first anyway.
        let verdict = check(&huge);
        assert!(
            matches!(
                verdict,
                Err(PdfError::Xref {
                    what: "subsection runs past the end of the file",
                    ..
                })
            ),
            "{count} rows: {verdict:?}"
        );
    }
}

#[test]
fn the_encrypt_reference_must_match_its_object_and_entry() {
    // Object 3 written as `3 1 obj` and named `3 1 R`, but its xref entry says
    // generation 0: refused as a bad /Encrypt, before anything else.
    let pdf = encrypted_pdf(AES_V4, &[7u8; 32]);
    let replace = |data: &mut Vec<u8>, from: &[u8], to: &[u8]| {
        let at = data.windows(from.len()).position(|w| w == from).unwrap();
        data[at..at + from.len()].copy_from_slice(to);
    };
    let mut renumbered = pdf;
    replace(&mut renumbered, b"3 0 obj", b"3 1 obj");
    replace(&mut renumbered, b"/Encrypt 3 0 R", b"/Encrypt 3 1 R");
    assert_eq!(
        check(&renumbered),
        Err(PdfError::Xref {
            at: 0,
            what: "bad /Encrypt"
        })
    );
}

#[test]
fn objects_and_streams_are_counted() {
    // Catalog, stream, /Encrypt dictionary: three objects, one with a stream.
    let info = validate(&encrypted_pdf(AES_V4, &[7u8; 32]), &PdfLimits::default()).unwrap();
    assert_eq!((info.objects, info.streams), (3, 1));
    // Objects inside an object stream count too.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/valid/object-streams.pdf");
    let packed = validate(&std::fs::read(path).unwrap(), &PdfLimits::default()).unwrap();
    // qpdf --show-xref: objects 1, 6 and 7 (object stream, content, xref
    // stream) in the file, 2 to 5 in object stream 1.
    assert_eq!((packed.objects, packed.streams), (7, 3), "{packed:?}");
}

/// `pdf` with `from` replaced by `to` once (same length, so offsets hold).
fn edited(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let text = String::from_utf8(pdf.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in the document");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn the_root_must_be_an_object_the_xref_holds() {
    let pdf = one_stream_pdf("", b"x");
    assert_eq!(check(&pdf), Ok(()));
    assert_eq!(check(&edited(&pdf, "/Root 1 0 R", "/Root 7 0 R")), Err(PdfError::Root));
}

#[test]
fn startxref_at_something_else_is_a_startxref_error() {
    let pdf = one_stream_pdf("", b"x");
    let text = String::from_utf8(pdf.clone()).unwrap();
    let xref = text.rfind("\nxref\n").unwrap() + 1;
    // Point startxref at the header line instead of the table.
    let pointed = text.replacen(&format!("startxref\n{xref}\n"), "startxref\n0\n", 1);
    assert_eq!(check(pointed.as_bytes()), Err(PdfError::StartXref { offset: 0 }));
}

/// Where the fixture PDF's `startxref` points.
fn startxref(pdf: &[u8]) -> usize {
    let at = pdf.windows(9).rposition(|w| w == b"startxref").unwrap() + 9;
    let digits: String = pdf[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().unwrap()
}

#[test]
fn a_prev_chain_that_loops_is_refused() {
    // The newest section names itself as the one before it: qpdf calls such
    // a file damaged ("loop detected following xref tables").
    let xref = startxref(&doc_fixtures::pdf());
    let looped = with_trailer_entry(&format!(" /Prev {xref} "));
    assert_eq!(
        check(&looped),
        Err(PdfError::Xref {
            at: xref,
            what: "the /Prev chain comes back to a section it has read"
        })
    );
}

#[test]
fn a_size_below_the_highest_row_is_a_producers_slip() {
    // pdfunite (poppler 22.12) writes /Size short of its table; qpdf warns
    // and every reader opens it. Each row is checked against its object, so
    // /Size adds nothing to find damage with, for any producer.
    let pdf = doc_fixtures::pdf();
    let at = pdf.windows(6).rposition(|w| w == b"/Size ").unwrap();
    let digits = pdf[at + 6..].iter().take_while(|b| b.is_ascii_digit()).count();
    let with_size = |key: &[u8], value: u8| {
        let mut out = pdf.clone();
        out.splice(at..at + 6 + digits, key.iter().chain(&[b' ', value]).copied());
        out
    };
    assert_eq!(check(&with_size(b"/Size", b'1')), Ok(()));
    // It must still be there, as an integer.
    let verdict = check(&with_size(b"/Sizf", b'1'));
    assert!(
        matches!(
            verdict,
            Err(PdfError::Xref {
                what: "trailer has no /Size",
                ..
            })
        ),
        "{verdict:?}"
    );
}
