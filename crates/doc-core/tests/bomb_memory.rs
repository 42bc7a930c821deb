//! Hostile PDFs are refused within bounded memory: the validator's peak heap
//! while judging each bomb, measured by a counting allocator (this file is its
//! own test binary with one test, so nothing else allocates meanwhile).

mod support;

use doc_core::document::pdf::{validate, PdfError, PdfLimits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{pdf, zlib, Xref};

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

/// A PDF whose only content stream inflates to `inflated` bytes of zeros.
fn content_bomb(inflated: usize) -> Vec<u8> {
    use std::io::Write;
    let stream = zlib(&vec![0u8; inflated]);
    let mut out = b"%PDF-1.4\n".to_vec();
    let catalog = out.len();
    out.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
    let content = out.len();
    write!(
        out,
        "2 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
        stream.len()
    )
    .unwrap();
    out.extend_from_slice(&stream);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    write!(
        out,
        "xref\n0 3\n0000000000 65535 f \n{catalog:010} 00000 n \n{content:010} 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out
}

/// A hostile body, and the refusal it must get.
type Case = (&'static str, Vec<u8>, fn(&PdfError) -> bool);

#[test]
fn bombs_are_refused_within_a_fixed_amount_of_memory() {
    // The validator's fixed working set: a 32 KiB inflate buffer, the inflate
    // state, the parsed dictionaries and table of a tiny file.
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
            content_bomb(200 << 20),
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
}
