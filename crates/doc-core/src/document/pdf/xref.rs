//! Cross-reference data: classic `xref` tables and xref streams, the `/Prev`
//! and `/XRefStm` chain, and the stream framing (`/Length`, `endstream`) that
//! both xref streams and ordinary objects use.
//!
//! Every row any section declares is charged to `max_xref_entries` before it
//! is read, and an xref stream may inflate only to the size its `/W` and
//! `/Index` give, from the document's one inflation budget; so hostile
//! sections are refused before they can grow the table or the decoded rows.

use super::error::{PdfError, PdfLimits};
use super::inflate::{undo_png_predictor, InflateError, Inflater};
use crate::document::pdf::syntax::{Cursor, Dict, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    InUse {
        offset: usize,
        gen: u16,
    },
    /// Object `index` (0-based) of object stream `stream`.
    InObjectStream {
        stream: u32,
        index: u32,
    },
}

pub(super) type XrefTable = BTreeMap<u32, Entry>;

fn xref_error(at: usize, what: &'static str) -> PdfError {
    PdfError::Xref { at, what }
}

/// Reads the cross-reference sections of one document.
pub(super) struct XrefReader<'a, 'i> {
    pub data: &'a [u8],
    pub limits: &'a PdfLimits,
    pub inflater: &'i mut Inflater,
    /// Rows still allowed, all sections together.
    rows_left: u64,
    /// Where the xref streams read so far start (their `N G obj`): their data
    /// has been inflated and checked here, so the object check need not again.
    pub decoded_streams: BTreeSet<usize>,
}

impl<'a, 'i> XrefReader<'a, 'i> {
    pub(super) fn new(data: &'a [u8], limits: &'a PdfLimits, inflater: &'i mut Inflater) -> Self {
        XrefReader {
            data,
            limits,
            inflater,
            rows_left: limits.max_xref_entries,
            decoded_streams: BTreeSet::new(),
        }
    }

    /// Charges `rows` declared rows, before any of them is read.
    fn charge_rows(&mut self, rows: u64) -> Result<(), PdfError> {
        self.rows_left = self.rows_left.checked_sub(rows).ok_or(PdfError::XrefLimit)?;
        Ok(())
    }

    /// Reads the newest cross-reference section and every older one it links
    /// to. Newer entries win; the newest trailer is returned.
    pub(super) fn read_chain(&mut self, start: usize) -> Result<(XrefTable, Dict), PdfError> {
        let data = self.data;
        let mut table = XrefTable::new();
        let mut newest_trailer = None;
        let mut pending = vec![start];
        let mut seen = BTreeSet::new();

        while let Some(offset) = pending.pop() {
            // A section named twice: the chain loops (qpdf calls such a
            // file damaged), or two sections share one older section.
            if !seen.insert(offset) {
                return Err(xref_error(
                    offset,
                    "the /Prev chain comes back to a section it has read",
                ));
            }
            if seen.len() > self.limits.max_xref_sections {
                return Err(xref_error(offset, "too many cross-reference sections"));
            }
            let is_first = newest_trailer.is_none();
            let trailer = self.read_section(offset, &mut table, is_first)?;
            for key in [&b"Prev"[..], &b"XRefStm"[..]] {
                match trailer.get(key) {
                    None => {}
                    Some(Value::Int(prev)) if *prev >= 0 && (*prev as usize) < data.len() => {
                        pending.push(*prev as usize)
                    }
                    Some(_) => return Err(xref_error(offset, "bad /Prev or /XRefStm")),
                }
            }
            newest_trailer.get_or_insert(trailer);
        }
        let trailer = newest_trailer.ok_or(PdfError::StartXref { offset: start })?;
        // /Size must be there, but rows past it are a producer's slip, not
        // damage: pdfunite writes /Size short of its table, qpdf only warns,
        // and every row is checked against its object anyway. The same holds
        // for an xref stream's /Index (read_stream).
        if trailer.get(&b"Size"[..]).and_then(Value::as_int).is_none() {
            return Err(xref_error(start, "trailer has no /Size"));
        }
        Ok((table, trailer))
    }

    /// Reads one section (a classic `xref` table or an xref stream) into
    /// `table`, keeping entries already present, and returns its trailer
    /// dictionary.
    fn read_section(&mut self, offset: usize, table: &mut XrefTable, is_first: bool) -> Result<Dict, PdfError> {
        let mut cursor = Cursor::at(self.data, offset);
        if cursor.eat_keyword(b"xref") {
            return self.read_table(cursor, table);
        }
        match cursor.read_object_header() {
            Ok((num, _)) => {
                let dict = self.read_stream(cursor, num, table)?;
                self.decoded_streams.insert(offset);
                Ok(dict)
            }
            Err(_) if is_first => Err(PdfError::StartXref { offset }),
            Err(_) => Err(xref_error(offset, "/Prev does not point at a cross-reference section")),
        }
    }

    fn read_table(&mut self, mut cursor: Cursor<'_>, table: &mut XrefTable) -> Result<Dict, PdfError> {
        const ENTRY_LEN: usize = 20;
        let data = cursor.data;
        loop {
            cursor.skip_space();
            if cursor.eat_keyword(b"trailer") {
                break;
            }
            let at = cursor.pos;
            let first = cursor
                .read_unsigned()
                .map_err(|_| xref_error(at, "bad subsection header"))?;
            cursor.skip_space();
            let count = cursor
                .read_unsigned()
                .map_err(|_| xref_error(at, "bad subsection header"))?;
            // The entries start after the end-of-line of the subsection header.
            while data
                .get(cursor.pos)
                .is_some_and(|&b| b == b' ' || b == b'\r' || b == b'\n')
            {
                cursor.pos += 1;
            }
            let needed = usize::try_from(count).unwrap_or(usize::MAX).saturating_mul(ENTRY_LEN);
            if needed > data.len() - cursor.pos {
                return Err(xref_error(at, "subsection runs past the end of the file"));
            }
            self.charge_rows(count)?;
            for i in 0..count as usize {
                let pos = cursor.pos + i * ENTRY_LEN;
                let entry = &data[pos..pos + ENTRY_LEN];
                let row = parse_table_entry(entry).ok_or(xref_error(pos, "bad entry"))?;
                let num = u32::try_from(first + i as u64).map_err(|_| xref_error(pos, "bad entry"))?;
                if let Row::InUse { offset, gen } = row {
                    if offset == 0 {
                        return Err(xref_error(pos, "in-use entry at offset 0"));
                    }
                    table.entry(num).or_insert(Entry::InUse { offset, gen });
                }
            }
            cursor.pos += needed;
        }
        match cursor.read_value() {
            Ok(Value::Dict(dict)) => Ok(dict),
            _ => Err(xref_error(cursor.pos, "trailer is not a dictionary")),
        }
    }

    fn read_stream(&mut self, mut cursor: Cursor<'_>, num: u32, table: &mut XrefTable) -> Result<Dict, PdfError> {
        let at = cursor.pos;
        let dict = match cursor.read_value() {
            Ok(Value::Dict(d)) => d,
            _ => return Err(xref_error(at, "xref stream has no dictionary")),
        };
        if dict.get(&b"Type"[..]) != Some(&Value::Name(b"XRef".to_vec())) {
            return Err(xref_error(at, "object at startxref is not an xref stream"));
        }
        // An xref stream's /Length must be direct: there is no table yet to resolve it with.
        let raw = stream_bytes(&mut cursor, num, &dict, &XrefTable::new(), &PackedIntegers::new())?
            .ok_or(xref_error(at, "xref stream has no stream"))?;

        let widths: Vec<usize> = match dict.get(&b"W"[..]) {
            Some(Value::Array(w)) if w.len() == 3 => w
                .iter()
                .map(|v| v.as_int().and_then(|i| usize::try_from(i).ok()).filter(|&i| i <= 8))
                .collect::<Option<_>>()
                .ok_or(xref_error(at, "bad /W"))?,
            _ => return Err(xref_error(at, "bad /W")),
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(xref_error(at, "bad /W"));
        }
        let size = dict
            .get(&b"Size"[..])
            .and_then(Value::as_int)
            .ok_or(xref_error(at, "no /Size"))?;
        let index: Vec<i64> = match dict.get(&b"Index"[..]) {
            None => vec![0, size],
            Some(Value::Array(items)) if items.len() % 2 == 0 => items
                .iter()
                .map(Value::as_int)
                .collect::<Option<_>>()
                .ok_or(xref_error(at, "bad /Index"))?,
            Some(_) => return Err(xref_error(at, "bad /Index")),
        };
        // The rows the subsections declare are charged before anything is
        // inflated. They may run past /Size, as a classic table's may.
        let mut rows = 0u64;
        for pair in index.chunks_exact(2) {
            let (first, count) = (pair[0], pair[1]);
            if first < 0 || count < 0 || first.checked_add(count).is_none() {
                return Err(xref_error(at, "bad /Index"));
            }
            rows += count as u64;
        }
        self.charge_rows(rows)?;

        let params = decode_params(&dict).ok_or(xref_error(at, "bad /DecodeParms"))?;
        let decoded = self.decode_stream(raw, &dict, &params, (rows, row), (at, num))?;
        let mut rows = decoded.chunks_exact(row);
        for pair in index.chunks_exact(2) {
            let (first, count) = (pair[0], pair[1]);
            for i in 0..count {
                let fields = rows.next().ok_or(xref_error(at, "xref stream shorter than /Index"))?;
                let mut values = [0u64; 3];
                let mut pos = 0;
                for (k, &w) in widths.iter().enumerate() {
                    values[k] = fields[pos..pos + w].iter().fold(0, |acc, &b| (acc << 8) | u64::from(b));
                    pos += w;
                }
                // A zero-width type field means type 1 (ISO 32000-1 §7.5.8.2).
                let kind = if widths[0] == 0 { 1 } else { values[0] };
                let num = u32::try_from(first + i).map_err(|_| xref_error(at, "bad /Index"))?;
                let entry = match kind {
                    1 => Entry::InUse {
                        offset: usize::try_from(values[1]).map_err(|_| xref_error(at, "bad offset"))?,
                        gen: u16::try_from(values[2]).map_err(|_| xref_error(at, "bad generation"))?,
                    },
                    2 => Entry::InObjectStream {
                        stream: u32::try_from(values[1]).map_err(|_| xref_error(at, "bad stream"))?,
                        index: u32::try_from(values[2]).map_err(|_| xref_error(at, "bad stream index"))?,
                    },
                    _ => continue, // free (0), or reserved types, which mean a null reference
                };
                table.entry(num).or_insert(entry);
            }
        }
        Ok(dict)
    }

    /// An xref stream's rows: inflated (from the document's budget, and to no
    /// more than `rows` rows of `row` bytes plus predictor bytes) and with the
    /// PNG predictor undone.
    fn decode_stream(
        &mut self,
        raw: &[u8],
        dict: &Dict,
        params: &Dict,
        (rows, row): (u64, usize),
        (at, num): (usize, u32),
    ) -> Result<Vec<u8>, PdfError> {
        let predictor = params.get(&b"Predictor"[..]).and_then(Value::as_int).unwrap_or(1);
        let columns = params.get(&b"Columns"[..]).and_then(Value::as_int).unwrap_or(1);
        let columns = usize::try_from(columns)
            .ok()
            .filter(|&c| c > 0)
            .ok_or(PdfError::StreamDecode { num })?;
        let bytes = rows.checked_mul(row as u64).ok_or(PdfError::XrefLimit)?;
        // With a PNG predictor every row of `columns` bytes carries a filter byte.
        let expected = if predictor >= 10 {
            bytes.div_ceil(columns as u64) * (columns as u64 + 1)
        } else {
            bytes
        };
        let data = match first_filter(dict) {
            None => raw.to_vec(),
            Some(name) if name == b"FlateDecode" => {
                if expected > self.inflater.remaining() {
                    return Err(PdfError::InflateLimit);
                }
                let mut out = Vec::with_capacity(expected as usize);
                self.inflater
                    .inflate(raw, Some(expected), |chunk| out.extend_from_slice(chunk))
                    .map_err(|e| match e {
                        InflateError::Budget => PdfError::InflateLimit,
                        InflateError::TooLong => xref_error(at, "xref stream longer than /Index says"),
                        InflateError::Corrupt => PdfError::StreamDecode { num },
                    })?;
                out
            }
            Some(_) => return Err(PdfError::StreamDecode { num }),
        };
        match predictor {
            1 => Ok(data),
            p if p >= 10 => undo_png_predictor(&data, columns).ok_or(PdfError::StreamDecode { num }),
            _ => Err(PdfError::StreamDecode { num }),
        }
    }
}

/// A stream's decode parameters for its first filter: `/DecodeParms` may be a
/// dictionary, or an array with one entry (dictionary or null) per filter.
pub(super) fn decode_params(dict: &Dict) -> Option<Dict> {
    match dict.get(&b"DecodeParms"[..]) {
        None | Some(Value::Null) => Some(Dict::new()),
        Some(Value::Dict(p)) => Some(p.clone()),
        Some(Value::Array(items)) => match items.first() {
            None | Some(Value::Null) => Some(Dict::new()),
            Some(Value::Dict(p)) => Some(p.clone()),
            Some(_) => None,
        },
        Some(_) => None,
    }
}

/// One row of a classic cross-reference table.
#[derive(Debug, PartialEq, Eq)]
enum Row {
    InUse { offset: usize, gen: u16 },
    Free,
}

/// Parses `oooooooooo ggggg n` plus a two-byte end of line.
fn parse_table_entry(entry: &[u8]) -> Option<Row> {
    let digits = |s: &[u8]| -> Option<u64> {
        s.iter().try_fold(0u64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    };
    let offset = digits(&entry[0..10])?;
    let gen = digits(&entry[11..16])?;
    let eol_ok = matches!(&entry[18..20], b" \r" | b" \n" | b"\r\n");
    if entry[10] != b' ' || entry[16] != b' ' || !eol_ok {
        return None;
    }
    match entry[17] {
        b'n' => Some(Row::InUse {
            offset: usize::try_from(offset).ok()?,
            gen: u16::try_from(gen).ok()?,
        }),
        // A free row's generation is never used to find an object, and
        // Pillow and `mutool clean` write the list's head as 65536.
        b'f' => Some(Row::Free),
        _ => None,
    }
}

/// If a `stream` keyword follows the dictionary at `cursor`, returns its raw
/// bytes (exactly `/Length` of them) after checking that `endstream` follows.
pub(super) fn stream_bytes<'a>(
    cursor: &mut Cursor<'a>,
    num: u32,
    dict: &Dict,
    table: &XrefTable,
    packed: &PackedIntegers,
) -> Result<Option<&'a [u8]>, PdfError> {
    let data = cursor.data;
    cursor.skip_space();
    if !cursor.eat_keyword(b"stream") {
        return Ok(None);
    }
    // `stream` is followed by CRLF or LF (ISO 32000-1 §7.3.8.1).
    if data[cursor.pos..].starts_with(b"\r\n") {
        cursor.pos += 2;
    } else if data[cursor.pos..].starts_with(b"\n") {
        cursor.pos += 1;
    } else {
        return Err(PdfError::Object {
            num,
            what: "no end of line after 'stream'",
        });
    }
    let length = resolve_length(data, dict, table, packed).ok_or(PdfError::StreamLength { num })?;
    let start = cursor.pos;
    let end = start
        .checked_add(length)
        .filter(|&e| e <= data.len())
        .ok_or(PdfError::StreamLength { num })?;
    cursor.pos = end;
    cursor.skip_space();
    if !cursor.eat_keyword(b"endstream") {
        return Err(PdfError::StreamLength { num });
    }
    Ok(Some(&data[start..end]))
}

/// Integer objects found in object streams, by object number: the values an
/// indirect `/Length` may name there.
pub(super) type PackedIntegers = BTreeMap<u32, i64>;

/// `/Length` is a direct integer or a reference to an integer object, which
/// may live in an object stream (then its generation is 0, and the stream has
/// been checked before: see `PackedIntegers`).
fn resolve_length(data: &[u8], dict: &Dict, table: &XrefTable, packed: &PackedIntegers) -> Option<usize> {
    let length = match dict.get(&b"Length"[..])? {
        Value::Int(n) => *n,
        Value::Ref(num, gen) => match table.get(num)? {
            Entry::InUse { offset, gen: g } => {
                let mut cursor = Cursor::at(data, *offset);
                if cursor.read_object_header().ok()? != (*num, *gen) || g != gen {
                    return None;
                }
                cursor.read_value().ok()?.as_int()?
            }
            Entry::InObjectStream { .. } if *gen == 0 => *packed.get(num)?,
            Entry::InObjectStream { .. } => return None,
        },
        _ => return None,
    };
    usize::try_from(length).ok()
}

/// The first filter applied to a stream, if any.
fn first_filter(dict: &Dict) -> Option<&[u8]> {
    match dict.get(&b"Filter"[..])? {
        Value::Name(name) => Some(name),
        Value::Array(items) => match items.first()? {
            Value::Name(name) => Some(name),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_exactly_twenty_bytes() {
        assert_eq!(
            parse_table_entry(b"0000000019 00000 n\r\n"),
            Some(Row::InUse { offset: 19, gen: 0 })
        );
        assert_eq!(parse_table_entry(b"0000000000 65535 f \n"), Some(Row::Free));
        assert_eq!(parse_table_entry(b"000000001x 00000 n\r\n"), None);
        assert_eq!(parse_table_entry(b"0000000019 00000 x\r\n"), None);
        assert_eq!(parse_table_entry(b"0000000019 00000 n\n\n"), None);
        // Each separator on its own.
        assert_eq!(parse_table_entry(b"0000000019x00000 n\r\n"), None);
        assert_eq!(parse_table_entry(b"0000000019 00000xn\r\n"), None);
    }

    #[test]
    fn free_rows_take_any_five_digit_generation_in_use_rows_sixteen_bits() {
        // Pillow and `mutool clean` write the free-list head as generation
        // 65536; a free row's generation is never used to find an object.
        assert_eq!(parse_table_entry(b"0000000000 65536 f \n"), Some(Row::Free));
        assert_eq!(parse_table_entry(b"0000000000 99999 f \n"), Some(Row::Free));
        assert_eq!(
            parse_table_entry(b"0000000019 65535 n \n"),
            Some(Row::InUse { offset: 19, gen: 65535 })
        );
        assert_eq!(parse_table_entry(b"0000000019 65536 n \n"), None);
    }
}
