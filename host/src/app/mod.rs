//! The application being served: its routes, and per component the loaded
//! code, the store template (environment, variables, allow-list) and its
//! share of the instances. Built whole from an [`AppSpec`] (a Spin manifest,
//! or `--component` with its flags) and replaced whole by a reload.
//!
//! The app wing holds everything about the components: reading a manifest
//! (`manifest`, `router`), the engine and the compiled code (`engine`), the
//! store each request gets (`state`, `spin_variables`, `unprovided`,
//! `guest_log`), calling a handler (`invoke`), live swaps (`reload`) and each
//! component's share of the instances (`shares`). Below `edge`; it calls into
//! `outbound` and `ops`.

pub mod engine;
pub mod flags;
pub mod guest_log;
pub mod invoke;
pub mod manifest;
pub mod reload;
pub mod router;
pub mod shares;
pub mod spin_variables;
pub mod state;
pub mod unprovided;

use crate::app::engine::LoadedComponent;
use crate::app::guest_log::GuestLogSettings;
use crate::app::invoke::Handler;
use crate::app::manifest::{AppSpec, ComponentSpec};
use crate::app::router::{Route, Router};
use crate::app::shares::Shares;
use crate::app::state::{HostState, StoreTemplate};
use crate::ops::metrics::Metrics;
use crate::ops::server_timing::{Recorder, Recorders};
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::verdict::{self, VerdictCache};
use crate::outbound::Outbound;
use anyhow::Context as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::Engine;

/// Loaded, linked code, ready to instantiate.
pub struct Code {
    pub handler: Handler,
    /// SHA-256 of the file's bytes: what logs and `wasm_component_info` name.
    pub sha256: Arc<str>,
    pub loaded_from: &'static str,
    pub load_time: Duration,
}

/// One component of the app.
pub struct Component {
    /// The manifest's id: named in logs.
    pub id: Arc<str>,
    pub source: PathBuf,
    /// What the manifest says of it: with the code's digest, what decides
    /// whether its verdict cache carries over a reload.
    pub spec: ComponentSpec,
    pub code: Code,
    pub template: StoreTemplate,
    /// This component's share of the instances: its
    /// `max_concurrent_requests`, else the host's whole limit. The same
    /// semaphore across reloads (`app::shares`).
    pub permits: Arc<Semaphore>,
    /// Turns its `Server-Timing` entries into metrics, within its own budget.
    pub server_timing: Arc<Recorder>,
}

pub struct App {
    /// What it was built from: a reload that reads the same spec and the same
    /// code changes nothing.
    pub spec: AppSpec,
    pub router: Router<Arc<Component>>,
    pub components: Vec<Arc<Component>>,
}

/// What every component of this host gets, whatever the manifest says, and
/// what the host keeps per component id across reloads.
pub struct HostWide {
    pub outbound: Arc<Outbound>,
    /// Entries of each opted-in component's verdict cache; `None` turns
    /// verdict caching off for every component.
    pub verdict_cache_entries: Option<NonZeroUsize>,
    pub metrics: Metrics,
    pub shares: Shares,
    pub server_timing: Recorders,
    pub instance_memory_bytes: u64,
    /// Requests served at once, all components together.
    pub concurrency: u32,
    pub guest_log_budget: usize,
    pub guest_log_min_rank: u8,
}

/// Loads every component of `spec` and routes to them. Runs on a blocking
/// thread: compiling takes seconds. `previous` is the app being served, whose
/// verdict caches carry over to components that did not change.
pub fn build(
    engine: &Engine,
    linker: &Linker<HostState>,
    spec: AppSpec,
    wide: &HostWide,
    cache_dir: Option<&Path>,
    previous: Option<&App>,
) -> anyhow::Result<App> {
    let mut loaded = Vec::new();
    for component in &spec.components {
        let code = load_code(engine, linker, &component.source, cache_dir)
            .with_context(|| format!("component {}", component.id))?;
        loaded.push((component, code));
    }
    let mut routes = Vec::new();
    for (route, id) in &spec.routes {
        routes.push((Route::parse(route).map_err(anyhow::Error::msg)?, id.clone()));
    }
    let routes = Router::new(routes).map_err(anyhow::Error::msg)?;
    // Nothing below can fail: shares are resized only for an app that will
    // serve (or that equals the one serving).
    let mut components = Vec::new();
    for (component, code) in loaded {
        let id: Arc<str> = component.id.as_str().into();
        let verdicts = verdict_cache(wide, previous, component, &code, &id);
        let mut env = component.environment.clone();
        env.retain(|(k, _)| k != verdict::TOKEN_ENV);
        if let Some(cache) = &verdicts {
            env.push((verdict::TOKEN_ENV.to_string(), cache.token().to_string()));
        }
        let allowed = AllowList::new(component.allowed_outbound_hosts.clone());
        let share = component
            .max_concurrent_requests
            .map_or(wide.concurrency, |max| max.min(wide.concurrency));
        tracing::info!(
            component = %component.id,
            source = %component.source.display(),
            allowed_outbound = %allowed.describe(),
            max_concurrent_requests = share,
            verdict_cache = verdicts.is_some(),
            "component configured"
        );
        components.push(Arc::new(Component {
            id: id.clone(),
            source: component.source.clone(),
            spec: component.clone(),
            template: StoreTemplate {
                env,
                variables: Arc::new(component.variables.iter().cloned().collect()),
                allowed: Arc::new(allowed),
                instance_memory_bytes: wide.instance_memory_bytes,
                outbound: wide.outbound.clone(),
                verdicts,
                guest_log: GuestLogSettings {
                    component: id.clone(),
                    budget: wide.guest_log_budget,
                    min_rank: wide.guest_log_min_rank,
                },
            },
            code,
            permits: wide.shares.share(&id, share),
            server_timing: wide.server_timing.of(&id),
        }));
    }
    let router = routes.map(|id| {
        components
            .iter()
            .find(|c| *c.id == id)
            .expect("the manifest reader checks every route's component")
            .clone()
    });
    Ok(App {
        spec,
        router,
        components,
    })
}

/// The verdict cache of a component that opted in: the one it had if its
/// code and configuration are what they were, else a new, empty one.
fn verdict_cache(
    wide: &HostWide,
    previous: Option<&App>,
    spec: &ComponentSpec,
    code: &Code,
    id: &Arc<str>,
) -> Option<Arc<VerdictCache>> {
    let entries = wide.verdict_cache_entries.filter(|_| spec.verdict_cache)?;
    let same_version = previous
        .into_iter()
        .flat_map(|app| app.components.iter())
        .find(|old| old.spec == *spec && old.code.sha256 == code.sha256);
    match same_version.and_then(|old| old.template.verdicts.clone()) {
        Some(kept) => Some(kept),
        None => Some(Arc::new(VerdictCache::new(entries, wide.metrics.clone(), id.clone()))),
    }
}

/// Loads (or compiles) `path`, links it and checks it exports the handler.
fn load_code(
    engine: &Engine,
    linker: &Linker<HostState>,
    path: &Path,
    cache_dir: Option<&Path>,
) -> anyhow::Result<Code> {
    let loaded: LoadedComponent = engine::load_component(engine, path, cache_dir)?;
    tracing::info!(
        component = %path.display(),
        sha256 = %loaded.sha256,
        from_cache = loaded.from_cache,
        load_ms = loaded.load_time.as_secs_f64() * 1e3,
        "component loaded"
    );
    crate::app::unprovided::check_imports(engine, &loaded.component)?;
    let pre = linker
        .instantiate_pre(&loaded.component)
        .map_err(anyhow::Error::from)
        .context(
            "the component imports something this host does not provide (it links wasi:* 0.2 and 0.3, \
             wasi:config/store and Spin's variables interfaces)",
        )?;
    Ok(Code {
        handler: Handler::of(pre)?,
        sha256: loaded.sha256.as_str().into(),
        loaded_from: loaded.loaded_from(),
        load_time: loaded.load_time,
    })
}
