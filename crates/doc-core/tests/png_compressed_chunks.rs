//! Compressed ancillary chunks (`zTXt`, `iTXt` with its compression flag set,
//! `iCCP`) are inflated, within the document's one inflation budget, which
//! the image data shares: a 16x16 image cannot carry 160 MiB of text to the
//! client's reader. Each must be one complete zlib stream, like the image
//! data.

use doc_core::document::png::validate;
use doc_fixtures::hostile::{compressed_chunk_bomb, compressed_chunk_data, png_with_chunk, zlib_zeros};
use doc_fixtures::xref_stream::zlib;

const LIMIT: u64 = 128 << 20;
const KINDS: [&[u8; 4]; 3] = [b"zTXt", b"iTXt", b"iCCP"];

/// The verdict's reason code, as logs and metrics carry it.
fn code(data: &[u8], limit: u64) -> Result<(), &'static str> {
    validate(data, limit).map(|_| ()).map_err(|e| e.code())
}

#[test]
fn a_compressed_chunk_inflating_past_the_budget_is_refused() {
    for kind in KINDS {
        let bomb = compressed_chunk_bomb(kind, 160 << 20);
        let name = String::from_utf8_lossy(kind);
        eprintln!("16x16 PNG, {name} of 160 MiB: a {}-byte file", bomb.len());
        assert_eq!(code(&bomb, LIMIT), Err("png_chunk_inflate_limit"), "{name}");
    }
}

#[test]
fn compressed_chunks_within_the_budget_are_accepted() {
    // As the png crate writes them: each kind is there, the iTXt compressed.
    let written = doc_fixtures::png_with_metadata();
    for kind in KINDS {
        let at = written.windows(4).position(|w| w == kind).expect("the chunk is there");
        if kind == b"iTXt" {
            assert_eq!(written[at + 4 + "Description".len() + 1], 1, "the compression flag");
        }
    }
    assert_eq!(code(&written, LIMIT), Ok(()));
    for kind in KINDS {
        let body = compressed_chunk_bomb(kind, 1 << 20);
        assert_eq!(code(&body, LIMIT), Ok(()), "{}", String::from_utf8_lossy(kind));
    }
    // Uncompressed iTXt text is not zlib data, and is not inflated.
    let plain = png_with_chunk(b"iTXt", b"Comment\0\0\0en\0\0plain text".to_vec());
    assert_eq!(code(&plain, LIMIT), Ok(()));
}

#[test]
fn the_image_and_its_compressed_chunks_share_one_budget() {
    // 16 rows of a filter byte and 16 grey pixels, then 10,000 bytes of text.
    let image = 16 * 17;
    let body = compressed_chunk_bomb(b"zTXt", 10_000);
    assert_eq!(code(&body, image + 10_000), Ok(()));
    assert_eq!(code(&body, image + 9_999), Err("png_chunk_inflate_limit"));
    // Two chunks of 10,000 bytes each: the second one passes the budget.
    let zeros = zlib_zeros(10_000);
    let two = doc_fixtures::hostile::png_chunks(&[
        (
            b"IHDR",
            [16u32.to_be_bytes(), 16u32.to_be_bytes()]
                .concat()
                .into_iter()
                .chain([8, 0, 0, 0, 0])
                .collect(),
        ),
        (b"zTXt", compressed_chunk_data(b"zTXt", &zeros)),
        (b"iTXt", compressed_chunk_data(b"iTXt", &zeros)),
        (b"IDAT", zlib(&[0u8; 16 * 17])),
        (b"IEND", Vec::new()),
    ]);
    assert_eq!(code(&two, image + 20_000), Ok(()));
    assert_eq!(code(&two, image + 19_999), Err("png_chunk_inflate_limit"));
}

#[test]
fn a_compressed_chunk_that_is_not_one_complete_zlib_stream_is_refused() {
    let packed = zlib(b"Some text, compressed as the format says.");
    let mut flipped = packed.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1; // the Adler-32
    let mut trailing = packed.clone();
    trailing.extend_from_slice(b"junk");
    for kind in KINDS {
        let name = String::from_utf8_lossy(kind);
        for (what, data) in [
            ("cut short", &packed[..packed.len() - 3]),
            ("wrong checksum", &flipped[..]),
            ("data after its end", &trailing[..]),
        ] {
            let body = png_with_chunk(kind, compressed_chunk_data(kind, data));
            assert_eq!(code(&body, LIMIT), Err("png_structure"), "{name}, {what}");
        }
    }
}

#[test]
fn a_compressed_chunk_without_its_fields_is_refused() {
    let packed = zlib(b"text");
    let with = |head: &[u8]| [head, &packed[..]].concat();
    let cases: [(&[u8; 4], Vec<u8>, &str); 6] = [
        (b"zTXt", with(b"Comment"), "no NUL after the keyword"),
        (b"zTXt", with(b"\0\0"), "an empty keyword"),
        (
            b"zTXt",
            with(&[b"k".repeat(80), b"\0\0".to_vec()].concat()),
            "an 80-byte keyword",
        ),
        (b"zTXt", with(b"Comment\0\x01"), "compression method 1"),
        (b"iCCP", with(b"ICC profile\0\x08"), "compression method 8"),
        (b"iTXt", with(b"Comment\0\x02\0\0\0"), "compression flag 2"),
    ];
    for (kind, data, what) in cases {
        assert_eq!(code(&png_with_chunk(kind, data), LIMIT), Err("png_structure"), "{what}");
    }
}
