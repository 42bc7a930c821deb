//! The host's Prometheus metrics. Label values come from small fixed sets
//! (route templates, known methods, status codes), so cardinality is bounded
//! whatever clients send.

use prometheus::{
    exponential_buckets, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The host's version, for `doc_proxy_host_build_info`.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The wasmtime this host is built on, as Cargo.lock pins it (`build.rs`).
pub const WASMTIME_VERSION: &str = env!("WASMTIME_VERSION");

/// The `kind` label values of `http_connection_errors_total`: every value
/// the listener's classifier (`edge::listener`) gives a failed connection.
pub const CONNECTION_ERROR_KINDS: [&str; 6] = [
    "header_too_large",
    "header_timeout",
    "malformed",
    "incomplete",
    "write_timeout",
    "io",
];

/// The counters instance reuse keeps (`app::reuse`).
#[derive(Clone)]
pub struct ReuseMetrics {
    /// `wasm_instances_idle`.
    pub idle: IntGauge,
    /// `wasm_instance_reuses_total`.
    pub reuses: IntCounter,
    /// `wasm_instances_retired_total{reason}`.
    pub retired: IntCounterVec,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub in_flight: IntGauge,
    pub outbound_requests: IntCounterVec,
    pub outbound_sockets: IntCounterVec,
    pub outbound_services: IntCounterVec,
    pub outbound_duration: Histogram,
    pub instantiation: Histogram,
    pub traps: IntCounterVec,
    pub instances_live: IntGauge,
    pub instances_max: IntGauge,
    pub reuse: ReuseMetrics,
    pub component_info: IntGaugeVec,
    pub component_load: Gauge,
    pub component_reloads: IntCounterVec,
    pub shed: IntCounterVec,
    pub responses_by_type: IntCounterVec,
    pub response_bytes: IntCounterVec,
    pub server_timing_entries: IntCounterVec,
    pub server_timing_duration: HistogramVec,
    pub verdict_cache_lookups: IntCounterVec,
    pub verdict_cache_puts: IntCounterVec,
    pub verdict_cache_entries: IntGaugeVec,
    pub connection_errors: IntCounterVec,
    pub connections_open: IntGaugeVec,
    pub connections_refused: IntCounterVec,
    pub connections_evicted: IntCounterVec,
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
                "Component requests to other services, by component and status code or error (denied: not in the \
                 allow-list, or one of the host's own listeners; circuit_open: refused by the component's open circuit \
                 breaker; retry_budget_exhausted: a retry its budget refused; request_limit: past \
                 --max-outbound-per-request; connect_error, timeout, error).",
            ),
            &["component", "status"],
        )
        .expect("valid metric");
        let outbound_services = IntCounterVec::new(
            Opts::new(
                "outbound_service_uses_total",
                "Components' uses of Spin's outbound services (Redis, PostgreSQL), by component, service, destination \
                 (host:port; '-' when denied, 'other' past --service-destinations-per-component) and result \
                 (connected, reused: an open, on a new or a pooled connection; denied: not in the allow-list; \
                 request_limit: past --max-service-connections; connect_error; call, error, timeout: a call \
                 answered, failed, or past --service-call-timeout).",
            ),
            &["component", "service", "destination", "result"],
        )
        .expect("valid metric");
        let outbound_sockets = IntCounterVec::new(
            Opts::new(
                "outbound_socket_uses_total",
                "Components' wasi:sockets connections (tcp) and datagrams sent (udp), by component, protocol and \
                 result (allowed; denied: not in the allow-list; own_listener: one of the host's own listeners; \
                 request_limit: past --max-outbound-per-request connections in one request).",
            ),
            &["component", "protocol", "result"],
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
        let traps = IntCounterVec::new(
            Opts::new(
                "wasm_traps_total",
                "Requests the component failed, by kind (trap: it trapped, a host call failed, or it passed a limit \
                 such as its header budget; cpu_budget: it used up --request-cpu-budget; timeout: it ran past the \
                 request timeout; no_response: it returned without a response; error_code: it answered with a \
                 wasi:http error code). Each is answered by the host with a problem.",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let instances_live = IntGauge::new(
            "wasm_instances_live",
            "Component instances alive now (each holds a pool slot and a concurrency permit).",
        )
        .expect("valid metric");
        let reuse = ReuseMetrics {
            idle: IntGauge::new(
                "wasm_instances_idle",
                "Instances of components that reuse instances, waiting between requests (each keeps its pool slot and permit; not counted in wasm_instances_live).",
            )
            .expect("valid metric"),
            reuses: IntCounter::new(
                "wasm_instance_reuses_total",
                "Requests served by an instance that had served a request before (instance_reuse).",
            )
            .expect("valid metric"),
            retired: IntCounterVec::new(
                Opts::new(
                    "wasm_instances_retired_total",
                    "Instances of components that reuse instances, not kept for another request, by reason: uses, failed, leaked, idle, evicted, reloaded.",
                ),
                &["reason"],
            )
            .expect("valid metric"),
        };
        let instances_max = IntGauge::new(
            "wasm_instances_max",
            "Instances that may be alive at once (--max-concurrent-requests, cut by the memory plan): the pool's size.",
        )
        .expect("valid metric");
        let component_info = IntGaugeVec::new(
            Opts::new(
                "wasm_component_info",
                "The components being served (value is always 1): the manifest's id, file, SHA-256 of its bytes, \
                 how it was loaded (precompiled, compile_cache, compiled) and the WASI version of its handler.",
            ),
            &["component", "path", "sha256", "loaded_from", "wasi"],
        )
        .expect("valid metric");
        let component_load = Gauge::new(
            "wasm_component_load_seconds",
            "Time the served component version took to load (at start or at its reload): compiling it, or reading precompiled code.",
        )
        .expect("valid metric");
        let component_reloads = IntCounterVec::new(
            Opts::new(
                "wasm_component_reloads_total",
                "Component reloads (SIGHUP, POST /admin/reload, a watched file's change), by result (swapped: a new \
                 version serves; unchanged: the file held the served version; refused: it did not load, link, \
                 export the handler, instantiate or answer its probe, and the served version stays; rolled_back: \
                 a swapped-in version failed its first requests and the version before serves again).",
            ),
            &["result"],
        )
        .expect("valid metric");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "doc_proxy_host_build_info",
                "The host binary (value is always 1): its version and the wasmtime it embeds.",
            ),
            &["version", "wasmtime"],
        )
        .expect("valid metric");
        build_info.with_label_values(&[HOST_VERSION, WASMTIME_VERSION]).set(1);
        let shed = IntCounterVec::new(
            Opts::new(
                "http_requests_shed_total",
                "Requests answered 503 without running the component, by reason (concurrency: every instance \
                 was busy; body_buffer: the request-body memory budget was spent).",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let responses_by_type = IntCounterVec::new(
            Opts::new(
                "http_responses_by_type_total",
                "Responses by route template and Content-Type (application/pdf, image/png, \
                 application/problem+json, text/plain, none, other).",
            ),
            &["route", "content_type"],
        )
        .expect("valid metric");
        let response_bytes = IntCounterVec::new(
            Opts::new(
                "http_response_body_bytes_total",
                "Response body bytes handed to clients' connections, by route template and Content-Type.",
            ),
            &["route", "content_type"],
        )
        .expect("valid metric");
        let server_timing_entries = IntCounterVec::new(
            Opts::new(
                "server_timing_entries_total",
                "Server-Timing entries components reported, by component, entry name and description \
                 (doc-proxy: entry=upstream, desc=how an attempt ended; entry=validate). Bounded to 64 pairs \
                 per component, then other.",
            ),
            &["component", "entry", "desc"],
        )
        .expect("valid metric");
        let server_timing_duration = HistogramVec::new(
            HistogramOpts::new(
                "server_timing_duration_seconds",
                "Durations of the Server-Timing entries components reported, by component and entry name.",
            )
            .buckets(exponential_buckets(0.000_1, 2.0, 17).expect("valid buckets")), // 0.1 ms … 6.5 s
            &["component", "entry"],
        )
        .expect("valid metric");

        let verdict_cache_lookups = IntCounterVec::new(
            Opts::new(
                "verdict_cache_lookups_total",
                "Outbound bodies looked up in a component's verdict cache when they ended, by component and \
                 result (hit, miss).",
            ),
            &["component", "result"],
        )
        .expect("valid metric");
        let verdict_cache_puts = IntCounterVec::new(
            Opts::new(
                "verdict_cache_puts_total",
                "Digests components vouched for, by component and result (stored, refused: not fetched by \
                 that request).",
            ),
            &["component", "result"],
        )
        .expect("valid metric");
        let verdict_cache_entries = IntGaugeVec::new(
            Opts::new(
                "verdict_cache_entries",
                "Distinct validated bodies each component's verdict cache holds (its current version's).",
            ),
            &["component"],
        )
        .expect("valid metric");

        let connection_errors = IntCounterVec::new(
            Opts::new(
                "http_connection_errors_total",
                "Connections that ended in an error before or between requests, by listener and kind \
                 (header_too_large: answered 431, or 414 for a URI; malformed: answered 400; header_timeout: the head did not \
                 arrive in time, closed; incomplete: the client left mid-request; write_timeout: the client stopped \
                 reading for --client-write-timeout, closed; io: read or write failed).",
            ),
            &["listener", "kind"],
        )
        .expect("valid metric");

        let connections_open = IntGaugeVec::new(
            Opts::new(
                "http_connections_open",
                "Client connections open now, by listener (at most --max-connections on the public one).",
            ),
            &["listener"],
        )
        .expect("valid metric");
        let connections_refused = IntCounterVec::new(
            Opts::new(
                "http_connections_refused_total",
                "Connections closed as soon as they were accepted because the listener, or the client's address, had \
                 its maximum open and none of them was idle, by listener.",
            ),
            &["listener"],
        )
        .expect("valid metric");
        let connections_evicted = IntCounterVec::new(
            Opts::new(
                "http_connections_evicted_total",
                "Idle connections (no request in progress) closed to make room for a new one when the listener or \
                 the client's address had its maximum open, by listener.",
            ),
            &["listener"],
        )
        .expect("valid metric");

        let outbound_attempts = IntCounterVec::new(
            Opts::new(
                "outbound_attempts_total",
                "Outbound calls sent, by component and attempt: first (the first call of a request to a destination) \
                 or retry (a later one, allowed by the component's retry budget).",
            ),
            &["component", "attempt"],
        )
        .expect("valid metric");
        let circuit_state = IntGaugeVec::new(
            Opts::new(
                "outbound_circuit_state",
                "Circuit breaker of each component's outbound destination: 0 closed, 1 open (its calls fail at once), \
                 2 half-open (one probe out). At most --max-destinations-per-component per component.",
            ),
            &["component", "destination"],
        )
        .expect("valid metric");
        let circuit_transitions = IntCounterVec::new(
            Opts::new(
                "outbound_circuit_transitions_total",
                "Circuit breaker changes, by component, destination and the state entered (closed, open, half_open).",
            ),
            &["component", "destination", "state"],
        )
        .expect("valid metric");

        // Series that alerts and dashboards divide by exist from the start, at 0.
        for kind in ["trap", "cpu_budget", "timeout", "no_response", "error_code"] {
            traps.with_label_values(&[kind]);
        }
        for result in ["swapped", "unchanged", "refused", "rolled_back"] {
            component_reloads.with_label_values(&[result]);
        }
        for reason in ["concurrency", "body_buffer"] {
            shed.with_label_values(&[reason]);
        }
        for listener in ["public", "admin", "control"] {
            connections_open.with_label_values(&[listener]);
            connections_refused.with_label_values(&[listener]);
            connections_evicted.with_label_values(&[listener]);
            for kind in CONNECTION_ERROR_KINDS {
                connection_errors.with_label_values(&[listener, kind]);
            }
        }

        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(in_flight.clone()),
            Box::new(outbound_requests.clone()),
            Box::new(outbound_sockets.clone()),
            Box::new(outbound_services.clone()),
            Box::new(outbound_duration.clone()),
            Box::new(instantiation.clone()),
            Box::new(traps.clone()),
            Box::new(instances_live.clone()),
            Box::new(instances_max.clone()),
            Box::new(reuse.idle.clone()),
            Box::new(reuse.reuses.clone()),
            Box::new(reuse.retired.clone()),
            Box::new(component_info.clone()),
            Box::new(component_load.clone()),
            Box::new(component_reloads.clone()),
            Box::new(build_info.clone()),
            Box::new(shed.clone()),
            Box::new(responses_by_type.clone()),
            Box::new(response_bytes.clone()),
            Box::new(server_timing_entries.clone()),
            Box::new(server_timing_duration.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
            Box::new(verdict_cache_lookups.clone()),
            Box::new(verdict_cache_puts.clone()),
            Box::new(verdict_cache_entries.clone()),
            Box::new(connection_errors.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_refused.clone()),
            Box::new(connections_evicted.clone()),
            Box::new(outbound_attempts.clone()),
            Box::new(circuit_state.clone()),
            Box::new(circuit_transitions.clone()),
            Box::new(crate::ops::logging::DROPPED.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics {
            registry,
            requests,
            request_duration,
            in_flight,
            outbound_requests,
            outbound_sockets,
            outbound_services,
            outbound_duration,
            instantiation,
            traps,
            instances_live,
            instances_max,
            reuse,
            component_info,
            component_load,
            component_reloads,
            shed,
            responses_by_type,
            response_bytes,
            server_timing_entries,
            server_timing_duration,
            verdict_cache_lookups,
            verdict_cache_puts,
            verdict_cache_entries,
            connection_errors,
            connections_open,
            connections_refused,
            connections_evicted,
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

/// The Content-Type label: the types the service answers with, without
/// parameters, or `other`/`none`.
pub fn content_type_label(headers: &http::HeaderMap) -> &'static str {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return "none";
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/pdf" => "application/pdf",
        "image/png" => "image/png",
        "application/problem+json" => "application/problem+json",
        "text/plain" => "text/plain",
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

/// Counts one in a gauge (requests in flight, live instances) for as long as
/// it lives, however the code holding it ends.
pub struct Live(prometheus::IntGauge);

impl Live {
    pub fn new(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Live(gauge.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::WASMTIME_VERSION;

    #[test]
    fn the_embedded_wasmtime_version_comes_from_cargo_lock() {
        let lock = include_str!("../../../Cargo.lock");
        let pinned = format!("name = \"wasmtime\"\nversion = \"{WASMTIME_VERSION}\"");
        assert!(
            lock.contains(&pinned),
            "{WASMTIME_VERSION} is not the wasmtime in Cargo.lock"
        );
    }
}
