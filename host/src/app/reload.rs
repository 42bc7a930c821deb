//! Live swaps. The app being served (routes, components, their settings)
//! sits behind an atomic pointer; a reload reads the manifest again, loads and
//! compiles every component in the background, links and pre-instantiates
//! them, checks each changed component (`app::verify`: it instantiates, and
//! answers its probe if the manifest names one), and only then swaps the
//! pointer. Requests that started on the old version finish on it (each
//! holds its own `Arc`); the old code is freed when the last of them ends. A
//! manifest that does not parse, or a component that does not load, exports
//! neither `wasi:http/incoming-handler` (0.2) nor `wasi:http/handler` (0.3),
//! imports what the host does not provide, or fails its check, is refused:
//! the old version keeps serving and readiness does not change.
//!
//! A swapped-in version is then watched: if the first
//! `--rollback-after-failures` requests to a changed component all fail
//! (trap, run out of CPU or time, answer nothing), the host puts the version
//! before back by itself, logs it with the reload's id and counts it
//! (`rolled_back`). A component that instantiates fine but traps on every
//! call so serves a handful of 500s, not an outage.
//!
//! What a reload removes from the app leaves with it: each factor retires
//! the removed component's state (`app::factors`), metric series included.
//!
//! Triggers: SIGHUP, `POST /admin/reload` on the control listener, and with
//! `--watch-interval`, a change of the manifest's or a component's size or
//! modification time.
//!
//! Every trigger goes to one worker task, which owns the only build: reloads
//! never run side by side, whoever gave up waiting. Triggers that arrive
//! while a build runs are answered together by the next build (the files may
//! have changed after the running one read them), and each is answered even
//! if its caller has gone: the outcome is logged and counted either way.

use crate::app::factors::Factors;
use crate::app::source::AppSource;
use crate::app::state::HostState;
use crate::app::{self, App, Component, HostWide};
use crate::ops::metrics::Metrics;
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wasmtime::component::Linker;
use wasmtime::Engine;

/// A reload that did not swap: the served version stays. The reason is in
/// the log line `reload refused` with this `reload_id`, not in the answer: it
/// may name files and settings the caller has no business seeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reload_id: u64,
}

type Outcome = Result<Reloaded, Refused>;

/// A trigger waiting for its reload's outcome.
struct Trigger {
    name: &'static str,
    outcome: tokio::sync::oneshot::Sender<Outcome>,
}

/// What a reload changed, per component of the new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// A new version serves from now on.
    pub swapped: bool,
    pub components: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: Arc<str>,
    /// The digest the component had before, if it existed.
    pub from: Option<Arc<str>>,
    pub sha256: Arc<str>,
}

/// How a reload checks and watches a new version.
#[derive(Debug, Clone, Copy)]
pub struct Safeguards {
    /// Time a changed component has to instantiate and answer its probe.
    pub check_timeout: Duration,
    /// Failures of a changed component's first requests that roll the app
    /// back; 0 turns roll-back off.
    pub rollback_after_failures: u32,
}

/// A version just swapped in, watched until each changed component has
/// answered a request (or the watch is replaced by the next reload).
struct Watch {
    reload_id: u64,
    /// The version it replaced, put back on a roll-back.
    previous: Arc<App>,
    /// The version watched.
    watched: Arc<App>,
    /// Per changed component: its failures so far, or `None` once it has
    /// answered a request.
    changed: Mutex<HashMap<Arc<str>, Option<u32>>>,
}

/// Owns the served app and everything needed to build another.
pub struct Reloader {
    engine: Engine,
    linker: Linker<HostState>,
    source: AppSource,
    wide: HostWide,
    cache_dir: Option<PathBuf>,
    current: ArcSwap<App>,
    safeguards: Safeguards,
    watch: ArcSwapOption<Watch>,
    metrics: Metrics,
    /// To the worker task that runs every reload, one at a time.
    triggers: tokio::sync::mpsc::UnboundedSender<Trigger>,
    /// Numbers reloads, for the log line a refusal points at.
    reloads: std::sync::atomic::AtomicU64,
}

impl Reloader {
    /// Builds the app for the first time (an error here stops the host) and
    /// starts the reload worker.
    pub async fn start(
        engine: Engine,
        linker: Linker<HostState>,
        source: AppSource,
        wide: HostWide,
        cache_dir: Option<PathBuf>,
        safeguards: Safeguards,
    ) -> anyhow::Result<Arc<Reloader>> {
        // On a blocking thread, as every build: compiling takes seconds and
        // a source by URL is fetched.
        let (engine, linker, source, wide, cache_dir, app) = tokio::task::spawn_blocking(move || {
            let app = source
                .spec(cache_dir.as_deref())
                .and_then(|spec| app::build(&engine, &linker, spec, &wide, cache_dir.as_deref(), None));
            (engine, linker, source, wide, cache_dir, app)
        })
        .await
        .map_err(|e| anyhow::anyhow!("the load task failed: {e}"))?;
        let app = app?;
        let metrics = wide.metrics.clone();
        publish_info(&metrics, None, &app);
        let (triggers, pending) = tokio::sync::mpsc::unbounded_channel();
        let reloader = Arc::new(Reloader {
            engine,
            linker,
            source,
            wide,
            cache_dir,
            current: ArcSwap::from_pointee(app),
            safeguards,
            watch: ArcSwapOption::empty(),
            metrics,
            triggers,
            reloads: std::sync::atomic::AtomicU64::new(0),
        });
        tokio::spawn(reloader.clone().work(pending));
        Ok(reloader)
    }

    /// The worker: one build at a time; every trigger that waited during a
    /// build shares the next one.
    async fn work(self: Arc<Self>, mut pending: tokio::sync::mpsc::UnboundedReceiver<Trigger>) {
        while let Some(first) = pending.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = pending.try_recv() {
                batch.push(more);
            }
            let mut names: Vec<&str> = batch.iter().map(|t| t.name).collect();
            names.dedup();
            let outcome = self.rebuild(&names.join(","), batch.len()).await;
            for trigger in batch {
                // A caller that went away misses only the answer.
                let _ = trigger.outcome.send(outcome.clone());
            }
        }
    }

    /// The version to serve the next request with.
    pub fn current(&self) -> Arc<App> {
        self.current.load_full()
    }

    /// What every component's store is prepared from.
    pub fn factors(&self) -> &Factors {
        &self.wide.factors
    }

    /// Tells the watch of the latest reload how a request to `component`
    /// ended: answered (`ok`) or failed. Cheap when nothing is watched.
    pub fn observe(&self, component: &Arc<Component>, ok: bool) {
        let Some(watch) = self.watch.load_full() else {
            return;
        };
        let watched = watch
            .watched
            .component(&component.id)
            .is_some_and(|c| Arc::ptr_eq(c, component));
        if !watched {
            return;
        }
        let limit = self.safeguards.rollback_after_failures;
        let roll_back = {
            let mut changed = watch.changed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some(failures) = changed.get_mut(&component.id) else {
                return;
            };
            match (failures.as_mut(), ok) {
                // Already answered once: no longer watched.
                (None, _) => false,
                (Some(_), true) => {
                    *failures = None;
                    if changed.values().all(Option::is_none) {
                        self.end_watch(&watch);
                    }
                    false
                }
                (Some(count), false) => {
                    *count += 1;
                    limit > 0 && *count >= limit
                }
            }
        };
        if roll_back {
            self.roll_back(&watch, &component.id);
        }
    }

    fn end_watch(&self, watch: &Arc<Watch>) {
        let current = self.watch.load();
        if current.as_ref().is_some_and(|w| Arc::ptr_eq(w, watch)) {
            self.watch.store(None);
        }
    }

    /// Puts the version before `watch`'s reload back, unless another
    /// version has replaced the watched one since.
    fn roll_back(&self, watch: &Arc<Watch>, failing: &str) {
        let swapped = self.current.compare_and_swap(&watch.watched, watch.previous.clone());
        if !Arc::ptr_eq(&swapped, &watch.watched) {
            return;
        }
        self.end_watch(watch);
        for component in &watch.watched.components {
            component.idle.clear();
        }
        for component in &watch.previous.components {
            component.states.limits.reapply();
        }
        publish_info(&self.metrics, Some(&watch.watched), &watch.previous);
        self.count("rolled_back");
        tracing::error!(
            reload_id = watch.reload_id,
            component = failing,
            failures = self.safeguards.rollback_after_failures,
            from = %digests(&watch.watched),
            to = %digests(&watch.previous),
            "reload rolled back: the new version failed its first requests, the version before serves again"
        );
    }

    /// Asks for a reload and waits for its outcome; `trigger` is named in the
    /// log. Dropping the future does not stop the reload.
    pub async fn reload(&self, trigger: &'static str) -> Outcome {
        let (outcome, answer) = tokio::sync::oneshot::channel();
        let trigger = Trigger { name: trigger, outcome };
        if self.triggers.send(trigger).is_err() {
            // The worker is gone only when the runtime is shutting down.
            return Err(Refused { reload_id: 0 });
        }
        answer.await.unwrap_or(Err(Refused { reload_id: 0 }))
    }

    /// Builds the app again and swaps it in if anything differs.
    /// Compilation runs on a blocking thread, so requests are not held up.
    /// `waiting` is how many triggers this build answers.
    async fn rebuild(self: &Arc<Self>, trigger: &str, waiting: usize) -> Outcome {
        let reload_id = self.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let this = self.clone();
        let built = tokio::task::spawn_blocking(move || {
            let spec = this.source.spec(this.cache_dir.as_deref())?;
            let serving = this.current();
            app::build(
                &this.engine,
                &this.linker,
                spec,
                &this.wide,
                this.cache_dir.as_deref(),
                Some(&serving),
            )
        })
        .await
        .map_err(|e| anyhow::anyhow!("the load task failed: {e}"))
        .and_then(|result| result);
        let old = self.current();
        let built = match built {
            Ok(new) => self.check_changed(&old, new, reload_id).await,
            Err(error) => Err(error),
        };
        let new = match built {
            Ok(new) => new,
            Err(error) => {
                // Building resized shared state (shares, lanes) for the
                // refused version: the served one's sizes come back.
                for component in &old.components {
                    component.states.limits.reapply();
                }
                tracing::error!(
                    trigger,
                    reload_id,
                    waiting,
                    serving = %digests(&old),
                    error = %format!("{error:#}"),
                    "reload refused: the served version stays"
                );
                self.count("refused");
                return Err(Refused { reload_id });
            }
        };
        let components: Vec<Change> = new
            .components
            .iter()
            .map(|c| Change {
                id: c.id.clone(),
                from: old
                    .components
                    .iter()
                    .find(|o| o.id == c.id)
                    .map(|o| o.code.sha256.clone()),
                sha256: c.code.sha256.clone(),
            })
            .collect();
        let same_code =
            old.components.len() == components.len() && components.iter().all(|c| c.from.as_ref() == Some(&c.sha256));
        let swapped = !(same_code && new.spec == old.spec);
        if swapped {
            publish_info(&self.metrics, Some(&old), &new);
            tracing::info!(trigger, reload_id, waiting, from = %digests(&old), to = %digests(&new), "app swapped");
            let new = Arc::new(new);
            let changed: HashMap<Arc<str>, Option<u32>> = components
                .iter()
                .filter(|c| {
                    c.from.as_ref() != Some(&c.sha256)
                        || old.component(&c.id).map(|o| &o.spec) != new.component(&c.id).map(|n| &n.spec)
                })
                .map(|c| (c.id.clone(), Some(0)))
                .collect();
            self.watch.store((!changed.is_empty()).then(|| {
                Arc::new(Watch {
                    reload_id,
                    previous: old.clone(),
                    watched: new.clone(),
                    changed: Mutex::new(changed),
                })
            }));
            self.current.store(new.clone());
            for component in &old.components {
                component.idle.clear();
            }
            for gone in old.components.iter().filter(|o| new.component(&o.id).is_none()) {
                self.wide.factors.retire(&gone.id, &gone.states);
            }
            self.count("swapped");
        } else {
            tracing::info!(trigger, reload_id, waiting, serving = %digests(&old), "reload: nothing changed");
            self.count("unchanged");
        }
        Ok(Reloaded { swapped, components })
    }

    /// Checks every component of `new` that is new or changed against
    /// `old` (`app::verify`), one after the other.
    async fn check_changed(&self, old: &App, new: App, reload_id: u64) -> anyhow::Result<App> {
        for component in &new.components {
            let unchanged = old
                .component(&component.id)
                .is_some_and(|o| o.code.sha256 == component.code.sha256 && o.spec == component.spec);
            if !unchanged {
                crate::app::verify::check(component, &self.wide.factors, self.safeguards.check_timeout, reload_id)
                    .await?;
            }
        }
        Ok(new)
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

    /// Polls the manifest and the component files every `interval` and
    /// reloads when one's size or modification time changed and then held
    /// still for one more interval (a file being copied in is not loaded
    /// half-written).
    pub fn reload_on_change(self: &Arc<Self>, interval: Duration) {
        // Taken now, before the host reports ready: a file replaced right
        // after that is a change, not the version served.
        let mut served = self.stamps();
        let mut seen = served.clone();
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let now = this.stamps();
                if now != seen {
                    seen = now;
                    continue;
                }
                if now != served && now.iter().all(Option::is_some) {
                    let _ = this.reload("file changed").await;
                    // Whether refused or not, this state has been tried; the
                    // files of the version now served are watched from here.
                    served = this.stamps();
                    seen = served.clone();
                }
            }
        });
    }

    /// The watched files' stamps: the manifest's, then each component's.
    fn stamps(&self) -> Vec<Option<(u64, SystemTime)>> {
        let manifest = self.source.manifest_path();
        let app = self.current();
        manifest
            .into_iter()
            .chain(app.components.iter().map(|c| c.source.as_path()))
            .map(stamp)
            .collect()
    }
}

/// What the watcher compares: a file's length and modification time.
fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// `id=sha256` of every component, for logs.
pub fn digests(app: &App) -> String {
    app.components
        .iter()
        .map(|c| format!("{}={}", c.id, c.code.sha256))
        .collect::<Vec<_>>()
        .join(",")
}

/// `wasm_component_info` names the served versions only, and
/// `wasm_component_load_seconds` the slowest load of the served version.
fn publish_info(metrics: &Metrics, old: Option<&App>, new: &App) {
    for component in old.iter().flat_map(|app| app.components.iter()) {
        let _ = metrics.component_info.remove_label_values(&[
            &*component.id,
            &component.source.display().to_string(),
            &*component.code.sha256,
            component.code.loaded_from,
            component.code.handler.wasi_version(),
        ]);
    }
    for component in &new.components {
        metrics
            .component_info
            .with_label_values(&[
                &*component.id,
                &component.source.display().to_string(),
                &*component.code.sha256,
                component.code.loaded_from,
                component.code.handler.wasi_version(),
            ])
            .set(1);
    }
    let slowest = new
        .components
        .iter()
        .map(|c| c.code.load_time)
        .max()
        .unwrap_or_default();
    metrics.component_load.set(slowest.as_secs_f64());
}
