//! Hostile documents: bodies built to make a validator use a lot of memory or
//! time (deflate bombs in each kind of stream, Flate inside Flate, compressed
//! PNG text and ICC chunks, absurd sizes, deep nesting, huge object counts).
//! All but one are invalid and must be refused; the one valid body (half a
//! million free xref rows) must be served. Either way,
//! within bounded memory. `doc-core`'s bomb tests judge them one by one; the
//! host's memory-budget test sends them many at a time.

use crate::xref_stream::{object_stream_pdf, pdf, zlib, Xref};
use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

/// A hostile body: a name for messages, the bytes, the MIME type an upstream
/// would claim for it.
pub struct Hostile {
    pub name: &'static str,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Structurally valid: served, not refused.
    pub valid: bool,
}

/// Every hostile body. `big` is the inflated size the bombs aim for; it should
/// be well over any inflation budget (the default budget is 128 MiB).
pub fn all(big: usize) -> Vec<Hostile> {
    let pdf_case = |name, body| Hostile {
        name,
        body,
        content_type: "application/pdf",
        valid: false,
    };
    vec![
        pdf_case(
            "xref stream inflating past the budget",
            pdf(&Xref {
                body: Some(zlib(&vec![0u8; big])),
                ..Xref::default()
            }),
        ),
        pdf_case(
            "xref stream with /Size 4e9",
            pdf(&Xref {
                size: 4_000_000_000,
                ..Xref::default()
            }),
        ),
        Hostile {
            valid: true,
            ..pdf_case(
                "xref stream of 499,996 free rows (valid, just under the row limit)",
                pdf(&Xref {
                    size: 500_000,
                    free_rows: 499_996,
                    ..Xref::default()
                }),
            )
        },
        pdf_case("content stream inflating past the budget", content_bomb(big)),
        pdf_case(
            "content stream behind ASCIIHexDecode inflating past the budget",
            one_stream_pdf(
                " /Filter [/ASCIIHexDecode /FlateDecode]",
                &crate::ascii::hex(&zlib(&vec![0u8; big])),
            ),
        ),
        pdf_case(
            "object stream inflating past the budget",
            object_stream_pdf("2 0 ", &" ".repeat(big), 1, 0),
        ),
        pdf_case(
            "content stream of Flate inside Flate inflating past the budget",
            nested_flate_bomb(big, 2),
        ),
        pdf_case("arrays nested a million deep", deep_nesting(1_000_000)),
        pdf_case("200,000 tiny objects, the last one misplaced", many_objects(200_000)),
        Hostile {
            name: "PNG whose IHDR claims 100,000 x 100,000 RGBA",
            body: png_with_ihdr(100_000, 100_000),
            content_type: "image/png",
            valid: false,
        },
        Hostile {
            name: "16x16 PNG whose zTXt chunk inflates past the budget",
            body: compressed_chunk_bomb(b"zTXt", big),
            content_type: "image/png",
            valid: false,
        },
    ]
}

/// `len` zero bytes as one zlib stream at the best compression (about 1,000
/// to 1), compressed a piece at a time so they are never held.
pub fn zlib_zeros(len: usize) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
    let zeros = [0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len());
        enc.write_all(&zeros[..n]).unwrap();
        left -= n;
    }
    enc.finish().unwrap()
}

/// A PDF whose content stream is `inflated` zero bytes compressed `layers`
/// times over, its `/Filter` naming `/FlateDecode` once per layer: each layer
/// shrinks the last one's output about a thousand times again, so two layers
/// make 1 GiB a file of about 2 KB.
pub fn nested_flate_bomb(inflated: usize, layers: usize) -> Vec<u8> {
    let mut data = zlib_zeros(inflated);
    for _ in 1..layers {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&data).unwrap();
        data = enc.finish().unwrap();
    }
    let filter = format!(" /Filter [{}]", vec!["/FlateDecode"; layers].join(" "));
    one_stream_pdf(&filter, &data)
}

/// A PDF whose only content stream inflates to `inflated` bytes of zeros.
pub fn content_bomb(inflated: usize) -> Vec<u8> {
    one_stream_pdf(" /Filter /FlateDecode", &zlib(&vec![0u8; inflated]))
}

/// A valid PDF with one stream holding `data` as it is, its dictionary
/// extended by `dict` (e.g. a filter): with plain data, a large document that
/// is cheap to check.
pub fn one_stream_pdf(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    let content = out.len();
    write!(out, "2 0 obj\n<< /Length {}{dict} >>\nstream\n", data.len()).unwrap();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    write!(
        out,
        "xref\n0 3\n0000000000 65535 f \n{catalog:010} 00000 n \n{content:010} 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out
}

/// A catalog whose `/Extra` entry is `depth` nested arrays.
pub fn deep_nesting(depth: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Extra ");
    out.extend(std::iter::repeat_n(b'[', depth));
    out.extend(std::iter::repeat_n(b']', depth));
    out.extend_from_slice(b" >>\nendobj\n");
    let xref = out.len();
    write!(
        out,
        "xref\n0 2\n0000000000 65535 f \n{catalog:010} 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out
}

/// A PDF of `count` `null` objects (a catalog first) with a classic xref
/// table whose every entry is right but the last, which points one byte off:
/// a validator must read the whole table before it can refuse it.
pub fn many_objects(count: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(count);
    for n in 1..=count {
        offsets.push(out.len());
        if n == 1 {
            out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
        } else {
            write!(out, "{n} 0 obj\nnull\nendobj\n").unwrap();
        }
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", count + 1).unwrap();
    let last = offsets.len() - 1;
    for (i, offset) in offsets.into_iter().enumerate() {
        writeln!(out, "{:010} 00000 n ", offset + usize::from(i == last)).unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        count + 1
    )
    .unwrap();
    out
}

/// A PNG with an 8-bit RGBA IHDR of `width` x `height`, one tiny IDAT and IEND,
/// every CRC right.
pub fn png_with_ihdr(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunks(&[(b"IHDR", ihdr), (b"IDAT", zlib(&[0u8; 64])), (b"IEND", Vec::new())])
}

/// The PNG signature and `chunks` (type, data), each with its length and a
/// right CRC.
pub fn png_chunks(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&kind[..]);
        crc.update(data);
        out.extend_from_slice(&kind[..]);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    out
}

/// A valid 16x16 8-bit greyscale PNG with one more chunk, `kind` holding
/// `data`, before its image data.
pub fn png_with_chunk(kind: &[u8; 4], data: Vec<u8>) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&16u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunks(&[
        (b"IHDR", ihdr),
        (kind, data),
        (b"IDAT", zlib(&[0u8; 16 * 17])),
        (b"IEND", Vec::new()),
    ])
}

/// The data of a compressed `zTXt`, `iTXt` or `iCCP` chunk: the fields the
/// format puts before the compressed bytes (keyword or profile name, NUL,
/// compression method 0; for iTXt the compression flag 1 first, and an empty
/// language tag and translated keyword after), then `compressed`.
pub fn compressed_chunk_data(kind: &[u8; 4], compressed: &[u8]) -> Vec<u8> {
    let mut data = match kind {
        b"zTXt" => b"Comment\0\0".to_vec(),
        b"iTXt" => b"Comment\0\x01\0\0\0".to_vec(),
        b"iCCP" => b"ICC profile\0\0".to_vec(),
        _ => panic!("{kind:?} is not a compressed chunk"),
    };
    data.extend_from_slice(compressed);
    data
}

/// A 16x16 PNG whose `kind` chunk (`zTXt`, `iTXt` or `iCCP`) inflates to
/// `inflated` zero bytes: 160 MiB is a file of about 160 KB.
pub fn compressed_chunk_bomb(kind: &[u8; 4], inflated: usize) -> Vec<u8> {
    png_with_chunk(kind, compressed_chunk_data(kind, &zlib_zeros(inflated)))
}
