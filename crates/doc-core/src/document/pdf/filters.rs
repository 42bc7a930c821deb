//! A stream's `/Filter` chain, decoded as far as the validator can check it:
//! the ASCII filters (`ASCIIHexDecode`, `ASCII85Decode`) are undone, and
//! Flate is inflated wherever it comes after them. reportlab, for one, writes
//! page content and images as `[/ASCII85Decode /FlateDecode]`; checking only
//! a leading Flate would pass any damage behind the ASCII layer.
//!
//! The first filter the validator does not decode (DCT, LZW, JBIG2, ...) ends
//! the check: its input was produced completely, and it is not looked at. An
//! ASCII layer's output is held while the next filter reads it (a quarter
//! less than its input, or up to four times it with ASCII85's `z`) and is
//! charged to the document's inflation budget like inflated bytes.

use super::inflate::{InflateError, Inflater};
use crate::document::pdf_syntax::{is_whitespace, Dict, Value};

/// Why a stream's data does not decode as its `/Filter` declares.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FilterError {
    /// `/Filter` is neither a name nor an array of names.
    Malformed,
    /// An ASCII layer is not what its filter encodes.
    Ascii,
    Inflate(InflateError),
}

impl From<InflateError> for FilterError {
    fn from(e: InflateError) -> Self {
        FilterError::Inflate(e)
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

/// Undoes the chain `filters` on `raw` as far as the validator decodes it.
/// When the whole chain is undone, `sink` receives the decoded data (in
/// chunks), at most `max_len` bytes of it when Flate ends the chain.
pub(super) fn decode(
    raw: &[u8],
    filters: &[&[u8]],
    inflater: &mut Inflater,
    max_len: Option<u64>,
    mut sink: impl FnMut(&[u8]),
) -> Result<Decoded, FilterError> {
    let mut data = std::borrow::Cow::Borrowed(raw);
    for (i, &filter) in filters.iter().enumerate() {
        let decoded = match filter {
            b"ASCIIHexDecode" => ascii_hex(&data),
            b"ASCII85Decode" => ascii_85(&data),
            b"FlateDecode" if i + 1 == filters.len() => {
                inflater.inflate(&data, max_len, sink)?;
                return Ok(Decoded::Whole);
            }
            b"FlateDecode" => {
                // Inflated only to see that it is whole: what follows is not decoded.
                inflater.inflate(&data, None, |_| {})?;
                return Ok(Decoded::Partly);
            }
            _ => return Ok(Decoded::Partly),
        }
        .ok_or(FilterError::Ascii)?;
        inflater.charge(decoded.len() as u64)?;
        data = std::borrow::Cow::Owned(decoded);
    }
    sink(&data);
    Ok(Decoded::Whole)
}

/// `ASCIIHexDecode` (ISO 32000-1 §7.4.2): pairs of hex digits, white space
/// anywhere, `>` at the end (see `end_of_data`); an odd last digit stands
/// for digit and 0.
fn ascii_hex(text: &[u8]) -> Option<Vec<u8>> {
    let end = end_of_data(text, b">")?;
    let mut out = Vec::with_capacity(end / 2);
    let mut high: Option<u8> = None;
    for &c in text[..end].iter().filter(|&&c| !is_whitespace(c)) {
        let digit = (c as char).to_digit(16)? as u8;
        match high.take() {
            None => high = Some(digit),
            Some(h) => out.push((h << 4) + digit),
        }
    }
    out.extend(high.map(|h| h << 4));
    Some(out)
}

/// `ASCII85Decode` (ISO 32000-1 §7.4.3): groups of five characters `!` to
/// `u` for four bytes, `z` for four zero bytes, white space anywhere, `~>`
/// at the end (see `end_of_data`); a last group of n (2 to 4) characters
/// stands for n - 1 bytes.
fn ascii_85(text: &[u8]) -> Option<Vec<u8>> {
    let end = end_of_data(text, b"~>")?;
    let mut out = Vec::with_capacity(end / 5 * 4);
    let mut group = [0u8; 5];
    let mut len = 0;
    for &c in text[..end].iter().filter(|&&c| !is_whitespace(c)) {
        match c {
            b'z' if len == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[len] = c - b'!';
                len += 1;
                if len == 5 {
                    out.extend_from_slice(&base_85(&group)?);
                    len = 0;
                }
            }
            _ => return None,
        }
    }
    match len {
        0 => {}
        1 => return None,
        _ => {
            // Padded with the highest digit, the group's first len - 1 bytes
            // are the ones encoded.
            group[len..].fill(84);
            out.extend_from_slice(&base_85(&group)?[..len - 1]);
        }
    }
    Some(out)
}

/// Five base-85 digits as four bytes, unless they exceed 2^32 - 1.
fn base_85(digits: &[u8; 5]) -> Option<[u8; 4]> {
    let value = digits.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
    u32::try_from(value).ok().map(u32::to_be_bytes)
}

/// Where the data before the end-of-data `marker` ends; only white space may
/// follow the marker. Without one the data runs to the end of the stream:
/// Pillow writes ASCIIHex without `>`, readers accept it, and `/Length`
/// already pins where the stream ends.
fn end_of_data(text: &[u8], marker: &[u8]) -> Option<usize> {
    match text.windows(marker.len()).position(|w| w == marker) {
        None => Some(text.len()),
        Some(end) => text[end + marker.len()..]
            .iter()
            .all(|&b| is_whitespace(b))
            .then_some(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
