//! The host's Prometheus metrics. Label values come from small fixed sets
//! (route templates, known methods, status codes), so cardinality is bounded
//! whatever clients send.

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub in_flight: IntGauge,
    pub outbound_requests: IntCounterVec,
    pub outbound_duration: Histogram,
    pub instantiation: Histogram,
    pub traps: IntCounter,
    pub component_info: IntGaugeVec,
    pub verdict_cache_lookups: IntCounterVec,
    pub verdict_cache_puts: IntCounterVec,
    pub verdict_cache_entries: IntGauge,
    pub connection_errors: IntCounterVec,
    pub outbound_attempts: IntCounterVec,
    pub circuit_state: IntGaugeVec,
    pub circuit_transitions: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency = exponential_buckets(0.0005, 2.0, 16).expect("valid buckets"); // 0.5 ms … 16 s
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by route template, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to the response head, by route template.",
            )
            .buckets(latency.clone()),
            &["route"],
        )
        .expect("valid metric");
        let in_flight = IntGauge::new("http_requests_in_flight", "Requests being served now.").expect("valid metric");
        let outbound_requests = IntCounterVec::new(
            Opts::new(
                "outbound_requests_total",
                "Component requests to other services, by status code or error (denied: not in the allow-list; \
                 circuit_open: refused by the open circuit breaker; retry_budget_exhausted: a retry the budget refused; \
                 connect_error, timeout, error).",
            ),
            &["status"],
        )
        .expect("valid metric");
        let outbound_duration = Histogram::with_opts(
            HistogramOpts::new(
                "outbound_request_duration_seconds",
                "Outbound time to the response head.",
            )
            .buckets(latency),
        )
        .expect("valid metric");
        let instantiation = Histogram::with_opts(
            HistogramOpts::new(
                "wasm_instantiation_duration_seconds",
                "Time to instantiate the component per request.",
            )
            .buckets(exponential_buckets(0.000_01, 2.0, 14).expect("valid buckets")), // 10 µs … 80 ms
        )
        .expect("valid metric");
        let traps = IntCounter::new(
            "wasm_traps_total",
            "Requests where the component trapped, failed or timed out.",
        )
        .expect("valid metric");
        let component_info = IntGaugeVec::new(
            Opts::new("wasm_component_info", "The component being served (value is always 1)."),
            &["path", "sha256"],
        )
        .expect("valid metric");

        let verdict_cache_lookups = IntCounterVec::new(
            Opts::new(
                "verdict_cache_lookups_total",
                "Outbound bodies looked up in the verdict cache when they ended, by result (hit, miss).",
            ),
            &["result"],
        )
        .expect("valid metric");
        let verdict_cache_puts = IntCounterVec::new(
            Opts::new(
                "verdict_cache_puts_total",
                "Digests components vouched for, by result (stored, refused: not fetched by that request).",
            ),
            &["result"],
        )
        .expect("valid metric");
        let verdict_cache_entries = IntGauge::new(
            "verdict_cache_entries",
            "Distinct validated bodies the verdict cache holds.",
        )
        .expect("valid metric");

        let connection_errors = IntCounterVec::new(
            Opts::new(
                "http_connection_errors_total",
                "Connections that ended in an error before or between requests, by listener and kind \
                 (header_too_large: answered 431, or 414 for a URI; malformed: answered 400; header_timeout: the head did not \
                 arrive in time, closed; incomplete: the client left mid-request; io: read or write failed).",
            ),
            &["listener", "kind"],
        )
        .expect("valid metric");

        let outbound_attempts = IntCounterVec::new(
            Opts::new(
                "outbound_attempts_total",
                "Outbound calls sent, by attempt: first (the first call of a request to a destination) or retry \
                 (a later one, allowed by the retry budget).",
            ),
            &["attempt"],
        )
        .expect("valid metric");
        let circuit_state = IntGaugeVec::new(
            Opts::new(
                "outbound_circuit_state",
                "Circuit breaker of each outbound destination: 0 closed, 1 open (calls fail at once), 2 half-open (one probe out).",
            ),
            &["destination"],
        )
        .expect("valid metric");
        let circuit_transitions = IntCounterVec::new(
            Opts::new(
                "outbound_circuit_transitions_total",
                "Circuit breaker changes, by destination and the state entered (closed, open, half_open).",
            ),
            &["destination", "state"],
        )
        .expect("valid metric");

        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(in_flight.clone()),
            Box::new(outbound_requests.clone()),
            Box::new(outbound_duration.clone()),
            Box::new(instantiation.clone()),
            Box::new(traps.clone()),
            Box::new(component_info.clone()),
            Box::new(verdict_cache_lookups.clone()),
            Box::new(verdict_cache_puts.clone()),
            Box::new(verdict_cache_entries.clone()),
            Box::new(connection_errors.clone()),
            Box::new(outbound_attempts.clone()),
            Box::new(circuit_state.clone()),
            Box::new(circuit_transitions.clone()),
            Box::new(crate::logging::DROPPED.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics {
            registry,
            requests,
            request_duration,
            in_flight,
            outbound_requests,
            outbound_duration,
            instantiation,
            traps,
            component_info,
            verdict_cache_lookups,
            verdict_cache_puts,
            verdict_cache_entries,
            connection_errors,
            outbound_attempts,
            circuit_state,
            circuit_transitions,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to a Vec");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The route template for a path: bounded label values for any input.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/" => "/",
        crate::proxy::SPIN_HEALTH_PATH => crate::proxy::SPIN_HEALTH_PATH,
        p if p.len() > 1 && !p[1..].contains('/') => "/{id}",
        _ => "other",
    }
}

/// The method label: the standard methods, or `OTHER`.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}
