//! The retry policy: how many attempts, how long to wait between them, and how
//! much of the overall deadline each attempt may use. Time is passed in, so the
//! policy is plain arithmetic that tests run natively.

use crate::document::Rejection;
use std::time::Duration;

/// Attempts shorter than this are not started: they could not fetch a document.
pub const MIN_ATTEMPT: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per client request, the first included (≥ 1), while attempts
    /// fail for transport reasons (status, connection, time).
    pub max_attempts: u32,
    /// Attempts per client request when the last one brought back a document
    /// that validation rejected. A corrupt document says nothing about the
    /// upstream's health, so these retries start at once; the host's retry
    /// budget, not a backoff, keeps them from multiplying load.
    pub max_content_attempts: u32,
    /// Everything, backoff included, ends by this time after the request arrived.
    pub deadline: Duration,
    /// One attempt (connect, headers and the whole body) may take at most this long.
    pub attempt_timeout: Duration,
    /// Backoff before retry n is drawn from [d/2, d] with d = min(max, base·2^(n-1)).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// The defaults of `config::KNOBS`, the one place they are written.
impl Default for RetryPolicy {
    fn default() -> Self {
        crate::config::retry_policy(|knob| Ok::<_, std::convert::Infallible>(knob.default))
            .unwrap_or_else(|never| match never {})
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The upstream answered with something that is not a servable document.
    Rejected(Rejection),
    /// The body is larger than the configured cap.
    TooLarge { limit: u64 },
    /// The upstream answered with a non-2xx status.
    Status(u16),
    /// No connection could be made (refused, timed out, DNS).
    Unreachable(String),
    /// The host refused to make the call (not in its outbound allow-list): a
    /// configuration error that no retry can fix.
    Denied(String),
    /// The attempt ran out of time (first byte, between bytes, or body).
    TimedOut,
    /// The host's circuit breaker for the upstream is open: the upstream failed
    /// recently for every caller, and the host answers for it at once.
    CircuitOpen,
    /// The host's retry budget refused this retry: across all requests,
    /// retries are already at their share of first attempts.
    RetryRefused,
    /// The connection broke while the response was being read.
    Broken(String),
}

impl AttemptOutcome {
    /// A short, stable identifier for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AttemptOutcome::Rejected(r) => r.code(),
            AttemptOutcome::TooLarge { .. } => "too_large",
            AttemptOutcome::Status(_) => "upstream_status",
            AttemptOutcome::Unreachable(_) => "unreachable",
            AttemptOutcome::Denied(_) => "outbound_denied",
            AttemptOutcome::TimedOut => "timeout",
            AttemptOutcome::Broken(_) => "broken",
            AttemptOutcome::CircuitOpen => "circuit_open",
            AttemptOutcome::RetryRefused => "retry_budget_exhausted",
        }
    }

    /// Whether another attempt could give a different answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptOutcome::Status(status) => matches!(status, 408 | 425 | 429 | 500..=599),
            AttemptOutcome::Denied(_) | AttemptOutcome::CircuitOpen | AttemptOutcome::RetryRefused => false,
            _ => true,
        }
    }
}

impl std::fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptOutcome::Rejected(r) => write!(f, "{r}"),
            AttemptOutcome::TooLarge { limit } => write!(f, "document larger than {limit} bytes"),
            AttemptOutcome::Status(s) => write!(f, "upstream answered HTTP {s}"),
            AttemptOutcome::Unreachable(why) => write!(f, "upstream unreachable: {why}"),
            AttemptOutcome::Denied(why) => write!(f, "the host denied the call to the upstream: {why}"),
            AttemptOutcome::TimedOut => write!(f, "upstream attempt timed out"),
            AttemptOutcome::Broken(why) => write!(f, "upstream connection broke: {why}"),
            AttemptOutcome::CircuitOpen => write!(f, "the upstream's circuit breaker is open"),
            AttemptOutcome::RetryRefused => write!(f, "the retry budget refused another attempt"),
        }
    }
}

/// What to do after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait `delay`, then try again with at most `timeout` for the attempt.
    Retry { delay: Duration, timeout: Duration },
    /// Stop: attempts are used up or the outcome is final.
    GiveUp,
    /// Stop: no time is left in the deadline for another attempt.
    DeadlineExceeded,
}

impl RetryPolicy {
    /// The time budget of the first attempt.
    pub fn first_attempt_timeout(&self) -> Duration {
        self.attempt_timeout.min(self.deadline)
    }

    /// The backoff before retry `retry` (1 = the second attempt), given a
    /// uniform random number in [0, 1).
    pub fn backoff(&self, retry: u32, unit_random: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let ceiling = self.backoff_base.saturating_mul(1 << exp).min(self.backoff_max);
        let jitter = unit_random.clamp(0.0, 1.0);
        ceiling / 2 + ceiling.mul_f64(jitter) / 2
    }

    /// Decides what follows a failed attempt number `attempts_made` (1-based),
    /// `elapsed` after the request arrived.
    pub fn next(&self, attempts_made: u32, outcome: &AttemptOutcome, elapsed: Duration, unit_random: f64) -> Next {
        let content = matches!(outcome, AttemptOutcome::Rejected(_));
        let limit = if content {
            self.max_content_attempts
        } else {
            self.max_attempts
        };
        if !outcome.is_retryable() || attempts_made >= limit {
            return Next::GiveUp;
        }
        let delay = if content {
            Duration::ZERO
        } else {
            self.backoff(attempts_made, unit_random)
        };
        let remaining = self.deadline.saturating_sub(elapsed).saturating_sub(delay);
        if remaining < MIN_ATTEMPT {
            return Next::DeadlineExceeded;
        }
        Next::Retry {
            delay,
            timeout: remaining.min(self.attempt_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), ms(25));
        assert_eq!(p.backoff(1, 1.0), ms(50));
        assert_eq!(p.backoff(2, 1.0), ms(100));
        assert_eq!(p.backoff(10, 1.0), ms(500));
        assert_eq!(p.backoff(u32::MAX, 1.0), ms(500));
        for r in [0.0, 0.3, 0.99] {
            let d = p.backoff(3, r);
            assert!(d >= ms(100) && d <= ms(200), "{d:?}");
        }
    }

    #[test]
    fn retries_until_attempts_are_used() {
        let p = RetryPolicy::default();
        let status = AttemptOutcome::Status(503);
        assert!(matches!(p.next(1, &status, ms(10), 0.5), Next::Retry { .. }));
        assert!(matches!(p.next(2, &status, ms(10), 0.5), Next::Retry { .. }));
        assert_eq!(p.next(3, &status, ms(10), 0.5), Next::GiveUp);
    }

    #[test]
    fn rejected_documents_get_their_own_attempts_and_no_backoff() {
        let p = RetryPolicy::default();
        let corrupt = AttemptOutcome::Rejected(Rejection::Empty);
        for made in 1..p.max_content_attempts {
            assert_eq!(
                p.next(made, &corrupt, ms(10), 0.9),
                Next::Retry {
                    delay: Duration::ZERO,
                    timeout: p.attempt_timeout
                },
                "after attempt {made}"
            );
        }
        assert_eq!(p.next(p.max_content_attempts, &corrupt, ms(10), 0.5), Next::GiveUp);
        // A transport failure after three rejections has no attempts left.
        assert_eq!(p.next(3, &AttemptOutcome::TimedOut, ms(10), 0.5), Next::GiveUp);
        // And content attempts can be fewer than transport ones.
        let strict = RetryPolicy {
            max_content_attempts: 1,
            ..p
        };
        assert_eq!(strict.next(1, &corrupt, ms(10), 0.5), Next::GiveUp);
        assert!(matches!(
            strict.next(1, &AttemptOutcome::TimedOut, ms(10), 0.5),
            Next::Retry { .. }
        ));
    }

    #[test]
    fn the_host_saying_no_ends_the_request() {
        let p = RetryPolicy::default();
        assert_eq!(p.next(1, &AttemptOutcome::CircuitOpen, ms(1), 0.5), Next::GiveUp);
        assert_eq!(p.next(2, &AttemptOutcome::RetryRefused, ms(1), 0.5), Next::GiveUp);
    }

    #[test]
    fn final_upstream_answers_are_not_retried() {
        let p = RetryPolicy::default();
        assert_eq!(p.next(1, &AttemptOutcome::Status(404), ms(1), 0.5), Next::GiveUp);
        let denied = AttemptOutcome::Denied("HttpRequestDenied".into());
        assert_eq!(p.next(1, &denied, ms(1), 0.5), Next::GiveUp);
        assert!(matches!(
            p.next(1, &AttemptOutcome::Status(503), ms(1), 0.5),
            Next::Retry { .. }
        ));
    }

    #[test]
    fn attempts_fit_inside_the_deadline() {
        let p = RetryPolicy::default();
        let Next::Retry { delay, timeout } = p.next(1, &AttemptOutcome::TimedOut, ms(4_000), 1.0) else {
            panic!("expected a retry")
        };
        assert!(ms(4_000) + delay + timeout <= p.deadline);
        assert_eq!(
            p.next(1, &AttemptOutcome::TimedOut, ms(4_990), 1.0),
            Next::DeadlineExceeded
        );
        assert_eq!(p.next(3, &AttemptOutcome::TimedOut, ms(5_000), 1.0), Next::GiveUp);
    }
}
