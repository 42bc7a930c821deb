//! Structural validation of PDF files.
//!
//! A PDF is accepted only when its own cross-reference data is true: `startxref`
//! points at a cross-reference section, every in-use entry points at exactly the
//! `N G obj` it names, every stream's `/Length` lands on `endstream`, and every
//! Flate stream inflates completely with a correct checksum. Magic bytes and an
//! `%%EOF` trailer prove nothing: the upstream's corrupt file has both.
//!
//! Lenient readers (lopdf, pdf.js, poppler) rebuild a broken xref by scanning for
//! `obj`; that is how they render damaged files, and exactly why they cannot tell
//! us a file is damaged. This reader never scans or repairs.

use super::pdf_syntax::{is_whitespace, Cursor, Dict, SyntaxError, Value};
use flate2::{Decompress, FlushDecompress, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Bounds that keep validation cheap on hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfLimits {
    /// Total bytes all Flate streams of one file may inflate to (a zip-bomb guard).
    pub max_inflated_bytes: u64,
    /// How many cross-reference sections (`/Prev` chain) are followed.
    pub max_xref_sections: usize,
}

impl Default for PdfLimits {
    fn default() -> Self {
        PdfLimits {
            max_inflated_bytes: 128 * 1024 * 1024,
            max_xref_sections: 64,
        }
    }
}

/// What a valid file turned out to contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    pub objects: usize,
    pub streams: usize,
    pub inflated_bytes: u64,
}

/// Why a file is not a sound PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// No `%PDF-x.y` header at byte 0.
    Header,
    /// No `startxref N %%EOF` at the end: typically a truncated transfer.
    Trailer,
    /// `startxref` does not point at a cross-reference section.
    StartXref { offset: usize },
    /// A cross-reference section or trailer is malformed.
    Xref { at: usize, what: &'static str },
    /// An in-use xref entry does not point at the object it names.
    ObjectOffset { num: u32, offset: usize },
    /// An object's syntax is broken.
    Object { num: u32, what: &'static str },
    /// A stream's `/Length` does not end where `endstream` is.
    StreamLength { num: u32 },
    /// A Flate stream does not inflate completely.
    StreamDecode { num: u32 },
    /// Streams inflate to more than the configured bound.
    InflateLimit,
    /// The trailer names no `/Root`, or it is not an in-use object.
    Root,
}

impl PdfError {
    /// A short, stable identifier for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Header => "pdf_header",
            PdfError::Trailer => "pdf_trailer",
            PdfError::StartXref { .. } => "pdf_startxref",
            PdfError::Xref { .. } => "pdf_xref",
            PdfError::ObjectOffset { .. } => "pdf_object_offset",
            PdfError::Object { .. } => "pdf_object",
            PdfError::StreamLength { .. } => "pdf_stream_length",
            PdfError::StreamDecode { .. } => "pdf_stream_decode",
            PdfError::InflateLimit => "pdf_inflate_limit",
            PdfError::Root => "pdf_root",
        }
    }
}

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PdfError::Header => write!(f, "no %PDF-x.y header"),
            PdfError::Trailer => write!(f, "no startxref/%%EOF trailer (truncated?)"),
            PdfError::StartXref { offset } => {
                write!(f, "startxref {offset} does not point at a cross-reference section")
            }
            PdfError::Xref { at, what } => write!(f, "cross-reference data at {at}: {what}"),
            PdfError::ObjectOffset { num, offset } => {
                write!(
                    f,
                    "xref entry for object {num} points at {offset}, where that object is not"
                )
            }
            PdfError::Object { num, what } => write!(f, "object {num}: {what}"),
            PdfError::StreamLength { num } => {
                write!(f, "stream of object {num}: /Length does not end at endstream")
            }
            PdfError::StreamDecode { num } => {
                write!(f, "stream of object {num}: Flate data does not inflate completely")
            }
            PdfError::InflateLimit => write!(f, "streams inflate beyond the configured limit"),
            PdfError::Root => write!(f, "trailer has no valid /Root"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    InUse { offset: usize, gen: u16 },
    InObjectStream { stream: u32 },
}

type XrefTable = BTreeMap<u32, Entry>;

/// Validates `data` as a PDF file; see the module documentation for what is checked.
pub fn validate(data: &[u8], limits: &PdfLimits) -> Result<PdfInfo, PdfError> {
    check_header(data)?;
    let start = find_startxref(data)?;
    let (table, trailer) = read_xref_chain(data, start, limits)?;

    match trailer.get(&b"Root"[..]) {
        Some(Value::Ref(num, _)) if table.contains_key(num) => {}
        _ => return Err(PdfError::Root),
    }

    let mut info = PdfInfo {
        objects: 0,
        streams: 0,
        inflated_bytes: 0,
    };
    let mut checker = ObjectChecker {
        data,
        table: &table,
        limits,
        inflater: Inflater::new(),
    };
    for (&num, &entry) in &table {
        match entry {
            Entry::InUse { offset, gen } => {
                let has_stream = checker.check(num, offset, gen, &mut info)?;
                info.objects += 1;
                info.streams += usize::from(has_stream);
            }
            Entry::InObjectStream { stream } => match table.get(&stream) {
                Some(Entry::InUse { .. }) => info.objects += 1,
                _ => {
                    return Err(PdfError::Object {
                        num,
                        what: "its object stream does not exist",
                    })
                }
            },
        }
    }
    Ok(info)
}

fn check_header(data: &[u8]) -> Result<(), PdfError> {
    match data {
        [b'%', b'P', b'D', b'F', b'-', major, b'.', minor, ..] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Ok(())
        }
        _ => Err(PdfError::Header),
    }
}

/// Finds `startxref <offset> %%EOF` at the very end of the file.
fn find_startxref(data: &[u8]) -> Result<usize, PdfError> {
    const TAIL: usize = 1024;
    const KEYWORD: &[u8] = b"startxref";
    let tail_start = data.len().saturating_sub(TAIL);
    let at = data[tail_start..]
        .windows(KEYWORD.len())
        .rposition(|w| w == KEYWORD)
        .ok_or(PdfError::Trailer)?
        + tail_start;

    let mut pos = at + KEYWORD.len();
    let skip_ws = |pos: &mut usize| {
        while data.get(*pos).is_some_and(|&b| is_whitespace(b)) {
            *pos += 1;
        }
    };
    skip_ws(&mut pos);
    let mut cursor = Cursor::at(data, pos);
    let offset = cursor.read_unsigned().map_err(|_| PdfError::Trailer)?;
    pos = cursor.pos;
    skip_ws(&mut pos);
    if !data[pos..].starts_with(b"%%EOF") {
        return Err(PdfError::Trailer);
    }
    pos += 5;
    skip_ws(&mut pos);
    if pos != data.len() {
        return Err(PdfError::Trailer);
    }
    usize::try_from(offset)
        .ok()
        .filter(|&o| o < at)
        .ok_or(PdfError::StartXref {
            offset: offset as usize,
        })
}

/// Reads the newest cross-reference section and every older one it links to.
/// Newer entries win; the newest trailer is returned.
fn read_xref_chain(data: &[u8], start: usize, limits: &PdfLimits) -> Result<(XrefTable, Dict), PdfError> {
    let mut table = XrefTable::new();
    let mut newest_trailer = None;
    let mut pending = vec![start];
    let mut seen = BTreeSet::new();

    while let Some(offset) = pending.pop() {
        if !seen.insert(offset) {
            continue; // a loop in /Prev: each section once
        }
        if seen.len() > limits.max_xref_sections {
            return Err(PdfError::Xref {
                at: offset,
                what: "too many cross-reference sections",
            });
        }
        let is_first = newest_trailer.is_none();
        let trailer = read_xref_section(data, offset, &mut table, is_first)?;
        for key in [&b"Prev"[..], &b"XRefStm"[..]] {
            match trailer.get(key) {
                None => {}
                Some(Value::Int(prev)) if *prev >= 0 && (*prev as usize) < data.len() => pending.push(*prev as usize),
                Some(_) => {
                    return Err(PdfError::Xref {
                        at: offset,
                        what: "bad /Prev or /XRefStm",
                    })
                }
            }
        }
        newest_trailer.get_or_insert(trailer);
    }
    let trailer = newest_trailer.ok_or(PdfError::StartXref { offset: start })?;
    let size = trailer
        .get(&b"Size"[..])
        .and_then(Value::as_int)
        .ok_or(PdfError::Xref {
            at: start,
            what: "trailer has no /Size",
        })?;
    if table.keys().next_back().is_some_and(|&max| i64::from(max) >= size) {
        return Err(PdfError::Xref {
            at: start,
            what: "object number beyond /Size",
        });
    }
    Ok((table, trailer))
}

/// Reads one section (a classic `xref` table or an xref stream) into `table`,
/// keeping entries already present, and returns its trailer dictionary.
fn read_xref_section(data: &[u8], offset: usize, table: &mut XrefTable, is_first: bool) -> Result<Dict, PdfError> {
    let mut cursor = Cursor::at(data, offset);
    if cursor.eat_keyword(b"xref") {
        return read_xref_table(cursor, table);
    }
    match cursor.read_object_header() {
        Ok((num, _)) => read_xref_stream(cursor, num, table),
        Err(_) if is_first => Err(PdfError::StartXref { offset }),
        Err(_) => Err(PdfError::Xref {
            at: offset,
            what: "/Prev does not point at a cross-reference section",
        }),
    }
}

fn xref_error(at: usize, what: &'static str) -> PdfError {
    PdfError::Xref { at, what }
}

fn read_xref_table(mut cursor: Cursor<'_>, table: &mut XrefTable) -> Result<Dict, PdfError> {
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
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let needed = count.saturating_mul(ENTRY_LEN);
        if needed > data.len() - cursor.pos {
            return Err(xref_error(at, "subsection runs past the end of the file"));
        }
        for i in 0..count {
            let pos = cursor.pos + i * ENTRY_LEN;
            let entry = &data[pos..pos + ENTRY_LEN];
            let (offset, gen, kind) = parse_table_entry(entry).ok_or(xref_error(pos, "bad entry"))?;
            let num = u32::try_from(first + i as u64).map_err(|_| xref_error(pos, "bad entry"))?;
            if kind == b'n' {
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

/// Parses `oooooooooo ggggg n` plus a two-byte end of line.
fn parse_table_entry(entry: &[u8]) -> Option<(usize, u16, u8)> {
    let digits = |s: &[u8]| -> Option<u64> {
        s.iter().try_fold(0u64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    };
    let offset = digits(&entry[0..10])?;
    let gen = digits(&entry[11..16])?;
    let kind = entry[17];
    let eol_ok = matches!(&entry[18..20], b" \r" | b" \n" | b"\r\n");
    (entry[10] == b' ' && entry[16] == b' ' && matches!(kind, b'n' | b'f') && eol_ok).then_some((
        usize::try_from(offset).ok()?,
        u16::try_from(gen).ok()?,
        kind,
    ))
}

fn read_xref_stream(mut cursor: Cursor<'_>, num: u32, table: &mut XrefTable) -> Result<Dict, PdfError> {
    let at = cursor.pos;
    let dict = match cursor.read_value() {
        Ok(Value::Dict(d)) => d,
        _ => return Err(xref_error(at, "xref stream has no dictionary")),
    };
    if dict.get(&b"Type"[..]) != Some(&Value::Name(b"XRef".to_vec())) {
        return Err(xref_error(at, "object at startxref is not an xref stream"));
    }
    // An xref stream's /Length must be direct: there is no table yet to resolve it with.
    let raw =
        stream_bytes(&mut cursor, num, &dict, &XrefTable::new())?.ok_or(xref_error(at, "xref stream has no stream"))?;
    let decoded = decode_xref_stream(raw, &dict).ok_or(PdfError::StreamDecode { num })?;

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

    let mut rows = decoded.chunks_exact(row);
    for pair in index.chunks_exact(2) {
        let (first, count) = (pair[0], pair[1]);
        if first < 0 || count < 0 {
            return Err(xref_error(at, "bad /Index"));
        }
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
                0 => continue,
                1 => Entry::InUse {
                    offset: usize::try_from(values[1]).map_err(|_| xref_error(at, "bad offset"))?,
                    gen: u16::try_from(values[2]).map_err(|_| xref_error(at, "bad generation"))?,
                },
                2 => Entry::InObjectStream {
                    stream: u32::try_from(values[1]).map_err(|_| xref_error(at, "bad stream"))?,
                },
                _ => continue, // reserved types are treated as null references
            };
            table.entry(num).or_insert(entry);
        }
    }
    Ok(dict)
}

/// Inflates an xref stream and undoes its PNG predictor, if any.
fn decode_xref_stream(raw: &[u8], dict: &Dict) -> Option<Vec<u8>> {
    let data = match first_filter(dict) {
        None => raw.to_vec(),
        Some(name) if name == b"FlateDecode" => {
            let mut out = Vec::new();
            Inflater::new()
                .inflate(raw, 64 * 1024 * 1024, |chunk| out.extend_from_slice(chunk))
                .ok()?;
            out
        }
        Some(_) => return None,
    };
    let params = match dict.get(&b"DecodeParms"[..]) {
        Some(Value::Dict(p)) => p.clone(),
        _ => Dict::new(),
    };
    let predictor = params.get(&b"Predictor"[..]).and_then(Value::as_int).unwrap_or(1);
    if predictor < 10 {
        return (predictor == 1).then_some(data);
    }
    let columns = params.get(&b"Columns"[..]).and_then(Value::as_int).unwrap_or(1);
    let columns = usize::try_from(columns).ok().filter(|&c| c > 0)?;
    undo_png_predictor(&data, columns)
}

/// PNG row filters as used by xref streams (one byte per pixel).
fn undo_png_predictor(data: &[u8], columns: usize) -> Option<Vec<u8>> {
    let stride = columns + 1;
    if !data.len().is_multiple_of(stride) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / stride * columns);
    let mut prev = vec![0u8; columns];
    for row in data.chunks_exact(stride) {
        let (filter, line) = (row[0], &row[1..]);
        let mut cur = vec![0u8; columns];
        for i in 0..columns {
            let left = if i > 0 { cur[i - 1] } else { 0 };
            let up = prev[i];
            let up_left = if i > 0 { prev[i - 1] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return None,
            };
            cur[i] = line[i].wrapping_add(predicted);
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// What checking the objects of one document shares.
struct ObjectChecker<'a> {
    data: &'a [u8],
    table: &'a XrefTable,
    limits: &'a PdfLimits,
    inflater: Inflater,
}

impl ObjectChecker<'_> {
    /// Checks the object an in-use entry points at. Returns whether it has a stream.
    fn check(&mut self, num: u32, offset: usize, gen: u16, info: &mut PdfInfo) -> Result<bool, PdfError> {
        let (data, table, limits) = (self.data, self.table, self.limits);
        let misplaced = PdfError::ObjectOffset { num, offset };
        if offset >= data.len() {
            return Err(misplaced);
        }
        let mut cursor = Cursor::at(data, offset);
        match cursor.read_object_header() {
            Ok(header) if header == (num, gen) => {}
            _ => return Err(misplaced),
        }
        let value = cursor.read_value().map_err(|e| object_error(num, e))?;
        let mut has_stream = false;
        if let Value::Dict(dict) = &value {
            if let Some(raw) = stream_bytes(&mut cursor, num, dict, table)? {
                has_stream = true;
                if first_filter(dict).is_some_and(|f| f == b"FlateDecode") {
                    let budget = limits.max_inflated_bytes.saturating_sub(info.inflated_bytes);
                    let inflated = self.inflater.inflate(raw, budget, |_| {}).map_err(|e| match e {
                        InflateError::Limit => PdfError::InflateLimit,
                        InflateError::Corrupt => PdfError::StreamDecode { num },
                    })?;
                    info.inflated_bytes += inflated;
                }
            }
        }
        cursor.skip_space();
        if !cursor.eat_keyword(b"endobj") {
            return Err(PdfError::Object {
                num,
                what: "no endobj after the value",
            });
        }
        Ok(has_stream)
    }
}

fn object_error(num: u32, e: SyntaxError) -> PdfError {
    PdfError::Object { num, what: e.what }
}

/// If a `stream` keyword follows the dictionary at `cursor`, returns its raw bytes
/// (exactly `/Length` of them) after checking that `endstream` follows them.
fn stream_bytes<'a>(
    cursor: &mut Cursor<'a>,
    num: u32,
    dict: &Dict,
    table: &XrefTable,
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
    let length = resolve_length(data, dict, table).ok_or(PdfError::StreamLength { num })?;
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

/// `/Length` is a direct integer or a reference to an integer object.
fn resolve_length(data: &[u8], dict: &Dict, table: &XrefTable) -> Option<usize> {
    let length = match dict.get(&b"Length"[..])? {
        Value::Int(n) => *n,
        Value::Ref(num, gen) => {
            let Some(Entry::InUse { offset, gen: g }) = table.get(num) else {
                return None;
            };
            let mut cursor = Cursor::at(data, *offset);
            if cursor.read_object_header().ok()? != (*num, *gen) || g != gen {
                return None;
            }
            cursor.read_value().ok()?.as_int()?
        }
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

#[derive(Debug)]
enum InflateError {
    Corrupt,
    Limit,
}

/// Inflates zlib streams, reusing one state and buffer for all the streams of a
/// document: allocating them per stream was a measurable share of validation.
struct Inflater {
    state: Decompress,
    buf: Vec<u8>,
}

impl Inflater {
    fn new() -> Self {
        Inflater {
            state: Decompress::new(true),
            buf: vec![0u8; 32 * 1024],
        }
    }

    /// Inflates `input` completely, handing output to `sink` in chunks. Fails
    /// unless the stream ends (checksum verified) and only white space follows it.
    fn inflate(&mut self, input: &[u8], limit: u64, mut sink: impl FnMut(&[u8])) -> Result<u64, InflateError> {
        let (state, buf) = (&mut self.state, &mut self.buf);
        state.reset(true);
        loop {
            let consumed = state.total_in() as usize;
            let before = state.total_out();
            let status = state
                .decompress(&input[consumed..], buf, FlushDecompress::None)
                .map_err(|_| InflateError::Corrupt)?;
            let produced = (state.total_out() - before) as usize;
            sink(&buf[..produced]);
            if state.total_out() > limit {
                return Err(InflateError::Limit);
            }
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => {
                    if produced == 0 && state.total_in() as usize == consumed {
                        return Err(InflateError::Corrupt); // no progress: input ended early
                    }
                }
            }
        }
        let rest = &input[state.total_in() as usize..];
        if rest.iter().all(|&b| is_whitespace(b)) {
            Ok(state.total_out())
        } else {
            Err(InflateError::Corrupt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_exactly_twenty_bytes() {
        assert_eq!(parse_table_entry(b"0000000019 00000 n\r\n"), Some((19, 0, b'n')));
        assert_eq!(parse_table_entry(b"0000000000 65535 f \n"), Some((0, 65535, b'f')));
        assert_eq!(parse_table_entry(b"000000001x 00000 n\r\n"), None);
        assert_eq!(parse_table_entry(b"0000000019 00000 x\r\n"), None);
        assert_eq!(parse_table_entry(b"0000000019 00000 n\n\n"), None);
    }

    #[test]
    fn inflate_requires_a_complete_stream() {
        use flate2::{write::ZlibEncoder, Compression};
        use std::io::Write;
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&[7u8; 5000]).unwrap();
        let packed = enc.finish().unwrap();
        assert_eq!(Inflater::new().inflate(&packed, u64::MAX, |_| {}).unwrap(), 5000);
        assert!(Inflater::new()
            .inflate(&packed[..packed.len() - 3], u64::MAX, |_| {})
            .is_err());
        assert!(matches!(
            Inflater::new().inflate(&packed, 100, |_| {}),
            Err(InflateError::Limit)
        ));
        let mut flipped = packed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1; // adler32 checksum
        assert!(Inflater::new().inflate(&flipped, u64::MAX, |_| {}).is_err());
    }

    #[test]
    fn png_predictor_up_rows() {
        // two rows of 2 columns, filter 2 (Up)
        let data = [2, 1, 2, 2, 1, 1];
        assert_eq!(undo_png_predictor(&data, 2), Some(vec![1, 2, 2, 3]));
        assert_eq!(undo_png_predictor(&[9, 0, 0], 2), None);
    }
}
