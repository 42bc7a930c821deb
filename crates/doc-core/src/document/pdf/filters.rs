//! A stream's `/Filter` chain, decoded as far as the validator can check it:
//! Flate, `ASCIIHexDecode` and `ASCII85Decode` are undone wherever they come
//! in the chain and however often, up to [`MAX_LAYERS`] of them. reportlab,
//! for one, writes page content and images as `[/ASCII85Decode
//! /FlateDecode]`, and checking only a leading Flate would pass any damage
//! behind the ASCII layer; a Flate stream inside a Flate stream, inflated one
//! layer only, is 1 GiB for the client's reader in a 2 KB file. Their
//! abbreviations (`/Fl`, `/AHx`, `/A85`, meant for inline images) are taken
//! as the filters they name, as pdf.js and MuPDF take them in any stream.
//!
//! The layers are streamed: each hands its output, a piece at a time, to the
//! next, and only the caller may keep the last one's (an object stream's).
//! Every layer's output is charged to the document's one inflation budget,
//! an ASCII layer's like inflated bytes, so nested layers share the budget
//! rather than each having it.
//!
//! The first filter the validator does not decode (DCT, LZW, JBIG2, ...) ends
//! the check: its input was produced completely, and it is not looked at.
//! No filter that decompresses (Flate, LZW, RunLength) may come after it:
//! what that would put out cannot be bounded, so such a chain is refused.

use super::inflate::{InflateError, Inflater};
use crate::document::flate::{Budget, Flate, FlateError, Sink};
use crate::document::pdf::syntax::{is_whitespace, Dict, Value};

/// How many decoded layers one chain may have: more than producers write
/// (two or three), few enough to bound the zlib states alive at once.
pub(super) const MAX_LAYERS: usize = 8;

/// An ASCII layer decodes its input this many bytes at a time, so what it
/// holds stays small (four times this, at most, with ASCII85's `z`).
const ASCII_PIECE: usize = 8 * 1024;

/// Why a stream's data does not decode as its `/Filter` declares.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FilterError {
    /// `/Filter` is neither a name nor an array of names.
    Malformed,
    /// An ASCII layer is not what its filter encodes.
    Ascii,
    Inflate(InflateError),
    /// More decoded layers than [`MAX_LAYERS`], or a decompressing filter
    /// behind one the validator does not decode: what the chain decodes to
    /// cannot be bounded.
    Unbounded,
}

impl From<InflateError> for FilterError {
    fn from(e: InflateError) -> Self {
        FilterError::Inflate(e)
    }
}

impl From<FlateError> for FilterError {
    fn from(e: FlateError) -> Self {
        FilterError::Inflate(e.into())
    }
}

/// How far a chain was decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// Every filter was undone; the sink saw the stream's decoded data.
    Whole,
    /// A filter the validator does not decode remains; the sink saw nothing.
    Partly,
}

/// The filters a stream names, in the order they are undone.
pub(super) fn filter_names(dict: &Dict) -> Result<Vec<&[u8]>, FilterError> {
    match dict.get(&b"Filter"[..]) {
        None => Ok(Vec::new()),
        Some(Value::Name(name)) => Ok(vec![name]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Name(name) => Ok(&name[..]),
                _ => Err(FilterError::Malformed),
            })
            .collect(),
        Some(_) => Err(FilterError::Malformed),
    }
}

/// What a filter is to the validator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    Flate,
    Hex,
    Base85,
    /// Not decoded; `decompresses` when its output can be far larger than
    /// its input.
    Other {
        decompresses: bool,
    },
}

impl Filter {
    fn named(name: &[u8]) -> Self {
        match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"ASCIIHexDecode" | b"AHx" => Filter::Hex,
            b"ASCII85Decode" | b"A85" => Filter::Base85,
            b"LZWDecode" | b"LZW" | b"RunLengthDecode" | b"RL" => Filter::Other { decompresses: true },
            _ => Filter::Other { decompresses: false },
        }
    }
}

/// Undoes the chain `filters` on `raw` as far as the validator decodes it.
/// When the whole chain is undone, `sink` receives the decoded data (in
/// chunks), at most `max_len` bytes of it when any filter was undone.
pub(super) fn decode(
    raw: &[u8],
    filters: &[&[u8]],
    inflater: &mut Inflater,
    max_len: Option<u64>,
    mut sink: impl FnMut(&[u8]),
) -> Result<Decoded, FilterError> {
    let kinds: Vec<Filter> = filters.iter().map(|name| Filter::named(name)).collect();
    let decoded = kinds
        .iter()
        .take_while(|kind| !matches!(kind, Filter::Other { .. }))
        .count();
    let unbounded_after = |kind: &Filter| matches!(kind, Filter::Flate | Filter::Other { decompresses: true });
    if decoded > MAX_LAYERS || kinds.iter().skip(decoded + 1).any(unbounded_after) {
        return Err(FilterError::Unbounded);
    }
    let whole = match decoded == kinds.len() {
        true => Decoded::Whole,
        false => Decoded::Partly,
    };
    if decoded == 0 {
        if whole == Decoded::Whole {
            sink(raw);
        }
        return Ok(whole);
    }

    let flate_layers = kinds.iter().filter(|&&kind| kind == Filter::Flate).count();
    let (mut flates, budget) = inflater.layers(flate_layers);
    let mut layers: Vec<Layer<'_>> = Vec::with_capacity(decoded);
    for kind in &kinds[..decoded] {
        layers.push(match kind {
            Filter::Flate => {
                let (first, rest) = std::mem::take(&mut flates)
                    .split_first_mut()
                    .expect("one zlib state per Flate layer");
                flates = rest;
                Layer::Flate(first)
            }
            Filter::Hex => Layer::Ascii(Ascii::Hex(Hex::default()), Vec::new()),
            Filter::Base85 => Layer::Ascii(Ascii::Base85(Base85::default()), Vec::new()),
            Filter::Other { .. } => unreachable!("only decoded filters are layers"),
        });
    }
    let mut len = 0u64;
    let mut last = |chunk: &[u8], _: &mut Budget| {
        if whole == Decoded::Whole {
            len += chunk.len() as u64;
            if max_len.is_some_and(|max| len > max) {
                return Err(FilterError::Inflate(InflateError::TooLong));
            }
            sink(chunk);
        }
        Ok(())
    };
    push(&mut layers, raw, budget, &mut last)?;
    finish(&mut layers, budget, &mut last)?;
    Ok(whole)
}

/// Hands `input` to the first of `layers`, whose output goes to the next,
/// and the last one's to `sink`.
fn push(
    layers: &mut [Layer<'_>],
    input: &[u8],
    budget: &mut Budget,
    sink: &mut Sink<'_, FilterError>,
) -> Result<(), FilterError> {
    match layers.split_first_mut() {
        None => sink(input, budget),
        Some((layer, rest)) => layer.push(input, budget, &mut |chunk, budget| push(rest, chunk, budget, sink)),
    }
}

/// Ends each layer in turn, the first first, so that what one still holds
/// reaches the next before the next ends.
fn finish(layers: &mut [Layer<'_>], budget: &mut Budget, sink: &mut Sink<'_, FilterError>) -> Result<(), FilterError> {
    match layers.split_first_mut() {
        None => Ok(()),
        Some((layer, rest)) => {
            layer.finish(budget, &mut |chunk, budget| push(rest, chunk, budget, sink))?;
            finish(rest, budget, sink)
        }
    }
}

/// One decoded layer of a chain.
enum Layer<'f> {
    Flate(&'f mut Flate),
    /// An ASCII decoder and the buffer it decodes a piece into.
    Ascii(Ascii, Vec<u8>),
}

impl Layer<'_> {
    fn push(&mut self, input: &[u8], budget: &mut Budget, out: &mut Sink<'_, FilterError>) -> Result<(), FilterError> {
        match self {
            Layer::Flate(flate) => flate.push(input, budget, out),
            Layer::Ascii(ascii, decoded) => {
                for piece in input.chunks(ASCII_PIECE) {
                    decoded.clear();
                    ascii.decode(piece, decoded).ok_or(FilterError::Ascii)?;
                    emit(decoded, budget, out)?;
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, budget: &mut Budget, out: &mut Sink<'_, FilterError>) -> Result<(), FilterError> {
        match self {
            Layer::Flate(flate) => Ok(flate.finish()?),
            Layer::Ascii(ascii, decoded) => {
                decoded.clear();
                ascii.finish(decoded).ok_or(FilterError::Ascii)?;
                emit(decoded, budget, out)
            }
        }
    }
}

/// Charges an ASCII layer's output to the budget, then hands it on.
fn emit(decoded: &[u8], budget: &mut Budget, out: &mut Sink<'_, FilterError>) -> Result<(), FilterError> {
    budget.charge(decoded.len() as u64).map_err(FlateError::from)?;
    out(decoded, budget)
}

/// An ASCII decoder, fed its text in pieces.
enum Ascii {
    Hex(Hex),
    Base85(Base85),
}

impl Ascii {
    /// Decodes the next piece of text into `out`; `None` when it is not
    /// what the filter encodes.
    fn decode(&mut self, text: &[u8], out: &mut Vec<u8>) -> Option<()> {
        match self {
            Ascii::Hex(hex) => hex.decode(text, out),
            Ascii::Base85(base85) => base85.decode(text, out),
        }
    }

    /// After the last piece: what a short last group stands for.
    fn finish(&mut self, out: &mut Vec<u8>) -> Option<()> {
        match self {
            Ascii::Hex(hex) => {
                out.extend(hex.high.take().map(|h| h << 4));
                Some(())
            }
            Ascii::Base85(base85) => base85.finish(out),
        }
    }
}

/// `ASCIIHexDecode` (ISO 32000-1 §7.4.2): pairs of hex digits, white space
/// anywhere, `>` at the end with only white space after it; an odd last
/// digit stands for digit and 0. Without `>` the data runs to the end of the
/// stream: Pillow writes ASCIIHex so, readers accept it, and `/Length`
/// already pins where the stream ends.
#[derive(Default)]
struct Hex {
    /// A first digit waiting for its second.
    high: Option<u8>,
    ended: bool,
}

impl Hex {
    fn decode(&mut self, text: &[u8], out: &mut Vec<u8>) -> Option<()> {
        for &c in text.iter().filter(|&&c| !is_whitespace(c)) {
            if self.ended {
                return None;
            }
            if c == b'>' {
                self.ended = true;
                continue;
            }
            let digit = (c as char).to_digit(16)? as u8;
            match self.high.take() {
                None => self.high = Some(digit),
                Some(h) => out.push((h << 4) + digit),
            }
        }
        Some(())
    }
}

/// `ASCII85Decode` (ISO 32000-1 §7.4.3): groups of five characters `!` to
/// `u` for four bytes, `z` for four zero bytes, white space anywhere, `~>`
/// at the end with only white space after it (and, as for ASCIIHex, the
/// data runs to the end without it); a last group of n (2 to 4) characters
/// stands for n - 1 bytes.
#[derive(Default)]
struct Base85 {
    group: [u8; 5],
    len: usize,
    end: End,
}

/// Where an ASCII85 text is with its end-of-data marker.
#[derive(Default, PartialEq, Eq)]
enum End {
    #[default]
    Before,
    /// After `~`, which only `>` may follow.
    Tilde,
    After,
}

impl Base85 {
    fn decode(&mut self, text: &[u8], out: &mut Vec<u8>) -> Option<()> {
        for &c in text {
            match self.end {
                End::Tilde if c == b'>' => self.end = End::After,
                End::Tilde => return None,
                End::After if is_whitespace(c) => {}
                End::After => return None,
                End::Before => match c {
                    _ if is_whitespace(c) => {}
                    b'~' => self.end = End::Tilde,
                    b'z' if self.len == 0 => out.extend_from_slice(&[0; 4]),
                    b'!'..=b'u' => {
                        self.group[self.len] = c - b'!';
                        self.len += 1;
                        if self.len == 5 {
                            out.extend_from_slice(&base_85(&self.group)?);
                            self.len = 0;
                        }
                    }
                    _ => return None,
                },
            }
        }
        Some(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Option<()> {
        if self.end == End::Tilde {
            return None;
        }
        match self.len {
            0 => {}
            1 => return None,
            len => {
                // Padded with the highest digit, the group's first len - 1
                // bytes are the ones encoded.
                self.group[len..].fill(84);
                out.extend_from_slice(&base_85(&self.group)?[..len - 1]);
            }
        }
        Some(())
    }
}

/// Five base-85 digits as four bytes, unless they exceed 2^32 - 1.
fn base_85(digits: &[u8; 5]) -> Option<[u8; 4]> {
    let value = digits.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
    u32::try_from(value).ok().map(u32::to_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `text` whole, and again a byte at a time: both must agree.
    fn whole(new: fn() -> Ascii, text: &[u8]) -> Option<Vec<u8>> {
        let decode = |pieces: &mut dyn Iterator<Item = &[u8]>| {
            let (mut ascii, mut out) = (new(), Vec::new());
            for piece in pieces {
                ascii.decode(piece, &mut out)?;
            }
            ascii.finish(&mut out)?;
            Some(out)
        };
        let at_once = decode(&mut std::iter::once(text));
        assert_eq!(decode(&mut text.chunks(1)), at_once, "{text:?} byte by byte");
        at_once
    }

    fn ascii_hex(text: &[u8]) -> Option<Vec<u8>> {
        whole(|| Ascii::Hex(Hex::default()), text)
    }

    fn ascii_85(text: &[u8]) -> Option<Vec<u8>> {
        whole(|| Ascii::Base85(Base85::default()), text)
    }

    #[test]
    fn ascii_hex_pairs_digits_skips_white_space_and_ends_at_the_marker() {
        assert_eq!(ascii_hex(b"48 65\n6c6C6f>"), Some(b"Hello".to_vec()));
        assert_eq!(ascii_hex(b"7>"), Some(vec![0x70]));
        assert_eq!(ascii_hex(b">\n"), Some(vec![]));
        assert_eq!(ascii_hex(b"4g>"), None);
        assert_eq!(
            ascii_hex(b"48 6"),
            Some(vec![0x48, 0x60]),
            "no end-of-data marker (Pillow)"
        );
        assert_eq!(ascii_hex(b"48>65"), None, "data after the marker");
    }

    #[test]
    fn ascii_85_decodes_groups_z_and_a_short_last_group() {
        // Python's base64.a85encode gives these.
        assert_eq!(ascii_85(b"9jqo^~>"), Some(b"Man ".to_vec()));
        assert_eq!(
            ascii_85(b"9jqo^BlbD-BleB1DJ+*+F(f,q~>"),
            Some(b"Man is distinguished".to_vec())
        );
        assert_eq!(ascii_85(b"9jqo\n^F*2M7~>"), Some(b"Man sure".to_vec()));
        assert_eq!(ascii_85(b"z9`~>"), Some(b"\0\0\0\0M".to_vec()));
        assert_eq!(ascii_85(b"9jqo^9`~>"), Some(b"Man M".to_vec()));
        assert_eq!(ascii_85(b"9jqo~>"), Some(b"Man".to_vec()));
        assert_eq!(ascii_85(b"s8W-!~>"), Some(vec![0xff; 4]));
        assert_eq!(ascii_85(b"~>"), Some(vec![]));
        assert_eq!(ascii_85(b"9jqo^9`"), Some(b"Man M".to_vec()), "no end-of-data marker");
    }

    #[test]
    fn ascii_85_refuses_what_no_encoder_writes() {
        assert_eq!(ascii_85(b"9jqo^~>x"), None, "data after the marker");
        assert_eq!(ascii_85(b"9jqv^~>"), None, "v is not a digit");
        assert_eq!(ascii_85(b"9jz~>"), None, "z inside a group");
        assert_eq!(ascii_85(b"9jqo^9~>"), None, "a last group of one");
        assert_eq!(ascii_85(b"s8W-\"~>"), None, "over 2^32 - 1");
    }
}
