//! Hostile PDFs are refused within bounded memory: the validator's peak heap
//! while judging each bomb, measured by a counting allocator (this file is its
//! own test binary with one test, so nothing else allocates meanwhile).

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
use doc_fixtures::xref_stream::{pdf, zlib, Xref};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap growth at its highest while `f` runs.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - base)
}

/// A hostile body, and the refusal it must get.
type Case = (&'static str, Vec<u8>, fn(&PdfError) -> bool);

#[test]
fn bombs_are_refused_within_a_fixed_amount_of_memory() {
    // The validator's fixed working set: a 32 KiB inflate buffer, the inflate
    // state (and for each nested Flate layer another, with an 8 KiB buffer),
    // the parsed dictionaries and table of a tiny file.
    const BOUND: usize = 512 * 1024;
    let limits = PdfLimits::default();
    let cases: Vec<Case> = vec![
        (
            "xref stream inflating to 64 MiB",
            pdf(&Xref {
                body: Some(zlib(&vec![0u8; 64 << 20])),
                ..Xref::default()
            }),
            |e| matches!(e, PdfError::Xref { .. }),
        ),
        (
            "xref stream with /Size 4e9",
            pdf(&Xref {
                size: 4_000_000_000,
                ..Xref::default()
            }),
            |e| *e == PdfError::XrefLimit,
        ),
        (
            "content stream inflating past the budget",
            doc_fixtures::hostile::content_bomb(200 << 20),
            |e| *e == PdfError::InflateLimit,
        ),
        // As many layers as the validator follows, each with its zlib state.
        (
            "content stream of Flate eight layers deep",
            doc_fixtures::hostile::nested_flate_bomb(200 << 20, 8),
            |e| *e == PdfError::InflateLimit,
        ),
    ];
    for (name, body, expected) in cases {
        let (verdict, grew) = peak_growth(|| validate(&body, &limits));
        match verdict {
            Err(ref e) if expected(e) => {}
            other => panic!("{name}: {other:?}"),
        }
        assert!(grew < BOUND, "{name}: the heap grew by {grew} bytes (bound {BOUND})");
        eprintln!("{name}: {} KiB peak heap growth", grew / 1024);
    }
    the_hostile_set_is_refused_within_bounded_memory();
}

/// Every invalid body of the shared hostile set is refused and the valid one
/// accepted, and what the validator
/// holds while judging it is bounded: a fixed amount, one decoded object
/// stream (with the copy a growing buffer makes), and a few bytes per entry of
/// a large xref table.
fn the_hostile_set_is_refused_within_bounded_memory() {
    const FIXED: usize = 512 * 1024;
    let limits = PdfLimits::default();
    for case in doc_fixtures::hostile::all(200 << 20) {
        let (verdict, grew) = peak_growth(|| doc_core::validate(&case.body, &limits));
        assert_eq!(verdict.is_ok(), case.valid, "{}: {verdict:?}", case.name);
        // Entries of a classic xref table are ~20 bytes of input each.
        let per_entry_bound = case.body.len() / 20 * 48;
        let object_stream = 2 * limits.max_object_stream_bytes as usize;
        assert!(
            grew < FIXED + object_stream + per_entry_bound,
            "{}: the heap grew by {grew} bytes for a {}-byte body",
            case.name,
            case.body.len()
        );
        eprintln!(
            "{}: {}, {} KiB body, {} KiB peak heap growth",
            case.name,
            verdict.map_or_else(|e| format!("refused ({e})"), |k| format!("accepted as {k:?}")),
            case.body.len() / 1024,
            grew / 1024
        );
    }
}
