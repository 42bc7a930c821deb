//! Instance reuse, opt-in per component: an instance that served a request
//! well may serve the next ones of its component, one after another, up to
//! `instance_reuse` requests in all, instead of a new instance per request.
//! A fresh instance is most of what a small request costs on this engine
//! (taking a pool slot, instantiating, and resetting the slot's memory on
//! the way out: `docs/performance.md`), so this is the largest lever there
//! is; it is off unless a component asks for it, because Spin gives every
//! request a fresh instance and a component written for Spin may keep state
//! in globals that a reused instance would carry into the next request.
//!
//! What a reused instance keeps and what it does not (`state::renew_store`):
//! its memory, its globals and the handles it holds; every factor's
//! per-request state (CPU budget, header budget, outbound and service
//! counts, request id and trace in its log lines) is prepared afresh. It is
//! retired (dropped, its memory reset for the pool) when it has served its
//! uses, when a request ended in any failure or timeout, when a request left
//! an HTTP resource behind or its handles grew past what its first request
//! left by more than lazily opened handles explain
//! (`HostState::reusable_after`), after `--idle-instance-timeout` without a
//! request, when another component needs its pool slot, and when a reload
//! replaces its version. An idle instance
//! keeps the permits it ran under (its component's slot and the pool's), so
//! idle instances never take the host past its memory plan; a request of its
//! component takes the instance with its permits.
//!
//! One instance serves one request at a time, in both WASI versions.

use crate::app::invoke::Instance;
use crate::app::state::HostState;
use crate::ops::metrics::ReuseMetrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;

/// The most requests one instance may serve (`instance_reuse`, from a
/// manifest or `--instance-reuse`).
pub const MAX_INSTANCE_REUSE: u32 = 1_000_000;

/// How a component's instances are reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReusePolicy {
    /// Requests one instance serves in all, at least 2.
    pub max_uses: u32,
    /// An instance idle this long is retired.
    pub idle_timeout: Duration,
}

/// What a running instance holds of the host: its component's slot and
/// one of the pool's. An idle instance keeps both.
pub struct Slots {
    pub own: OwnedSemaphorePermit,
    pub pool: OwnedSemaphorePermit,
}

/// An instance between requests.
pub struct Idle {
    /// Declared before `slots`, so a dropped instance's memory goes back to
    /// the pool before its permits let another request in.
    pub store: Store<HostState>,
    pub instance: Instance,
    /// Requests it has served.
    pub uses: u32,
    /// Its table's entries after its first request (`None` until it has
    /// served one).
    pub entries: Option<usize>,
    pub slots: Slots,
    since: Instant,
}

impl Idle {
    /// An instance that has just served its `uses`-th request.
    pub fn new(store: Store<HostState>, instance: Instance, uses: u32, entries: Option<usize>, slots: Slots) -> Idle {
        Idle {
            store,
            instance,
            uses,
            entries,
            slots,
            since: Instant::now(),
        }
    }
}

/// Why an instance stopped being reused: the `reason` of
/// `wasm_instances_retired_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retired {
    /// It served `instance_reuse` requests.
    Uses,
    /// Its request failed, timed out or was cut short.
    Failed,
    /// Its request left an HTTP resource behind, or its handles grew.
    Leaked,
    /// No request came for it within the idle timeout.
    Idle,
    /// Another component needed its pool slot.
    Evicted,
    /// A reload or roll-back replaced its component's version.
    Reloaded,
}

impl Retired {
    pub fn label(self) -> &'static str {
        match self {
            Retired::Uses => "uses",
            Retired::Failed => "failed",
            Retired::Leaked => "leaked",
            Retired::Idle => "idle",
            Retired::Evicted => "evicted",
            Retired::Reloaded => "reloaded",
        }
    }
}

/// One component's idle instances (of one app version: a reload's new
/// version starts with none, and the old one's go with it).
pub struct IdleInstances {
    policy: Option<ReusePolicy>,
    idle: Mutex<Vec<Idle>>,
    /// A sweeper task is retiring expired instances.
    sweeping: AtomicBool,
    /// Told each time an instance goes idle: a request waiting for its
    /// component's slot takes the instance instead (it keeps that slot).
    went_idle: tokio::sync::Notify,
    metrics: ReuseMetrics,
}

impl IdleInstances {
    pub fn new(policy: Option<ReusePolicy>, metrics: ReuseMetrics) -> Arc<IdleInstances> {
        Arc::new(IdleInstances {
            policy,
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
            went_idle: tokio::sync::Notify::new(),
            metrics,
        })
    }

    pub fn policy(&self) -> Option<ReusePolicy> {
        self.policy
    }

    /// Completes when an instance has gone idle since the last call (or
    /// may have: a waiter still checks with [`IdleInstances::take`]).
    pub async fn went_idle(&self) {
        self.went_idle.notified().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The instance that went idle last (its memory the warmest), if any.
    pub fn take(&self) -> Option<Idle> {
        let idle = self.lock().pop()?;
        self.metrics.idle.dec();
        self.metrics.reuses.inc();
        Some(idle)
    }

    /// Retires one idle instance, the longest idle, freeing its pool slot;
    /// false when there is none.
    pub fn evict_one(&self) -> bool {
        let evicted = {
            let mut idle = self.lock();
            (!idle.is_empty()).then(|| idle.remove(0))
        };
        match evicted {
            Some(instance) => {
                self.retire(instance, Retired::Evicted);
                true
            }
            None => false,
        }
    }

    /// Retires every idle instance: their version is no longer served, and
    /// the slots they keep are shared with the version that is.
    pub fn clear(&self) {
        let idle = std::mem::take(&mut *self.lock());
        for instance in idle {
            self.retire(instance, Retired::Reloaded);
        }
    }

    /// Counts an instance that is not kept; dropping it resets its memory
    /// and frees its slots.
    pub fn retired(&self, why: Retired) {
        self.metrics.retired.with_label_values(&[why.label()]).inc();
    }

    fn retire(&self, instance: Idle, why: Retired) {
        self.metrics.idle.dec();
        self.retired(why);
        drop(instance);
    }

    /// Keeps `instance`, whose request ended well, for the next request;
    /// or retires it (dropping it: its store goes before its slots) when it
    /// has served its uses or its request left it leaking
    /// (`HostState::reusable_after`). Only for a component that reuses
    /// instances.
    pub fn put(self: &Arc<Self>, mut instance: Idle) {
        let Some(policy) = self.policy else {
            unreachable!("only a component that reuses instances puts one back")
        };
        if instance.uses >= policy.max_uses {
            return self.retired(Retired::Uses);
        }
        match instance.store.data_mut().reusable_after(instance.entries) {
            Some(entries) => instance.entries = Some(entries),
            None => return self.retired(Retired::Leaked),
        }
        let start_sweep = {
            let mut idle = self.lock();
            idle.push(instance);
            self.metrics.idle.inc();
            // Under the lock, so a sweep that found nothing left has ended.
            !self.sweeping.swap(true, Ordering::AcqRel)
        };
        self.went_idle.notify_one();
        if start_sweep {
            tokio::spawn(sweep(Arc::downgrade(self), policy.idle_timeout));
        }
    }
}

impl Drop for IdleInstances {
    fn drop(&mut self) {
        let left = self.lock().len();
        self.metrics.idle.sub(left as i64);
    }
}

/// Retires the instances idle past `timeout`, checking every half of it,
/// until none is left (the next `put` starts another sweep).
async fn sweep(instances: Weak<IdleInstances>, timeout: Duration) {
    let every = (timeout / 2).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(every).await;
        let Some(instances) = instances.upgrade() else {
            return;
        };
        let (expired, done): (Vec<Idle>, bool) = {
            let mut idle = instances.lock();
            let (expired, kept) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|instance| instance.since.elapsed() >= timeout);
            *idle = kept;
            let done = idle.is_empty();
            if done {
                instances.sweeping.store(false, Ordering::Release);
            }
            (expired, done)
        };
        for instance in expired {
            instances.retire(instance, Retired::Idle);
        }
        if done {
            return;
        }
    }
}
