//! The limits factor: how much of the host one component may take, so that
//! nothing one component does takes down its neighbours.
//!
//! Per component (kept across reloads, like every factor's state):
//! - its **share of the instances** (`max_concurrent_requests` in its
//!   `[component.X.tool.doc-proxy-host]` table, else the host's whole
//!   limit). A reload hands the new version the same semaphore, resized, so
//!   requests still running on the old version count against the new one's
//!   share: a component never holds more than its share, not twice it while
//!   old requests finish;
//! - its **CPU lanes**: how many of its instances may be running guest code
//!   at the same moment (`--cpu-lanes-per-component`, half the cores by
//!   default). An instance holds a lane only while the runtime polls it, and
//!   a poll lasts at most one epoch tick (the guest yields at every tick), so
//!   however many of its requests spin, a component occupies at most that
//!   many cores and the others stay free for other components and for the
//!   accept and I/O path.
//!
//! Per instance (one request's store):
//! - its **linear memory**, all memories together ([`InstanceMemory`]);
//! - its **CPU budget** (`--request-cpu-budget`): the time the runtime spent
//!   polling its guest, which traps ([`CpuBudgetExceeded`]) once the budget
//!   is spent, long before the wall-clock request timeout;
//! - what wasmtime bounds per store: live handles and resource-table entries
//!   (`--max-guest-handles`) and the bytes one host call may lift out of the
//!   guest (`--max-hostcall-bytes`, wasmtime's hostcall fuel).

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::reuse::ReusePolicy;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::ResourceLimiter;

/// The host-wide settings every component's limits come from.
#[derive(Debug, Clone, Copy)]
pub struct GuestLimits {
    /// Requests served at once, all components together.
    pub concurrency: u32,
    /// Linear memory one instance may hold.
    pub instance_memory_bytes: u64,
    /// Guest time one request may use.
    pub cpu_budget: Duration,
    /// Instances of one component running guest code at once.
    pub cpu_lanes: u32,
    /// Live handles (and resource-table entries) one store may hold.
    pub max_handles: u32,
    /// Bytes one host call may lift out of the guest.
    pub hostcall_bytes: u64,
    /// How long an idle reused instance is kept (`app::reuse`).
    pub idle_instance_timeout: Duration,
}

impl GuestLimits {
    /// Half the machine's cores, at least one: what one component may occupy
    /// when `--cpu-lanes-per-component` is 0.
    pub fn default_lanes() -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        u32::try_from(cores / 2).unwrap_or(u32::MAX).max(1)
    }
}

pub struct LimitsFactor {
    limits: GuestLimits,
}

impl LimitsFactor {
    pub fn new(limits: GuestLimits) -> Self {
        LimitsFactor { limits }
    }

    pub fn limits(&self) -> &GuestLimits {
        &self.limits
    }
}

/// What one component may take: its share of the instances and its lanes.
pub struct ComponentLimits {
    /// Taken for the whole of each request.
    pub permits: Arc<Semaphore>,
    share: Resizable,
    /// Taken while a poll of one of its instances runs guest code.
    pub lanes: Arc<Semaphore>,
    lane_count: Resizable,
    cpu_budget: Duration,
    /// Whether and how its instances are reused (`app::reuse`).
    pub reuse: Option<ReusePolicy>,
}

impl ComponentLimits {
    /// Requests this version of the component may serve at once.
    pub fn share(&self) -> u32 {
        self.share.size
    }

    /// Puts this version's sizes back (a rolled-back version takes back the
    /// share and lanes the swapped-in one had resized).
    pub fn reapply(&self) {
        resize(&self.permits, self.share.current(), self.share.size);
        self.share.set_current(self.share.size);
        resize(&self.lanes, self.lane_count.current(), self.lane_count.size);
        self.lane_count.set_current(self.lane_count.size);
    }
}

/// The size a version wants, and the size the shared semaphore has now
/// (shared by every version of the component, so the last resize wins).
struct Resizable {
    size: u32,
    current: Arc<AtomicU64>,
}

impl Resizable {
    fn current(&self) -> u32 {
        self.current.load(Ordering::Acquire) as u32
    }

    fn set_current(&self, size: u32) {
        self.current.store(u64::from(size), Ordering::Release);
    }

    /// A semaphore of `size` permits, or `previous`'s resized to `size`.
    fn carry(previous: Option<(&Arc<Semaphore>, &Resizable)>, size: u32) -> (Arc<Semaphore>, Resizable) {
        match previous {
            None => (
                Arc::new(Semaphore::new(size as usize)),
                Resizable {
                    size,
                    current: Arc::new(AtomicU64::new(u64::from(size))),
                },
            ),
            Some((semaphore, old)) => {
                resize(semaphore, old.current(), size);
                old.set_current(size);
                (
                    semaphore.clone(),
                    Resizable {
                        size,
                        current: old.current.clone(),
                    },
                )
            }
        }
    }
}

/// Resizes `permits` from `from` permits in all to `to`. Growing adds permits
/// at once; shrinking retires free permits at once and busy ones as they come
/// back, so no new holder gets in until the semaphore is under its new size.
/// Needs a tokio runtime when it shrinks below the permits in use.
fn resize(permits: &Arc<Semaphore>, from: u32, to: u32) {
    if to > from {
        permits.add_permits((to - from) as usize);
    } else if to < from {
        let surplus = (from - to) as usize;
        let retired_now = permits.forget_permits(surplus);
        let later = surplus - retired_now;
        if later > 0 {
            // Queued first, so the permits coming back reach this task
            // before any new request (tokio's semaphore is fair).
            let permits = permits.clone();
            tokio::spawn(async move {
                if let Ok(retired) = permits.acquire_many_owned(later as u32).await {
                    retired.forget();
                }
            });
        }
    }
}

/// What one instance is held to.
pub struct InstanceLimits {
    pub memory: InstanceMemory,
    pub cpu: Arc<CpuMeter>,
}

impl Factor for LimitsFactor {
    type ComponentState = ComponentLimits;
    type InstanceState = InstanceLimits;

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&ComponentLimits>) -> anyhow::Result<ComponentLimits> {
        let share = ctx
            .spec
            .max_concurrent_requests
            .map_or(self.limits.concurrency, |max| max.min(self.limits.concurrency));
        let (permits, share) = Resizable::carry(previous.map(|p| (&p.permits, &p.share)), share);
        let (lanes, lane_count) = Resizable::carry(previous.map(|p| (&p.lanes, &p.lane_count)), self.limits.cpu_lanes);
        Ok(ComponentLimits {
            permits,
            share,
            lanes,
            lane_count,
            cpu_budget: self.limits.cpu_budget,
            reuse: ctx.spec.instance_reuse.map(|max_uses| ReusePolicy {
                max_uses,
                idle_timeout: self.limits.idle_instance_timeout,
            }),
        })
    }

    fn prepare(&self, state: &ComponentLimits, _ctx: &Prepare<'_>) -> InstanceLimits {
        InstanceLimits {
            memory: InstanceMemory::new(usize::try_from(self.limits.instance_memory_bytes).unwrap_or(usize::MAX)),
            cpu: Arc::new(CpuMeter::new(state.cpu_budget)),
        }
    }
}

/// The guest time one instance has used, measured around every poll of its
/// future ([`OnLane`]), and its budget. The epoch callback reads it at every
/// tick the guest is running through, so a spinning guest traps within a
/// tick of its budget.
pub struct CpuMeter {
    budget: Duration,
    base: Instant,
    /// Nanoseconds used in finished polls.
    used: AtomicU64,
    /// When the running poll started, in nanoseconds since `base` plus one;
    /// 0 when no poll runs.
    running_since: AtomicU64,
}

impl CpuMeter {
    pub fn new(budget: Duration) -> Self {
        CpuMeter {
            budget,
            base: Instant::now(),
            used: AtomicU64::new(0),
            running_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn start(&self) {
        self.running_since.store(self.now() + 1, Ordering::Release);
    }

    fn stop(&self) {
        let since = self.running_since.swap(0, Ordering::AcqRel);
        if since > 0 {
            let ran = (self.now() + 1).saturating_sub(since);
            self.used.fetch_add(ran, Ordering::AcqRel);
        }
    }

    /// Guest time used so far, the running poll included.
    pub fn used(&self) -> Duration {
        let since = self.running_since.load(Ordering::Acquire);
        let running = if since > 0 {
            (self.now() + 1).saturating_sub(since)
        } else {
            0
        };
        Duration::from_nanos(self.used.load(Ordering::Acquire).saturating_add(running))
    }

    /// The error that ends the guest once its budget is spent.
    pub fn check(&self) -> Result<(), CpuBudgetExceeded> {
        let used = self.used();
        if used > self.budget {
            Err(CpuBudgetExceeded {
                budget: self.budget,
                used,
            })
        } else {
            Ok(())
        }
    }
}

/// The trap of a guest that used up its CPU budget.
#[derive(Debug, Clone, Copy)]
pub struct CpuBudgetExceeded {
    pub budget: Duration,
    pub used: Duration,
}

impl std::fmt::Display for CpuBudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the guest ran {} ms, past its CPU budget of {} ms (--request-cpu-budget)",
            self.used.as_millis(),
            self.budget.as_millis()
        )
    }
}

impl std::error::Error for CpuBudgetExceeded {}

/// A guest's future run on one of its component's CPU lanes: every poll
/// first takes a lane (waiting, without a thread, while all are taken), runs
/// with the meter started, and gives the lane back when it returns.
pub struct OnLane<F> {
    inner: Pin<Box<F>>,
    lanes: Arc<Semaphore>,
    meter: Arc<CpuMeter>,
    waiting: Option<WaitingForLane>,
}

/// A wait for a free lane.
type WaitingForLane = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, tokio::sync::AcquireError>> + Send>>;

impl<F: Future> OnLane<F> {
    pub fn new(inner: F, lanes: Arc<Semaphore>, meter: Arc<CpuMeter>) -> Self {
        OnLane {
            inner: Box::pin(inner),
            lanes,
            meter,
            waiting: None,
        }
    }
}

impl<F: Future> Future for OnLane<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let lane = match this.waiting.as_mut() {
            Some(waiting) => match waiting.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(lane) => {
                    this.waiting = None;
                    lane.ok()
                }
            },
            None => match this.lanes.clone().try_acquire_owned() {
                Ok(lane) => Some(lane),
                Err(tokio::sync::TryAcquireError::NoPermits) => {
                    let mut waiting = Box::pin(this.lanes.clone().acquire_owned());
                    match waiting.as_mut().poll(cx) {
                        Poll::Pending => {
                            this.waiting = Some(waiting);
                            return Poll::Pending;
                        }
                        Poll::Ready(lane) => lane.ok(),
                    }
                }
                // The semaphore is never closed; run rather than stall.
                Err(tokio::sync::TryAcquireError::Closed) => None,
            },
        };
        this.meter.start();
        let polled = this.inner.as_mut().poll(cx);
        this.meter.stop();
        drop(lane);
        polled
    }
}

/// Caps the linear memory of one store, all its memories together: the pool
/// caps each memory, but a component may have several, and the memory budget
/// (`ops::memory`) counts instances, not memories.
///
/// `used` is the sum of the memories' sizes. A grow is counted when approved
/// and taken back if it then fails (wasmtime asks before its own checks), and
/// every sum is checked: sizes near `usize::MAX` are refused, never wrapped.
pub struct InstanceMemory {
    limit: usize,
    used: usize,
    /// The grow approved last, `(current, desired)`, until it is known to
    /// have happened or failed.
    pending: Option<(usize, usize)>,
}

impl InstanceMemory {
    pub fn new(limit: usize) -> Self {
        InstanceMemory {
            limit,
            used: 0,
            pending: None,
        }
    }
}

impl ResourceLimiter for InstanceMemory {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let after = self
            .used
            .checked_sub(current)
            .and_then(|others| others.checked_add(desired));
        let fits = after.filter(|after| *after <= self.limit && maximum.is_none_or(|max| desired <= max));
        let Some(after) = fits else {
            // Refused, not trapped: the guest sees `memory.grow` return -1 and
            // decides (a Rust guest aborts; the host answers 500 for it alone).
            return Ok(false);
        };
        self.used = after;
        self.pending = Some((current, desired));
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        if let Some((current, desired)) = self.pending.take() {
            self.used = self.used - desired + current;
        }
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables are bounded by the pool's per-table element limit.
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::Store;

    fn spec(max: Option<u32>) -> crate::app::manifest::ComponentSpec {
        crate::app::manifest::ComponentSpec {
            id: "c".into(),
            source: "c.wasm".into(),
            remote: None,
            allowed_outbound_hosts: Vec::new(),
            environment: Vec::new(),
            variables: Vec::new(),
            max_concurrent_requests: max,
            instance_reuse: None,
            verdict_cache: false,
            files: Vec::new(),
            dir: ".".into(),
            exclude_files: Vec::new(),
            key_value_stores: Vec::new(),
            sqlite_databases: Vec::new(),
            probe: None,
        }
    }

    fn factor(concurrency: u32, lanes: u32) -> LimitsFactor {
        LimitsFactor::new(GuestLimits {
            concurrency,
            instance_memory_bytes: 1 << 20,
            cpu_budget: Duration::from_secs(1),
            cpu_lanes: lanes,
            max_handles: 100,
            hostcall_bytes: 1 << 20,
            idle_instance_timeout: Duration::from_secs(1),
        })
    }

    fn configure(factor: &LimitsFactor, max: Option<u32>, previous: Option<&ComponentLimits>) -> ComponentLimits {
        let spec = spec(max);
        let id: Arc<str> = "c".into();
        let sha: Arc<str> = "00".into();
        factor.configure(&Configure::new(&id, &spec, &sha), previous).unwrap()
    }

    #[tokio::test]
    async fn a_share_carries_over_a_reload_instead_of_doubling() {
        let factor = factor(8, 1);
        let first = configure(&factor, Some(2), None);
        let busy = [
            first.permits.clone().try_acquire_owned().unwrap(),
            first.permits.clone().try_acquire_owned().unwrap(),
        ];
        // A reload with the same share: the new version sees the old one's
        // requests, so it gets no third instance.
        let second = configure(&factor, Some(2), Some(&first));
        assert!(Arc::ptr_eq(&first.permits, &second.permits));
        assert!(second.permits.clone().try_acquire_owned().is_err());
        drop(busy);
        assert_eq!(second.permits.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_share_grows_at_once_and_shrinks_as_requests_end() {
        let factor = factor(8, 1);
        let three = configure(&factor, Some(3), None);
        let permits = three.permits.clone();
        let busy: Vec<_> = (0..3).map(|_| permits.clone().try_acquire_owned().unwrap()).collect();
        let five = configure(&factor, Some(5), Some(&three));
        assert_eq!(permits.available_permits(), 2, "grown at once");

        // Shrink to 1 while 3 are busy and 2 free: the 2 free go at once, 2
        // more as requests end, and no new request gets in until then.
        let one = configure(&factor, Some(1), Some(&five));
        assert_eq!(permits.available_permits(), 0);
        tokio::task::yield_now().await;
        let mut busy = busy.into_iter();
        drop(busy.next());
        drop(busy.next());
        tokio::task::yield_now().await;
        assert!(
            permits.clone().try_acquire_owned().is_err(),
            "still at its new share: 1 busy"
        );
        drop(busy.next());
        tokio::task::yield_now().await;
        assert_eq!(permits.available_permits(), 1);

        // Rolled back to the version of five: its share comes back.
        five.reapply();
        assert_eq!(permits.available_permits(), 5);
        assert_eq!(one.share(), 1);
    }

    #[tokio::test]
    async fn components_have_shares_and_lanes_of_their_own() {
        let factor = factor(8, 1);
        let a = configure(&factor, Some(1), None);
        let b = configure(&factor, Some(1), None);
        let _held = a.permits.clone().try_acquire_owned().unwrap();
        let _lane = a.lanes.clone().try_acquire_owned().unwrap();
        assert!(b.permits.clone().try_acquire_owned().is_ok());
        assert!(b.lanes.clone().try_acquire_owned().is_ok());
    }

    #[test]
    fn the_host_limit_caps_a_share() {
        let factor = factor(4, 1);
        assert_eq!(configure(&factor, Some(100), None).share(), 4);
        assert_eq!(configure(&factor, None, None).share(), 4);
    }

    /// A future that burns `per_poll` of CPU at every poll, `polls` times.
    struct Spin {
        per_poll: Duration,
        polls: u32,
        running: Arc<std::sync::atomic::AtomicU32>,
        peak: Arc<std::sync::atomic::AtomicU32>,
    }

    impl Future for Spin {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let until = Instant::now() + self.per_poll;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            self.running.fetch_sub(1, Ordering::SeqCst);
            self.polls -= 1;
            if self.polls == 0 {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_component_runs_on_at_most_its_lanes_and_its_time_is_metered() {
        let lanes = Arc::new(Semaphore::new(1));
        let running = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let meters: Vec<_> = (0..4)
            .map(|_| Arc::new(CpuMeter::new(Duration::from_secs(10))))
            .collect();
        let tasks: Vec<_> = meters
            .iter()
            .map(|meter| {
                let spin = Spin {
                    per_poll: Duration::from_millis(2),
                    polls: 5,
                    running: running.clone(),
                    peak: peak.clone(),
                };
                tokio::spawn(OnLane::new(spin, lanes.clone(), meter.clone()))
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1, "one lane: never two polls at once");
        for meter in &meters {
            let used = meter.used();
            assert!(used >= Duration::from_millis(10), "5 polls of 2 ms: {used:?}");
        }
    }

    #[test]
    fn the_meter_trips_once_the_budget_is_spent() {
        let meter = CpuMeter::new(Duration::from_millis(5));
        assert!(meter.check().is_ok());
        meter.start();
        std::thread::sleep(Duration::from_millis(8));
        let over = meter.check().expect_err("8 ms into a 5 ms budget, still running");
        assert!(over.used >= Duration::from_millis(8));
        meter.stop();
        assert!(meter.check().is_err(), "finished polls count too");
        assert!(over.to_string().contains("--request-cpu-budget"));
    }

    #[test]
    fn instance_memory_counts_every_memory_of_the_store() {
        let mut memory = InstanceMemory::new(10);
        // Memory A grows to 6; memory B may then have 4, not 5.
        assert!(memory.memory_growing(0, 6, None).unwrap());
        assert!(!memory.memory_growing(0, 5, None).unwrap());
        assert!(memory.memory_growing(0, 4, None).unwrap());
        // Full: A cannot grow by one.
        assert!(!memory.memory_growing(6, 7, None).unwrap());
        assert_eq!(memory.used, 10);
    }

    #[test]
    fn sizes_near_the_top_of_usize_are_refused_not_wrapped() {
        const PAGE: usize = 64 * 1024;
        let mut memory = InstanceMemory::new(10 * PAGE);
        // Two memories of one page each.
        assert!(memory.memory_growing(0, PAGE, None).unwrap());
        assert!(memory.memory_growing(0, PAGE, None).unwrap());
        // What a 64-bit memory may ask for: `used - current + desired` is
        // `PAGE + usize::MAX - PAGE + 1`, which wraps to 0 unless checked
        // (and 0 fits any cap, and would become the count).
        assert!(!memory.memory_growing(PAGE, usize::MAX - PAGE + 1, None).unwrap());
        assert!(!memory.memory_growing(0, usize::MAX - PAGE + 1, None).unwrap());
        // A `current` larger than what was counted cannot lower the count.
        assert!(!memory.memory_growing(5 * PAGE, 0, None).unwrap());
        assert_eq!(memory.used, 2 * PAGE);
    }

    #[test]
    fn a_grow_that_fails_after_approval_is_taken_back_not_kept() {
        let mut memory = InstanceMemory::new(10);
        assert!(memory.memory_growing(0, 2, None).unwrap());
        // Approved, then failed by wasmtime (past the memory's maximum, or
        // the OS said no): the count returns to what the memory holds.
        assert!(memory.memory_growing(2, 9, Some(100)).unwrap());
        memory.memory_grow_failed(wasmtime::Error::msg("failed")).unwrap();
        assert_eq!(memory.used, 2);
        // Past the memory's own maximum: refused at once.
        assert!(!memory.memory_growing(2, 9, Some(4)).unwrap());
        assert_eq!(memory.used, 2);
    }

    /// The limiter in a real store: two instances of a module in one store
    /// (each memory of a component counts, whatever module it is in) grow
    /// until refused, and their total never passes the cap, however often
    /// they try, including grows the memory's own maximum refuses.
    #[test]
    fn memories_in_one_store_cannot_pass_the_cap_together() {
        const PAGE: u64 = 64 * 1024;
        let limit = 8 * PAGE;
        let engine = crate::app::engine::new_engine(
            2,
            limit,
            crate::app::engine::Tuning::default(),
            crate::app::engine::CodeTarget::Native,
        )
        .unwrap();
        let module = wasmtime::Module::new(
            &engine,
            wat::parse_str(
                r#"(module
                    (memory 1 6)
                    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                    (func (export "pages") (result i32) (memory.size)))"#,
            )
            .unwrap(),
        )
        .unwrap();
        let mut store = Store::new(&engine, InstanceMemory::new(limit as usize));
        store.limiter(|memory| memory);
        store.set_epoch_deadline(u64::MAX);
        let mut grows = Vec::new();
        let mut sizes = Vec::new();
        for _ in 0..2 {
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
            grows.push(instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap());
            sizes.push(instance.get_typed_func::<(), i32>(&mut store, "pages").unwrap());
        }
        for _ in 0..50 {
            for grow in &grows {
                // Past the memory's own maximum (6 pages): refused, not counted.
                assert_eq!(grow.call(&mut store, 6).unwrap(), -1);
                let _ = grow.call(&mut store, 1).unwrap();
            }
        }
        let held: u64 = sizes
            .iter()
            .map(|pages| pages.call(&mut store, ()).unwrap() as u64 * PAGE)
            .sum();
        assert_eq!(held, limit, "grown to the cap together, and no further");
        assert_eq!(store.data().used as u64, held, "the count is what the memories hold");
    }
}
