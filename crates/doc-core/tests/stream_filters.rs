//! Flate behind an ASCII filter is inflated like Flate alone: a stream whose
//! `/Filter` is `[/ASCII85Decode /FlateDecode]` (reportlab's page content and
//! images) or `[/ASCIIHexDecode /FlateDecode]` passes only when every layer
//! decodes completely, and a chain that does not decode as declared is
//! refused.

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
use doc_fixtures::ascii::{base85, hex};
use doc_fixtures::hostile::one_stream_pdf;
use doc_fixtures::xref_stream::zlib;

fn check(data: &[u8]) -> Result<(), PdfError> {
    validate(data, &PdfLimits::default()).map(|_| ())
}

const CONTENT: &[u8] = b"BT /F1 12 Tf 72 720 Td (Hello, world) Tj ET\n";

/// Changes one character of the encoded data (not the end marker) into
/// another that the encoding allows.
fn edited(encoded: &[u8]) -> Vec<u8> {
    let mut out = encoded.to_vec();
    let at = out.len() / 2;
    out[at] = if out[at] == b'5' { b'6' } else { b'5' };
    out
}

#[test]
fn ascii_layers_in_front_of_flate_are_accepted() {
    let packed = zlib(CONTENT);
    assert_eq!(
        check(&one_stream_pdf(
            " /Filter [/ASCII85Decode /FlateDecode]",
            &base85(&packed)
        )),
        Ok(())
    );
    assert_eq!(
        check(&one_stream_pdf(
            " /Filter [/ASCIIHexDecode /FlateDecode]",
            &hex(&packed)
        )),
        Ok(())
    );
    let both = base85(&hex(&packed));
    let chain = " /Filter [/ASCII85Decode /ASCIIHexDecode /FlateDecode]";
    assert_eq!(check(&one_stream_pdf(chain, &both)), Ok(()));
    // Without the end-of-data marker, as Pillow writes ASCIIHex.
    let unmarked = hex(&packed);
    let unmarked = &unmarked[..unmarked.len() - 1];
    assert_eq!(
        check(&one_stream_pdf(" /Filter [/ASCIIHexDecode /FlateDecode]", unmarked)),
        Ok(())
    );
    // An ASCII layer alone, and in front of a filter that is not decoded.
    assert_eq!(
        check(&one_stream_pdf(" /Filter /ASCIIHexDecode", &hex(CONTENT))),
        Ok(())
    );
    assert_eq!(
        check(&one_stream_pdf(
            " /Filter [/ASCII85Decode /DCTDecode]",
            &base85(b"\xff\xd8 not checked")
        )),
        Ok(())
    );
}

#[test]
fn a_changed_character_behind_an_ascii_layer_is_refused() {
    let packed = zlib(&CONTENT.repeat(20));
    for (filter, encoded) in [("/ASCII85Decode", base85(&packed)), ("/ASCIIHexDecode", hex(&packed))] {
        let dict = format!(" /Filter [{filter} /FlateDecode]");
        let verdict = check(&one_stream_pdf(&dict, &edited(&encoded)));
        assert_eq!(verdict, Err(PdfError::StreamDecode { num: 2 }), "{filter}");
    }
}

#[test]
fn a_chain_that_does_not_decode_as_declared_is_refused() {
    let packed = zlib(CONTENT);
    let cases: [(&str, Vec<u8>); 6] = [
        // Not hex, not ASCII85, cut short.
        (" /Filter [/ASCIIHexDecode /FlateDecode]", b"78 9g>".to_vec()),
        (" /Filter [/ASCII85Decode /FlateDecode]", b"9jqo^{~>".to_vec()),
        (" /Filter [/ASCIIHexDecode /FlateDecode]", hex(&packed)[..10].to_vec()),
        // Declared ASCII85, written in hex; Flate data declared hex.
        (" /Filter [/ASCII85Decode /FlateDecode]", hex(&packed)),
        (" /Filter [/ASCIIHexDecode /FlateDecode]", packed.clone()),
        // A filter that is not a name.
        (" /Filter [/ASCIIHexDecode 7]", hex(CONTENT)),
    ];
    for (dict, data) in cases {
        let verdict = check(&one_stream_pdf(dict, &data));
        assert_eq!(verdict, Err(PdfError::StreamDecode { num: 2 }), "{dict}");
    }
}

#[test]
fn flate_in_the_middle_of_a_chain_is_inflated_too() {
    let mut packed = zlib(&hex(b"\xff\xd8 not checked"));
    assert_eq!(
        check(&one_stream_pdf(
            " /Filter [/FlateDecode /ASCIIHexDecode /DCTDecode]",
            &packed
        )),
        Ok(())
    );
    let last = packed.len() - 1;
    packed[last] ^= 1; // the Adler-32
    assert_eq!(
        check(&one_stream_pdf(
            " /Filter [/FlateDecode /ASCIIHexDecode /DCTDecode]",
            &packed
        )),
        Err(PdfError::StreamDecode { num: 2 })
    );
}

#[test]
fn ascii_output_and_what_it_inflates_to_share_the_budget() {
    let limits = |bytes| PdfLimits {
        max_inflated_bytes: bytes,
        ..PdfLimits::default()
    };
    // Hex of 1,000 packed bytes decodes to 1,000 bytes, which inflate to 4,000.
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let packed = zlib(&data);
    let body = one_stream_pdf(" /Filter [/ASCIIHexDecode /FlateDecode]", &hex(&packed));
    let needed = (packed.len() + data.len()) as u64;
    let info = validate(&body, &limits(needed)).unwrap();
    assert_eq!(
        info.inflated_bytes, needed,
        "decoded and inflated bytes are both counted"
    );
    assert_eq!(validate(&body, &limits(needed - 1)), Err(PdfError::InflateLimit));
    // ASCII85's z: five characters decode to twenty bytes.
    let zeros = one_stream_pdf(" /Filter /ASCII85Decode", b"zzzzz~>");
    assert!(validate(&zeros, &limits(20)).is_ok());
    assert_eq!(validate(&zeros, &limits(19)), Err(PdfError::InflateLimit));
}

#[test]
fn an_object_stream_is_read_through_its_whole_chain_or_refused() {
    use doc_fixtures::xref_stream::filtered_object_stream_pdf;
    const PAGES: &str = "<< /Type /Pages /Kids [] /Count 0 >>";
    let pdf = |filter, encode| filtered_object_stream_pdf((filter, encode), "2 0 ", PAGES, 1, 0, &[]);
    assert_eq!(
        check(&pdf(" /Filter [/ASCIIHexDecode /FlateDecode]", |d| hex(&zlib(d)))),
        Ok(())
    );
    assert_eq!(check(&pdf("", <[u8]>::to_vec)), Ok(()));
    // Its objects are behind a filter the validator does not decode: they
    // cannot be checked, so it is refused.
    assert_eq!(
        check(&pdf(" /Filter [/FlateDecode /LZWDecode]", zlib)),
        Err(PdfError::StreamDecode { num: 3 })
    );
}

/// The verdict's reason code, as logs and metrics carry it.
fn code(data: &[u8]) -> Result<(), &'static str> {
    check(data).map_err(|e| e.code())
}

#[test]
fn flate_inside_flate_is_inflated_layer_by_layer_within_one_budget() {
    use doc_fixtures::hostile::nested_flate_bomb;
    // 1 GiB of zeros compressed twice: a file of about 2 KB.
    let bomb = nested_flate_bomb(1 << 30, 2);
    eprintln!("Flate inside Flate, 1 GiB: a {}-byte file", bomb.len());
    assert!(bomb.len() < 4096, "{} bytes", bomb.len());
    assert_eq!(code(&bomb), Err("pdf_inflate_limit"));
    // Three layers: 1 GiB in even fewer bytes.
    assert_eq!(code(&nested_flate_bomb(1 << 30, 3)), Err("pdf_inflate_limit"));

    // A sound stream compressed twice passes; both layers' output is charged.
    // Noise of sixteen letters: each layer's output comes in many pieces.
    let content: Vec<u8> = std::iter::successors(Some(7u32), |x| {
        Some(x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223))
    })
    .take(400_000)
    .map(|x| b'a' + (x >> 28) as u8)
    .collect();
    let inner = zlib(&content);
    assert!(inner.len() > 100_000, "{} bytes", inner.len());
    let body = one_stream_pdf(" /Filter [/FlateDecode /FlateDecode]", &zlib(&inner));
    let needed = (inner.len() + content.len()) as u64;
    let limits = |bytes| PdfLimits {
        max_inflated_bytes: bytes,
        ..PdfLimits::default()
    };
    assert_eq!(validate(&body, &limits(needed)).map(|i| i.inflated_bytes), Ok(needed));
    assert_eq!(validate(&body, &limits(needed - 1)), Err(PdfError::InflateLimit));
    let inner = zlib(CONTENT);
    // The inner layer is checked like the outer one.
    let mut damaged = inner.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1; // its Adler-32
    assert_eq!(
        check(&one_stream_pdf(" /Filter [/FlateDecode /FlateDecode]", &zlib(&damaged))),
        Err(PdfError::StreamDecode { num: 2 })
    );
}

#[test]
fn chains_that_come_to_flate_inside_flate_are_inflated_too() {
    use doc_fixtures::hostile::zlib_zeros;
    let zeros = zlib_zeros(1 << 30);
    // The abbreviations readers take outside inline images too (pdf.js, MuPDF).
    let abbreviated = one_stream_pdf(" /Filter [/Fl /Fl]", &zlib(&zeros));
    assert_eq!(code(&abbreviated), Err("pdf_inflate_limit"));
    let one_abbreviated = one_stream_pdf(" /Filter /Fl", &zeros);
    assert_eq!(code(&one_abbreviated), Err("pdf_inflate_limit"));
    // An ASCII layer between the two Flate layers.
    let behind_hex = one_stream_pdf(
        " /Filter [/FlateDecode /ASCIIHexDecode /FlateDecode]",
        &zlib(&hex(&zeros)),
    );
    eprintln!("Flate, ASCIIHex, Flate, 1 GiB: a {}-byte file", behind_hex.len());
    assert_eq!(code(&behind_hex), Err("pdf_inflate_limit"));
}

#[test]
fn flate_behind_a_filter_the_validator_does_not_decode_is_refused() {
    // What the run-length layer puts out cannot be seen, so what the Flate
    // layer behind it would inflate to cannot be bounded.
    let body = one_stream_pdf(
        " /Filter [/FlateDecode /RunLengthDecode /FlateDecode]",
        &zlib(b"\x02abc\x80"),
    );
    assert_eq!(code(&body), Err("pdf_filter_chain"));
    let body = one_stream_pdf(" /Filter [/LZWDecode /Fl]", b"not decoded");
    assert_eq!(code(&body), Err("pdf_filter_chain"));
    // Behind it an image filter may still follow.
    let body = one_stream_pdf(" /Filter [/LZWDecode /DCTDecode]", b"not decoded");
    assert_eq!(code(&body), Ok(()));
}

#[test]
fn a_chain_of_more_layers_than_the_validator_follows_is_refused() {
    let layered = |layers: usize| {
        let data = (0..layers).fold(CONTENT.to_vec(), |data, _| zlib(&data));
        let filter = format!(" /Filter [{}]", vec!["/FlateDecode"; layers].join(" "));
        one_stream_pdf(&filter, &data)
    };
    assert_eq!(code(&layered(8)), Ok(()));
    assert_eq!(code(&layered(9)), Err("pdf_filter_chain"));
}

#[test]
fn an_object_stream_behind_two_flate_layers_is_read() {
    use doc_fixtures::xref_stream::filtered_object_stream_pdf;
    const PAGES: &str = "<< /Type /Pages /Kids [] /Count 0 >>";
    let pdf = |header| {
        filtered_object_stream_pdf(
            (" /Filter [/FlateDecode /FlateDecode]", |d| zlib(&zlib(d))),
            header,
            PAGES,
            1,
            0,
            &[],
        )
    };
    assert_eq!(check(&pdf("2 0 ")), Ok(()));
    // Its objects are checked: object 7 is not the one the xref names.
    assert_eq!(
        check(&pdf("7 0 ")),
        Err(PdfError::Object {
            num: 2,
            what: "its object stream holds another object at its index"
        })
    );
}
