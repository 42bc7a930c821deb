//! The outbound HTTP factor: `wasi:http` of both WASI versions, with every
//! call a component makes held to what its manifest grants and to limits of
//! its own.
//!
//! - Grants: `allowed_outbound_hosts` becomes the component's allow-list.
//! - Per component (kept across reloads): its breakers and retry budgets per
//!   destination (`outbound::protection`), and, for a component that opted
//!   in, its verdict cache (kept only while its code and manifest entry are
//!   unchanged).
//! - Per instance: the hooks every call goes through (`OutboundHooks`), a cap
//!   on calls in flight (`--max-outbound-per-request`), a field-size limit
//!   per header set, and a budget of header bytes ([`header_budget`]).

pub mod header_budget;
mod request_options;

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::manifest::ComponentSpec;
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::protection::{Protection, ProtectionSettings};
use crate::outbound::verdict::VerdictCache;
use crate::outbound::{Outbound, OutboundHooks};
use std::num::NonZeroUsize;
use std::sync::Arc;
use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime_wasi_http::WasiHttpCtx;

/// What one request's instance may do with `wasi:http`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Outbound calls in flight at once.
    pub max_outbound: u32,
    /// Bytes of HTTP fields the instance may build, all sets together.
    pub header_budget: u64,
}

impl RequestLimits {
    /// The largest single field set: wasmtime's default (128 KiB), or the
    /// whole budget when that is smaller.
    pub fn field_size_limit(&self) -> usize {
        usize::try_from(self.header_budget)
            .unwrap_or(usize::MAX)
            .min(128 * 1024)
    }
}

pub struct OutboundHttpFactor {
    pub outbound: Arc<Outbound>,
    /// Entries of each opted-in component's verdict cache; `None` turns
    /// verdict caching off for every component.
    pub verdict_cache_entries: Option<NonZeroUsize>,
    pub protection: ProtectionSettings,
    pub request: RequestLimits,
    pub metrics: Metrics,
}

/// What a component keeps for its calls.
pub struct HttpState {
    component: Arc<str>,
    pub allowed: Arc<AllowList>,
    pub protection: Arc<Protection>,
    pub verdicts: Option<Arc<VerdictCache>>,
    /// What the verdict cache was made for: it carries over only to the same.
    made_for: (ComponentSpec, Arc<str>),
}

impl HttpState {
    /// The token a component with a verdict cache reads from its environment.
    pub fn verdict_token(&self) -> Option<&str> {
        self.verdicts.as_deref().map(VerdictCache::token)
    }
}

/// What one instance gets: the `wasi:http` context and the hooks.
pub struct InstanceHttp {
    pub ctx: WasiHttpCtx,
    pub hooks: OutboundHooks,
}

impl Factor for OutboundHttpFactor {
    type ComponentState = HttpState;
    type InstanceState = InstanceHttp;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
        wasmtime_wasi_http::p3::add_to_linker(linker)?;
        request_options::add_to_linker(linker)?;
        header_budget::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&HttpState>) -> anyhow::Result<HttpState> {
        let made_for = (ctx.spec.clone(), ctx.sha256.clone());
        let verdicts = self
            .verdict_cache_entries
            .filter(|_| ctx.spec.verdict_cache)
            .map(|entries| {
                previous
                    .filter(|old| old.made_for == made_for)
                    .and_then(|old| old.verdicts.clone())
                    .unwrap_or_else(|| Arc::new(VerdictCache::new(entries, self.metrics.clone(), ctx.id.clone())))
            });
        let protection = previous.map_or_else(
            || Arc::new(Protection::new(ctx.id.clone(), self.protection, self.metrics.clone())),
            |old| old.protection.clone(),
        );
        Ok(HttpState {
            component: ctx.id.clone(),
            allowed: Arc::new(AllowList::new(ctx.spec.allowed_outbound_hosts.clone())),
            protection,
            verdicts,
            made_for,
        })
    }

    fn prepare(&self, state: &HttpState, ctx: &Prepare<'_>) -> InstanceHttp {
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(self.request.field_size_limit());
        InstanceHttp {
            ctx: http,
            hooks: OutboundHooks {
                outbound: self.outbound.clone(),
                component: state.component.clone(),
                allowed: state.allowed.clone(),
                protection: state.protection.clone(),
                verdicts: state.verdicts.clone().map(|cache| (cache, ctx.seen.clone())),
                called: Vec::new(),
                trace: ctx.trace.clone(),
                in_flight: Arc::new(Semaphore::new(self.request.max_outbound as usize)),
                depth: ctx.depth,
            },
        }
    }

    fn retire(&self, _id: &str, state: &HttpState) {
        state.protection.retire();
        if let Some(cache) = &state.verdicts {
            cache.retire();
        }
    }
}
