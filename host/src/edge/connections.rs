//! The open connections of one listener, and who gets a place when it is
//! full. A listener holds at most `max` connections, a client address at most
//! `per_client`. A new connection past either cap takes the place of an idle
//! one (no request in progress): past the client's cap, that client's own
//! oldest idle connection; past the listener's, the oldest idle connection of
//! the client holding the most. Only when there is none is it refused. A
//! connection is busy from the moment hyper hands a request head to the
//! service until that response's body is gone, so a request in progress is
//! never cut; a client trickling a request head, or a keep-alive connection
//! waiting for its next request, is idle.

use http_body::{Body, Frame, SizeHint};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::Notify;

/// One listener's table.
pub struct Connections(Arc<Mutex<Table>>);

struct Table {
    max: usize,
    per_client: usize,
    open: HashMap<u64, Arc<Connection>>,
    by_client: HashMap<IpAddr, usize>,
    next: u64,
}

struct Connection {
    peer: IpAddr,
    /// Requests in progress on it.
    requests: AtomicUsize,
    /// When it last became idle (or opened).
    idle_since: Mutex<Instant>,
    evict: Notify,
}

impl Connection {
    fn idle_since(&self) -> Option<Instant> {
        (self.requests.load(Ordering::Acquire) == 0)
            .then(|| *self.idle_since.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Where a new connection stands.
pub enum Placed {
    Open(Slot),
    /// Open, in place of an idle connection from this address, now closing.
    InPlaceOf(Slot, IpAddr),
    Refused,
}

/// A connection's place; given back when dropped.
pub struct Slot {
    table: Arc<Mutex<Table>>,
    id: u64,
    connection: Arc<Connection>,
}

impl Connections {
    pub fn new(max: usize, per_client: usize) -> Self {
        Connections(Arc::new(Mutex::new(Table {
            max,
            per_client: per_client.min(max),
            open: HashMap::new(),
            by_client: HashMap::new(),
            next: 0,
        })))
    }

    /// A place for a new connection from `peer`, making room if it must.
    pub fn place(&self, peer: IpAddr) -> Placed {
        let mut table = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mine = table.by_client.get(&peer).copied().unwrap_or(0);
        let mut evicted = None;
        if mine >= table.per_client {
            match table.oldest_idle(|c| c.peer == peer) {
                Some(victim) => evicted = Some(table.evict(victim)),
                None => return Placed::Refused,
            }
        } else if table.open.len() >= table.max {
            let counts = table.by_client.clone();
            let victim = table
                .open
                .iter()
                .filter_map(|(id, c)| c.idle_since().map(|since| (*id, counts[&c.peer], since)))
                // The client holding the most first, then its oldest idle.
                .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
                .map(|(id, _, _)| id);
            match victim {
                Some(victim) => evicted = Some(table.evict(victim)),
                None => return Placed::Refused,
            }
        }
        let id = table.next;
        table.next += 1;
        let connection = Arc::new(Connection {
            peer,
            requests: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            evict: Notify::new(),
        });
        table.open.insert(id, connection.clone());
        *table.by_client.entry(peer).or_insert(0) += 1;
        let slot = Slot {
            table: self.0.clone(),
            id,
            connection,
        };
        match evicted {
            Some(from) => Placed::InPlaceOf(slot, from),
            None => Placed::Open(slot),
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .open
            .len()
    }
}

impl Table {
    fn oldest_idle(&self, of: impl Fn(&Connection) -> bool) -> Option<u64> {
        self.open
            .iter()
            .filter(|(_, c)| of(c))
            .filter_map(|(id, c)| c.idle_since().map(|since| (*id, since)))
            .min_by_key(|(_, since)| *since)
            .map(|(id, _)| id)
    }

    /// Takes connection `id` out of the table and tells it to close.
    fn evict(&mut self, id: u64) -> IpAddr {
        let connection = self.forget(id).expect("the victim is open");
        connection.evict.notify_one();
        connection.peer
    }

    fn forget(&mut self, id: u64) -> Option<Arc<Connection>> {
        let connection = self.open.remove(&id)?;
        if let Some(count) = self.by_client.get_mut(&connection.peer) {
            *count -= 1;
            if *count == 0 {
                self.by_client.remove(&connection.peer);
            }
        }
        Some(connection)
    }
}

impl Slot {
    /// Resolves when the connection was evicted: close it.
    pub async fn evicted(&self) {
        self.connection.evict.notified().await;
    }

    /// The counter of its requests in progress.
    pub fn busy(&self) -> BusyCounter {
        BusyCounter(self.connection.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Already gone if it was evicted.
        table.forget(self.id);
    }
}

/// Counts a connection's requests in progress.
#[derive(Clone)]
pub struct BusyCounter(Arc<Connection>);

impl BusyCounter {
    /// One request in progress until the returned guard is dropped.
    pub fn start(&self) -> BusyGuard {
        self.0.requests.fetch_add(1, Ordering::AcqRel);
        BusyGuard(self.0.clone())
    }
}

pub struct BusyGuard(Arc<Connection>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.0.requests.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self
                .0
                .idle_since
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        }
    }
}

/// A response body that keeps its connection busy until it is dropped.
pub struct Busy<B> {
    body: B,
    _guard: BusyGuard,
}

impl<B> Busy<B> {
    pub fn holding(body: B, guard: BusyGuard) -> Self {
        Busy { body, _guard: guard }
    }
}

impl<B: Body + Unpin> Body for Busy<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn open(placed: Placed) -> Slot {
        match placed {
            Placed::Open(slot) | Placed::InPlaceOf(slot, _) => slot,
            Placed::Refused => panic!("refused"),
        }
    }

    /// The slot of a connection placed in place of another, and whose.
    fn displacing(placed: Placed) -> (Slot, IpAddr) {
        match placed {
            Placed::InPlaceOf(slot, from) => (slot, from),
            _ => panic!("expected an eviction"),
        }
    }

    #[test]
    fn a_client_past_its_share_displaces_only_its_own_idle_connections() {
        let table = Connections::new(10, 2);
        let a1 = open(table.place(ip(1)));
        let a2 = open(table.place(ip(1)));
        let b = open(table.place(ip(2)));
        let _busy = a2.busy().start();
        // The third from 1 takes the place of 1's idle one (a1), not of b.
        let (a3, from) = displacing(table.place(ip(1)));
        assert_eq!(from, ip(1));
        assert_eq!(table.open(), 3);
        let _serving = a3.busy().start();
        // Both of 1's are now busy: a fourth from 1 is refused, b stays.
        assert!(matches!(table.place(ip(1)), Placed::Refused));
        drop(a1);
        assert_eq!(table.open(), 3, "the evicted one was counted once");
        drop(b);
    }

    #[test]
    fn a_busy_client_past_its_share_is_refused() {
        let table = Connections::new(10, 2);
        let slots: Vec<_> = (0..2).map(|_| open(table.place(ip(1)))).collect();
        let _guards: Vec<_> = slots.iter().map(|s| s.busy().start()).collect();
        assert!(matches!(table.place(ip(1)), Placed::Refused));
        assert!(matches!(table.place(ip(2)), Placed::Open(_)));
    }

    #[test]
    fn a_full_listener_evicts_the_biggest_clients_oldest_idle_connection() {
        let table = Connections::new(4, 3);
        let flood: Vec<_> = (0..3).map(|_| open(table.place(ip(9)))).collect();
        let normal = open(table.place(ip(1)));
        let _serving = normal.busy().start();
        // Full. A newcomer displaces the flooding client's oldest, never the
        // busy normal one.
        let (newcomer, from) = displacing(table.place(ip(2)));
        assert_eq!(from, ip(9));
        assert_eq!(table.open(), 4);
        drop(flood);
        assert_eq!(table.open(), 2, "the evicted one was counted once");
        drop(newcomer);
    }

    #[test]
    fn nothing_idle_means_refused() {
        let table = Connections::new(2, 2);
        let slots: Vec<_> = (0..2).map(|i| open(table.place(ip(i)))).collect();
        let _guards: Vec<_> = slots.iter().map(|s| s.busy().start()).collect();
        assert!(matches!(table.place(ip(3)), Placed::Refused));
    }

    #[tokio::test]
    async fn an_evicted_slot_hears_it() {
        let table = Connections::new(1, 1);
        let first = open(table.place(ip(1)));
        let _second = open(table.place(ip(2)));
        tokio::time::timeout(std::time::Duration::from_secs(1), first.evicted())
            .await
            .expect("told to close");
    }

    #[test]
    fn a_connection_is_idle_again_when_its_last_request_ends() {
        let table = Connections::new(2, 2);
        let slot = open(table.place(ip(1)));
        let busy = slot.busy();
        let one = busy.start();
        let two = busy.start();
        drop(one);
        let other = open(table.place(ip(2)));
        let _other_busy = other.busy().start();
        assert!(
            matches!(table.place(ip(3)), Placed::Refused),
            "one request still in progress"
        );
        drop(two);
        let (_third, from) = displacing(table.place(ip(3)));
        assert_eq!(from, ip(1));
    }
}
