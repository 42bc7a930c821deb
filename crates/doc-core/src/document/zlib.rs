//! A zlib stream (RFC 1950) inflated as raw deflate, its two-byte header and
//! its Adler-32 trailer checked here: the checksum is summed beside the
//! inflate (`adler32.rs`) instead of inside zlib-rs, which in a Wasm guest
//! can only use its simd128 sum.
//!
//! What it accepts is what zlib's own zlib-wrapped inflate accepts: method 8,
//! a window of at most 32 KiB, the header's check bits, no preset dictionary,
//! and a trailer equal to the sum of everything inflated. As zlib does by
//! default, distances are bounded by the 32 KiB window, not by the smaller
//! one a header may declare.

use super::adler32;
use flate2::{Decompress, FlushDecompress, Status};

/// Not a complete, correct zlib stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// What one [`Zlib::inflate`] call took and gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) consumed: usize,
    pub(crate) produced: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Deflate,
    Trailer,
    Ended,
}

/// One zlib stream being inflated, fed in pieces that may split its header
/// or trailer anywhere; reusable for the next stream once [`reset`](Zlib::reset).
pub(crate) struct Zlib {
    inflate: Decompress,
    stage: Stage,
    /// The header's or the trailer's bytes seen so far.
    framing: [u8; 4],
    framing_len: usize,
    checksum: u32,
}

impl Zlib {
    pub(crate) fn new() -> Self {
        Zlib {
            inflate: Decompress::new(false),
            stage: Stage::Header,
            framing: [0; 4],
            framing_len: 0,
            checksum: 1,
        }
    }

    /// Makes it ready for a new stream.
    pub(crate) fn reset(&mut self) {
        self.inflate.reset(false);
        self.stage = Stage::Header;
        self.framing_len = 0;
        self.checksum = 1;
    }

    /// The trailer has been read and matched.
    pub(crate) fn ended(&self) -> bool {
        self.stage == Stage::Ended
    }

    /// Bytes inflated so far.
    pub(crate) fn total_out(&self) -> u64 {
        self.inflate.total_out()
    }

    /// Takes what it can of `input` and inflates into `out`, at most one
    /// inflate call's worth. No progress (nothing consumed or produced)
    /// means it needs more input, or the stream has ended.
    pub(crate) fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<Progress, Corrupt> {
        let mut progress = Progress {
            consumed: 0,
            produced: 0,
        };
        loop {
            let rest = &input[progress.consumed..];
            match self.stage {
                Stage::Header => {
                    progress.consumed += self.collect(rest, 2);
                    if self.framing_len < 2 {
                        return Ok(progress);
                    }
                    let (cmf, flg) = (self.framing[0], self.framing[1]);
                    let method_ok = cmf & 0x0f == 8 && cmf >> 4 <= 7;
                    let check_ok = (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
                    let preset_dictionary = flg & 0x20 != 0;
                    if !method_ok || !check_ok || preset_dictionary {
                        return Err(Corrupt);
                    }
                    self.stage = Stage::Deflate;
                    self.framing_len = 0;
                }
                Stage::Deflate => {
                    let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
                    let status = self
                        .inflate
                        .decompress(rest, out, FlushDecompress::None)
                        .map_err(|_| Corrupt)?;
                    progress.consumed += (self.inflate.total_in() - before_in) as usize;
                    progress.produced = (self.inflate.total_out() - before_out) as usize;
                    self.checksum = adler32::update(self.checksum, &out[..progress.produced]);
                    if status != Status::StreamEnd {
                        return Ok(progress);
                    }
                    self.stage = Stage::Trailer;
                }
                Stage::Trailer => {
                    progress.consumed += self.collect(rest, 4);
                    if self.framing_len < 4 {
                        return Ok(progress);
                    }
                    if u32::from_be_bytes(self.framing) != self.checksum {
                        return Err(Corrupt);
                    }
                    self.stage = Stage::Ended;
                }
                Stage::Ended => return Ok(progress),
            }
        }
    }

    /// Moves bytes of `input` into the framing until it holds `want`;
    /// returns how many it took.
    fn collect(&mut self, input: &[u8], want: usize) -> usize {
        let take = (want - self.framing_len).min(input.len());
        self.framing[self.framing_len..self.framing_len + take].copy_from_slice(&input[..take]);
        self.framing_len += take;
        take
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doc_fixtures::xref_stream::zlib as compress;

    /// Inflates `stream` fed `piece` bytes at a time through a small buffer:
    /// everything it put out, and whether it ended.
    fn inflate_in_pieces(zlib: &mut Zlib, stream: &[u8], piece: usize) -> Result<(Vec<u8>, bool), Corrupt> {
        let (mut got, mut out) = (Vec::new(), [0u8; 100]);
        for mut input in stream.chunks(piece) {
            loop {
                let step = zlib.inflate(input, &mut out)?;
                got.extend_from_slice(&out[..step.produced]);
                input = &input[step.consumed..];
                if step
                    == (Progress {
                        consumed: 0,
                        produced: 0,
                    })
                {
                    break;
                }
            }
        }
        Ok((got, zlib.ended()))
    }

    fn sample() -> Vec<u8> {
        (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_stream_split_anywhere_inflates_and_ends() {
        let data = sample();
        let stream = compress(&data);
        for piece in [1, 2, 3, 5, 64, stream.len()] {
            let mut zlib = Zlib::new();
            assert_eq!(
                inflate_in_pieces(&mut zlib, &stream, piece),
                Ok((data.clone(), true)),
                "pieces of {piece}"
            );
            assert_eq!(zlib.total_out(), data.len() as u64);
        }
    }

    #[test]
    fn a_reset_state_takes_the_next_stream() {
        let mut zlib = Zlib::new();
        let first = compress(b"first stream");
        inflate_in_pieces(&mut zlib, &first, 3).unwrap();
        zlib.reset();
        let data = sample();
        assert_eq!(inflate_in_pieces(&mut zlib, &compress(&data), 7), Ok((data, true)));
    }

    #[test]
    fn a_wrong_checksum_is_corrupt_wherever_it_is_split() {
        let mut stream = compress(&sample());
        *stream.last_mut().unwrap() ^= 1;
        for piece in [1, 3, stream.len()] {
            assert_eq!(inflate_in_pieces(&mut Zlib::new(), &stream, piece), Err(Corrupt));
        }
    }

    #[test]
    fn a_stream_cut_in_its_trailer_has_not_ended() {
        let stream = compress(&sample());
        let (_, ended) = inflate_in_pieces(&mut Zlib::new(), &stream[..stream.len() - 1], 4).unwrap();
        assert!(!ended);
    }

    #[test]
    fn headers_zlib_refuses_are_corrupt() {
        let body = &compress(b"x")[2..];
        // Method 7; window 64 KiB (CINFO 8); check bits off by one; a preset
        // dictionary (FDICT, check bits made valid again).
        for header in [[0x77, 0x09], [0x88, 0x1c], [0x78, 0x9d], [0x78, 0xbb]] {
            let stream = [&header[..], body].concat();
            assert_eq!(
                inflate_in_pieces(&mut Zlib::new(), &stream, 2),
                Err(Corrupt),
                "{header:02x?}"
            );
        }
        let good = [&[0x78, 0x9c][..], body].concat();
        assert!(inflate_in_pieces(&mut Zlib::new(), &good, 2).unwrap().1);
    }
}
