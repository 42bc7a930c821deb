//! What one open-loop run saw: the per-request samples and the summary printed
//! at the end (status mix, latency percentiles, documents by type).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// One request's fate.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was due, from the start of the run.
    pub due: Duration,
    /// How much later than due the generator sent it.
    pub lag: Duration,
    /// From the send to its last body byte (or to the failure).
    pub latency: Duration,
    /// The HTTP status, or `timeout` / `error`.
    pub outcome: String,
    /// The media type of a 200 or an error body (parameters dropped).
    pub content_type: String,
    pub bytes: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct ByType {
    pub responses: u64,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub rate: f64,
    pub duration_s: f64,
    /// Requests that fell due.
    pub due: u64,
    /// Due but not sent: --max-in-flight requests were already waiting.
    pub not_sent: u64,
    /// Answered (any status) per second of the run.
    pub achieved_rate: f64,
    pub outcomes: BTreeMap<String, u64>,
    pub content_types: BTreeMap<String, ByType>,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// The generator's lateness against the schedule: if it is large, the
    /// generator (not the server) could not keep the rate.
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
}

impl Summary {
    pub fn new(rate: f64, duration: Duration, not_sent: u64, samples: &[Sample]) -> Summary {
        let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
        latencies.sort_unstable();
        let mut lags: Vec<Duration> = samples.iter().map(|s| s.lag).collect();
        lags.sort_unstable();
        let mut outcomes = BTreeMap::new();
        let mut content_types: BTreeMap<String, ByType> = BTreeMap::new();
        for s in samples {
            *outcomes.entry(s.outcome.clone()).or_insert(0) += 1;
            if s.outcome == "200" {
                let t = content_types.entry(s.content_type.clone()).or_default();
                t.responses += 1;
                t.bytes += s.bytes;
            }
        }
        let answered = samples.iter().filter(|s| s.outcome.parse::<u16>().is_ok()).count();
        Summary {
            rate,
            duration_s: duration.as_secs_f64(),
            due: samples.len() as u64 + not_sent,
            not_sent,
            achieved_rate: answered as f64 / duration.as_secs_f64(),
            outcomes,
            content_types,
            p50_ms: percentile_ms(&latencies, 0.50),
            p90_ms: percentile_ms(&latencies, 0.90),
            p99_ms: percentile_ms(&latencies, 0.99),
            p999_ms: percentile_ms(&latencies, 0.999),
            max_ms: latencies.last().map_or(0.0, ms),
            lag_p99_ms: percentile_ms(&lags, 0.99),
            lag_max_ms: lags.last().map_or(0.0, ms),
        }
    }
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    ms(&sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} requests due at {} req/s over {:.1} s; answered {:.0} req/s; not sent (generator limit): {}",
            self.due, self.rate, self.duration_s, self.achieved_rate, self.not_sent
        )?;
        let mix: Vec<String> = self.outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        writeln!(f, "outcomes: {}", mix.join(", "))?;
        writeln!(
            f,
            "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms
        )?;
        writeln!(
            f,
            "generator lag behind schedule: p99 {:.2} ms, max {:.2} ms",
            self.lag_p99_ms, self.lag_max_ms
        )?;
        for (t, b) in &self.content_types {
            writeln!(f, "200 {t}: {} documents, {} bytes", b.responses, b.bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, outcome: &str, content_type: &str, bytes: u64) -> Sample {
        Sample {
            due: Duration::ZERO,
            lag: Duration::ZERO,
            latency: Duration::from_millis(ms),
            outcome: outcome.into(),
            content_type: content_type.into(),
            bytes,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&sorted, 0.5), 50.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&sorted, 1.0), 100.0);
        assert_eq!(percentile_ms(&sorted[..1], 0.01), 1.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn the_summary_counts_outcomes_and_documents() {
        let samples = vec![
            sample(1, "200", "image/png", 100),
            sample(2, "200", "image/png", 50),
            sample(3, "200", "application/pdf", 10),
            sample(4, "502", "application/problem+json", 300),
            sample(9, "timeout", "", 0),
        ];
        let s = Summary::new(5.0, Duration::from_secs(1), 2, &samples);
        assert_eq!(s.due, 7);
        assert_eq!(s.outcomes["200"], 3);
        assert_eq!(s.outcomes["timeout"], 1);
        assert_eq!(s.content_types["image/png"].bytes, 150);
        assert_eq!(s.content_types["image/png"].responses, 2);
        assert!(!s.content_types.contains_key("application/problem+json"));
        assert_eq!(s.achieved_rate, 4.0);
        assert_eq!(s.max_ms, 9.0);
        let text = s.to_string();
        assert!(text.contains("502: 1"), "{text}");
    }
}
