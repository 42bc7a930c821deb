//! The zlib states a PDF's Flate streams are inflated with, under one budget
//! per document, and the PNG row predictor cross-reference streams use.

use crate::document::flate::{Budget, Flate, FlateError};
use crate::document::pdf::syntax::is_whitespace;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum InflateError {
    /// Not a complete zlib stream (bad data, wrong checksum, cut short, or
    /// followed by more than white space).
    Corrupt,
    /// The document's inflation budget ran out.
    Budget,
    /// The stream inflates to more than the caller said it may.
    TooLong,
}

impl From<FlateError> for InflateError {
    fn from(e: FlateError) -> Self {
        match e {
            FlateError::Corrupt => InflateError::Corrupt,
            FlateError::Budget => InflateError::Budget,
        }
    }
}

/// The output buffer of the zlib state every stream's outer Flate layer uses.
const FIRST_BUFFER: usize = 32 * 1024;
/// A nested layer's, smaller: Flate inside Flate is rare, and with eight
/// layers (`filters::MAX_LAYERS`) all alive at once, each state and its
/// buffer counts (`tests/bomb_memory.rs` measures the whole).
const NESTED_BUFFER: usize = 8 * 1024;

/// Inflates the zlib streams of one document. One zlib state per Flate
/// layer serves every stream (allocating per stream was a measurable share
/// of validation): the first one every stream's outer layer, the others,
/// made when a chain first nests that deep, the layers inside it. One budget
/// bounds their total output, whichever streams and layers it comes from.
pub(super) struct Inflater {
    layers: Vec<Flate>,
    budget: Budget,
}

impl Inflater {
    pub(super) fn new(budget: u64) -> Self {
        Inflater {
            layers: vec![Flate::new(FIRST_BUFFER, is_whitespace)],
            budget: Budget::new(budget),
        }
    }

    /// Bytes inflated (and decoded) so far, all streams together.
    pub(super) fn used(&self) -> u64 {
        self.budget.used()
    }

    /// Bytes still allowed.
    pub(super) fn remaining(&self) -> u64 {
        self.budget.remaining()
    }

    /// `count` zlib states, ready for a new stream each, and the budget they
    /// draw on.
    pub(super) fn layers(&mut self, count: usize) -> (&mut [Flate], &mut Budget) {
        while self.layers.len() < count {
            self.layers.push(Flate::new(NESTED_BUFFER, is_whitespace));
        }
        let layers = &mut self.layers[..count];
        layers.iter_mut().for_each(Flate::reset);
        (layers, &mut self.budget)
    }

    /// Inflates `input` completely, handing output to `sink` in chunks, and
    /// charges it to the budget. Fails unless the stream ends (checksum
    /// verified) and only white space follows it; stops early, with
    /// [`InflateError::TooLong`], once output passes `max_len`.
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        max_len: Option<u64>,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, InflateError> {
        let (layers, budget) = self.layers(1);
        let before = budget.used();
        let mut len = 0u64;
        layers[0].push(input, budget, &mut |chunk: &[u8], _: &mut Budget| {
            len += chunk.len() as u64;
            if max_len.is_some_and(|max| len > max) {
                return Err(InflateError::TooLong);
            }
            sink(chunk);
            Ok(())
        })?;
        layers[0].finish()?;
        Ok(budget.used() - before)
    }
}

/// Undoes PNG row filters as xref streams use them (one byte per pixel),
/// in place of `data`'s rows: returns the rows without their filter bytes.
pub(super) fn undo_png_predictor(data: &[u8], columns: usize) -> Option<Vec<u8>> {
    let stride = columns.checked_add(1)?;
    if !data.len().is_multiple_of(stride) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / stride * columns);
    for (r, row) in data.chunks_exact(stride).enumerate() {
        let (filter, line) = (row[0], &row[1..]);
        let start = out.len();
        for i in 0..columns {
            let left = if i > 0 { out[start + i - 1] } else { 0 };
            let up = if r > 0 { out[start + i - columns] } else { 0 };
            let up_left = if r > 0 && i > 0 {
                out[start + i - columns - 1]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return None,
            };
            out.push(line[i].wrapping_add(predicted));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn inflate_requires_a_complete_stream() {
        let packed = zlib(&[7u8; 5000]);
        assert_eq!(Inflater::new(u64::MAX).inflate(&packed, None, |_| {}), Ok(5000));
        assert_eq!(
            Inflater::new(u64::MAX).inflate(&packed[..packed.len() - 3], None, |_| {}),
            Err(InflateError::Corrupt)
        );
        let mut flipped = packed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1; // adler32 checksum
        assert_eq!(
            Inflater::new(u64::MAX).inflate(&flipped, None, |_| {}),
            Err(InflateError::Corrupt)
        );
        let mut trailing = packed.clone();
        trailing.push(b'x');
        assert_eq!(
            Inflater::new(u64::MAX).inflate(&trailing, None, |_| {}),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn one_budget_across_streams_and_a_cap_per_stream() {
        let packed = zlib(&[7u8; 5000]);
        let mut inflater = Inflater::new(12_000);
        assert_eq!(inflater.inflate(&packed, None, |_| {}), Ok(5000));
        assert_eq!(inflater.inflate(&packed, None, |_| {}), Ok(5000));
        assert_eq!((inflater.used(), inflater.remaining()), (10_000, 2_000));
        assert_eq!(inflater.inflate(&packed, None, |_| {}), Err(InflateError::Budget));
        assert_eq!(
            Inflater::new(u64::MAX).inflate(&packed, Some(4999), |_| {}),
            Err(InflateError::TooLong)
        );
        assert_eq!(Inflater::new(u64::MAX).inflate(&packed, Some(5000), |_| {}), Ok(5000));
    }

    #[test]
    fn output_past_the_budget_never_reaches_the_sink() {
        let packed = zlib(&vec![0u8; 1 << 20]);
        let mut seen = 0u64;
        let result = Inflater::new(64 * 1024).inflate(&packed, None, |chunk| seen += chunk.len() as u64);
        assert_eq!(result, Err(InflateError::Budget));
        assert!(seen <= 64 * 1024, "{seen} bytes reached the sink");
    }

    #[test]
    fn png_predictor_rows() {
        // Two rows of 2 columns: filter 2 (Up) on both.
        assert_eq!(undo_png_predictor(&[2, 1, 2, 2, 1, 1], 2), Some(vec![1, 2, 2, 3]));
        // Sub, Average and Paeth against hand-computed values.
        assert_eq!(undo_png_predictor(&[1, 5, 3], 2), Some(vec![5, 8]));
        assert_eq!(undo_png_predictor(&[0, 4, 8, 3, 2, 2], 2), Some(vec![4, 8, 4, 8]));
        assert_eq!(undo_png_predictor(&[0, 4, 8, 4, 1, 1], 2), Some(vec![4, 8, 5, 9]));
        // Paeth choosing up-left: left 10, up 20, up-left 15 give p = 15.
        assert_eq!(
            undo_png_predictor(&[0, 15, 20, 4, 251, 0], 2),
            Some(vec![15, 20, 10, 15])
        );
        assert_eq!(undo_png_predictor(&[9, 0, 0], 2), None);
    }

    /// Paeth as the PNG specification writes it, for comparison.
    fn reference_paeth(a: u8, b: u8, c: u8) -> u8 {
        let p = i32::from(a) + i32::from(b) - i32::from(c);
        let (pa, pb, pc) = (
            (p - i32::from(a)).abs(),
            (p - i32::from(b)).abs(),
            (p - i32::from(c)).abs(),
        );
        if pa <= pb && pa <= pc {
            a
        } else if pb <= pc {
            b
        } else {
            c
        }
    }

    #[test]
    fn paeth_picks_like_the_specification() {
        let values = [0u8, 1, 2, 7, 100, 128, 200, 254, 255];
        for &a in &values {
            for &b in &values {
                for &c in &values {
                    // Row 0: [c, b]; row 1, Paeth: its first byte decodes to a
                    // (left of it 0, up c), its second byte is 0, so it decodes
                    // to the prediction from left a, up b, up-left c.
                    let first = a.wrapping_sub(reference_paeth(0, c, 0));
                    let rows = undo_png_predictor(&[0, c, b, 4, first, 0], 2).unwrap();
                    assert_eq!(rows[2], a);
                    assert_eq!(rows[3], reference_paeth(a, b, c), "a={a} b={b} c={c}");
                }
            }
        }
        assert_eq!(undo_png_predictor(&[0, 0, 0, 0], 2), None);
    }
}
