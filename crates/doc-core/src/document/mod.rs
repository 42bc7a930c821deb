//! What a document is and whether it may be served: detection from the bytes,
//! then structural validation. The upstream's `Content-Type` is never trusted.

mod adler32;
mod flate;
pub mod pdf;
pub mod png;
mod zlib;

use std::fmt;

/// The kinds of document the service hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Pdf,
    Png,
}

impl DocumentKind {
    pub fn mime_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Png => "png",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Why a body from the upstream must not reach a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Empty,
    /// Neither PDF nor PNG; `looks_like` names what it seems to be, for the log.
    UnknownFormat {
        looks_like: &'static str,
    },
    Pdf(pdf::PdfError),
    Png(png::PngError),
}

impl Rejection {
    /// A short, stable identifier for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::UnknownFormat { .. } => "unknown_format",
            Rejection::Pdf(e) => e.code(),
            Rejection::Png(e) => e.code(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Empty => write!(f, "empty body"),
            Rejection::UnknownFormat { looks_like } => {
                write!(f, "neither PDF nor PNG (looks like {looks_like})")
            }
            Rejection::Pdf(e) => write!(f, "invalid PDF: {e}"),
            Rejection::Png(e) => write!(f, "invalid PNG: {e}"),
        }
    }
}

/// Names the format by its first bytes only. Not a verdict: see [`validate`].
pub fn sniff(data: &[u8]) -> Option<DocumentKind> {
    if data.starts_with(png::SIGNATURE) {
        Some(DocumentKind::Png)
    } else if data.starts_with(b"%PDF-") {
        Some(DocumentKind::Pdf)
    } else {
        None
    }
}

/// Detects the kind from the bytes and validates the structure.
pub fn validate(data: &[u8], limits: &pdf::PdfLimits) -> Result<DocumentKind, Rejection> {
    match sniff(data) {
        Some(DocumentKind::Pdf) => pdf::validate(data, limits)
            .map(|_| DocumentKind::Pdf)
            .map_err(Rejection::Pdf),
        Some(DocumentKind::Png) => png::validate(data, limits.max_inflated_bytes)
            .map(|_| DocumentKind::Png)
            .map_err(Rejection::Png),
        None if data.is_empty() => Err(Rejection::Empty),
        None => Err(Rejection::UnknownFormat {
            looks_like: describe(data),
        }),
    }
}

/// A rough name for an unwanted body, so logs say "html" rather than "unknown".
fn describe(data: &[u8]) -> &'static str {
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    let head: Vec<u8> = data[start..].iter().take(16).map(u8::to_ascii_lowercase).collect();
    if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
        "html"
    } else if head.starts_with(b"<") {
        // XML, SVG, or any other markup.
        "markup"
    } else if head.starts_with(b"{") || head.starts_with(b"[") {
        "json"
    } else if data
        .iter()
        .take(512)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "text"
    } else {
        "binary"
    }
}
