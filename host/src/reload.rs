//! Live component swaps. The component being served sits behind an atomic
//! pointer; a reload loads and compiles the file again in the background,
//! links and pre-instantiates it, and only then swaps the pointer. Requests
//! that started on the old version finish on it (each holds its own `Arc`);
//! the old code is freed when the last of them ends. A file that does not
//! load, does not export `wasi:http/incoming-handler`, or imports what the host
//! does not provide is refused: the old version keeps serving and readiness
//! does not change.
//!
//! Triggers: SIGHUP, `POST /admin/reload` on the admin listener, and with
//! `--watch-interval`, a change of the file's size or modification time.

use crate::engine::{self, LoadedComponent};
use crate::metrics::Metrics;
use crate::state::HostState;
use anyhow::Context as _;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wasmtime::component::Linker;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// A loaded, linked component, ready to instantiate.
pub struct Served {
    pub pre: ProxyPre<HostState>,
    /// SHA-256 of the file's bytes: what logs and `wasm_component_info` name.
    pub sha256: Arc<str>,
    pub loaded_from: &'static str,
    pub load_time: Duration,
}

/// How a reload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// A new version serves from now on.
    Swapped { from: Arc<str>, to: Arc<str> },
    /// The file holds the version already served.
    Unchanged { sha256: Arc<str> },
}

/// Owns the served component and everything needed to load another.
pub struct Reloader {
    engine: Engine,
    linker: Linker<HostState>,
    path: PathBuf,
    cache_dir: Option<PathBuf>,
    current: ArcSwap<Served>,
    metrics: Metrics,
    /// One reload at a time: a second trigger waits for the first.
    reloading: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// Loads `path` for the first time; an error here stops the host.
    pub fn start(
        engine: Engine,
        linker: Linker<HostState>,
        path: PathBuf,
        cache_dir: Option<PathBuf>,
        metrics: Metrics,
    ) -> anyhow::Result<Reloader> {
        let served = load(&engine, &linker, &path, cache_dir.as_deref())?;
        publish_info(&metrics, &path, None, &served);
        Ok(Reloader {
            engine,
            linker,
            path,
            cache_dir,
            current: ArcSwap::from_pointee(served),
            metrics,
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// The version to serve the next request with.
    pub fn current(&self) -> Arc<Served> {
        self.current.load_full()
    }

    /// Loads the file again and swaps it in if it differs; `trigger` is named
    /// in the log. Compilation runs on a blocking thread, so requests are not
    /// held up by it.
    pub async fn reload(self: &Arc<Self>, trigger: &'static str) -> anyhow::Result<Reloaded> {
        let _one_at_a_time = self.reloading.lock().await;
        let this = self.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            load(&this.engine, &this.linker, &this.path, this.cache_dir.as_deref())
        })
        .await
        .map_err(|e| anyhow::anyhow!("the load task failed: {e}"))
        .and_then(|result| result);
        let old = self.current();
        let outcome = match loaded {
            Err(error) => {
                tracing::error!(
                    trigger,
                    component = %self.path.display(),
                    serving = %old.sha256,
                    error = %format!("{error:#}"),
                    "reload refused: the served version stays"
                );
                self.count("refused");
                return Err(error);
            }
            Ok(served) if served.sha256 == old.sha256 => Reloaded::Unchanged {
                sha256: old.sha256.clone(),
            },
            Ok(served) => {
                publish_info(&self.metrics, &self.path, Some(&old), &served);
                let to = served.sha256.clone();
                self.current.store(Arc::new(served));
                Reloaded::Swapped {
                    from: old.sha256.clone(),
                    to,
                }
            }
        };
        match &outcome {
            Reloaded::Swapped { from, to } => {
                self.count("swapped");
                tracing::info!(trigger, component = %self.path.display(), from = %from, to = %to, "component swapped");
            }
            Reloaded::Unchanged { sha256 } => {
                self.count("unchanged");
                tracing::info!(trigger, component = %self.path.display(), sha256 = %sha256, "reload: component unchanged");
            }
        }
        Ok(outcome)
    }

    fn count(&self, result: &str) {
        self.metrics.component_reloads.with_label_values(&[result]).inc();
    }

    /// Reloads on every SIGHUP, for as long as the host runs.
    pub fn reload_on_sighup(self: &Arc<Self>) -> anyhow::Result<()> {
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let this = self.clone();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let _ = this.reload("SIGHUP").await;
            }
        });
        Ok(())
    }

    /// Polls the file every `interval` and reloads when its size or
    /// modification time changed and then held still for one more interval
    /// (a file being copied in is not loaded half-written).
    pub fn reload_on_change(self: &Arc<Self>, interval: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut served = stamp(&this.path);
            let mut seen = served;
            loop {
                tokio::time::sleep(interval).await;
                let now = stamp(&this.path);
                if now != seen {
                    seen = now;
                    continue;
                }
                if now != served && now.is_some() {
                    served = now;
                    let _ = this.reload("file changed").await;
                }
            }
        });
    }
}

/// What the watcher compares: the file's length and modification time.
fn stamp(path: &std::path::Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Loads (or compiles) `path`, links it and checks it exports the handler.
fn load(
    engine: &Engine,
    linker: &Linker<HostState>,
    path: &std::path::Path,
    cache_dir: Option<&std::path::Path>,
) -> anyhow::Result<Served> {
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
        .context("the component imports something this host does not provide (only wasi:* 0.2 is linked)")?;
    let pre = ProxyPre::new(pre)
        .map_err(anyhow::Error::from)
        .context("the component does not export wasi:http/incoming-handler@0.2.x")?;
    Ok(Served {
        pre,
        sha256: loaded.sha256.as_str().into(),
        loaded_from: loaded.loaded_from(),
        load_time: loaded.load_time,
    })
}

/// `wasm_component_info` names the served version only, and
/// `wasm_component_load_seconds` its load time.
fn publish_info(metrics: &Metrics, path: &std::path::Path, old: Option<&Served>, new: &Served) {
    let path = path.display().to_string();
    if let Some(old) = old {
        let _ =
            metrics
                .component_info
                .remove_label_values(&[path.as_str(), &*old.sha256, old.loaded_from, WASI_VERSION]);
    }
    metrics
        .component_info
        .with_label_values(&[path.as_str(), &*new.sha256, new.loaded_from, WASI_VERSION])
        .set(1);
    metrics.component_load.set(new.load_time.as_secs_f64());
}

/// The `wasi:http` version of the handler this host links.
const WASI_VERSION: &str = "0.2";
