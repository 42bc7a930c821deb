//! Structural validation of PDF files.
//!
//! A PDF is accepted only when its own cross-reference data is true: `startxref`
//! points at a cross-reference section, every in-use entry points at exactly the
//! `N G obj` it names, every stream's `/Length` lands on `endstream`, and every
//! stream decodes through its filters completely: every Flate layer, alone,
//! behind ASCIIHex and ASCII85 or inside another Flate layer, inflates with a
//! correct checksum, all layers of all streams within one budget. Each object
//! in an object stream starts where its offset says, with only white space
//! between it and what comes before. Magic bytes and an `%%EOF` trailer
//! prove nothing: the upstream's corrupt file has both.
//!
//! Lenient readers (lopdf, pdf.js, poppler) rebuild a broken xref by scanning for
//! `obj`; that is how they render damaged files, and exactly why they cannot tell
//! us a file is damaged. This reader never scans or repairs.
//!
//! Encrypted files (`/Encrypt` in the trailer) are checked the same way except
//! that their streams are ciphertext: they are not inflated, and with AES
//! (crypt filters `AESV2`/`AESV3`) each must be a 16-byte IV plus whole
//! blocks. The streams the encryption dictionary leaves in clear are
//! plaintext and checked as in any file: the XMP metadata stream when
//! `/EncryptMetadata` is false, streams whose `/Crypt` filter is Identity,
//! and every stream when `/StmF` is Identity (or absent, from version 4 on).
//! Their structure (cross-references, object headers, lengths, `endstream`)
//! is checked as for any file; decrypting them to inflate the streams too
//! would need the standard security handler's key derivation, which this
//! validator does not implement.
//!
//! The parts: `error` (limits, results, refusals), `xref` (cross-reference
//! sections and stream framing), `inflate` (the zlib states Flate layers use,
//! under one budget, and the PNG predictor), `filters` (a stream's filter
//! chain: ASCII and Flate layers undone, one after the other, streamed); this
//! file checks the objects the cross-reference data names.

mod error;
mod filters;
mod inflate;
mod syntax;
mod xref;

pub use error::{PdfError, PdfInfo, PdfLimits};

use filters::{filter_names, Decoded, FilterError};
use inflate::{InflateError, Inflater};
use std::collections::{BTreeMap, BTreeSet};
use syntax::{is_whitespace, Cursor, Dict, SyntaxError, Value};
use xref::{decode_params, stream_bytes, Entry, PackedIntegers, XrefReader, XrefTable};

/// Validates `data` as a PDF file; see the module documentation for what is checked.
pub fn validate(data: &[u8], limits: &PdfLimits) -> Result<PdfInfo, PdfError> {
    check_header(data)?;
    let start = find_startxref(data)?;
    let mut inflater = Inflater::new(limits.max_inflated_bytes);
    let mut reader = XrefReader::new(data, limits, &mut inflater);
    let (table, trailer) = reader.read_chain(start)?;
    let decoded_streams = std::mem::take(&mut reader.decoded_streams);

    match trailer.get(&b"Root"[..]) {
        Some(Value::Ref(num, _)) if table.contains_key(num) => {}
        _ => return Err(PdfError::Root),
    }
    let encryption = encryption(data, &trailer, &table)?;

    let mut info = PdfInfo {
        objects: 0,
        streams: 0,
        inflated_bytes: 0,
    };
    // What each object stream must hold, by (stream, index), from the xref.
    // One slot holds one object: a second row claiming it names an object
    // the stream cannot hold there.
    let mut in_streams: BTreeMap<(u32, u32), u32> = BTreeMap::new();
    for (&num, entry) in &table {
        if let Entry::InObjectStream { stream, index } = *entry {
            if in_streams.insert((stream, index), num).is_some() {
                return Err(PdfError::Object {
                    num,
                    what: "another object's row claims its place in its object stream",
                });
            }
        }
    }
    // Object streams are checked first, so that an indirect `/Length` may
    // name an integer inside one (`PackedIntegers`).
    let object_streams: BTreeSet<u32> = in_streams.keys().map(|&(stream, _)| stream).collect();
    let mut checker = ObjectChecker {
        data,
        table: &table,
        decoded_streams: &decoded_streams,
        encryption,
        limits,
        in_streams,
        packed: PackedIntegers::new(),
        inflater,
    };
    let in_use = |num: &u32| match table.get(num) {
        Some(&Entry::InUse { offset, gen }) => Some((*num, offset, gen)),
        _ => None,
    };
    let streams_first = object_streams.iter().filter_map(in_use);
    let the_rest = table
        .keys()
        .filter(|num| !object_streams.contains(num))
        .filter_map(in_use);
    for (num, offset, gen) in streams_first.chain(the_rest) {
        let has_stream = checker.check(num, offset, gen)?;
        info.objects += 1;
        info.streams += usize::from(has_stream);
    }
    for (&num, &entry) in &table {
        match entry {
            Entry::InUse { .. } => {}
            Entry::InObjectStream { stream, .. } => match table.get(&stream) {
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
    // Entries left over name objects their (decoded) stream does not hold.
    // Streams of encrypted files are ciphertext and were not decoded; their
    // entries cannot be checked.
    if checker.encryption == Encryption::None {
        if let Some((&(stream, _), &num)) = checker.in_streams.iter().next() {
            return Err(PdfError::Object {
                num,
                what: if table.contains_key(&stream) {
                    "its object stream does not hold it"
                } else {
                    "its object stream does not exist"
                },
            });
        }
    }
    info.inflated_bytes = checker.inflater.used();
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
    // White space after %%EOF, NUL included: the same zero padding a PNG may
    // have after IEND.
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

/// What checking the objects of one document shares.
struct ObjectChecker<'a> {
    data: &'a [u8],
    table: &'a XrefTable,
    /// Xref streams, inflated and checked while reading the xref chain.
    decoded_streams: &'a BTreeSet<usize>,
    encryption: Encryption,
    limits: &'a PdfLimits,
    /// Objects the xref places in object streams, not yet found there.
    in_streams: BTreeMap<(u32, u32), u32>,
    /// Integers found where the xref places them in object streams.
    packed: PackedIntegers,
    inflater: Inflater,
}

/// Whether a file is encrypted, as its trailer's `/Encrypt` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    None,
    Encrypted {
        /// How streams are encrypted unless a `/Crypt` filter says otherwise.
        streams: Cipher,
        /// `/EncryptMetadata false`: the XMP stream (`/Type /Metadata`) is
        /// plaintext (qpdf's --cleartext-metadata, pikepdf's metadata=False).
        metadata_in_clear: bool,
    },
}

/// What one stream's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    /// Plaintext: checked like a stream of an unencrypted file.
    Clear,
    /// RC4 or an unknown handler: the ciphertext can have any length.
    Opaque,
    /// AES-CBC: a 16-byte IV, then whole 16-byte blocks.
    Aes,
}

/// Reads the trailer's `/Encrypt` (a dictionary, or a reference to one).
fn encryption(data: &[u8], trailer: &Dict, table: &XrefTable) -> Result<Encryption, PdfError> {
    let bad = PdfError::Xref {
        at: 0,
        what: "bad /Encrypt",
    };
    let dict = match trailer.get(&b"Encrypt"[..]) {
        None => return Ok(Encryption::None),
        Some(Value::Dict(d)) => d.clone(),
        Some(Value::Ref(num, gen)) => {
            let Some(Entry::InUse { offset, gen: g }) = table.get(num) else {
                return Err(bad);
            };
            let mut cursor = Cursor::at(data, *offset);
            match (cursor.read_object_header(), cursor.read_value()) {
                (Ok(header), Ok(Value::Dict(d))) if header == (*num, *gen) && g == gen => d,
                _ => return Err(bad),
            }
        }
        Some(_) => return Err(bad),
    };
    // Version 4 and 5 handlers name the stream crypt filter (/StmF) in /CF;
    // without one, or as /Identity, streams are left in clear.
    let version = dict.get(&b"V"[..]).and_then(Value::as_int).unwrap_or(0);
    let stream_filter = dict.get(&b"StmF"[..]);
    let method = match (stream_filter, dict.get(&b"CF"[..])) {
        (Some(Value::Name(filter)), Some(Value::Dict(filters))) => match filters.get(filter) {
            Some(Value::Dict(f)) => match f.get(&b"CFM"[..]) {
                Some(Value::Name(m)) => Some(m.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    let streams = match (method.as_deref(), stream_filter) {
        _ if version < 4 => Cipher::Opaque,
        (Some(b"AESV2" | b"AESV3"), _) => Cipher::Aes,
        (_, None) => Cipher::Clear,
        (_, Some(Value::Name(name))) if name == b"Identity" => Cipher::Clear,
        _ => Cipher::Opaque,
    };
    Ok(Encryption::Encrypted {
        streams,
        metadata_in_clear: version >= 4 && dict.get(&b"EncryptMetadata"[..]) == Some(&Value::Bool(false)),
    })
}

impl ObjectChecker<'_> {
    /// Checks the object an in-use entry points at. Returns whether it has a stream.
    fn check(&mut self, num: u32, offset: usize, gen: u16) -> Result<bool, PdfError> {
        let (data, table) = (self.data, self.table);
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
            if let Some(raw) = stream_bytes(&mut cursor, num, dict, table, &self.packed)? {
                has_stream = true;
                // Xref streams are never encrypted, and were checked already.
                if !self.decoded_streams.contains(&offset) {
                    self.check_stream(num, dict, raw)?;
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

    /// A stream's data: decoded through its filters as far as they are
    /// checked when it is plaintext (an object stream is kept and its
    /// objects checked); ciphertext is only checked for its shape.
    fn check_stream(&mut self, num: u32, dict: &Dict, raw: &[u8]) -> Result<(), PdfError> {
        let decode_error = |e| match e {
            FilterError::Inflate(InflateError::Budget) => PdfError::InflateLimit,
            // Past the cap only an object stream has.
            FilterError::Inflate(InflateError::TooLong) => PdfError::InflateLimit,
            FilterError::Unbounded => PdfError::FilterChain { num },
            _ => PdfError::StreamDecode { num },
        };
        let mut filters = filter_names(dict).map_err(decode_error)?;
        // A /Crypt filter comes first and overrides the file's stream cipher.
        let crypt = filters.first() == Some(&&b"Crypt"[..]);
        if crypt {
            filters.remove(0);
        }
        let cipher = match self.encryption {
            Encryption::None => Cipher::Clear,
            _ if crypt => crypt_filter_cipher(dict),
            Encryption::Encrypted {
                metadata_in_clear: true,
                ..
            } if dict.get(&b"Type"[..]) == Some(&Value::Name(b"Metadata".to_vec())) => Cipher::Clear,
            Encryption::Encrypted { streams, .. } => streams,
        };
        match cipher {
            Cipher::Clear if dict.get(&b"Type"[..]) == Some(&Value::Name(b"ObjStm".to_vec())) => {
                let cap = self.limits.max_object_stream_bytes;
                let mut decoded = Vec::new();
                let whole = filters::decode(raw, &filters, &mut self.inflater, Some(cap), |chunk| {
                    decoded.extend_from_slice(chunk)
                })
                .map_err(decode_error)?;
                if whole != Decoded::Whole {
                    return Err(PdfError::StreamDecode { num });
                }
                self.check_object_stream(num, dict, &decoded)
            }
            Cipher::Clear => {
                filters::decode(raw, &filters, &mut self.inflater, None, |_| {}).map_err(decode_error)?;
                Ok(())
            }
            Cipher::Aes if !raw.is_empty() && (raw.len() < 32 || !raw.len().is_multiple_of(16)) => {
                Err(PdfError::Ciphertext { num })
            }
            Cipher::Aes | Cipher::Opaque => Ok(()),
        }
    }

    /// An object stream (ISO 32000-1 §7.5.7): `/N` pairs of object number and
    /// offset (from `/First`), ascending, each offset where a value starts.
    /// Every object the xref places here must be the one at its index.
    ///
    /// A value parses in the middle of an object too (`/Type` inside a
    /// dictionary), so each offset must be where one starts: only white space
    /// lies between the header pairs and the first object, and between each
    /// object's end and the next offset. A reader that trusts the offsets
    /// then reads the objects the xref promises.
    fn check_object_stream(&mut self, stream: u32, dict: &Dict, data: &[u8]) -> Result<(), PdfError> {
        let bad = |what| PdfError::Object { num: stream, what };
        let count = dict
            .get(&b"N"[..])
            .and_then(Value::as_int)
            .and_then(|n| u32::try_from(n).ok());
        let first = dict
            .get(&b"First"[..])
            .and_then(Value::as_int)
            .and_then(|n| usize::try_from(n).ok());
        let (Some(count), Some(first)) = (count, first) else {
            return Err(bad("object stream without a valid /N and /First"));
        };
        if first > data.len() {
            return Err(bad("object stream /First is past its data"));
        }
        let only_space = |from: usize, to: usize| from <= to && data[from..to].iter().all(|&b| is_whitespace(b));
        let mut header = Cursor::at(&data[..first], 0);
        let mut previous: Option<usize> = None;
        // Where the object before ends, and the first object's number and
        // position (checked once the header's end is known).
        let mut end_of_previous = None;
        let mut first_object = None;
        for index in 0..count {
            header.skip_space();
            let obj = header
                .read_unsigned()
                .map_err(|_| bad("object stream header is malformed"))?;
            header.skip_space();
            let offset = header
                .read_unsigned()
                .map_err(|_| bad("object stream header is malformed"))?;
            let (obj, offset) = match (u32::try_from(obj), usize::try_from(offset)) {
                (Ok(obj), Ok(offset)) if first.checked_add(offset).is_some_and(|at| at < data.len()) => (obj, offset),
                _ => return Err(bad("object stream header is malformed")),
            };
            if previous.is_some_and(|p| offset <= p) {
                return Err(bad("object stream offsets are not ascending"));
            }
            previous = Some(offset);
            let start = first + offset;
            match end_of_previous {
                None => first_object = Some((obj, start)),
                Some(end) if only_space(end, start) => {}
                Some(_) => return Err(PdfError::ObjectStreamOffset { stream, num: obj }),
            }
            let mut cursor = Cursor::at(data, start);
            let value = cursor.read_value().map_err(|e| object_error(obj, e))?;
            end_of_previous = Some(cursor.pos);
            if let Some(expected) = self.in_streams.remove(&(stream, index)) {
                if expected != obj {
                    return Err(PdfError::Object {
                        num: expected,
                        what: "its object stream holds another object at its index",
                    });
                }
                if let Value::Int(n) = value {
                    self.packed.insert(obj, n);
                }
            }
        }
        match first_object {
            Some((obj, start)) if !only_space(header.pos, start) => {
                Err(PdfError::ObjectStreamOffset { stream, num: obj })
            }
            _ => Ok(()),
        }
    }
}

/// The cipher a stream's leading `/Crypt` filter names: the Identity filter
/// (named, or by default) leaves the stream in clear; any other named crypt
/// filter is taken as ciphertext of any length.
fn crypt_filter_cipher(dict: &Dict) -> Cipher {
    match decode_params(dict).as_ref().map(|params| params.get(&b"Name"[..])) {
        Some(None) => Cipher::Clear,
        Some(Some(Value::Name(name))) if name == b"Identity" => Cipher::Clear,
        _ => Cipher::Opaque,
    }
}

fn object_error(num: u32, e: SyntaxError) -> PdfError {
    PdfError::Object { num, what: e.what }
}
