//! The sockets factor: `wasi:sockets` TCP and UDP for a component whose
//! `allowed_outbound_hosts` grants them, decided per address as Spin decides:
//! `tcp://` and `udp://` entries, or `*://` ones, whose host is the address,
//! an IP range holding it, or `*` (names never match an address, and name
//! lookup is not given, as in Spin). A component granted nothing gets no
//! sockets at all: creating one answers `access-denied`.
//!
//! Beyond Spin: nothing listens or accepts (no inbound), binds are only the
//! implicit ones a connect or send makes, a TCP connection to one of the
//! host's own listeners is refused (`outbound::own_addresses`), and one
//! instance may open at most `--max-outbound-per-request` TCP connections in
//! all, so one request cannot spend the process's file descriptors.

use crate::app::factors::{Configure, Factor};
use crate::ops::metrics::Metrics;
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::own_addresses::OwnAddresses;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::WasiCtxBuilder;

pub struct SocketsFactor {
    /// The host's own listeners, never reachable.
    pub own: OwnAddresses,
    /// TCP connections one instance may open.
    pub max_connections: u32,
    pub metrics: Metrics,
}

/// What a component granted sockets keeps: its allow-list and what every
/// instance's check needs.
pub struct SocketGrant {
    component: Arc<str>,
    allowed: AllowList,
    own: OwnAddresses,
    max_connections: u32,
    metrics: Metrics,
}

impl Factor for SocketsFactor {
    type ComponentState = Option<Arc<SocketGrant>>;
    type InstanceState = ();

    fn configure(
        &self,
        ctx: &Configure<'_>,
        _previous: Option<&Self::ComponentState>,
    ) -> anyhow::Result<Self::ComponentState> {
        let allowed = AllowList::new(ctx.spec.allowed_outbound_hosts.clone());
        Ok(allowed.grants_sockets().then(|| {
            Arc::new(SocketGrant {
                component: ctx.id.clone(),
                allowed,
                own: self.own.clone(),
                max_connections: self.max_connections,
                metrics: self.metrics.clone(),
            })
        }))
    }

    fn prepare(&self, _state: &Self::ComponentState, _ctx: &super::Prepare<'_>) {}
}

/// Gives one instance's WASI context the sockets `grant` allows (none
/// without one).
pub fn give(wasi: &mut WasiCtxBuilder, grant: Option<&Arc<SocketGrant>>) {
    wasi.allow_ip_name_lookup(false);
    let Some(grant) = grant else {
        wasi.allow_tcp(false).allow_udp(false);
        return;
    };
    let grant = grant.clone();
    let opened = Arc::new(AtomicU32::new(0));
    wasi.allow_tcp(true)
        .allow_udp(true)
        .socket_addr_check(move |address, usage| {
            let verdict = grant.check(address, usage, &opened);
            Box::pin(async move { verdict })
        });
}

/// Why a use of an address is refused, or `None` when it is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotGranted,
    OwnListener,
    ConnectionLimit,
}

impl SocketGrant {
    fn check(&self, address: SocketAddr, usage: SocketAddrUse, opened: &AtomicU32) -> bool {
        let (protocol, refusal) = match usage {
            // The OS picks the local address of a connect or send: the
            // unspecified address with port 0 is that implicit bind.
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                return address.ip().is_unspecified() && address.port() == 0
            }
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => return false,
            SocketAddrUse::UdpReceive => return self.allowed.allows_socket("udp", address),
            SocketAddrUse::TcpConnect => ("tcp", self.tcp_refusal(address, opened)),
            SocketAddrUse::UdpSend => (
                "udp",
                (!self.allowed.allows_socket("udp", address)).then_some(Refusal::NotGranted),
            ),
        };
        let result = match refusal {
            None => "allowed",
            Some(Refusal::NotGranted) => "denied",
            Some(Refusal::OwnListener) => "own_listener",
            Some(Refusal::ConnectionLimit) => "request_limit",
        };
        self.metrics
            .outbound_sockets
            .with_label_values(&[&self.component, protocol, result])
            .inc();
        if let Some(refusal) = refusal {
            tracing::warn!(component = %self.component, %address, protocol, ?refusal, "socket refused");
        }
        refusal.is_none()
    }

    fn tcp_refusal(&self, address: SocketAddr, opened: &AtomicU32) -> Option<Refusal> {
        if !self.allowed.allows_socket("tcp", address) {
            return Some(Refusal::NotGranted);
        }
        if self.own.may_reach(address) {
            return Some(Refusal::OwnListener);
        }
        let counted = opened.fetch_add(1, Ordering::Relaxed);
        (counted >= self.max_connections).then_some(Refusal::ConnectionLimit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::allowed_hosts::AllowedHost;

    fn grant(entries: &[&str], own: &[&str], max_connections: u32) -> SocketGrant {
        let addresses = OwnAddresses::default();
        addresses.set(own.iter().map(|a| a.parse().unwrap()).collect());
        SocketGrant {
            component: "c".into(),
            allowed: AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect()),
            own: addresses,
            max_connections,
            metrics: Metrics::new(),
        }
    }

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn connections_go_where_granted_and_nowhere_else() {
        let grant = grant(&["*://127.0.0.0/24:7000..7100", "udp://10.0.0.9:53"], &[], 8);
        let opened = AtomicU32::new(0);
        assert!(
            grant.check(at("0.0.0.0:0"), SocketAddrUse::TcpBind, &opened),
            "a connect's own bind"
        );
        assert!(
            !grant.check(at("0.0.0.0:7001"), SocketAddrUse::TcpBind, &opened),
            "a chosen port"
        );
        assert!(!grant.check(at("0.0.0.0:0"), SocketAddrUse::TcpListen, &opened));
        assert!(grant.check(at("127.0.0.5:7001"), SocketAddrUse::TcpConnect, &opened));
        assert!(!grant.check(at("127.0.1.5:7001"), SocketAddrUse::TcpConnect, &opened));
        assert!(!grant.check(at("127.0.0.5:7100"), SocketAddrUse::TcpConnect, &opened));
        assert!(grant.check(at("10.0.0.9:53"), SocketAddrUse::UdpSend, &opened));
        assert!(
            !grant.check(at("10.0.0.9:53"), SocketAddrUse::TcpConnect, &opened),
            "udp only"
        );
        assert!(!grant.check(at("10.0.0.8:53"), SocketAddrUse::UdpReceive, &opened));
        let denied = grant
            .metrics
            .outbound_sockets
            .with_label_values(&["c", "tcp", "denied"])
            .get();
        assert_eq!(denied, 3);
    }

    #[test]
    fn the_hosts_listeners_and_a_requests_share_of_connections_are_kept() {
        let grant = grant(&["*://*:*"], &["0.0.0.0:9090", "127.0.0.1:9091"], 2);
        let opened = AtomicU32::new(0);
        assert!(!grant.check(at("127.0.0.1:9091"), SocketAddrUse::TcpConnect, &opened));
        assert!(
            !grant.check(at("127.0.0.7:9090"), SocketAddrUse::TcpConnect, &opened),
            "every local address"
        );
        assert!(grant.check(at("127.0.0.1:5432"), SocketAddrUse::TcpConnect, &opened));
        assert!(
            grant.check(at("192.0.2.1:9090"), SocketAddrUse::TcpConnect, &opened),
            "another machine"
        );
        assert!(
            !grant.check(at("127.0.0.1:5432"), SocketAddrUse::TcpConnect, &opened),
            "past the limit"
        );
        let limited = grant
            .metrics
            .outbound_sockets
            .with_label_values(&["c", "tcp", "request_limit"])
            .get();
        assert_eq!(limited, 1);
    }
}
