//! Structural validation of PNG files (ISO/IEC 15948 §5).
//!
//! Every chunk is walked and its CRC-32 checked; `IHDR` must come first and be
//! sane, `IDAT` chunks must be present and contiguous, `IEND` must end the file
//! with nothing after it. This catches transport damage (bit flips, truncation,
//! concatenation) for a small fraction of the cost of decoding the pixels: a full
//! decode of the upstream's 1239×1754 PNG inflates ~8.7 MB and takes ~40× the
//! whole request budget of a native proxy (see `shared/upstream/README.md`).

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
    /// Bytes follow the `IEND` chunk.
    TrailingData {
        at: usize,
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
        }
    }
}

/// Validates `data` as a PNG file; see the module documentation for what is checked.
pub fn validate(data: &[u8]) -> Result<PngInfo, PngError> {
    if !data.starts_with(SIGNATURE) {
        return Err(PngError::Signature);
    }
    let mut pos = SIGNATURE.len();
    let mut info = PngInfo {
        width: 0,
        height: 0,
        chunks: 0,
    };
    let mut color_type = 0u8;
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
        }
        match &kind {
            b"IHDR" => {
                if info.chunks != 1 {
                    return Err(PngError::Structure {
                        at,
                        what: "IHDR is not the first chunk",
                    });
                }
                let (width, height, ct) = check_ihdr(body).ok_or(PngError::Structure {
                    at,
                    what: "invalid IHDR",
                })?;
                (info.width, info.height, color_type) = (width, height, ct);
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
                if idat_state == 0 && color_type == 3 && !seen_plte {
                    return Err(PngError::Structure {
                        at,
                        what: "indexed image without PLTE",
                    });
                }
                if idat_state == 0 && !zlib_header_ok(body) {
                    return Err(PngError::Structure {
                        at,
                        what: "image data is not a zlib stream",
                    });
                }
                idat_state = 1;
            }
            b"IEND" => {
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
                if pos != data.len() {
                    return Err(PngError::TrailingData { at: pos });
                }
                return Ok(info);
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

/// Returns (width, height, colour type) when the header is one the format allows.
fn check_ihdr(body: &[u8]) -> Option<(u32, u32, u8)> {
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
    (dims_ok && depth_ok && compression == 0 && filter == 0 && interlace <= 1).then_some((width, height, color))
}

/// The first two bytes of the image data are a zlib header (RFC 1950 §2.2).
fn zlib_header_ok(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        // The stream may start in a later IDAT when the first is tiny; a CRC-valid
        // one- or zero-byte IDAT is legal.
        _ => true,
    }
}
