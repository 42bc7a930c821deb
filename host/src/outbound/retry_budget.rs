//! Retry budget: retries may add at most `ratio` of the first attempts, plus a
//! small floor per second, over a sliding window, whatever every component
//! instance's own retry policy says. Per-request policies multiply load on a
//! sick upstream (3 attempts each = 3x); the budget caps each component's
//! calls to a destination at (1 + ratio)x plus the floor (one budget per
//! component and destination, `outbound::protection`).
//!
//! An outbound call is a retry when an earlier call of the same request went to
//! the same destination: the host counts calls per store, so components need no
//! protocol for it. [`Budget`] is the arithmetic, with time passed in.

use std::time::{Duration, Instant};

/// Buckets in the sliding window: old traffic leaves it a tenth at a time.
const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetSettings {
    /// Retries allowed per first attempt (0.2 = 20%).
    pub ratio: f64,
    /// Retries allowed per second however few first attempts there were, so a
    /// quiet service still retries.
    pub min_per_second: u32,
    /// The window over which attempts are counted.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    firsts: u64,
    retries: u64,
}

#[derive(Debug)]
pub struct Budget {
    settings: BudgetSettings,
    buckets: [Bucket; BUCKETS],
    /// The bucket that counts calls now, and when it started.
    newest: usize,
    newest_started: Instant,
}

impl Budget {
    pub fn new(settings: BudgetSettings, now: Instant) -> Self {
        Budget {
            settings,
            buckets: [Bucket::default(); BUCKETS],
            newest: 0,
            newest_started: now,
        }
    }

    fn bucket_width(&self) -> Duration {
        (self.settings.window / BUCKETS as u32).max(Duration::from_millis(1))
    }

    /// Moves to the bucket of `now`, emptying the ones it reuses: calls leave
    /// the window between 9/10 and 10/10 of it after they were counted.
    fn advance(&mut self, now: Instant) {
        let width = self.bucket_width();
        let mut moved = 0;
        while now >= self.newest_started + width {
            if moved == BUCKETS {
                // Idle for a whole window: everything has left it.
                self.newest_started = now;
                break;
            }
            self.newest = (self.newest + 1) % BUCKETS;
            self.buckets[self.newest] = Bucket::default();
            self.newest_started += width;
            moved += 1;
        }
    }

    fn newest(&mut self) -> &mut Bucket {
        &mut self.buckets[self.newest]
    }

    /// Counts a call at `now`; a retry is counted only when the budget allows
    /// it, and the answer says whether it may go out. First attempts always may.
    pub fn try_spend(&mut self, retry: bool, now: Instant) -> bool {
        self.advance(now);
        if !retry {
            self.newest().firsts += 1;
            return true;
        }
        let (firsts, retries) = self
            .buckets
            .iter()
            .fold((0u64, 0u64), |(f, r), b| (f + b.firsts, r + b.retries));
        let floor = f64::from(self.settings.min_per_second) * self.settings.window.as_secs_f64();
        let allowed = self.settings.ratio * firsts as f64 + floor;
        if (retries + 1) as f64 <= allowed {
            self.newest().retries += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: BudgetSettings = BudgetSettings {
        ratio: 0.2,
        min_per_second: 1,
        window: Duration::from_secs(10),
    };

    fn spend(budget: &mut Budget, retry: bool, n: u32, now: Instant) -> u32 {
        (0..n).filter(|_| budget.try_spend(retry, now)).count() as u32
    }

    #[test]
    fn retries_are_a_share_of_first_attempts_plus_the_floor() {
        let now = Instant::now();
        let mut budget = Budget::new(SETTINGS, now);
        assert_eq!(spend(&mut budget, false, 1000, now), 1000);
        // 20% of 1000, plus 1/s over 10 s.
        assert_eq!(spend(&mut budget, true, 1000, now), 210);
    }

    #[test]
    fn a_quiet_service_still_gets_the_floor() {
        let now = Instant::now();
        let mut budget = Budget::new(SETTINGS, now);
        assert_eq!(spend(&mut budget, true, 50, now), 10);
    }

    #[test]
    fn old_attempts_leave_the_window() {
        let now = Instant::now();
        let mut budget = Budget::new(SETTINGS, now);
        spend(&mut budget, false, 1000, now);
        assert_eq!(spend(&mut budget, true, 300, now), 210);
        // Half a window later, nothing has left it yet.
        let half = now + Duration::from_secs(5);
        assert_eq!(spend(&mut budget, true, 10, half), 0);
        // A whole window later, the first attempts and their retries are gone.
        let later = now + Duration::from_secs(10);
        assert_eq!(spend(&mut budget, true, 100, later), 10);
        // And after a long silence, the floor again.
        let much_later = now + Duration::from_secs(3600);
        assert_eq!(spend(&mut budget, true, 100, much_later), 10);
    }

    #[test]
    fn the_window_slides_a_bucket_at_a_time() {
        let now = Instant::now();
        let mut budget = Budget::new(
            BudgetSettings {
                min_per_second: 0,
                ..SETTINGS
            },
            now,
        );
        spend(&mut budget, false, 100, now);
        spend(&mut budget, false, 100, now + Duration::from_secs(5));
        // At 10 s the first 100 have left: 20% of the other 100.
        assert_eq!(spend(&mut budget, true, 100, now + Duration::from_secs(10)), 20);
    }
}
