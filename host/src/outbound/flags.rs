//! The outbound wing's flags: timeouts and pooling of the calls components
//! make, the circuit breaker and retry budget that protect their
//! destinations, and the verdict cache's size.

use std::time::Duration;

/// Outbound calls: timeouts, pool, breaker, retry budget, verdict cache.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Outbound calls")]
pub struct OutboundFlags {
    /// Outbound TCP connect timeout (the component may ask for less, never more).
    #[arg(long, env = "OUTBOUND_CONNECT_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration)]
    pub outbound_connect_timeout: Duration,

    /// Outbound wait for the response headers (wasmtime's default is 600 s).
    #[arg(long, env = "OUTBOUND_FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub outbound_first_byte_timeout: Duration,

    /// Outbound wait between two body chunks.
    #[arg(long, env = "OUTBOUND_BETWEEN_BYTES_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub outbound_between_bytes_timeout: Duration,

    /// Idle keep-alive connections kept per outbound host.
    #[arg(long, env = "OUTBOUND_MAX_IDLE_PER_HOST", default_value_t = 64)]
    pub outbound_max_idle_per_host: usize,

    /// Largest read buffer of one outbound connection (8KiB–1MiB). hyper
    /// grows a buffer while reads fill it and a pooled connection keeps it:
    /// a larger cap reads big bodies in fewer chunks and holds more memory
    /// per idle connection (16 KiB against hyper's ~400 KiB: a third less
    /// peak memory under 32 clients for about 3% of throughput,
    /// docs/performance.md).
    #[arg(long, env = "OUTBOUND_READ_BUFFER_BYTES", default_value = "16KiB", value_parser = parse_read_buffer)]
    pub outbound_read_buffer_bytes: u64,

    /// Consecutive failed calls from one component to a destination (no
    /// connection, no response head in time, or a 5xx) that open that
    /// component's circuit breaker for it: its calls then fail at once, and
    /// doc-proxy answers 503 + Retry-After. Other components keep their own. A 200 with a corrupt
    /// document is not a failure. 0 turns it off (docs/reliability.md).
    #[arg(long, env = "BREAKER_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub breaker_failures: u32,

    /// How long an open breaker refuses calls before it lets one probe through.
    /// Short, because there is one upstream: while it is open nothing is
    /// served, so this is also the outage added after the upstream recovers.
    /// The probe's success closes the breaker; its failure opens it again.
    #[arg(long, env = "BREAKER_OPEN_FOR", default_value = "1s", value_parser = humantime::parse_duration)]
    pub breaker_open_for: Duration,

    /// Retries allowed per first attempt, per component and destination,
    /// over the window (0.2: retries add at most 20% to the upstream's load,
    /// plus the floor).
    /// A retry past the budget is refused, and the request answers from the
    /// attempts it made.
    #[arg(long, env = "RETRY_BUDGET_RATIO", default_value_t = 0.2, value_parser = parse_ratio)]
    pub retry_budget_ratio: f64,

    /// Retries allowed per second whatever the first attempts, so a quiet
    /// service still retries.
    #[arg(long, env = "RETRY_BUDGET_MIN_PER_SECOND", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub retry_budget_min_per_second: u32,

    /// Destinations whose breaker and retry budget each component keeps (the
    /// least recently called is forgotten past it, with its metric series):
    /// bounds what a wildcard allow-list can make the host track.
    #[arg(long, env = "MAX_DESTINATIONS_PER_COMPONENT", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_destinations_per_component: u32,

    /// The sliding window over which the retry budget counts attempts.
    #[arg(long, env = "RETRY_BUDGET_WINDOW", default_value = "10s", value_parser = parse_window)]
    pub retry_budget_window: Duration,

    /// How long one call to an outbound service (Redis, PostgreSQL) may take, from
    /// sending it to its whole answer; past it the guest gets an error and
    /// the connection is closed. Connecting is bounded by
    /// `--outbound-connect-timeout`.
    #[arg(long, env = "SERVICE_CALL_TIMEOUT", default_value = "10s", value_parser = parse_service_timeout)]
    pub service_call_timeout: Duration,

    /// Idle connections each component keeps per service address for its
    /// next requests (0 keeps none: every `open` connects).
    #[arg(long, env = "SERVICE_IDLE_PER_ADDRESS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub service_idle_per_address: u32,

    /// How long an idle service connection is kept.
    #[arg(long, env = "SERVICE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_service_timeout)]
    pub service_idle_timeout: Duration,

    /// Service addresses each component pools connections to and counts in
    /// a metric series of its own (the rest connect each time and count as
    /// `other`): bounds what a wildcard grant can make the host keep.
    #[arg(long, env = "SERVICE_DESTINATIONS_PER_COMPONENT", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub service_destinations_per_component: u32,

    /// Validated upstream bodies remembered by SHA-256, so components that
    /// speak the verdict-cache protocol (docs/verdict-cache.md) check each
    /// distinct document once. About 100 bytes per entry; 0 turns it off.
    #[arg(long, env = "VERDICT_CACHE_ENTRIES", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(0..=262_144))]
    pub verdict_cache_entries: u32,
}

/// A retry budget ratio: a number from 0 (no retries beyond the floor) to 10.
fn parse_ratio(text: &str) -> Result<f64, String> {
    let ratio: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=10.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(format!("{ratio} is outside 0..=10"))
    }
}

/// A retry budget window: 1 s to 10 min (it is counted in tenths).
fn parse_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if (Duration::from_secs(1)..=Duration::from_secs(600)).contains(&window) {
        Ok(window)
    } else {
        Err(format!("{text} is outside 1s..=10m"))
    }
}

/// 10 ms to 10 min.
fn parse_service_timeout(text: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if (Duration::from_millis(10)..=Duration::from_secs(600)).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(format!("{text} is outside 10ms..=10m"))
    }
}

/// A size in 8 KiB..=1 MiB: hyper refuses (panics on) a read buffer under its
/// 8 KiB minimum.
fn parse_read_buffer(text: &str) -> Result<u64, String> {
    crate::ops::memory::parse_size_within(text, 8 * 1024, 1024 * 1024)
}

impl OutboundFlags {
    /// The timeouts every outbound call runs under.
    pub fn timeouts(&self) -> crate::outbound::Timeouts {
        crate::outbound::Timeouts {
            connect: self.outbound_connect_timeout,
            first_byte: self.outbound_first_byte_timeout,
            between_bytes: self.outbound_between_bytes_timeout,
        }
    }

    /// The keep-alive pool's settings.
    pub fn pool(&self) -> crate::outbound::PoolSettings {
        crate::outbound::PoolSettings {
            max_idle_per_host: self.outbound_max_idle_per_host,
            read_buffer_bytes: self.outbound_read_buffer_bytes as usize,
        }
    }

    /// Each component's breakers and retry budgets, per destination.
    pub fn protection(&self) -> crate::outbound::protection::ProtectionSettings {
        use crate::outbound::{breaker::BreakerSettings, retry_budget::BudgetSettings};
        crate::outbound::protection::ProtectionSettings {
            breaker: BreakerSettings {
                failures: self.breaker_failures,
                open_for: self.breaker_open_for,
            },
            retry_budget: BudgetSettings {
                ratio: self.retry_budget_ratio,
                min_per_second: self.retry_budget_min_per_second,
                window: self.retry_budget_window,
            },
            max_destinations: std::num::NonZeroUsize::new(self.max_destinations_per_component as usize)
                .unwrap_or(std::num::NonZeroUsize::MIN),
        }
    }

    /// Entries of each opted-in component's verdict cache; `None` turns it off.
    pub fn verdict_cache_entries(&self) -> Option<std::num::NonZeroUsize> {
        std::num::NonZeroUsize::new(self.verdict_cache_entries as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbound_read_buffer_is_bounded() {
        assert_eq!(parse_read_buffer("16KiB"), Ok(16 * 1024));
        assert_eq!(parse_read_buffer("8192"), Ok(8192));
        assert!(parse_read_buffer("8191").is_err());
        assert!(parse_read_buffer("2MiB").is_err());
    }

    #[test]
    fn retry_budget_flags_are_bounded() {
        assert_eq!(parse_ratio("0.2"), Ok(0.2));
        assert!(parse_ratio("-0.1").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_ratio("11").is_err());
        assert_eq!(parse_window("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_window("10ms").is_err());
        assert!(parse_window("1h").is_err());
    }
}
