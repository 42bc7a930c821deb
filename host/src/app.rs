//! The application being served: its routes, and per component the loaded
//! code, the store template (environment, variables, allow-list) and its
//! share of the instances. Built whole from an [`AppSpec`] (a Spin manifest,
//! or `--component` with its flags) and replaced whole by a reload.

use crate::allowed_hosts::{AllowList, AllowedHost};
use crate::engine::{self, LoadedComponent};
use crate::guest_log::GuestLogSettings;
use crate::invoke::Handler;
use crate::manifest::AppSpec;
use crate::outbound::Outbound;
use crate::router::{Route, Router};
use crate::state::{HostState, StoreTemplate};
use crate::verdict::{self, VerdictCache};
use anyhow::Context as _;
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
    pub code: Code,
    pub template: StoreTemplate,
    /// This component's share of the instances: its
    /// `max_concurrent_requests`, else the host's whole limit.
    pub permits: Arc<Semaphore>,
}

pub struct App {
    /// What it was built from: a reload that reads the same spec and the same
    /// code changes nothing.
    pub spec: AppSpec,
    pub router: Router<Arc<Component>>,
    pub components: Vec<Arc<Component>>,
}

/// What every component of this host gets, whatever the manifest says.
pub struct HostWide {
    pub outbound: Arc<Outbound>,
    pub verdicts: Option<Arc<VerdictCache>>,
    /// `--env` and `--upstream-url`: set in every component, over the
    /// manifest's `environment`.
    pub env: Vec<(String, String)>,
    /// `--allow-outbound` and `--upstream-url`'s authority: allowed for every
    /// component besides its own list.
    pub allowed: Vec<AllowedHost>,
    pub instance_memory_bytes: u64,
    /// Requests served at once, all components together.
    pub concurrency: u32,
    pub guest_log_budget: usize,
    pub guest_log_min_rank: u8,
}

/// Loads every component of `spec` and routes to them. Runs on a blocking
/// thread: compiling takes seconds.
pub fn build(
    engine: &Engine,
    linker: &Linker<HostState>,
    spec: AppSpec,
    wide: &HostWide,
    cache_dir: Option<&Path>,
) -> anyhow::Result<App> {
    let mut components = Vec::new();
    for component in &spec.components {
        let code = load_code(engine, linker, &component.source, cache_dir)
            .with_context(|| format!("component {}", component.id))?;
        let mut env = component.environment.clone();
        for (key, value) in &wide.env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        if let Some(cache) = &wide.verdicts {
            env.push((verdict::TOKEN_ENV.to_string(), cache.token().to_string()));
        }
        let mut allowed = component.allowed_outbound_hosts.clone();
        allowed.extend(wide.allowed.iter().cloned());
        let allowed = AllowList::new(allowed);
        let share = component
            .max_concurrent_requests
            .map_or(wide.concurrency, |max| max.min(wide.concurrency));
        tracing::info!(
            component = %component.id,
            source = %component.source.display(),
            allowed_outbound = %allowed.describe(),
            max_concurrent_requests = share,
            "component configured"
        );
        components.push(Arc::new(Component {
            id: component.id.as_str().into(),
            source: component.source.clone(),
            code,
            template: StoreTemplate {
                env,
                config: Arc::new(component.variables.iter().cloned().collect()),
                allowed: Arc::new(allowed),
                instance_memory_bytes: wide.instance_memory_bytes,
                outbound: wide.outbound.clone(),
                verdicts: wide.verdicts.clone(),
                guest_log: GuestLogSettings {
                    component: component.id.as_str().into(),
                    budget: wide.guest_log_budget,
                    min_rank: wide.guest_log_min_rank,
                },
            },
            permits: Arc::new(Semaphore::new(share as usize)),
        }));
    }
    let mut routes = Vec::new();
    for (route, id) in &spec.routes {
        let target = components
            .iter()
            .find(|c| &*c.id == id)
            .expect("the manifest reader checks every route's component")
            .clone();
        routes.push((Route::parse(route).map_err(anyhow::Error::msg)?, target));
    }
    let router = Router::new(routes).map_err(anyhow::Error::msg)?;
    Ok(App {
        spec,
        router,
        components,
    })
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
    let pre = linker
        .instantiate_pre(&loaded.component)
        .map_err(anyhow::Error::from)
        .context("the component imports something this host does not provide (wasi:* 0.2 and 0.3, and wasi:config/store are linked)")?;
    Ok(Code {
        handler: Handler::of(pre)?,
        sha256: loaded.sha256.as_str().into(),
        loaded_from: loaded.loaded_from(),
        load_time: loaded.load_time,
    })
}
