//! The PNG check proves the image data is complete: built here from raw
//! scanlines, a PNG passes only when its zlib stream ends, with the right
//! checksum, at exactly the size IHDR's geometry gives; every chunk CRC is
//! right in each damaged case, so only the image-data check can refuse it.

use doc_core::document::png::{validate, PngError};
use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

const LIMIT: u64 = 128 << 20;

fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(body);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

fn ihdr(width: u32, height: u32, depth: u8, color: u8, interlace: u8) -> Vec<u8> {
    let mut body = width.to_be_bytes().to_vec();
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&[depth, color, 0, 0, interlace]);
    chunk(b"IHDR", &body)
}

/// A PNG from its IHDR chunk and its raw (filtered) image data, the zlib
/// stream split into `parts` IDAT chunks.
fn png(header: Vec<u8>, raw: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(raw).unwrap();
    let packed = enc.finish().unwrap();
    let mut chunks = vec![b"\x89PNG\r\n\x1a\n".to_vec(), header];
    for part in packed.chunks(packed.len().div_ceil(parts)) {
        chunks.push(chunk(b"IDAT", part));
    }
    chunks.push(chunk(b"IEND", b""));
    chunks
}

/// Rows of `width` 8-bit RGB pixels, each with filter byte 0.
fn rgb_rows(width: usize, height: usize) -> Vec<u8> {
    (0..height)
        .flat_map(|y| std::iter::once(0).chain((0..width * 3).map(move |x| (x * 7 + y) as u8)))
        .collect()
}

#[test]
fn complete_images_pass() {
    assert!(validate(&png(ihdr(40, 30, 8, 2, 0), &rgb_rows(40, 30), 3).concat(), LIMIT).is_ok());
    // 1-bit greyscale, 13 pixels wide: 2 bytes a row plus the filter byte.
    assert!(validate(
        &png(ihdr(13, 5, 1, 0, 0), &[0, 0xff, 0xf8].repeat(5), 1).concat(),
        LIMIT
    )
    .is_ok());
    // Adam7 interlaced, 8-bit greyscale 10×10: the seven passes are 2×2, 1×2,
    // 3×1, 2×3, 5×2, 5×5 and 10×5 pixels, each row with its filter byte.
    let passes = [(2, 2), (1, 2), (3, 1), (2, 3), (5, 2), (5, 5), (10, 5)];
    let raw: Vec<u8> = passes.iter().flat_map(|&(w, h)| vec![0u8; h * (1 + w)]).collect();
    assert!(validate(&png(ihdr(10, 10, 8, 0, 1), &raw, 2).concat(), LIMIT).is_ok());
}

#[test]
fn a_missing_idat_chunk_is_refused() {
    let mut chunks = png(ihdr(200, 200, 8, 2, 0), &rgb_rows(200, 200), 4);
    chunks.remove(3); // the second IDAT: every remaining CRC is still right
    let verdict = validate(&chunks.concat(), LIMIT);
    assert!(matches!(verdict, Err(PngError::ImageData { .. })), "{verdict:?}");
}

#[test]
fn geometry_and_data_must_agree() {
    let raw = rgb_rows(40, 30);
    // IHDR claims one row more (or less) than the data holds.
    for height in [29, 31] {
        let verdict = validate(&png(ihdr(40, height, 8, 2, 0), &raw, 1).concat(), LIMIT);
        assert!(
            matches!(verdict, Err(PngError::ImageData { .. })),
            "height {height}: {verdict:?}"
        );
    }
    // The same data declared non-interlaced vs interlaced differs in size.
    let passes = [(2, 2), (1, 2), (3, 1), (2, 3), (5, 2), (5, 5), (10, 5)];
    let raw: Vec<u8> = passes.iter().flat_map(|&(w, h)| vec![0u8; h * (1 + w)]).collect();
    assert!(validate(&png(ihdr(10, 10, 8, 0, 0), &raw, 1).concat(), LIMIT).is_err());
}

#[test]
fn a_flipped_checksum_is_refused_even_with_a_fresh_crc() {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&rgb_rows(40, 30)).unwrap();
    let mut packed = enc.finish().unwrap();
    let last = packed.len() - 1;
    packed[last] ^= 1; // Adler-32
    let data = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        ihdr(40, 30, 8, 2, 0),
        chunk(b"IDAT", &packed),
        chunk(b"IEND", b""),
    ]
    .concat();
    assert!(matches!(validate(&data, LIMIT), Err(PngError::ImageData { .. })));
}

#[test]
fn a_huge_header_is_refused_before_inflating() {
    // 100,000 × 100,000 RGBA would inflate to 40 GB.
    let data = png(ihdr(100_000, 100_000, 8, 6, 0), &[0u8; 100], 1).concat();
    assert_eq!(validate(&data, LIMIT), Err(PngError::InflateLimit));
}

#[test]
fn a_tiny_first_idat_is_fine() {
    // The zlib stream may start in a later chunk when the first holds one byte.
    let chunks = png(ihdr(40, 30, 8, 2, 0), &rgb_rows(40, 30), 1);
    let idat = &chunks[2];
    let body = &idat[8..idat.len() - 4];
    let data = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        ihdr(40, 30, 8, 2, 0),
        chunk(b"IDAT", &body[..1]),
        chunk(b"IDAT", &body[1..]),
        chunk(b"IEND", b""),
    ]
    .concat();
    assert!(validate(&data, LIMIT).is_ok());
}

/// A 1×1 8-bit greyscale image whose IHDR bytes are `header` (13 bytes).
fn with_ihdr_bytes(header: [u8; 13]) -> Vec<u8> {
    png(chunk(b"IHDR", &header), &[0, 0], 1).concat()
}

#[test]
fn every_ihdr_field_is_checked() {
    // width, height, depth, colour type, compression, filter, interlace
    let good = [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0];
    assert!(validate(&with_ihdr_bytes(good), LIMIT).is_ok());
    let mut cases = Vec::new();
    for (at, value, what) in [
        (3, 0, "width 0"),
        (7, 0, "height 0"),
        (0, 0x80, "width 2^31"),
        (4, 0x80, "height 2^31"),
        (8, 3, "depth 3"),
        (9, 5, "colour type 5"),
        (10, 1, "compression 1"),
        (11, 1, "filter 1"),
        (12, 2, "interlace 2"),
    ] {
        let mut bad = good;
        bad[at] = value;
        cases.push((bad, what));
    }
    // A depth that exists, but not for this colour type.
    let mut rgb_depth_1 = good;
    (rgb_depth_1[8], rgb_depth_1[9]) = (1, 2);
    cases.push((rgb_depth_1, "RGB at 1 bit"));
    let mut palette_16 = good;
    (palette_16[8], palette_16[9]) = (16, 3);
    cases.push((palette_16, "palette at 16 bits"));
    for (bad, what) in cases {
        let verdict = validate(&with_ihdr_bytes(bad), LIMIT);
        assert!(
            matches!(
                verdict,
                Err(PngError::Structure {
                    what: "invalid IHDR",
                    ..
                })
            ),
            "{what}: {verdict:?}"
        );
    }
}

#[test]
fn an_indexed_image_needs_its_palette() {
    let header = ihdr(1, 1, 8, 3, 0);
    let without = png(header.clone(), &[0, 0], 1);
    let verdict = validate(&without.concat(), LIMIT);
    assert!(
        matches!(
            verdict,
            Err(PngError::Structure {
                what: "indexed image without PLTE",
                ..
            })
        ),
        "{verdict:?}"
    );
    let mut with = without;
    with.insert(2, chunk(b"PLTE", &[0, 0, 0]));
    assert!(validate(&with.concat(), LIMIT).is_ok());
}

#[test]
fn an_idat_boundary_anywhere_is_fine() {
    // Stored (uncompressed) deflate blocks: the image data comes out byte for
    // byte as it goes in, so some split below ends the first IDAT exactly
    // where the validator's 64 KiB inflate buffer fills up, with nothing left
    // pending: it must wait for the next chunk, not call that a stall.
    let raw: Vec<u8> = (0..600)
        .flat_map(|y: u32| std::iter::once(0).chain((0..255).map(move |x| (x ^ y) as u8)))
        .collect();
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::none());
    enc.write_all(&raw).unwrap();
    let packed = enc.finish().unwrap();
    for split in (65_536 - 8)..(65_536 + 64) {
        let chunks = [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            ihdr(255, 600, 8, 0, 0),
            chunk(b"IDAT", &packed[..split]),
            chunk(b"IDAT", &packed[split..]),
            chunk(b"IEND", b""),
        ];
        let verdict = validate(&chunks.concat(), LIMIT);
        assert!(verdict.is_ok(), "first IDAT of {split} bytes: {verdict:?}");
    }
}

#[test]
fn a_chunk_length_over_2_31_is_refused_as_such() {
    let mut chunks = png(ihdr(1, 1, 8, 0, 0), &[0, 0], 1);
    // The IDAT's length field: 2^31 and 2^32-1, with no data behind either.
    for length in [0x8000_0000u32, u32::MAX] {
        chunks[2][..4].copy_from_slice(&length.to_be_bytes());
        let verdict = validate(&chunks.concat(), LIMIT);
        let error = verdict.expect_err("refused");
        assert_eq!(error.to_string(), "at byte 33: chunk length over 2^31-1");
        assert_eq!(error.code(), "png_structure");
    }
    // 2^31-1 itself is allowed by the format; this file just ends first.
    chunks[2][..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    assert_eq!(validate(&chunks.concat(), LIMIT), Err(PngError::Truncated { at: 33 }));
}

#[test]
fn unknown_chunks_are_skipped_only_when_ancillary() {
    let with_chunk = |kind: &[u8; 4]| {
        let mut chunks = png(ihdr(1, 1, 8, 0, 0), &[0, 0], 1);
        chunks.insert(2, chunk(kind, b"data"));
        validate(&chunks.concat(), LIMIT)
    };
    assert!(with_chunk(b"teXt").is_ok(), "an ancillary chunk is skipped");
    assert!(with_chunk(b"ABCD").is_err(), "an unknown critical chunk is refused");
}

#[test]
fn image_data_of_whole_inflate_buffers_ends_cleanly() {
    // 512 rows of 1 + 255 bytes: exactly two 64 KiB buffers of image data, so
    // the stream can end in a call that fills the buffer to the last byte.
    let raw: Vec<u8> = (0..512)
        .flat_map(|y: u32| std::iter::once(0).chain((0..255).map(move |x| (x ^ y) as u8)))
        .collect();
    for level in [Compression::none(), Compression::fast(), Compression::best()] {
        let mut enc = ZlibEncoder::new(Vec::new(), level);
        enc.write_all(&raw).unwrap();
        let packed = enc.finish().unwrap();
        let chunks = [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            ihdr(255, 512, 8, 0, 0),
            chunk(b"IDAT", &packed),
            chunk(b"IEND", b""),
        ];
        let verdict = validate(&chunks.concat(), LIMIT);
        assert!(verdict.is_ok(), "{level:?}: {verdict:?}");
    }
}

#[test]
fn grey_with_alpha_has_two_channels() {
    // 8-bit grey + alpha, 3×2: 1 + 3 × 2 bytes a row.
    assert!(validate(&png(ihdr(3, 2, 8, 4, 0), &[0u8; 14], 1).concat(), LIMIT).is_ok());
    assert!(validate(&png(ihdr(3, 2, 8, 4, 0), &[0u8; 26], 1).concat(), LIMIT).is_err());
}

#[test]
fn the_palette_comes_once_before_the_image_data_with_1_to_256_entries() {
    let with_palette = |entries: usize, at: usize| {
        let mut chunks = png(ihdr(1, 1, 8, 3, 0), &[0, 0], 1);
        chunks.insert(at, chunk(b"PLTE", &vec![9u8; entries * 3]));
        validate(&chunks.concat(), LIMIT)
    };
    assert!(with_palette(256, 2).is_ok());
    assert!(with_palette(1, 2).is_ok());
    let misplaced = |verdict: Result<_, PngError>| {
        matches!(
            verdict,
            Err(PngError::Structure {
                what: "misplaced or invalid PLTE",
                ..
            })
        )
    };
    assert!(misplaced(with_palette(257, 2)), "257 entries");
    assert!(misplaced(with_palette(0, 2)), "no entries");
    let mut ragged = png(ihdr(1, 1, 8, 3, 0), &[0, 0], 1);
    ragged.insert(2, chunk(b"PLTE", &[1, 2, 3, 4]));
    assert!(misplaced(validate(&ragged.concat(), LIMIT)), "4 bytes");
    // After the image data (an RGB image, which may carry a suggested palette).
    let mut late = png(ihdr(1, 1, 8, 2, 0), &[0, 0, 0, 0], 1);
    late.insert(3, chunk(b"PLTE", &[1, 2, 3]));
    assert!(misplaced(validate(&late.concat(), LIMIT)), "PLTE after IDAT");
    let mut twice = png(ihdr(1, 1, 8, 3, 0), &[0, 0], 1);
    twice.insert(2, chunk(b"PLTE", &[1, 2, 3]));
    twice.insert(2, chunk(b"PLTE", &[1, 2, 3]));
    assert!(misplaced(validate(&twice.concat(), LIMIT)), "two PLTE chunks");
}

#[test]
fn image_data_may_inflate_to_exactly_the_limit() {
    let file = png(ihdr(40, 30, 8, 2, 0), &rgb_rows(40, 30), 1).concat();
    let exact = 30 * (1 + 40 * 3);
    assert!(validate(&file, exact).is_ok());
    assert!(matches!(validate(&file, exact - 1), Err(PngError::InflateLimit)));
}

#[test]
fn adam7_passes_with_no_columns_or_rows_hold_no_bytes() {
    // 1×1: only the first pass has pixels. 3×3: passes 2, 4 and 6 have rows
    // but no columns, or columns but no rows.
    assert!(validate(&png(ihdr(1, 1, 8, 0, 1), &[0, 0], 1).concat(), LIMIT).is_ok());
    let passes = [(1, 1), (0, 1), (1, 0), (1, 1), (2, 1), (1, 2), (3, 1)];
    let raw: Vec<u8> = passes
        .iter()
        .filter(|&&(w, h)| w > 0 && h > 0)
        .flat_map(|&(w, h)| vec![0u8; h * (1 + w)])
        .collect();
    assert!(validate(&png(ihdr(3, 3, 8, 0, 1), &raw, 1).concat(), LIMIT).is_ok());
}

#[test]
fn every_row_filter_type_must_be_0_to_4() {
    // Every type the format defines passes, on every row.
    let mut rows = rgb_rows(40, 30);
    for (y, row) in rows.chunks_mut(1 + 40 * 3).enumerate() {
        row[0] = (y % 5) as u8;
    }
    assert!(validate(&png(ihdr(40, 30, 8, 2, 0), &rows, 3).concat(), LIMIT).is_ok());
    // Type 5 on the first, a middle or the last row: zlib and CRCs intact.
    for y in [0, 17, 29] {
        let mut bad = rows.clone();
        bad[y * (1 + 40 * 3)] = 5;
        let verdict = validate(&png(ihdr(40, 30, 8, 2, 0), &bad, 3).concat(), LIMIT);
        assert!(
            matches!(
                verdict,
                Err(PngError::ImageData {
                    what: "a row's filter type is not 0-4",
                    ..
                })
            ),
            "row {y}: {verdict:?}"
        );
    }
    // A pixel byte of 5 is not a filter byte.
    let mut pixel = rows.clone();
    pixel[1] = 5;
    assert!(validate(&png(ihdr(40, 30, 8, 2, 0), &pixel, 3).concat(), LIMIT).is_ok());
}

#[test]
fn filter_types_are_checked_in_every_adam7_pass() {
    // 8-bit greyscale 10x10: pass widths 2, 1, 3, 2, 5, 5, 10; heights 2, 2,
    // 1, 3, 2, 5, 5.
    let passes = [(2, 2), (1, 2), (3, 1), (2, 3), (5, 2), (5, 5), (10, 5)];
    let raw: Vec<u8> = passes.iter().flat_map(|&(w, h)| vec![4u8; h * (1 + w)]).collect();
    assert!(validate(&png(ihdr(10, 10, 8, 0, 1), &raw, 2).concat(), LIMIT).is_ok());
    let mut start = 0;
    for (pass, &(w, h)) in passes.iter().enumerate() {
        // The last row of each pass.
        let mut bad = raw.clone();
        bad[start + (h - 1) * (1 + w)] = 200;
        let verdict = validate(&png(ihdr(10, 10, 8, 0, 1), &bad, 2).concat(), LIMIT);
        assert!(
            matches!(verdict, Err(PngError::ImageData { .. })),
            "pass {pass}: {verdict:?}"
        );
        start += h * (1 + w);
    }
}

// APNG: every frame is checked, not only the default image. An animated PNG
// holds acTL (frame count), then per frame an fcTL (sequence number,
// geometry) and its data: the IDAT chunks for the default image, fdAT
// chunks (a sequence number, then zlib data) for the others. Sequence
// numbers run 0, 1, 2, ... across fcTL and fdAT.

fn zlib(raw: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

fn actl(frames: u32) -> Vec<u8> {
    chunk(b"acTL", &[frames.to_be_bytes(), 0u32.to_be_bytes()].concat())
}

/// fcTL: sequence number, width, height, x and y offset, 1/10 s, dispose and blend 0.
fn fctl(sequence: u32, (width, height): (u32, u32), (x, y): (u32, u32)) -> Vec<u8> {
    let mut body: Vec<u8> = [sequence, width, height, x, y]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    body.extend_from_slice(&[0, 1, 0, 10, 0, 0]);
    chunk(b"fcTL", &body)
}

fn fdat(sequence: u32, data: &[u8]) -> Vec<u8> {
    chunk(b"fdAT", &[&sequence.to_be_bytes()[..], data].concat())
}

/// An 8×8 RGB animation: the default image is frame 0 (fcTL 0, IDAT), then
/// a 4×4 frame at (2, 2) (fcTL 1) whose data is split over fdAT 2 and 3.
fn animation() -> Vec<Vec<u8>> {
    let second = zlib(&rgb_rows(4, 4));
    let half = second.len() / 2;
    vec![
        b"\x89PNG\r\n\x1a\n".to_vec(),
        ihdr(8, 8, 8, 2, 0),
        actl(2),
        fctl(0, (8, 8), (0, 0)),
        chunk(b"IDAT", &zlib(&rgb_rows(8, 8))),
        fctl(1, (4, 4), (2, 2)),
        fdat(2, &second[..half]),
        fdat(3, &second[half..]),
        chunk(b"IEND", b""),
    ]
}

#[test]
fn animations_pass_with_the_default_image_in_them_or_not() {
    assert!(validate(&animation().concat(), LIMIT).is_ok());
    // The default image outside the animation: IDAT first, then fcTL 0.
    let frame = zlib(&rgb_rows(3, 2));
    let outside = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        ihdr(8, 8, 8, 2, 0),
        actl(1),
        chunk(b"IDAT", &zlib(&rgb_rows(8, 8))),
        fctl(0, (3, 2), (5, 6)),
        fdat(1, &frame),
        chunk(b"IEND", b""),
    ];
    assert!(validate(&outside.concat(), LIMIT).is_ok());
}

fn refused_as(chunks: &[Vec<u8>], what: &str) {
    let verdict = validate(&chunks.concat(), LIMIT);
    let said = match &verdict {
        Err(PngError::Structure { what, .. } | PngError::ImageData { what, .. }) => *what,
        _ => "",
    };
    assert_eq!(said, what, "{verdict:?}");
}

#[test]
fn every_frame_s_image_data_is_checked() {
    // A flipped byte in a frame's zlib data (its fdAT CRC recomputed).
    let mut chunks = animation();
    let second = zlib(&rgb_rows(4, 4));
    let mut flipped = second.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1; // Adler-32
    chunks[6] = fdat(2, &flipped[..second.len() / 2]);
    chunks[7] = fdat(3, &flipped[second.len() / 2..]);
    refused_as(&chunks, "not a valid zlib stream");
    // A row short, a row long, a row with filter type 5.
    let mut chunks = animation();
    chunks[6] = fdat(2, &zlib(&rgb_rows(4, 3)));
    chunks.remove(7);
    refused_as(&chunks, "less image data than IHDR describes");
    let mut chunks = animation();
    chunks[6] = fdat(2, &zlib(&rgb_rows(4, 5)));
    chunks.remove(7);
    refused_as(&chunks, "more image data than IHDR describes");
    let mut rows = rgb_rows(4, 4);
    rows[2 * 13] = 5;
    let mut chunks = animation();
    chunks[6] = fdat(2, &zlib(&rows));
    chunks.remove(7);
    refused_as(&chunks, "a row's filter type is not 0-4");
    // The last fdAT missing: the frame's data does not end.
    let mut chunks = animation();
    chunks.remove(7);
    refused_as(&chunks, "the zlib stream does not end: image data is missing");
}

#[test]
fn sequence_numbers_run_in_order_across_fctl_and_fdat() {
    let mut swapped = animation();
    swapped.swap(6, 7);
    refused_as(&swapped, "animation chunks out of sequence");
    let mut gap = animation();
    gap[5] = fctl(2, (4, 4), (2, 2));
    refused_as(&gap, "animation chunks out of sequence");
    let mut restarted = animation();
    restarted[3] = fctl(1, (8, 8), (0, 0));
    refused_as(&restarted, "animation chunks out of sequence");
}

#[test]
fn frames_must_be_declared_placed_and_shaped_as_the_format_says() {
    let mut chunks = animation();
    chunks[2] = actl(3);
    refused_as(&chunks, "acTL's frame count is not the number of fcTL chunks");
    let mut chunks = animation();
    chunks[2] = actl(1);
    refused_as(&chunks, "acTL's frame count is not the number of fcTL chunks");
    let mut chunks = animation();
    chunks[2] = actl(0);
    refused_as(&chunks, "invalid acTL");
    // Two fcTL chunks before the image data.
    let mut chunks = animation();
    chunks.insert(4, fctl(1, (8, 8), (0, 0)));
    for (sequence, index) in [(2, 6), (3, 7), (4, 8)] {
        chunks[index] = match index {
            6 => fctl(sequence, (4, 4), (2, 2)),
            _ => fdat(sequence, &chunks[index][12..chunks[index].len() - 4]),
        };
    }
    chunks[2] = actl(3);
    refused_as(
        &chunks,
        "the default image's fcTL is not the whole image, or not the only one",
    );
    // acTL after the image data, twice, or missing.
    let frame = zlib(&rgb_rows(3, 2));
    let late = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        ihdr(8, 8, 8, 2, 0),
        chunk(b"IDAT", &zlib(&rgb_rows(8, 8))),
        actl(1),
        fctl(0, (3, 2), (5, 6)),
        fdat(1, &frame),
        chunk(b"IEND", b""),
    ];
    refused_as(&late, "acTL after the image data, or twice");
    let mut chunks = animation();
    chunks.insert(2, actl(2));
    refused_as(&chunks, "acTL after the image data, or twice");
    let mut chunks = animation();
    chunks.remove(2);
    refused_as(&chunks, "fcTL or fdAT without acTL");
    // A frame reaching outside the canvas, or empty; the default image's
    // frame not the whole canvas.
    for (size, at) in [((4, 4), (5, 2)), ((4, 4), (2, 5)), ((0, 4), (2, 2)), ((4, 0), (2, 2))] {
        let mut chunks = animation();
        chunks[5] = fctl(1, size, at);
        refused_as(&chunks, "invalid fcTL");
    }
    let mut chunks = animation();
    chunks[3] = fctl(0, (8, 7), (0, 1));
    refused_as(
        &chunks,
        "the default image's fcTL is not the whole image, or not the only one",
    );
    let mut chunks = animation();
    chunks[3] = fctl(0, (8, 7), (0, 0));
    refused_as(
        &chunks,
        "the default image's fcTL is not the whole image, or not the only one",
    );
    // Dispose and blend operations past the ones defined; a short fcTL.
    for (index, value) in [(24, 3u8), (25, 2u8)] {
        let mut chunks = animation();
        let mut body = chunks[5][8..chunks[5].len() - 4].to_vec();
        body[index] = value;
        chunks[5] = chunk(b"fcTL", &body);
        refused_as(&chunks, "invalid fcTL");
    }
    let mut chunks = animation();
    chunks[5] = chunk(b"fcTL", &chunks[5][8..chunks[5].len() - 5]);
    refused_as(&chunks, "invalid fcTL");
    // fdAT with no frame to belong to: right after the default image.
    let mut chunks = animation();
    chunks.remove(5);
    refused_as(&chunks, "fdAT before its frame's fcTL");
    // An fdAT too short to hold its sequence number.
    let mut chunks = animation();
    chunks[7] = chunk(b"fdAT", &[0, 0, 0]);
    refused_as(&chunks, "fdAT too short");
}

#[test]
fn all_frames_together_stay_within_the_inflation_budget() {
    // 8×8 RGB: 200 bytes; 4×4: 52 bytes.
    let data = animation().concat();
    assert!(validate(&data, 252).is_ok());
    assert_eq!(validate(&data, 251), Err(PngError::InflateLimit));
}

#[test]
fn an_empty_fdat_is_allowed_and_a_frame_must_end_before_the_next() {
    // An fdAT may carry its sequence number and no data, as an IDAT may be empty.
    let mut chunks = animation();
    let second = zlib(&rgb_rows(4, 4));
    chunks[7] = fdat(3, &[]);
    chunks.insert(8, fdat(4, &second[second.len() / 2..]));
    assert!(validate(&chunks.concat(), LIMIT).is_ok());
    // Frame 1's data cut short, then a complete frame 2: refused at frame 2's fcTL.
    let mut chunks = animation();
    chunks[2] = actl(3);
    chunks.remove(7);
    chunks.insert(7, fctl(3, (2, 2), (0, 0)));
    chunks.insert(8, fdat(4, &zlib(&rgb_rows(2, 2))));
    refused_as(&chunks, "the zlib stream does not end: image data is missing");
}

#[test]
fn adam7_passes_with_columns_but_no_rows_leave_the_row_starts_in_place() {
    // 8×1: passes 3, 5 and 7 have columns but no rows. Pixel bytes over 4
    // must not be taken for filter types.
    let passes = [(1, 1), (1, 1), (2, 1), (4, 1)];
    let raw: Vec<u8> = passes
        .iter()
        .flat_map(|&(w, h): &(usize, usize)| {
            (0..h).flat_map(move |_| std::iter::once(1).chain(std::iter::repeat_n(200, w)))
        })
        .collect();
    assert!(validate(&png(ihdr(8, 1, 8, 0, 1), &raw, 1).concat(), LIMIT).is_ok());
}
