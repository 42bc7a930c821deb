//! What PDF validation is bounded by, what it reports, and why it refuses.

use std::fmt;

/// Bounds that keep validation cheap on hostile input. Together they bound the
/// validator's memory: streams are inflated into a fixed buffer, except
/// cross-reference streams, whose rows are kept (bounded, with the table built
/// from them, by `max_xref_entries`), and object streams, one at a time
/// (bounded by `max_object_stream_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfLimits {
    /// Total bytes all Flate streams of one file may inflate to, cross-reference
    /// streams included, and every layer of a filter chain counted (a
    /// zip-bomb guard). A PNG's image data and compressed chunks share it too.
    pub max_inflated_bytes: u64,
    /// How many cross-reference sections (`/Prev`, `/XRefStm`) are followed.
    pub max_xref_sections: usize,
    /// How many cross-reference rows all sections together may declare, free
    /// entries included. Real documents have a few thousand at most.
    pub max_xref_entries: u64,
    /// Largest inflated object stream (`/Type /ObjStm`): its objects are
    /// parsed, so it is held whole, unlike other streams.
    pub max_object_stream_bytes: u64,
}

impl Default for PdfLimits {
    fn default() -> Self {
        PdfLimits {
            max_inflated_bytes: 128 * 1024 * 1024,
            max_xref_sections: 64,
            max_xref_entries: 500_000,
            max_object_stream_bytes: 4 * 1024 * 1024,
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
    /// An object stream's offset for object `num` is not where an object
    /// starts: something other than white space lies between the header
    /// pairs or the object before and the offset, or the object before runs
    /// past it.
    ObjectStreamOffset { stream: u32, num: u32 },
    /// A stream's `/Length` does not end where `endstream` is.
    StreamLength { num: u32 },
    /// An AES-encrypted stream is not a 16-byte IV plus whole 16-byte blocks.
    Ciphertext { num: u32 },
    /// A stream does not decode as its `/Filter` declares (Flate that does
    /// not inflate completely, an ASCII layer that is not what it encodes).
    StreamDecode { num: u32 },
    /// A stream's `/Filter` chain could decode to more than can be bounded:
    /// more layers than the validator follows, or a decompressing filter
    /// behind one it does not decode.
    FilterChain { num: u32 },
    /// Streams inflate to more than the configured bound.
    InflateLimit,
    /// The cross-reference sections declare more rows than the configured bound.
    XrefLimit,
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
            PdfError::ObjectStreamOffset { .. } => "pdf_object_stream_offset",
            PdfError::StreamLength { .. } => "pdf_stream_length",
            PdfError::Ciphertext { .. } => "pdf_ciphertext",
            PdfError::StreamDecode { .. } => "pdf_stream_decode",
            PdfError::FilterChain { .. } => "pdf_filter_chain",
            PdfError::InflateLimit => "pdf_inflate_limit",
            PdfError::XrefLimit => "pdf_xref_limit",
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
            PdfError::ObjectStreamOffset { stream, num } => write!(
                f,
                "object stream {stream}: the offset of object {num} is not where an object starts"
            ),
            PdfError::StreamLength { num } => {
                write!(f, "stream of object {num}: /Length does not end at endstream")
            }
            PdfError::Ciphertext { num } => write!(
                f,
                "stream of object {num}: AES ciphertext is not a 16-byte IV plus whole 16-byte blocks"
            ),
            PdfError::StreamDecode { num } => {
                write!(
                    f,
                    "stream of object {num}: its data does not decode as its /Filter declares"
                )
            }
            PdfError::FilterChain { num } => write!(
                f,
                "stream of object {num}: its /Filter chain decodes to more than can be bounded"
            ),
            PdfError::InflateLimit => write!(f, "streams inflate beyond the configured limit"),
            PdfError::XrefLimit => write!(
                f,
                "cross-reference sections declare more rows than the configured limit"
            ),
            PdfError::Root => write!(f, "trailer has no valid /Root"),
        }
    }
}
