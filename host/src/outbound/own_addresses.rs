//! The host's own admin and control listeners are never reachable outbound.
//! A component allowed `http://127.0.0.1:*` (or `*://*:*`) could otherwise
//! call `POST /admin/reload` on the control listener or read `/metrics` on
//! the admin one. Names are no help (`localhost`, `127.1`, the pod's own IP
//! and whatever DNS answers all reach them), so the check is made on the
//! socket once it is connected: its peer is one of those listeners' bound
//! addresses, or, for a listener bound to every address (`0.0.0.0:9090`),
//! the peer has that port and is this machine itself (a connection to
//! oneself has the same address at both ends).

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;

/// The listeners no outbound call may reach, set once they are bound.
#[derive(Clone, Default)]
pub struct OwnAddresses(Arc<RwLock<Vec<SocketAddr>>>);

impl OwnAddresses {
    pub fn set(&self, addresses: Vec<SocketAddr>) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = addresses;
    }

    /// Whether a connection from `local` to `peer` reaches one of them.
    pub fn reaches(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        let own = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        own.iter().any(|listener| {
            listener.port() == peer.port()
                && (canonical(listener.ip()) == canonical(peer.ip())
                    || (listener.ip().is_unspecified() && canonical(local.ip()) == canonical(peer.ip())))
        })
    }
}

impl OwnAddresses {
    /// Whether a connection to `peer` could reach one of them, decided
    /// before connecting (for `wasi:sockets`, where the check comes first):
    /// a listener's own address, or, for one bound to every address, its
    /// port on any address of this machine.
    pub fn may_reach(&self, peer: SocketAddr) -> bool {
        let own = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        own.iter().any(|listener| {
            listener.port() == peer.port()
                && (canonical(listener.ip()) == canonical(peer.ip())
                    || (listener.ip().is_unspecified() && is_this_machine(canonical(peer.ip()))))
        })
    }
}

/// Whether `ip` is one of this machine's addresses: loopback, unspecified
/// (which the kernel takes as this machine), or one a socket can bind to.
fn is_this_machine(ip: std::net::IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// The error of a connection refused for reaching the host itself.
#[derive(Debug)]
pub struct ReachesOwnListener(pub SocketAddr);

impl std::fmt::Display for ReachesOwnListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is one of the host's own listeners", self.0)
    }
}

impl std::error::Error for ReachesOwnListener {}

/// Whether a client error is [`ReachesOwnListener`].
pub fn refused(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if inner.is::<ReachesOwnListener>() {
            return true;
        }
        source = inner.source();
    }
    false
}

/// hyper's connector, with the check above on every new connection.
#[derive(Clone)]
pub struct GuardedConnector {
    inner: HttpConnector,
    own: OwnAddresses,
}

impl GuardedConnector {
    pub fn new(connect_timeout: Duration, own: OwnAddresses) -> Self {
        let mut inner = HttpConnector::new();
        inner.set_connect_timeout(Some(connect_timeout));
        inner.set_nodelay(true);
        GuardedConnector { inner, own }
    }
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, Box<dyn std::error::Error + Send + Sync>>> + Send>>;

impl tower_service::Service<http::Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let own = self.own.clone();
        Box::pin(async move {
            let io = connecting.await?;
            let stream = io.inner();
            let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
            if own.reaches(local, peer) {
                return Err(Box::new(ReachesOwnListener(peer)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(io)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_listeners_are_reached_by_any_address_of_this_machine() {
        let own = OwnAddresses::default();
        own.set(vec![addr("127.0.0.1:9091"), addr("0.0.0.0:9090")]);
        // The control listener, on loopback.
        assert!(own.reaches(addr("127.0.0.1:50000"), addr("127.0.0.1:9091")));
        assert!(own.reaches(addr("[::ffff:127.0.0.1]:50000"), addr("[::ffff:127.0.0.1]:9091")));
        // The admin listener on every address: through loopback or the pod's IP.
        assert!(own.reaches(addr("127.0.0.1:50000"), addr("127.0.0.1:9090")));
        assert!(own.reaches(addr("10.1.2.3:50000"), addr("10.1.2.3:9090")));
        // Another machine's 9090, or this machine's other ports: not the host.
        assert!(!own.reaches(addr("10.1.2.3:50000"), addr("10.9.9.9:9090")));
        assert!(!own.reaches(addr("127.0.0.1:50000"), addr("127.0.0.1:8080")));
        assert!(!own.reaches(addr("127.0.0.1:50000"), addr("127.0.0.2:9091")));
        // Before connecting: the same answers from the peer alone.
        assert!(own.may_reach(addr("127.0.0.1:9091")));
        assert!(own.may_reach(addr("[::ffff:127.0.0.1]:9091")));
        assert!(own.may_reach(addr("127.0.0.9:9090")));
        assert!(own.may_reach(addr("0.0.0.0:9090")));
        assert!(!own.may_reach(addr("127.0.0.2:9091")));
        assert!(!own.may_reach(addr("192.0.2.1:9090")), "TEST-NET is not this machine");
        assert!(!own.may_reach(addr("127.0.0.1:8080")));
    }

    #[tokio::test]
    async fn a_connection_to_an_own_listener_is_refused_after_connecting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let own = OwnAddresses::default();
        let mut connector = GuardedConnector::new(Duration::from_secs(1), own.clone());
        let uri: http::Uri = format!("http://localhost:{}/metrics", address.port()).parse().unwrap();
        // Not the host's yet: connects.
        assert!(tower_service::Service::call(&mut connector, uri.clone()).await.is_ok());
        own.set(vec![address]);
        let error = tower_service::Service::call(&mut connector, uri).await.unwrap_err();
        assert!(error.is::<ReachesOwnListener>(), "{error}");
    }
}
