//! Hand-built PDFs with cross-reference streams (and one with an object
//! stream), for the validator's tests and the host's hostile-body tests.

use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

/// `data` as a zlib stream, as `/FlateDecode` expects.
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Xref stream rows with `/W [1 4 2]`: type, field 2, field 3, big-endian.
pub fn xref_rows(entries: &[(u8, u32, u16)]) -> Vec<u8> {
    let mut rows = Vec::with_capacity(entries.len() * 7);
    for &(kind, field2, field3) in entries {
        rows.push(kind);
        rows.extend_from_slice(&field2.to_be_bytes());
        rows.extend_from_slice(&field3.to_be_bytes());
    }
    rows
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
    /// Free rows appended after the four real ones (add them to `size`).
    pub free_rows: usize,
}

impl Default for Xref {
    fn default() -> Self {
        Xref {
            extra: String::new(),
            predictor: false,
            params_in_array: false,
            body: None,
            size: 4,
            free_rows: 0,
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

    let mut rows = xref_rows(&[
        (0u8, 0u32, 0xffffu16),
        (1, catalog as u32, 0),
        (1, pages as u32, 0),
        (1, xref as u32, 0),
    ]);
    for _ in 0..x.free_rows {
        rows.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
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

/// A PDF whose page tree (object 2) lives in object stream 3, with an xref
/// stream (object 4). `header` and `objects` make the object stream's data;
/// `index` is where the xref says object 2 sits in it.
pub fn object_stream_pdf(header: &str, objects: &str, n: u32, index: u16) -> Vec<u8> {
    object_stream_pdf_with(header, objects, n, index, &[])
}

/// [`object_stream_pdf`] whose xref also places objects 5, 6, … in object
/// stream 3, at the indexes `more` gives.
pub fn object_stream_pdf_with(header: &str, objects: &str, n: u32, index: u16, more: &[u16]) -> Vec<u8> {
    filtered_object_stream_pdf((" /Filter /FlateDecode", zlib), header, objects, n, index, more)
}

/// How a stream is encoded: its dictionary entries (e.g.
/// ` /Filter [/ASCIIHexDecode /FlateDecode]`) and what makes its data.
pub type Encoding<'a> = (&'a str, fn(&[u8]) -> Vec<u8>);

/// [`object_stream_pdf_with`] whose object stream is encoded as `encoding` says.
pub fn filtered_object_stream_pdf(
    (filter, encode): Encoding<'_>,
    header: &str,
    objects: &str,
    n: u32,
    index: u16,
    more: &[u16],
) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let objstm = out.len();
    let data = encode(format!("{header}{objects}").as_bytes());
    write!(
        out,
        "3 0 obj\n<< /Type /ObjStm /N {n} /First {}{filter} /Length {} >>\nstream\n",
        header.len(),
        data.len()
    )
    .unwrap();
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    let mut rows = vec![
        (0u8, 0u32, 0xffffu16),
        (1, catalog as u32, 0),
        (2, 3, index),
        (1, objstm as u32, 0),
        (1, xref as u32, 0),
    ];
    rows.extend(more.iter().map(|&index| (2, 3, index)));
    let size = rows.len();
    let rows = zlib(&xref_rows(&rows));
    write!(
        out,
        "4 0 obj\n<< /Type /XRef /Size {size} /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length {} >>\nstream\n",
        rows.len()
    )
    .unwrap();
    out.extend_from_slice(&rows);
    write!(out, "\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").unwrap();
    out
}
