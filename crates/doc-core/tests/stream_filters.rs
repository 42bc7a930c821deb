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
