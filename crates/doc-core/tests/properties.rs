//! Property tests of the parsers and the policy: no input makes them panic, and
//! what they accept or decide obeys its invariants.

use doc_core::config::{Config, KNOBS};
use doc_core::document::pdf::PdfLimits;
use doc_core::retry::{AttemptOutcome, Next, RetryPolicy};
use doc_core::route::{parse_id, route, Route};
use proptest::prelude::*;
use std::time::Duration;

/// 512 cases per property; `PROPTEST_CASES` overrides it (mutation runs use fewer).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_positive_u64_round_trips(id in 1u64..) {
        prop_assert_eq!(parse_id(&id.to_string()), Ok(id));
    }

    #[test]
    fn accepted_ids_are_canonical(text in "\\PC{0,24}") {
        if let Ok(id) = parse_id(&text) {
            prop_assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn routing_never_panics_and_document_routes_are_exact(method in "[A-Z]{1,7}", path in "/\\PC{0,40}") {
        if let Ok(Route::Document(id)) = route(&method, &path) {
            let bare = path.split('?').next().unwrap();
            prop_assert_eq!(format!("/{id}"), bare);
        }
    }

    #[test]
    fn validation_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = doc_core::validate(&bytes, &PdfLimits::default());
    }

    #[test]
    fn validation_never_panics_on_pdf_shaped_noise(tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.extend_from_slice(&tail);
        bytes.extend_from_slice(b"\nstartxref\n9\n%%EOF\n");
        let _ = doc_core::validate(&bytes, &PdfLimits::default());
    }

    #[test]
    fn any_bit_flip_in_the_png_is_rejected(at in 8usize..2000, bit in 0u8..8) {
        let mut png = doc_fixtures::png();
        let at = at % png.len();
        prop_assume!(at >= 8);
        png[at] ^= 1 << bit;
        prop_assert!(doc_core::validate(&png, &PdfLimits::default()).is_err());
    }

    #[test]
    fn any_bit_flip_in_pdf_structure_or_streams_is_rejected_unless_harmless(pick in any::<prop::sample::Index>(), bit in 0u8..8) {
        // Flips in bytes the structure depends on: the digits of every in-use
        // xref entry and of startxref, and the compressed stream data.
        let pdf = doc_fixtures::pdf();
        let stream = pdf.windows(8).position(|w| w == b"stream\r\n").unwrap() + 8;
        let end = pdf.windows(9).position(|w| w == b"endstream").unwrap() - 2;
        let candidates: Vec<usize> = (stream..end).chain(structure_digits(&pdf)).collect();
        let at = candidates[pick.index(candidates.len())];
        let mut bad = pdf.clone();
        bad[at] ^= 1 << bit;
        if doc_core::validate(&bad, &PdfLimits::default()).is_ok() {
            // Only a flip that no reader can see may pass: the padding bits after
            // the last deflate block. The stream must inflate to the same bytes.
            prop_assert!(at < end, "accepted a flip in the xref at {}", at);
            prop_assert_eq!(inflate(&bad[stream..end]), inflate(&pdf[stream..end]), "accepted a flip at {}", at);
        }
    }

    #[test]
    fn configs_are_either_rejected_or_within_bounds(values in proptest::collection::vec("\\PC{0,8}|[0-9]{1,9}", KNOBS.len())) {
        let lookup = |name: &str| KNOBS.iter().position(|k| k.name == name).map(|i| values[i].clone());
        if let Ok(config) = Config::from_lookup(lookup) {
            prop_assert!((1..=10).contains(&config.retry.max_attempts));
            prop_assert!((1..=10).contains(&config.retry.max_content_attempts));
            prop_assert!(config.retry.deadline >= Duration::from_millis(100));
            prop_assert!(config.max_document_bytes <= 100 * 1024 * 1024);
        }
    }

    #[test]
    fn retries_always_fit_inside_the_deadline(
        attempts in 1u32..12,
        elapsed_ms in 0u64..10_000,
        random in 0.0f64..1.0,
        max_attempts in 1u32..=10,
        max_content_attempts in 1u32..=10,
        deadline_ms in 100u64..=60_000,
        content in proptest::bool::ANY,
    ) {
        let policy = RetryPolicy {
            max_attempts,
            max_content_attempts,
            deadline: Duration::from_millis(deadline_ms),
            ..RetryPolicy::default()
        };
        let elapsed = Duration::from_millis(elapsed_ms);
        let (outcome, limit) = if content {
            (AttemptOutcome::Rejected(doc_core::Rejection::Empty), max_content_attempts)
        } else {
            (AttemptOutcome::TimedOut, max_attempts)
        };
        match policy.next(attempts, &outcome, elapsed, random) {
            Next::Retry { delay, timeout } => {
                prop_assert!(attempts < limit);
                prop_assert!(elapsed + delay + timeout <= policy.deadline);
                prop_assert!(timeout <= policy.attempt_timeout);
            }
            Next::GiveUp => prop_assert!(attempts >= limit),
            Next::DeadlineExceeded => prop_assert!(elapsed + policy.backoff_max >= policy.deadline - Duration::from_millis(10)),
        }
    }
}

/// Positions of the digits of the fixture's in-use xref entries (the classic
/// table that starts at a line reading `xref`, not the `xref` inside
/// `startxref`) and of the `startxref` offset.
fn structure_digits(pdf: &[u8]) -> Vec<usize> {
    let table = pdf
        .windows(6)
        .position(|w| w == b"\nxref\n" || w == b"\nxref\r")
        .unwrap()
        + 1;
    let trailer = table + pdf[table..].windows(7).position(|w| w == b"trailer").unwrap();
    let mut digits = Vec::new();
    for (i, entry) in pdf[table..trailer].windows(20).enumerate() {
        let at = table + i;
        if (pdf[at - 1] == b'\n') && entry[17] == b'n' && entry[..10].iter().all(u8::is_ascii_digit) {
            digits.extend((at..at + 16).filter(|&p| pdf[p].is_ascii_digit()));
        }
    }
    let startxref = pdf.windows(9).rposition(|w| w == b"startxref").unwrap() + 9;
    digits.extend((startxref..pdf.len()).filter(|&p| pdf[p].is_ascii_digit()));
    digits
}

#[test]
fn the_flip_property_reaches_every_in_use_xref_entry() {
    let pdf = doc_fixtures::pdf();
    let digits = structure_digits(&pdf);
    let info = doc_core::document::pdf::validate(&pdf, &PdfLimits::default()).unwrap();
    // 15 digits per in-use entry (10 offset, 5 generation), plus startxref's.
    let startxref_digits = pdf.len() - pdf.windows(9).rposition(|w| w == b"startxref").unwrap();
    assert!(
        digits.len() >= info.objects * 15,
        "{} digits for {} objects",
        digits.len(),
        info.objects
    );
    assert!(digits.len() <= info.objects * 15 + startxref_digits);
    // Every one of those digits matters: changing it (to another digit) is refused.
    for &at in &digits {
        let mut bad = pdf.clone();
        bad[at] = if bad[at] == b'9' { b'8' } else { bad[at] + 1 };
        assert!(
            doc_core::validate(&bad, &PdfLimits::default()).is_err(),
            "changed digit at {at} was accepted"
        );
    }
}

fn inflate(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}
