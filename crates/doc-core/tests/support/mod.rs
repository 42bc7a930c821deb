//! Hand-built PDFs with cross-reference streams, shared by the test files.
//! Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// How the xref stream of [`pdf`] is written.
#[derive(Clone)]
pub struct Xref {
    /// Extra dictionary entries, e.g. `/Index [0 4]`.
    pub extra: String,
    /// Encode rows with the PNG Up predictor (`/Predictor 12`).
    pub predictor: bool,
    /// `/DecodeParms` as a one-element array instead of a dictionary.
    pub params_in_array: bool,
    /// Replaces the encoded rows (after Flate) entirely.
    pub body: Option<Vec<u8>>,
    /// `/Size` written in the dictionary.
    pub size: u64,
}

impl Default for Xref {
    fn default() -> Self {
        Xref {
            extra: String::new(),
            predictor: false,
            params_in_array: false,
            body: None,
            size: 4,
        }
    }
}

/// A three-object PDF (catalog, pages, xref stream) whose only
/// cross-reference section is an xref stream with `/W [1 4 2]`.
pub fn pdf(x: &Xref) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let pages = out.len();
    out.extend_from_slice(b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n");
    let xref = out.len();

    let mut rows = Vec::new();
    for (kind, field2, field3) in [
        (0u8, 0u32, 0xffffu16),
        (1, catalog as u32, 0),
        (1, pages as u32, 0),
        (1, xref as u32, 0),
    ] {
        rows.push(kind);
        rows.extend_from_slice(&field2.to_be_bytes());
        rows.extend_from_slice(&field3.to_be_bytes());
    }
    let mut params = String::new();
    if x.predictor {
        let mut filtered = Vec::new();
        let mut prev = [0u8; 7];
        for row in rows.chunks_exact(7) {
            filtered.push(2); // Up
            filtered.extend(row.iter().zip(prev).map(|(b, p)| b.wrapping_sub(p)));
            prev.copy_from_slice(row);
        }
        rows = filtered;
        let dict = "<< /Predictor 12 /Columns 7 >>";
        params = if x.params_in_array {
            format!(" /DecodeParms [{dict}]")
        } else {
            format!(" /DecodeParms {dict}")
        };
    }
    let stream = x.body.clone().unwrap_or_else(|| zlib(&rows));
    write!(
        out,
        "3 0 obj\n<< /Type /XRef /Size {} /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {}{}{} >>\nstream\n",
        x.size,
        stream.len(),
        params,
        x.extra
    )
    .unwrap();
    out.extend_from_slice(&stream);
    write!(out, "\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").unwrap();
    out
}
