//! What the component tells the host about a request it served, beyond the
//! response itself: how each upstream attempt ended and how long validation
//! took. It travels in a W3C `Server-Timing` response header, the one
//! standard header meant for server-side timing entries, so the component needs
//! no import beyond `wasi:http`. The doc-proxy host turns the entries into
//! metrics and strips the header (`docs/metrics.md`); on Spin or `wasmtime
//! serve` the client sees it, and it names no id, path or upstream address.
//!
//! Entries: one `upstream;desc=<class>;dur=<ms>` per attempt, in order, and
//! `validate;dur=<ms>` when a document was validated.

use crate::document::Rejection;
use crate::retry::AttemptOutcome;

/// How one upstream attempt ended, in the few classes an operator acts on.
/// The detailed reason (`AttemptOutcome::code`) stays in the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClass {
    /// A valid document (served, unless it arrived too late).
    Ok,
    /// A PDF or PNG that fails structural validation.
    Corrupt,
    /// A body cut short: empty, a PNG without IEND, a PDF without its trailer.
    Truncated,
    /// A body that is neither PDF nor PNG, whatever its Content-Type said.
    Mislabelled,
    /// Larger than the configured cap.
    TooLarge,
    /// The upstream answered 5xx.
    Http5xx,
    /// Any other non-2xx status.
    Http4xx,
    Timeout,
    ConnectError,
    /// The connection broke mid-response.
    Broken,
    /// The host's circuit breaker refused the call.
    BreakerOpen,
    /// The host's retry budget refused the retry.
    BudgetExhausted,
    /// The host's allow-list refused the call.
    Denied,
}

impl AttemptClass {
    pub const ALL: [AttemptClass; 13] = [
        AttemptClass::Ok,
        AttemptClass::Corrupt,
        AttemptClass::Truncated,
        AttemptClass::Mislabelled,
        AttemptClass::TooLarge,
        AttemptClass::Http5xx,
        AttemptClass::Http4xx,
        AttemptClass::Timeout,
        AttemptClass::ConnectError,
        AttemptClass::Broken,
        AttemptClass::BreakerOpen,
        AttemptClass::BudgetExhausted,
        AttemptClass::Denied,
    ];

    /// The class of a failed attempt.
    pub fn of(outcome: &AttemptOutcome) -> AttemptClass {
        match outcome {
            AttemptOutcome::Rejected(rejection) => match rejection {
                Rejection::Empty => AttemptClass::Truncated,
                Rejection::UnknownFormat { .. } => AttemptClass::Mislabelled,
                other => match other.code() {
                    "png_truncated" | "pdf_trailer" => AttemptClass::Truncated,
                    _ => AttemptClass::Corrupt,
                },
            },
            AttemptOutcome::TooLarge { .. } => AttemptClass::TooLarge,
            AttemptOutcome::Status(status) if *status >= 500 => AttemptClass::Http5xx,
            AttemptOutcome::Status(_) => AttemptClass::Http4xx,
            AttemptOutcome::Unreachable(_) => AttemptClass::ConnectError,
            AttemptOutcome::Denied(_) => AttemptClass::Denied,
            AttemptOutcome::TimedOut => AttemptClass::Timeout,
            AttemptOutcome::Broken(_) => AttemptClass::Broken,
            AttemptOutcome::CircuitOpen => AttemptClass::BreakerOpen,
            AttemptOutcome::RetryRefused => AttemptClass::BudgetExhausted,
        }
    }

    /// The label value: a token, as `Server-Timing`'s `desc` and Prometheus want.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptClass::Ok => "ok",
            AttemptClass::Corrupt => "corrupt",
            AttemptClass::Truncated => "truncated",
            AttemptClass::Mislabelled => "mislabelled",
            AttemptClass::TooLarge => "too_large",
            AttemptClass::Http5xx => "http_5xx",
            AttemptClass::Http4xx => "http_4xx",
            AttemptClass::Timeout => "timeout",
            AttemptClass::ConnectError => "connect_error",
            AttemptClass::Broken => "broken",
            AttemptClass::BreakerOpen => "breaker_open",
            AttemptClass::BudgetExhausted => "budget_exhausted",
            AttemptClass::Denied => "denied",
        }
    }
}

/// The entries of one request, collected as it runs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Timings {
    attempts: Vec<(AttemptClass, f64)>,
    validate_ms: Option<f64>,
}

impl Timings {
    /// Records an attempt that took `ms` milliseconds.
    pub fn attempt(&mut self, class: AttemptClass, ms: f64) {
        self.attempts.push((class, ms));
    }

    /// Records the time spent validating, all attempts together.
    pub fn validation(&mut self, ms: f64) {
        self.validate_ms = Some(ms);
    }

    /// The `Server-Timing` header value, or `None` when there is nothing to say.
    pub fn header_value(&self) -> Option<String> {
        let mut entries: Vec<String> = self
            .attempts
            .iter()
            .map(|(class, ms)| format!("upstream;desc={};dur={ms:.3}", class.as_str()))
            .collect();
        if let Some(ms) = self.validate_ms {
            entries.push(format!("validate;dur={ms:.3}"));
        }
        (!entries.is_empty()).then(|| entries.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::pdf::PdfError;
    use crate::document::png::PngError;

    #[test]
    fn rejections_fall_into_the_classes_an_operator_acts_on() {
        let rejected = |r| AttemptClass::of(&AttemptOutcome::Rejected(r));
        assert_eq!(rejected(Rejection::Empty), AttemptClass::Truncated);
        assert_eq!(
            rejected(Rejection::Png(PngError::Truncated { at: 9 })),
            AttemptClass::Truncated
        );
        assert_eq!(rejected(Rejection::Pdf(PdfError::Trailer)), AttemptClass::Truncated);
        assert_eq!(rejected(Rejection::Pdf(PdfError::Root)), AttemptClass::Corrupt);
        assert_eq!(
            rejected(Rejection::Png(PngError::Crc {
                at: 8,
                chunk: "IHDR".into()
            })),
            AttemptClass::Corrupt
        );
        assert_eq!(
            rejected(Rejection::UnknownFormat { looks_like: "HTML" }),
            AttemptClass::Mislabelled
        );
    }

    #[test]
    fn transport_outcomes_keep_their_cause() {
        assert_eq!(AttemptClass::of(&AttemptOutcome::Status(503)), AttemptClass::Http5xx);
        assert_eq!(AttemptClass::of(&AttemptOutcome::Status(404)), AttemptClass::Http4xx);
        assert_eq!(AttemptClass::of(&AttemptOutcome::TimedOut), AttemptClass::Timeout);
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::Unreachable("x".into())),
            AttemptClass::ConnectError
        );
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::CircuitOpen),
            AttemptClass::BreakerOpen
        );
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::RetryRefused),
            AttemptClass::BudgetExhausted
        );
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::Denied("x".into())),
            AttemptClass::Denied
        );
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::TooLarge { limit: 1 }),
            AttemptClass::TooLarge
        );
        assert_eq!(
            AttemptClass::of(&AttemptOutcome::Broken("x".into())),
            AttemptClass::Broken
        );
    }

    #[test]
    fn class_names_are_distinct_tokens() {
        let names: std::collections::BTreeSet<_> = AttemptClass::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), AttemptClass::ALL.len());
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
    }

    #[test]
    fn the_header_lists_attempts_in_order_then_validation() {
        let mut timings = Timings::default();
        assert_eq!(timings.header_value(), None);
        timings.attempt(AttemptClass::Corrupt, 12.5);
        timings.attempt(AttemptClass::Ok, 3.0);
        timings.validation(0.25);
        assert_eq!(
            timings.header_value().unwrap(),
            "upstream;desc=corrupt;dur=12.500, upstream;desc=ok;dur=3.000, validate;dur=0.250"
        );
    }
}
