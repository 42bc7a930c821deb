//! The application being served: its routes, and per component the loaded
//! code and what every factor keeps for it (`factors`: environment,
//! variables, allow-list and outbound protection, limits, Server-Timing).
//! Built whole from an [`AppSpec`] (a Spin manifest, or `--component` with
//! its flags) and replaced whole by a reload.
//!
//! The app wing holds everything about the components: reading a manifest
//! (`manifest`, `router`, and where it comes from: `source`), what is done to a component before it is
//! compiled (`adapt`), the engine and the compiled code (`engine`, kept on
//! disk by `compile_cache`), the
//! per-component registry (`factors`), the store each request gets
//! (`state`, `guest_log`), Spin's services linked and denied (`denied`), calling a handler (`invoke`)
//! and one request's run of it, with its lanes, limits and failures (`run`), and
//! live swaps with their checks and roll-back (`reload`, `verify`), and
//! instances reused by components that ask for it (`reuse`). Below
//! `edge`; it calls into `outbound` and `ops`.

pub mod adapt;
pub mod code_tiers;
pub mod compile_cache;
pub mod denied;
pub mod engine;
pub mod factors;
pub mod flags;
pub mod guest_log;
pub mod invoke;
pub mod manifest;
pub mod reload;
pub mod reuse;
pub mod router;
pub mod run;
pub mod runtime_config;
pub mod source;
pub mod sources;
pub mod state;
pub mod verify;

use crate::app::engine::LoadedComponent;
use crate::app::factors::{ComponentStates, Configure, Factors, Prepare};
use crate::app::invoke::Handler;
use crate::app::manifest::{AppSpec, ComponentSpec, RouteTarget, StaticResponse};
use crate::app::router::{Route, Router};
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use crate::outbound::allowed_hosts::AllowList;
use crate::outbound::verdict::{self, SeenDigests};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

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
    /// What the manifest says of it.
    pub spec: ComponentSpec,
    pub code: Code,
    /// What every factor keeps for it.
    pub states: ComponentStates,
    /// Its instances between requests, when it reuses them (`reuse`).
    pub idle: Arc<reuse::IdleInstances>,
}

impl Component {
    /// A store for one request of this component.
    pub fn new_store(&self, factors: &Factors, ctx: &Prepare<'_>) -> Store<HostState> {
        state::new_store(self.code.handler.engine(), factors, &self.states, ctx)
    }

    /// What the host does to every answer of this component on its way out:
    /// the verdict cache's header goes (stored if the component may store
    /// verdicts, removed and logged if not), and `Server-Timing` becomes
    /// metrics (kept for the client only with `expose`). `seen` are the
    /// digests the request fetched.
    pub fn finish_response(&self, headers: &mut http::HeaderMap, seen: &SeenDigests, expose: bool) {
        if let Some(cache) = &self.states.http.verdicts {
            cache.take_put(headers, seen);
        }
        if verdict::strip_headers(headers) {
            tracing::warn!(component = %self.id, "a component without a verdict cache answered with verdict-cache-* headers; removed");
        }
        self.states.server_timing.consume(headers, expose);
    }
}

/// What serves a route: a component, or a fixed answer.
#[derive(Clone)]
pub enum Target {
    Component(Arc<Component>),
    Static(Arc<StaticResponse>),
}

pub struct App {
    /// What it was built from: a reload that reads the same spec and the same
    /// code changes nothing.
    pub spec: AppSpec,
    pub router: Router<Target>,
    pub components: Vec<Arc<Component>>,
}

impl App {
    /// The component `id` of this version.
    pub fn component(&self, id: &str) -> Option<&Arc<Component>> {
        self.components.iter().find(|c| &*c.id == id)
    }
}

/// What every app version of this host is built with.
pub struct HostWide {
    pub factors: Factors,
    pub metrics: Metrics,
}

/// Loads every component of `spec` and routes to them. Runs on a blocking
/// thread: compiling takes seconds. `previous` is the app being served, whose
/// components' states carry over to the components with the same ids.
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
        let code = load_code(engine, linker, &component.source, cache_dir, component)
            .with_context(|| format!("component {}", component.id))?;
        loaded.push((component, code));
    }
    let mut routes = Vec::new();
    for (route, target) in &spec.routes {
        let route = Route::parse(route).map_err(anyhow::Error::msg)?;
        if route.text().starts_with("/.well-known/spin/") {
            // Spin's own words: it answers that prefix itself.
            tracing::error!(route = %route.raw(), "Routes under /.well-known/spin/ are handled by the Spin runtime and will never be reached");
        }
        routes.push((route, target.clone()));
    }
    let (routes, duplicates) = Router::new(routes);
    for duplicate in &duplicates {
        tracing::error!(
            route = %duplicate.route,
            unused = %describe(&duplicate.unused),
            serving = %describe(&duplicate.serving),
            "The following component routes are duplicates and will never be used"
        );
    }
    // Configuring cannot fail for a manifest that parsed: shares are resized
    // only for an app whose code loaded and whose routes hold.
    let mut components = Vec::new();
    for (component, code) in loaded {
        let id: Arc<str> = component.id.as_str().into();
        let kept = previous.and_then(|app| app.component(&id)).map(|old| &old.states);
        let states = wide
            .factors
            .configure(&Configure::new(&id, component, &code.sha256), kept)
            .with_context(|| format!("component {}", component.id))?;
        tracing::info!(
            component = %component.id,
            source = %component.source.display(),
            allowed_outbound = %states.http.allowed.describe(),
            max_concurrent_requests = states.limits.share(),
            instance_reuse = states.limits.reuse.map_or(1, |policy| policy.max_uses),
            verdict_cache = states.http.verdicts.is_some(),
            probe = component.probe.as_deref().unwrap_or("none"),
            "component configured"
        );
        let idle = reuse::IdleInstances::new(states.limits.reuse, wide.metrics.reuse.clone());
        components.push(Arc::new(Component {
            id,
            source: component.source.clone(),
            spec: component.clone(),
            code,
            states,
            idle,
        }));
    }
    let router = routes.map(|target| match target {
        RouteTarget::Component(id) => Target::Component(
            components
                .iter()
                .find(|c| *c.id == id)
                .expect("the manifest reader checks every trigger's component")
                .clone(),
        ),
        RouteTarget::Static(fixed) => Target::Static(Arc::new(fixed)),
    });
    Ok(App {
        spec,
        router,
        components,
    })
}

/// A route's target, for the duplicate-route log line.
fn describe(target: &RouteTarget) -> String {
    match target {
        RouteTarget::Component(id) => id.clone(),
        RouteTarget::Static(fixed) => format!("static_response {}", fixed.status),
    }
}

/// Loads (or compiles) `path`, links it and checks it exports the handler.
fn load_code(
    engine: &Engine,
    linker: &Linker<HostState>,
    path: &Path,
    cache_dir: Option<&Path>,
    spec: &ComponentSpec,
) -> anyhow::Result<Code> {
    let loaded: LoadedComponent = engine::load_component(engine, path, cache_dir)?;
    let any_scheme = AllowList::new(spec.allowed_outbound_hosts.clone()).any_scheme_entries();
    if let Some(refused) = crate::app::denied::granted_but_unserved(engine, &loaded.component, &any_scheme) {
        anyhow::bail!(refused);
    }
    tracing::info!(
        component = %path.display(),
        sha256 = %loaded.sha256,
        from_cache = loaded.from_cache,
        code_level = loaded.code_level.as_deref().unwrap_or("-"),
        load_ms = loaded.load_time.as_secs_f64() * 1e3,
        "component loaded"
    );
    let denied = crate::app::denied::denied_imports(engine, &loaded.component);
    if !denied.is_empty() {
        tracing::info!(
            component = %path.display(),
            denied = %denied.join(", "),
            "the component imports Spin services this host does not serve: each call answers as Spin does for a component not granted it"
        );
    }
    let with_denied = crate::app::denied::linker_for(engine, linker, &loaded.component)?;
    let pre = with_denied
        .as_ref()
        .unwrap_or(linker)
        .instantiate_pre(&loaded.component)
        .map_err(anyhow::Error::from)
        .context(
            "the component imports what neither this host nor Spin provides (this host links wasi:* 0.2 and \
             0.3, wasi:http, wasi:config, wasi:keyvalue, and Spin's variables, key-value, SQLite, Redis, MQTT, \
             PostgreSQL, MySQL and LLM interfaces)",
        )?;
    Ok(Code {
        handler: Handler::of(pre)?,
        sha256: loaded.sha256.as_str().into(),
        loaded_from: loaded.loaded_from(),
        load_time: loaded.load_time,
    })
}
