//! What protects the destinations one component calls: a circuit breaker and
//! a retry budget per destination, for that component alone. A component
//! that drives a destination into failure opens its own breaker and spends
//! its own budget; doc-proxy calling the same upstream keeps both of its own
//! (before, both were one per destination for the whole host, and a relay
//! pointed at a failing path made doc-proxy answer 503).
//!
//! Destinations are bounded: each component tracks at most
//! `max_destinations` (least recently called forgotten first, its metric
//! series removed), so a wildcard allow-list cannot grow the host's memory
//! or its series without end; and a reload that removes the component
//! retires all of them.

use crate::ops::metrics::Metrics;
use crate::outbound::breaker::{Admission, Breaker, BreakerSettings, State};
use crate::outbound::retry_budget::{Budget, BudgetSettings};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How much failure a component may send to one destination.
#[derive(Debug, Clone, Copy)]
pub struct ProtectionSettings {
    pub breaker: BreakerSettings,
    pub retry_budget: BudgetSettings,
    /// Destinations tracked per component.
    pub max_destinations: NonZeroUsize,
}

/// One destination's breaker and budget.
struct Guarded {
    breaker: Breaker,
    budget: Budget,
}

/// One component's breakers and budgets, by destination (`host:port`).
pub struct Protection {
    component: Arc<str>,
    settings: ProtectionSettings,
    destinations: Mutex<LruCache<String, Guarded>>,
    metrics: Metrics,
}

impl Protection {
    pub fn new(component: Arc<str>, settings: ProtectionSettings, metrics: Metrics) -> Self {
        Protection {
            component,
            settings,
            destinations: Mutex::new(LruCache::new(settings.max_destinations)),
            metrics,
        }
    }

    /// Whether a call to `destination` may go out now.
    pub fn admit(&self, destination: &str) -> Admission {
        if self.settings.breaker.failures == 0 {
            return Admission::Allowed { probe: false };
        }
        self.update(destination, |guarded| guarded.breaker.admit(Instant::now()))
    }

    /// How an admitted call ended.
    pub fn record(&self, destination: &str, probe: bool, failed: bool) {
        if self.settings.breaker.failures > 0 {
            self.update(destination, |guarded| {
                guarded.breaker.record(probe, failed, Instant::now())
            });
        }
    }

    /// A probe whose caller gave up frees the slot.
    pub fn release_probe(&self, destination: &str) {
        self.update(destination, |guarded| guarded.breaker.release_probe());
    }

    /// Whether the destination's retry budget lets this call out (first
    /// attempts always go, and are counted).
    pub fn budget_allows(&self, destination: &str, retry: bool) -> bool {
        self.update(destination, |guarded| guarded.budget.try_spend(retry, Instant::now()))
    }

    /// Destinations tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    /// Removes every series of this component's destinations (it left the app).
    pub fn retire(&self) {
        let destinations = self.lock();
        for (destination, _) in destinations.iter() {
            self.forget_series(destination);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Guarded>> {
        self.destinations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn forget_series(&self, destination: &str) {
        let component = &*self.component;
        let _ = self
            .metrics
            .circuit_state
            .remove_label_values(&[component, destination]);
        for state in ["closed", "open", "half_open"] {
            let _ = self
                .metrics
                .circuit_transitions
                .remove_label_values(&[component, destination, state]);
        }
    }

    /// Applies `change` to the destination's breaker and budget; a change of
    /// the breaker's state is logged and counted.
    fn update<T>(&self, destination: &str, change: impl FnOnce(&mut Guarded) -> T) -> T {
        let component = &*self.component;
        let mut destinations = self.lock();
        if !destinations.contains(destination) {
            let fresh = Guarded {
                breaker: Breaker::new(self.settings.breaker),
                budget: Budget::new(self.settings.retry_budget, Instant::now()),
            };
            if let Some((forgotten, _)) = destinations.push(destination.to_string(), fresh) {
                if forgotten != destination {
                    self.forget_series(&forgotten);
                    tracing::debug!(component, destination = %forgotten, "outbound destination forgotten: the least recently called past the limit");
                }
            }
            if self.settings.breaker.failures > 0 {
                // The destination's series exists, closed, from its first call.
                self.metrics
                    .circuit_state
                    .with_label_values(&[component, destination])
                    .set(0);
            }
        }
        let guarded = destinations
            .get_mut(destination)
            .expect("inserted above, under the same lock");
        let before = guarded.breaker.state();
        let result = change(guarded);
        let after = guarded.breaker.state();
        if before.name() != after.name() {
            self.metrics
                .circuit_state
                .with_label_values(&[component, destination])
                .set(after.gauge());
            self.metrics
                .circuit_transitions
                .with_label_values(&[component, destination, after.name()])
                .inc();
            let open_for_ms = self.settings.breaker.open_for.as_millis() as u64;
            match after {
                State::Open { .. } => tracing::warn!(
                    component,
                    destination,
                    from = before.name(),
                    open_for_ms,
                    "circuit breaker opened: this component's calls to this destination fail at once"
                ),
                _ => tracing::info!(
                    component,
                    destination,
                    from = before.name(),
                    to = after.name(),
                    "circuit breaker"
                ),
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(max_destinations: usize) -> ProtectionSettings {
        ProtectionSettings {
            breaker: BreakerSettings {
                failures: 2,
                open_for: Duration::from_secs(60),
            },
            retry_budget: BudgetSettings {
                ratio: 0.0,
                min_per_second: 0,
                window: Duration::from_secs(10),
            },
            max_destinations: NonZeroUsize::new(max_destinations).unwrap(),
        }
    }

    fn fail(protection: &Protection, destination: &str, times: u32) {
        for _ in 0..times {
            assert_eq!(protection.admit(destination), Admission::Allowed { probe: false });
            protection.record(destination, false, true);
        }
    }

    #[test]
    fn one_component_opening_its_breaker_leaves_anothers_closed() {
        let metrics = Metrics::new();
        let relay = Protection::new("relay".into(), settings(8), metrics.clone());
        let proxy = Protection::new("doc-proxy".into(), settings(8), metrics.clone());
        fail(&relay, "up:3000", 2);
        assert_eq!(relay.admit("up:3000"), Admission::Refused);
        assert_eq!(proxy.admit("up:3000"), Admission::Allowed { probe: false });
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains(r#"outbound_circuit_state{component="relay",destination="up:3000"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"outbound_circuit_state{component="doc-proxy",destination="up:3000"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn one_component_spending_its_retry_budget_leaves_anothers() {
        let metrics = Metrics::new();
        let relay = Protection::new("relay".into(), settings(8), metrics.clone());
        let proxy = Protection::new("doc-proxy".into(), settings(8), metrics);
        // Ratio 0 and no floor: every retry is refused, for the relay alone.
        assert!(!relay.budget_allows("up:3000", true));
        let generous = ProtectionSettings {
            retry_budget: BudgetSettings {
                ratio: 1.0,
                ..settings(8).retry_budget
            },
            ..settings(8)
        };
        let proxy = Protection {
            settings: generous,
            ..proxy
        };
        assert!(proxy.budget_allows("up:3000", false));
        assert!(proxy.budget_allows("up:3000", true));
    }

    #[test]
    fn destinations_are_bounded_and_forgotten_with_their_series() {
        let metrics = Metrics::new();
        let wildcard = Protection::new("any".into(), settings(3), metrics.clone());
        for i in 0..50 {
            fail(&wildcard, &format!("h{i}:80"), 2);
        }
        assert_eq!(wildcard.tracked(), 3);
        let text = String::from_utf8(metrics.render()).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("outbound_circuit_state{"))
            .count();
        assert_eq!(series, 3, "{text}");
        assert!(text.contains(r#"destination="h49:80""#));
        assert!(!text.contains(r#"destination="h0:80""#));
        wildcard.retire();
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(!text.contains("outbound_circuit_state{"), "{text}");
        assert!(!text.contains("outbound_circuit_transitions_total{"), "{text}");
    }
}
