//! What Spin's outbound services (Redis, PostgreSQL, MySQL, MQTT) share: reading the destination out of the address a
//! component gives, deciding it against the component's
//! `allowed_outbound_hosts` before any connection is opened, the instance's
//! share of connections, the per-component pool of idle connections, and the
//! metric every use is counted in. Each service's factor keeps only what is
//! its own (its client, its interface, its errors).

use crate::app::factors::Configure;
use crate::ops::metrics::Metrics;
use crate::outbound::allowed_hosts::{well_known_port, AllowList};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of a service one instance and one component may take, and how
/// long a call may wait (`--service-*` flags, `--max-store-result-bytes`).
#[derive(Debug, Clone, Copy)]
pub struct ServiceLimits {
    /// Connecting (TCP and the service's own handshake).
    pub connect_timeout: Duration,
    /// One call, from sending it to its whole answer.
    pub call_timeout: Duration,
    /// Connections one instance may have open at once, all services together.
    pub connections: usize,
    /// Idle connections a component keeps per destination for its next
    /// requests; 0 keeps none.
    pub idle_per_destination: usize,
    /// How long an idle connection is kept.
    pub idle_for: Duration,
    /// Destinations a component's pool and metric series keep apart; past
    /// it, connections are not pooled and are counted as `other`.
    pub destinations: usize,
    /// Largest answer one call may bring back.
    pub result_bytes: usize,
    /// Largest message one call may send where the service bounds it (an
    /// MQTT payload, `--max-mqtt-payload-bytes`).
    pub message_bytes: usize,
}

/// What one open connection costs the host besides its answers, about: the
/// client's read and write buffers (8 KiB each to start; an answer grows
/// them, and answers are bounded by `result_bytes`) and its task. A MySQL
/// connection costs about the same, so it is counted the same: its codec's
/// buffers (a packet is bounded by `result_bytes` too: `max_allowed_packet`)
/// and the few prepared statements' column descriptions it caches (ten at
/// most), and no task of its own.
pub const CONNECTION_BYTES: u64 = 32 * 1024;

/// The longest MQTT topic a component may publish to (the protocol allows
/// 64 KiB; topics are names a few dozen bytes long).
pub const MAX_TOPIC_BYTES: usize = 1024;

impl ServiceLimits {
    /// What one instance's service connections can make the host hold
    /// (`ops::memory`): each its buffers and, since any of them may be an
    /// MQTT connection, one message with its topic (an MQTT client keeps a
    /// message it sent until the broker acknowledges it, and its write
    /// buffer keeps the size it grew to). Their answer is the one store or
    /// database answer the plan counts already (`--max-store-result-bytes`).
    /// Idle pooled connections are few per component (`idle_per_destination`
    /// × `destinations`), within the host's overhead.
    pub fn instance_bytes(&self) -> u64 {
        self.connections as u64 * (CONNECTION_BYTES + (self.message_bytes + MAX_TOPIC_BYTES) as u64)
    }
}

/// Where an address leads: its scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// The destination of `address` as Spin's `OutboundUrl::parse` reads it:
    /// a URL (its user info percent-encoded first, so a password may hold
    /// anything), or failing that `scheme://` and the address; without a
    /// port, the scheme's well-known one. `None` when no host can be read
    /// (a Unix socket, garbage): such an address is never allowed.
    pub fn parse(address: &str, scheme: &str) -> Option<Destination> {
        Destination::of(&read_url(address, scheme)?)
    }

    /// The destination `url` (as [`read_url`] read it) names.
    pub fn of(url: &url::Url) -> Option<Destination> {
        let host = url.host_str().filter(|h| !h.is_empty())?.to_ascii_lowercase();
        let port = url.port().or_else(|| well_known_port(url.scheme()))?;
        Some(Destination {
            scheme: url.scheme().to_string(),
            host,
            port,
        })
    }

    /// `host:port`, as metrics and logs show it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// `address` read as a URL as Spin reads it: its user info percent-encoded
/// first, and without a host of its own, read again behind `scheme://`. A
/// service that takes its user, password, database or options from the
/// address reads them from this same URL, so it connects to exactly the host
/// and port granted.
pub fn read_url(address: &str, scheme: &str) -> Option<url::Url> {
    let encoded = encode_user_info(address);
    match url::Url::parse(&encoded) {
        Ok(url) if url.has_host() => Some(url),
        _ => url::Url::parse(&format!("{scheme}://{encoded}")).ok(),
    }
}

/// `address` with the user info before its host percent-encoded, as Spin
/// encodes it before reading the host.
fn encode_user_info(address: &str) -> String {
    let Some(at) = address.find('@') else {
        return address.to_string();
    };
    let start = address.find("://").map_or(0, |i| i + 3);
    let path = address[start..].find('/').map_or(usize::MAX, |i| i + start);
    if at < start || at > path {
        return address.to_string();
    }
    let mut encoded = String::with_capacity(address.len() + 16);
    encoded.push_str(&address[..start]);
    for byte in address[start..at].bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded.push_str(&address[at..]);
    encoded
}

/// The destination of `address` if `allowed` grants it, as Spin decides
/// (the address's own scheme, `default_scheme` when it has none).
pub fn granted(allowed: &AllowList, address: &str, default_scheme: &str) -> Option<Destination> {
    Destination::parse(address, default_scheme).filter(|d| allowed.allows_service(&d.scheme, &d.host, d.port))
}

/// What a component keeps of a service across requests (and reloads that
/// keep it): its idle connections `C` and its metric series.
pub struct Shared<C> {
    pub pool: Pool<C>,
    pub meter: Meter,
}

/// What a component of an app version keeps of a service.
pub struct ServiceState<C> {
    /// Its grants, read anew from each version's manifest.
    pub allowed: Arc<AllowList>,
    pub shared: Arc<Shared<C>>,
}

impl<C> Clone for ServiceState<C> {
    fn clone(&self) -> Self {
        ServiceState {
            allowed: self.allowed.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<C> ServiceState<C> {
    /// The state of a component of a new app version for `service`: the
    /// pool and the series outlive a reload that keeps the component (an
    /// address is checked against the new grants before the pool is asked
    /// for it).
    pub fn configure(
        ctx: &Configure<'_>,
        previous: Option<&Self>,
        service: &'static str,
        limits: ServiceLimits,
        metrics: &Metrics,
    ) -> Self {
        let shared = previous.map(|p| p.shared.clone()).unwrap_or_else(|| {
            Arc::new(Shared {
                pool: Pool::new(limits),
                meter: Meter::new(ctx.id.clone(), service, metrics.clone(), limits.destinations),
            })
        });
        ServiceState {
            allowed: Arc::new(AllowList::new(ctx.spec.allowed_outbound_hosts.clone())),
            shared,
        }
    }
}

/// One instance's use of a service: its component's grants and pool, and
/// its count of open connections.
pub struct ServiceInstance<C> {
    pub state: ServiceState<C>,
    pub limits: ServiceLimits,
    pub slots: Slots,
}

impl<C> Clone for ServiceInstance<C> {
    fn clone(&self) -> Self {
        ServiceInstance {
            state: self.state.clone(),
            limits: self.limits,
            slots: self.slots.clone(),
        }
    }
}

impl<C> ServiceInstance<C> {
    /// `slots`: the instance's count, shared by every service
    /// (`Prepare::service_slots`).
    pub fn new(state: &ServiceState<C>, limits: ServiceLimits, slots: &Slots) -> Self {
        ServiceInstance {
            state: state.clone(),
            limits,
            slots: slots.clone(),
        }
    }

    /// A connection to `destination` (granted already) for this instance:
    /// a place in its count (else `too_many`), then `pooled`'s connection
    /// or, without one, `connect`'s; each outcome counted.
    pub async fn connection<E>(
        &self,
        destination: &Destination,
        pooled: impl Future<Output = Option<C>>,
        connect: impl Future<Output = Result<C, E>>,
        too_many: E,
    ) -> Result<(C, Slot), E> {
        let meter = &self.state.shared.meter;
        let Some(slot) = self.slots.take(self.limits.connections) else {
            meter.count(Some(destination), "request_limit");
            return Err(too_many);
        };
        if let Some(connection) = pooled.await {
            meter.count(Some(destination), "reused");
            return Ok((connection, slot));
        }
        match connect.await {
            Ok(connection) => {
                meter.count(Some(destination), "connected");
                Ok((connection, slot))
            }
            Err(e) => {
                meter.count(Some(destination), "connect_error");
                Err(e)
            }
        }
    }
}

/// The instance's count of open service connections.
#[derive(Clone, Default)]
pub struct Slots(Arc<AtomicUsize>);

/// One open connection's place in its instance's count, given back when
/// dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    /// A place for one more connection, if fewer than `max` are open.
    pub fn take(&self, max: usize) -> Option<Slot> {
        let slot = Slot(self.0.clone());
        (self.0.fetch_add(1, Ordering::AcqRel) < max).then_some(slot)
    }
}

/// A component's idle connections of one service, by address: a request's
/// connection goes back here when the guest drops it, and the next `open`
/// of the same address takes it instead of connecting.
pub struct Pool<C> {
    idle: Mutex<HashMap<String, Vec<(Instant, C)>>>,
    limits: ServiceLimits,
}

impl<C> Pool<C> {
    pub fn new(limits: ServiceLimits) -> Self {
        Pool {
            idle: Mutex::default(),
            limits,
        }
    }

    /// An idle connection to `address` kept less than `idle_for`, newest
    /// first.
    pub fn take(&self, address: &str) -> Option<C> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let kept = idle.get_mut(address)?;
        let fresh_after = Instant::now().checked_sub(self.limits.idle_for);
        kept.retain(|(since, _)| fresh_after.is_none_or(|limit| *since > limit));
        let connection = kept.pop().map(|(_, c)| c);
        if kept.is_empty() {
            idle.remove(address);
        }
        connection
    }

    /// Keeps `connection` for the next `open` of `address`, if the pool has
    /// room for it (else it is dropped, which closes it).
    pub fn put(&self, address: &str, connection: C) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if !idle.contains_key(address) && idle.len() >= self.limits.destinations {
            return;
        }
        let kept = idle.entry(address.to_string()).or_default();
        if kept.len() < self.limits.idle_per_destination {
            kept.push((Instant::now(), connection));
        } else if kept.is_empty() {
            idle.remove(address);
        }
    }

    /// Idle connections kept, all addresses together.
    pub fn idle(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }
}

/// Counts a component's uses of a service in `outbound_service_uses_total`,
/// by destination: at most [`ServiceLimits::destinations`] of them get a
/// series of their own (the rest are `other`, denied ones `-`), so a
/// wildcard grant cannot make the series grow without bound.
pub struct Meter {
    component: Arc<str>,
    service: &'static str,
    metrics: Metrics,
    destinations: usize,
    labelled: Mutex<HashSet<(String, &'static str)>>,
}

impl Meter {
    pub fn new(component: Arc<str>, service: &'static str, metrics: Metrics, destinations: usize) -> Self {
        Meter {
            component,
            service,
            metrics,
            destinations,
            labelled: Mutex::default(),
        }
    }

    /// The component's id.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// Counts one use of `destination` (`None`: denied or unreadable) that
    /// ended in `result`.
    pub fn count(&self, destination: Option<&Destination>, result: &'static str) {
        let label = match destination {
            None => "-".to_string(),
            Some(destination) => {
                let label = destination.label();
                let mut labelled = self.labelled.lock().unwrap_or_else(|p| p.into_inner());
                let known = labelled.iter().any(|(d, _)| *d == label);
                let distinct: HashSet<&str> = labelled.iter().map(|(d, _)| d.as_str()).collect();
                if known || distinct.len() < self.destinations {
                    labelled.insert((label.clone(), result));
                    label
                } else {
                    "other".to_string()
                }
            }
        };
        self.metrics
            .outbound_services
            .with_label_values(&[&self.component, self.service, &label, result])
            .inc();
    }

    /// Forgets the component's series: it left the app.
    pub fn retire(&self) {
        let labelled = self.labelled.lock().unwrap_or_else(|p| p.into_inner());
        let series = labelled.iter().map(|(d, r)| (d.clone(), *r)).chain(
            ["-", "other"]
                .into_iter()
                .flat_map(|d| RESULTS.iter().map(move |r| (d.to_string(), *r))),
        );
        for (destination, result) in series {
            let _ = self.metrics.outbound_services.remove_label_values(&[
                &self.component,
                self.service,
                &destination,
                result,
            ]);
        }
    }
}

/// Every `result` label value of `outbound_service_uses_total`.
pub const RESULTS: &[&str] = &[
    "connected",
    "reused",
    "denied",
    "request_limit",
    "connect_error",
    "call",
    "error",
    "timeout",
];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::outbound::allowed_hosts::AllowedHost;

    pub(crate) const LIMITS: ServiceLimits = ServiceLimits {
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(1),
        connections: 2,
        idle_per_destination: 2,
        idle_for: Duration::from_secs(60),
        destinations: 2,
        result_bytes: 1024,
        message_bytes: 1024,
    };

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect())
    }

    fn at(scheme: &str, host: &str, port: u16) -> Option<Destination> {
        Some(Destination {
            scheme: scheme.into(),
            host: host.into(),
            port,
        })
    }

    #[test]
    fn destinations_are_read_as_spin_reads_them() {
        assert_eq!(
            Destination::parse("redis://Cache:7000/2", "redis"),
            at("redis", "cache", 7000)
        );
        assert_eq!(Destination::parse("redis://cache", "redis"), at("redis", "cache", 6379));
        assert_eq!(
            Destination::parse("redis://u:p@ss@cache:7000", "redis"),
            at("redis", "cache", 7000),
            "a password with '@' is not the host"
        );
        assert_eq!(
            Destination::parse("redis://:p@ss/w@cache:7000", "redis"),
            at("redis", "ss", 6379),
            "the path begins at the first '/', as Spin reads it"
        );
        assert_eq!(Destination::parse("cache:7000", "redis"), at("redis", "cache", 7000));
        assert_eq!(
            Destination::parse("http://cache", "redis"),
            at("http", "cache", 80),
            "the address's own scheme"
        );
        assert_eq!(Destination::parse("[::1]:7000", "redis"), at("redis", "[::1]", 7000));
        assert_eq!(
            Destination::parse("redis+unix:///tmp/redis.sock", "redis"),
            at("redis", "redis+unix", 6379),
            "no host of its own: read again behind `redis://`, as Spin does"
        );
        assert_eq!(Destination::parse("", "redis"), None);
        assert_eq!(
            Destination::parse("redis://cache:99999", "redis"),
            at("redis", "redis", 6379),
            "a port out of range: read again behind `redis://`, as Spin does"
        );
    }

    #[test]
    fn only_granted_destinations_are_granted() {
        let allowed = list(&["redis://127.0.0.1:7000", "*://cache.internal:*"]);
        assert!(granted(&allowed, "redis://127.0.0.1:7000", "redis").is_some());
        assert!(granted(&allowed, "redis://u:pw@127.0.0.1:7000/1", "redis").is_some());
        assert!(granted(&allowed, "redis://127.0.0.1:7001", "redis").is_none());
        assert!(
            granted(&allowed, "redis://127.0.0.1", "redis").is_none(),
            "6379 by default"
        );
        assert!(
            granted(&allowed, "redis://localhost:7000", "redis").is_none(),
            "names are names"
        );
        assert!(granted(&allowed, "rediss://cache.internal:1", "redis").is_some());
        assert!(granted(&allowed, "redis://evil@127.0.0.2:7000", "redis").is_none());
        assert!(granted(&list(&[]), "redis://127.0.0.1:7000", "redis").is_none());
    }

    #[test]
    fn slots_are_bounded_and_given_back() {
        let slots = Slots::default();
        let a = slots.take(2).unwrap();
        let _b = slots.take(2).unwrap();
        assert!(slots.take(2).is_none());
        drop(a);
        assert!(slots.take(2).is_some());
    }

    #[test]
    fn the_pool_keeps_a_few_fresh_connections_per_destination() {
        let pool = Pool::new(LIMITS);
        assert_eq!(pool.take("a"), None);
        for n in 0..3 {
            pool.put("a", n);
        }
        assert_eq!(pool.idle(), 2, "two per destination");
        pool.put("b", 10);
        pool.put("c", 20);
        assert_eq!(pool.idle(), 3, "two destinations");
        assert_eq!(pool.take("a"), Some(1), "the newest first");
        assert_eq!(pool.take("a"), Some(0));
        assert_eq!(pool.take("a"), None);
        assert_eq!(pool.take("c"), None);
        let stale = Pool::new(ServiceLimits {
            idle_for: Duration::ZERO,
            ..LIMITS
        });
        stale.put("a", 1);
        assert_eq!(stale.take("a"), None, "kept past idle_for");
        let none = Pool::new(ServiceLimits {
            idle_per_destination: 0,
            ..LIMITS
        });
        none.put("a", 1);
        assert_eq!(none.idle(), 0);
    }

    #[test]
    fn series_are_bounded_per_component_and_forgotten_when_it_leaves() {
        let metrics = Metrics::new();
        let meter = Meter::new("c".into(), "redis", metrics.clone(), 2);
        let one = at("redis", "a", 1).unwrap();
        let two = at("redis", "b", 2).unwrap();
        let three = at("redis", "c", 3).unwrap();
        meter.count(Some(&one), "connected");
        meter.count(Some(&one), "call");
        meter.count(Some(&two), "connected");
        meter.count(Some(&three), "connected");
        meter.count(None, "denied");
        let get = |d: &str, r: &str| metrics.outbound_services.with_label_values(&["c", "redis", d, r]).get();
        assert_eq!(get("a:1", "connected"), 1);
        assert_eq!(get("a:1", "call"), 1);
        assert_eq!(get("b:2", "connected"), 1);
        assert_eq!(get("other", "connected"), 1);
        assert_eq!(get("-", "denied"), 1);
        meter.retire();
        let text = String::from_utf8_lossy(&metrics.render()).into_owned();
        assert!(!text.contains("component=\"c\""), "{text}");
    }
}
