//! The per-request store: a fresh, isolated WASI context for every request, with
//! the component's environment, captured output and the outbound hooks.
//! The WASI view traits and `add_to_linker` live here, as in `wasmtime serve`.

use crate::app::guest_log::{GuestLogSettings, GuestOutput};
use crate::app::spin_variables::{self, SharedVariables};
use crate::ops::trace::TraceContext;
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::verdict::{SeenDigests, VerdictCache};
use crate::outbound::{Outbound, OutboundHooks};
use std::sync::Arc;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct HostState {
    wasi: WasiCtx,
    /// The component's variables, read through `wasi:config/store` or
    /// Spin's variables interfaces.
    variables: SharedVariables,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    memory: InstanceMemory,
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

impl spin_variables::VariablesView for HostState {
    fn variables(&mut self) -> &spin_variables::Variables {
        &self.variables
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Every WASI 0.2 and 0.3 interface a Rust component may import (std pulls
/// in `wasi:cli/*`), plus `wasi:http` of both, and the manifest's component
/// variables through `wasi:config/store` and Spin's variables interfaces
/// (`app::spin_variables`), as Spin provides them.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    spin_variables::add_to_linker(linker)?;
    Ok(())
}

/// What every store of one component shares.
pub struct StoreTemplate {
    pub env: Vec<(String, String)>,
    pub variables: SharedVariables,
    pub allowed: Arc<AllowList>,
    /// Linear memory one store may hold, all memories together.
    pub instance_memory_bytes: u64,
    pub outbound: Arc<Outbound>,
    /// With a verdict cache, its token is in `env` (see `outbound::verdict`).
    pub verdicts: Option<Arc<VerdictCache>>,
    pub guest_log: GuestLogSettings,
}

impl StoreTemplate {
    /// A store for one request. Sockets, files and stdin are not given to the
    /// guest: it reaches the network only through `wasi:http` and the allow-list.
    /// `seen` collects the digests of the bodies this request fetches; `trace`
    /// is the request's span, named in its log lines and outbound calls, as is
    /// the served component's digest in its log lines.
    pub fn new_store(
        &self,
        engine: &Engine,
        request_id: &str,
        trace: &TraceContext,
        component_sha256: &str,
        seen: &SeenDigests,
    ) -> Store<HostState> {
        let fields = crate::app::guest_log::request_fields(request_id, trace, component_sha256);
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.env)
            .stdout(GuestOutput::new("stdout", fields.clone(), &self.guest_log))
            .stderr(GuestOutput::new("stderr", fields, &self.guest_log))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = HostState {
            wasi: wasi.build(),
            variables: self.variables.clone(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                outbound: self.outbound.clone(),
                allowed: self.allowed.clone(),
                verdicts: self.verdicts.clone().map(|cache| (cache, seen.clone())),
                called: Vec::new(),
                trace: trace.clone(),
            },
            memory: InstanceMemory::new(usize::try_from(self.instance_memory_bytes).unwrap_or(usize::MAX)),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|state| &mut state.memory);
        // Yield to the async runtime at every epoch tick, so timeouts can fire
        // even while the guest computes.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
