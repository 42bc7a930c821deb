//! The per-request store: a fresh, isolated WASI context for every request, with
//! the component's environment, captured output and the outbound hooks.
//! The WASI view traits and `add_to_linker` live here, as in `wasmtime serve`.

use crate::allowed_hosts::AllowList;
use crate::guest_log::{GuestLogSettings, GuestOutput};
use crate::outbound::{Outbound, OutboundHooks};
use crate::trace::TraceContext;
use crate::verdict::{SeenDigests, VerdictCache};
use std::sync::Arc;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct HostState {
    wasi: WasiCtx,
    /// The component's variables, read through `wasi:config/store`.
    config: Arc<WasiConfigVariables>,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    memory: InstanceMemory,
}

/// Caps the linear memory of one store, all its memories together: the pool
/// caps each memory, but a component may have several, and the memory budget
/// (`memory.rs`) counts instances, not memories.
pub struct InstanceMemory {
    limit: usize,
    used: usize,
}

impl ResourceLimiter for InstanceMemory {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let after = self.used - current.min(self.used) + desired;
        if after > self.limit {
            // Refused, not trapped: the guest sees `memory.grow` return -1 and
            // decides (a Rust guest aborts; the host answers 500 for it alone).
            return Ok(false);
        }
        self.used = after;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables are bounded by the pool's per-table element limit.
        Ok(maximum.is_none_or(|max| desired <= max))
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
/// in `wasi:cli/*`), plus `wasi:http` of both, and `wasi:config/store` for
/// the manifest's component variables (as Spin provides it).
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    wasmtime_wasi_config::add_to_linker(linker, |state: &mut HostState| WasiConfig::from(&*state.config))?;
    Ok(())
}

/// What every store of one component shares.
pub struct StoreTemplate {
    pub env: Vec<(String, String)>,
    pub config: Arc<WasiConfigVariables>,
    pub allowed: Arc<AllowList>,
    /// Linear memory one store may hold, all memories together.
    pub instance_memory_bytes: u64,
    pub outbound: Arc<Outbound>,
    /// With a verdict cache, its token is in `env` (see `verdict.rs`).
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
        let fields = crate::guest_log::request_fields(request_id, trace, component_sha256);
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.env)
            .stdout(GuestOutput::new("stdout", fields.clone(), &self.guest_log))
            .stderr(GuestOutput::new("stderr", fields, &self.guest_log))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = HostState {
            wasi: wasi.build(),
            config: self.config.clone(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                outbound: self.outbound.clone(),
                allowed: self.allowed.clone(),
                verdicts: self.verdicts.clone().map(|cache| (cache, seen.clone())),
                called: Vec::new(),
                trace: trace.clone(),
            },
            memory: InstanceMemory {
                limit: usize::try_from(self.instance_memory_bytes).unwrap_or(usize::MAX),
                used: 0,
            },
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
        let mut memory = InstanceMemory { limit: 10, used: 0 };
        // Memory A grows to 6; memory B may then have 4, not 5.
        assert!(memory.memory_growing(0, 6, None).unwrap());
        assert!(!memory.memory_growing(0, 5, None).unwrap());
        assert!(memory.memory_growing(0, 4, None).unwrap());
        // Full: A cannot grow by one.
        assert!(!memory.memory_growing(6, 7, None).unwrap());
        assert_eq!(memory.used, 10);
    }
}
