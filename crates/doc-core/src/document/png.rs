//! Structural validation of PNG files (ISO/IEC 15948 §5).
//!
//! Every chunk is walked and its CRC-32 checked; `IHDR` must come first and be
//! sane, `IDAT` chunks must be present and contiguous, `IEND` must end the file
//! with nothing after it but zero bytes (padding, accepted after a PDF's
//! `%%EOF` too). The image data is inflated (into a fixed buffer, the
//! pixels are never kept): the zlib stream must end with the last `IDAT`, with
//! a correct Adler-32, at exactly the size `IHDR`'s geometry gives (filter
//! bytes included, Adam7 passes when interlaced), and each row's filter type
//! must be one of the five the format defines. Chunk CRCs alone would pass
//! a file missing a whole `IDAT` chunk. An image whose data would inflate past
//! the document's inflation budget is refused before anything is inflated.
//!
//! Animated PNGs (APNG) are checked frame by frame: the `acTL` frame count,
//! `fcTL` and `fdAT` sequence numbers in order, each frame within the canvas,
//! and each frame's zlib data complete at its own geometry's size, all
//! frames together within the budget (see `Animation`).
//!
//! Compressed ancillary chunks (`zTXt`, `iTXt` with its compression flag
//! set, `iCCP`) are inflated too, into a fixed buffer, and must each be one
//! complete zlib stream after well-formed fields (a keyword of 1 to 79 bytes,
//! compression method 0). Their output is charged to the same budget as the
//! image data, which reserved its share at `IHDR`: a file whose chunks would
//! inflate past what is left is refused (`png_chunk_inflate_limit`) rather
//! than served, since a reader that shows or keeps the text or profile
//! inflates all of it (a 160 MiB `zTXt` in a 16x16 image is a file of 160 KB).

use super::flate::{Budget, Flate, FlateError};
use super::zlib::Zlib;
use std::fmt;

pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// What a valid file turned out to contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngInfo {
    pub width: u32,
    pub height: u32,
    pub chunks: usize,
}

/// Why a file is not a sound PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PngError {
    Signature,
    /// The file ends inside a chunk, or before `IEND`.
    Truncated {
        at: usize,
    },
    /// A chunk's CRC-32 does not match its type and data.
    Crc {
        at: usize,
        chunk: String,
    },
    /// The chunk sequence or a chunk's content breaks the format's rules.
    Structure {
        at: usize,
        what: &'static str,
    },
    /// Bytes other than zeros follow the `IEND` chunk.
    TrailingData {
        at: usize,
    },
    /// The image data is not one complete zlib stream of the size `IHDR` gives.
    ImageData {
        at: usize,
        what: &'static str,
    },
    /// The image would inflate past the configured bound.
    InflateLimit,
    /// A compressed ancillary chunk (`zTXt`, `iTXt`, `iCCP`) inflates past
    /// what the configured bound leaves after the image data.
    ChunkInflateLimit {
        at: usize,
        chunk: String,
    },
}

impl PngError {
    /// A short, stable identifier for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            PngError::Signature => "png_signature",
            PngError::Truncated { .. } => "png_truncated",
            PngError::Crc { .. } => "png_crc",
            PngError::Structure { .. } => "png_structure",
            PngError::TrailingData { .. } => "png_trailing_data",
            PngError::ImageData { .. } => "png_image_data",
            PngError::InflateLimit => "png_inflate_limit",
            PngError::ChunkInflateLimit { .. } => "png_chunk_inflate_limit",
        }
    }
}

impl fmt::Display for PngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PngError::Signature => write!(f, "no PNG signature"),
            PngError::Truncated { at } => write!(f, "truncated at byte {at}, before IEND"),
            PngError::Crc { at, chunk } => write!(f, "CRC mismatch in {chunk} chunk at byte {at}"),
            PngError::Structure { at, what } => write!(f, "at byte {at}: {what}"),
            PngError::TrailingData { at } => write!(f, "data after IEND at byte {at}"),
            PngError::ImageData { at, what } => write!(f, "image data at byte {at}: {what}"),
            PngError::InflateLimit => write!(f, "the image inflates beyond the configured limit"),
            PngError::ChunkInflateLimit { at, chunk } => write!(
                f,
                "{chunk} chunk at byte {at} inflates beyond what the configured limit leaves after the image"
            ),
        }
    }
}

/// Validates `data` as a PNG file; see the module documentation for what is
/// checked. `max_inflated` bounds what the image data and the compressed
/// chunks inflate to, all together.
pub fn validate(data: &[u8], max_inflated: u64) -> Result<PngInfo, PngError> {
    if !data.starts_with(SIGNATURE) {
        return Err(PngError::Signature);
    }
    let mut pos = SIGNATURE.len();
    let mut info = PngInfo {
        width: 0,
        height: 0,
        chunks: 0,
    };
    let mut ihdr: Option<Header> = None;
    let mut image: Option<ImageData> = None;
    let mut animation: Option<Animation> = None;
    // What the image data, all frames together, and the compressed chunks
    // may still inflate to.
    let mut budget = Budget::new(max_inflated);
    // Made at the first compressed chunk: most files have none.
    let mut chunk_inflater: Option<Flate> = None;
    let mut seen_plte = false;
    // 0 = before IDAT, 1 = inside the IDAT run, 2 = after it
    let mut idat_state = 0u8;

    loop {
        let at = pos;
        let header = data.get(pos..pos + 8).ok_or(PngError::Truncated { at })?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        if length > 0x7fff_ffff {
            return Err(PngError::Structure {
                at,
                what: "chunk length over 2^31-1",
            });
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(PngError::Structure {
                at,
                what: "chunk type is not four letters",
            });
        }
        let data_start = pos + 8;
        let data_end = data_start
            .checked_add(length as usize)
            .filter(|&e| e + 4 <= data.len())
            .ok_or(PngError::Truncated { at })?;
        let body = &data[data_start..data_end];
        let stored = u32::from_be_bytes(data[data_end..data_end + 4].try_into().expect("4 bytes"));
        let mut crc = crc32fast::Hasher::new();
        crc.update(&kind);
        crc.update(body);
        if crc.finalize() != stored {
            return Err(PngError::Crc {
                at,
                chunk: String::from_utf8_lossy(&kind).into_owned(),
            });
        }
        pos = data_end + 4;
        info.chunks += 1;

        if info.chunks == 1 && &kind != b"IHDR" {
            return Err(PngError::Structure {
                at,
                what: "first chunk is not IHDR",
            });
        }
        if idat_state == 1 && &kind != b"IDAT" {
            idat_state = 2;
            image.as_ref().expect("IHDR came first").finish(at)?;
        }
        match &kind {
            b"IHDR" => {
                if info.chunks != 1 {
                    return Err(PngError::Structure {
                        at,
                        what: "IHDR is not the first chunk",
                    });
                }
                let header = check_ihdr(body).ok_or(PngError::Structure {
                    at,
                    what: "invalid IHDR",
                })?;
                (info.width, info.height) = (header.width, header.height);
                image = Some(ImageData::for_image(&header, &mut budget)?);
                ihdr = Some(header);
            }
            b"PLTE" => {
                if idat_state != 0 || seen_plte || length == 0 || length % 3 != 0 || length > 768 {
                    return Err(PngError::Structure {
                        at,
                        what: "misplaced or invalid PLTE",
                    });
                }
                seen_plte = true;
            }
            b"IDAT" => {
                if idat_state == 2 {
                    return Err(PngError::Structure {
                        at,
                        what: "IDAT chunks are not contiguous",
                    });
                }
                if idat_state == 0 && ihdr.is_some_and(|h| h.color == 3) && !seen_plte {
                    return Err(PngError::Structure {
                        at,
                        what: "indexed image without PLTE",
                    });
                }
                image.as_mut().expect("IHDR came first").feed(body, at)?;
                idat_state = 1;
            }
            b"acTL" => {
                if idat_state != 0 || animation.is_some() {
                    return Err(PngError::Structure {
                        at,
                        what: "acTL after the image data, or twice",
                    });
                }
                animation = Some(Animation::new(body).ok_or(PngError::Structure {
                    at,
                    what: "invalid acTL",
                })?);
            }
            b"fcTL" | b"fdAT" => {
                let animation = animation.as_mut().ok_or(PngError::Structure {
                    at,
                    what: "fcTL or fdAT without acTL",
                })?;
                let header = ihdr.expect("IHDR came first");
                if &kind == b"fcTL" {
                    animation.frame_control(body, &header, idat_state == 0, &mut budget, at)?;
                } else {
                    animation.frame_data(body, at)?;
                }
            }
            b"IEND" => {
                if let Some(animation) = &animation {
                    animation.finish(at)?;
                }
                if length != 0 {
                    return Err(PngError::Structure {
                        at,
                        what: "IEND has data",
                    });
                }
                if idat_state == 0 {
                    return Err(PngError::Structure {
                        at,
                        what: "no IDAT chunk",
                    });
                }
                // Zero bytes after IEND are padding, as after a PDF's %%EOF
                // (a store rounding files up to a block): the image is whole.
                if let Some(junk) = data[pos..].iter().position(|&b| b != 0) {
                    return Err(PngError::TrailingData { at: pos + junk });
                }
                return Ok(info);
            }
            b"zTXt" | b"iTXt" | b"iCCP" => {
                let compressed = compressed_data(&kind, body).ok_or(PngError::Structure {
                    at,
                    what: "invalid zTXt, iTXt or iCCP fields",
                })?;
                if let Some(compressed) = compressed {
                    // Nothing may follow the zlib stream, as in the image data.
                    let flate = chunk_inflater.get_or_insert_with(|| Flate::new(32 * 1024, |_| false));
                    flate.reset();
                    flate
                        .push(compressed, &mut budget, &mut |_, _| Ok(()))
                        .and_then(|()| flate.finish())
                        .map_err(|e| match e {
                            FlateError::Budget => PngError::ChunkInflateLimit {
                                at,
                                chunk: String::from_utf8_lossy(&kind).into_owned(),
                            },
                            FlateError::Corrupt => PngError::Structure {
                                at,
                                what: "a zTXt, iTXt or iCCP chunk's data is not one complete zlib stream",
                            },
                        })?;
                }
            }
            // An unknown critical chunk (upper-case first letter) cannot be skipped safely.
            _ if kind[0].is_ascii_uppercase() => {
                return Err(PngError::Structure {
                    at,
                    what: "unknown critical chunk",
                });
            }
            _ => {}
        }
    }
}

/// The zlib data of a `zTXt`, `iTXt` or `iCCP` chunk: `Some(None)` when an
/// `iTXt` is not compressed, `None` when the fields before the data are not
/// as the format gives them.
fn compressed_data<'a>(kind: &[u8; 4], body: &'a [u8]) -> Option<Option<&'a [u8]>> {
    // A keyword (profile name) of 1 to 79 bytes, then a NUL.
    let keyword = body.iter().take(80).position(|&b| b == 0).filter(|&len| len > 0)?;
    let rest = &body[keyword + 1..];
    // The compression method (0: zlib) follows; iTXt has a compression flag
    // before it, then a language tag and a translated keyword, each ended by
    // NUL, before the text.
    match (kind, rest) {
        (b"zTXt" | b"iCCP", [0, data @ ..]) => Some(Some(data)),
        (b"iTXt", [0, ..]) => Some(None), // not compressed: nothing to inflate
        (b"iTXt", [1, 0, rest @ ..]) => {
            let language = rest.iter().position(|&b| b == 0)?;
            let rest = &rest[language + 1..];
            let translated = rest.iter().position(|&b| b == 0)?;
            Some(Some(&rest[translated + 1..]))
        }
        _ => None,
    }
}

/// The fields of `IHDR` the checks need.
#[derive(Clone, Copy)]
struct Header {
    width: u32,
    height: u32,
    color: u8,
    depth: u8,
    interlaced: bool,
}

impl Header {
    /// The rows of the image data in order, as (bytes per row, filter byte
    /// included; rows) for the whole image or for each non-empty Adam7 pass.
    fn passes(&self) -> Vec<(u128, u128)> {
        let channels: u128 = match self.color {
            0 | 3 => 1,
            2 => 3,
            4 => 2,
            _ => 4, // 6: RGBA
        };
        let bits = channels * u128::from(self.depth);
        let (w, h) = (u128::from(self.width), u128::from(self.height));
        if !self.interlaced {
            return vec![(1 + (w * bits).div_ceil(8), h)];
        }
        const ADAM7: [(u128, u128, u128, u128); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        ADAM7
            .iter()
            .map(|&(x0, y0, dx, dy)| (w.saturating_sub(x0).div_ceil(dx), h.saturating_sub(y0).div_ceil(dy)))
            .filter(|&(columns, rows)| columns > 0 && rows > 0)
            .map(|(columns, rows)| (1 + (columns * bits).div_ceil(8), rows))
            .collect()
    }

    /// Bytes the image data inflates to: per row a filter byte plus the
    /// packed pixels, for the whole image or for each non-empty Adam7 pass.
    fn image_data_len(&self) -> u128 {
        self.passes().iter().map(|&(stride, rows)| stride * rows).sum()
    }
}

/// The header when it is one the format allows.
fn check_ihdr(body: &[u8]) -> Option<Header> {
    if body.len() != 13 {
        return None;
    }
    let width = u32::from_be_bytes(body[0..4].try_into().ok()?);
    let height = u32::from_be_bytes(body[4..8].try_into().ok()?);
    let (depth, color, compression, filter, interlace) = (body[8], body[9], body[10], body[11], body[12]);
    let depth_ok = match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    let dims_ok = (1..=0x7fff_ffff).contains(&width) && (1..=0x7fff_ffff).contains(&height);
    (dims_ok && depth_ok && compression == 0 && filter == 0 && interlace <= 1).then_some(Header {
        width,
        height,
        color,
        depth,
        interlaced: interlace == 1,
    })
}

/// Where the rows start in the inflated image data: each row's first byte
/// names its filter type, which must be one of the five the format defines.
/// Walked once, as the data passes by.
struct RowStarts {
    /// (bytes per row, rows) of each pass still to come, the current first.
    passes: Vec<(u64, u64)>,
    /// Offset of the next row start in the whole inflated data.
    next: u64,
}

impl RowStarts {
    /// `passes` as [`Header::passes`] gives them, already within the budget.
    fn new(passes: &[(u128, u128)]) -> Self {
        let mut passes: Vec<(u64, u64)> = passes
            .iter()
            .map(|&(stride, rows)| (stride as u64, rows as u64))
            .collect();
        passes.reverse();
        RowStarts { passes, next: 0 }
    }

    /// Checks the row starts within `chunk`, which begins at offset `start`
    /// of the inflated data. Returns false at a filter type over 4.
    fn check(&mut self, chunk: &[u8], start: u64) -> bool {
        let end = start + chunk.len() as u64;
        while self.next < end {
            let Some((stride, rows)) = self.passes.last_mut() else {
                return true; // past the last row: the length check refuses it
            };
            if chunk[(self.next - start) as usize] > 4 {
                return false;
            }
            self.next += *stride;
            *rows -= 1;
            if *rows == 0 {
                self.passes.pop();
            }
        }
        true
    }
}

/// The image data's zlib stream, inflated as the `IDAT` chunks arrive into a
/// fixed buffer: only its length, its row starts and its end are looked at.
struct ImageData {
    state: Zlib,
    buf: Vec<u8>,
    expected: u64,
    rows: RowStarts,
}

impl ImageData {
    /// The image data of `header`'s geometry, charged to `budget` before
    /// anything is inflated.
    fn for_image(header: &Header, budget: &mut Budget) -> Result<Self, PngError> {
        let expected = u64::try_from(header.image_data_len()).map_err(|_| PngError::InflateLimit)?;
        budget.charge(expected).map_err(|_| PngError::InflateLimit)?;
        Ok(ImageData {
            state: Zlib::new(),
            buf: vec![0u8; 64 * 1024],
            expected,
            rows: RowStarts::new(&header.passes()),
        })
    }

    /// Inflates one `IDAT` chunk's bytes, and whatever output they complete.
    /// zlib is called until it makes no progress: its output can outlast its
    /// input (a long match still being copied), so used-up input alone does
    /// not mean the chunk is done.
    fn feed(&mut self, mut input: &[u8], at: usize) -> Result<(), PngError> {
        let error = |what| PngError::ImageData { at, what };
        loop {
            if self.state.ended() {
                return match input.is_empty() {
                    true => Ok(()),
                    false => Err(error("data after the end of the zlib stream")),
                };
            }
            let before_out = self.state.total_out();
            let step = self
                .state
                .inflate(input, &mut self.buf)
                .map_err(|_| error("not a valid zlib stream"))?;
            input = &input[step.consumed..];
            if self.state.total_out() > self.expected {
                return Err(error("more image data than IHDR describes"));
            }
            if !self.rows.check(&self.buf[..step.produced], before_out) {
                return Err(error("a row's filter type is not 0-4"));
            }
            if step.consumed == 0 && step.produced == 0 && !self.state.ended() {
                // With a whole free buffer, zlib stops only when its input is
                // used up; the rest of the stream is in the next IDAT.
                return match input.is_empty() {
                    true => Ok(()),
                    false => Err(error("the zlib stream makes no progress")),
                };
            }
        }
    }

    /// After the last `IDAT`: the stream has ended (its Adler-32 checked) at
    /// exactly the expected size.
    fn finish(&self, at: usize) -> Result<(), PngError> {
        if !self.state.ended() {
            return Err(PngError::ImageData {
                at,
                what: "the zlib stream does not end: image data is missing",
            });
        }
        if self.state.total_out() != self.expected {
            return Err(PngError::ImageData {
                at,
                what: "less image data than IHDR describes",
            });
        }
        Ok(())
    }
}

/// An animated PNG's chunks (APNG): `acTL` before the image data declares the
/// frames; each frame has an `fcTL` (its place in the canvas) and its image
/// data, the `IDAT` chunks for the default image when its `fcTL` comes first,
/// `fdAT` chunks (a sequence number, then zlib data) for the others. Every
/// frame's data is checked like the default image's, against its own
/// geometry, and `fcTL` and `fdAT` sequence numbers must run 0, 1, 2, ...
struct Animation {
    /// Frames `acTL` declares.
    declared: u32,
    /// `fcTL` chunks seen.
    frames: u32,
    /// The sequence number the next `fcTL` or `fdAT` must carry.
    next_sequence: u32,
    /// The frame whose `fdAT` chunks are arriving.
    frame: Option<ImageData>,
}

impl Animation {
    /// From `acTL`'s data: a frame count (at least one) and a play count.
    fn new(body: &[u8]) -> Option<Self> {
        let declared = u32::from_be_bytes(body.get(0..4)?.try_into().ok()?);
        (body.len() == 8 && declared > 0).then_some(Animation {
            declared,
            frames: 0,
            next_sequence: 0,
            frame: None,
        })
    }

    fn sequence(&mut self, body: &[u8], at: usize) -> Result<(), PngError> {
        if body[0..4] != self.next_sequence.to_be_bytes() {
            return Err(PngError::Structure {
                at,
                what: "animation chunks out of sequence",
            });
        }
        self.next_sequence += 1;
        Ok(())
    }

    /// An `fcTL`: the frame lies within the canvas, and before the image
    /// data it is the default image's (the whole canvas); after it, the
    /// frame's `fdAT` data follows, charged to `budget` before inflating.
    fn frame_control(
        &mut self,
        body: &[u8],
        canvas: &Header,
        before_image_data: bool,
        budget: &mut Budget,
        at: usize,
    ) -> Result<(), PngError> {
        let field = |i: usize| u32::from_be_bytes(body[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let fits =
            |offset: u32, size: u32, whole: u32| size > 0 && u64::from(offset) + u64::from(size) <= u64::from(whole);
        let valid = body.len() == 26
            && fits(field(3), field(1), canvas.width)
            && fits(field(4), field(2), canvas.height)
            && body[24] <= 2 // dispose: none, background, previous
            && body[25] <= 1; // blend: source, over
        if !valid {
            return Err(PngError::Structure {
                at,
                what: "invalid fcTL",
            });
        }
        self.sequence(body, at)?;
        self.finish_frame(at)?;
        let frame = Header {
            width: field(1),
            height: field(2),
            ..*canvas
        };
        if before_image_data {
            if self.frames > 0 || (field(1), field(2), field(3), field(4)) != (canvas.width, canvas.height, 0, 0) {
                return Err(PngError::Structure {
                    at,
                    what: "the default image's fcTL is not the whole image, or not the only one",
                });
            }
        } else {
            self.frame = Some(ImageData::for_image(&frame, budget)?);
        }
        self.frames += 1;
        Ok(())
    }

    /// An `fdAT`: its sequence number, then data of the frame being read.
    fn frame_data(&mut self, body: &[u8], at: usize) -> Result<(), PngError> {
        if body.len() < 4 {
            return Err(PngError::Structure {
                at,
                what: "fdAT too short",
            });
        }
        if self.frame.is_none() {
            return Err(PngError::Structure {
                at,
                what: "fdAT before its frame's fcTL",
            });
        }
        self.sequence(body, at)?;
        self.frame.as_mut().expect("checked above").feed(&body[4..], at)
    }

    /// The frame being read, if any, is complete.
    fn finish_frame(&mut self, at: usize) -> Result<(), PngError> {
        match self.frame.take() {
            Some(frame) => frame.finish(at),
            None => Ok(()),
        }
    }

    /// At `IEND`: the last frame is complete and as many came as declared.
    fn finish(&self, at: usize) -> Result<(), PngError> {
        if let Some(frame) = &self.frame {
            frame.finish(at)?;
        }
        if self.frames != self.declared {
            return Err(PngError::Structure {
                at,
                what: "acTL's frame count is not the number of fcTL chunks",
            });
        }
        Ok(())
    }
}
