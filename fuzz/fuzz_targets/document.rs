//! Any body the upstream may send, through the PDF and PNG validators: every
//! input gets a verdict (no panic, no hang, memory within libFuzzer's
//! -rss_limit_mb), and whatever is accepted is what its first bytes say.
#![no_main]

use doc_core::document::pdf::PdfLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = PdfLimits::default();
    if let Ok(kind) = doc_core::validate(data, &limits) {
        assert_eq!(
            doc_core::sniff(data),
            Some(kind),
            "accepted as another kind than it starts as"
        );
    }
    // Each validator on its own too, whatever the first bytes say.
    let _ = doc_core::document::pdf::validate(data, &limits);
    let _ = doc_core::document::png::validate(data, limits.max_inflated_bytes);
});
