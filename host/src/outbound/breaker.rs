//! Circuit breaker per outbound destination (of one component).
//!
//! Instances live for one request and keep no state, so only the host can see
//! that an upstream is failing for every request. After `failures` consecutive
//! failed calls (no connection, no response head in time, or a 5xx) the breaker
//! opens: calls fail at once for `open_for`, then one probe call at a time is let
//! through (half-open); the probe's success closes the breaker, its failure
//! opens it again. A 2xx with a corrupt body is a success here: the upstream
//! answered, and a bad document is the component's to judge and retry.
//!
//! [`Breaker`] is the state machine, with time passed in;
//! `outbound::protection` keeps one per component and destination and
//! reports transitions as log lines and metrics.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker; 0 turns breaking off.
    pub failures: u32,
    /// How long an open breaker refuses calls before a probe is let through.
    pub open_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }

    /// The value of `outbound_circuit_state`.
    pub fn gauge(&self) -> i64 {
        match self {
            State::Closed { .. } => 0,
            State::Open { .. } => 1,
            State::HalfOpen { .. } => 2,
        }
    }
}

/// Whether a call may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it. `probe` marks the one call a half-open breaker lets through;
    /// its result must be recorded (or the probe released).
    Allowed {
        probe: bool,
    },
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: State::Closed {
                consecutive_failures: 0,
            },
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Decides on a call at `now`; an open breaker whose time is up turns
    /// half-open and lets this call through as its probe.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Allowed { probe: false },
            State::Open { until } if now < until => Admission::Refused,
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Admission::Allowed { probe: true }
            }
            State::HalfOpen { probing: true } => Admission::Refused,
        }
    }

    /// Records how an admitted call ended.
    pub fn record(&mut self, probe: bool, failed: bool, now: Instant) {
        self.state = match (self.state, probe, failed) {
            (State::HalfOpen { .. }, true, false) => State::Closed {
                consecutive_failures: 0,
            },
            (State::HalfOpen { .. }, true, true) => self.opened(now),
            (State::Closed { .. }, _, false) => State::Closed {
                consecutive_failures: 0,
            },
            (State::Closed { consecutive_failures }, _, true) => {
                let consecutive_failures = consecutive_failures.saturating_add(1);
                if self.settings.failures > 0 && consecutive_failures >= self.settings.failures {
                    self.opened(now)
                } else {
                    State::Closed { consecutive_failures }
                }
            }
            // Calls admitted before the breaker opened, ending after: the
            // breaker already knows, and only its probe decides what follows.
            (state, _, _) => state,
        };
    }

    /// A probe that ended without an answer (its caller gave up) frees the slot
    /// for the next call.
    pub fn release_probe(&mut self) {
        if self.state == (State::HalfOpen { probing: true }) {
            self.state = State::HalfOpen { probing: false };
        }
    }

    fn opened(&self, now: Instant) -> State {
        State::Open {
            until: now + self.settings.open_for,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: BreakerSettings = BreakerSettings {
        failures: 3,
        open_for: Duration::from_secs(1),
    };

    fn fail(breaker: &mut Breaker, times: u32, now: Instant) {
        for _ in 0..times {
            assert_eq!(breaker.admit(now), Admission::Allowed { probe: false });
            breaker.record(false, true, now);
        }
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let now = Instant::now();
        let mut breaker = Breaker::new(SETTINGS);
        fail(&mut breaker, 2, now);
        breaker.record(false, false, now);
        fail(&mut breaker, 2, now);
        assert_eq!(
            breaker.state().name(),
            "closed",
            "a success in between resets the count"
        );
        fail(&mut breaker, 1, now);
        assert_eq!(
            breaker.state(),
            State::Open {
                until: now + SETTINGS.open_for
            }
        );
        assert_eq!(breaker.admit(now + Duration::from_millis(999)), Admission::Refused);
    }

    #[test]
    fn one_probe_at_a_time_decides() {
        let now = Instant::now();
        let mut breaker = Breaker::new(SETTINGS);
        fail(&mut breaker, 3, now);
        let later = now + SETTINGS.open_for;
        assert_eq!(breaker.admit(later), Admission::Allowed { probe: true });
        assert_eq!(
            breaker.admit(later),
            Admission::Refused,
            "a second call waits for the probe"
        );
        // A late answer from before the opening changes nothing.
        breaker.record(false, false, later);
        assert_eq!(breaker.state(), State::HalfOpen { probing: true });
        // The probe fails: open again, for the full time from now.
        breaker.record(true, true, later);
        assert_eq!(
            breaker.state(),
            State::Open {
                until: later + SETTINGS.open_for
            }
        );
        let again = later + SETTINGS.open_for;
        assert_eq!(breaker.admit(again), Admission::Allowed { probe: true });
        breaker.record(true, false, again);
        assert_eq!(
            breaker.state(),
            State::Closed {
                consecutive_failures: 0
            }
        );
        assert_eq!(breaker.admit(again), Admission::Allowed { probe: false });
    }

    #[test]
    fn an_abandoned_probe_frees_the_slot() {
        let now = Instant::now();
        let mut breaker = Breaker::new(SETTINGS);
        fail(&mut breaker, 3, now);
        let later = now + SETTINGS.open_for;
        assert_eq!(breaker.admit(later), Admission::Allowed { probe: true });
        breaker.release_probe();
        assert_eq!(breaker.admit(later), Admission::Allowed { probe: true });
    }

    #[test]
    fn zero_failures_never_opens() {
        let now = Instant::now();
        let mut breaker = Breaker::new(BreakerSettings {
            failures: 0,
            ..SETTINGS
        });
        fail(&mut breaker, 100, now);
        assert_eq!(breaker.state().name(), "closed");
    }
}
