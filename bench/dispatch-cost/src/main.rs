//! What handing one request to a component costs on the host's engine, with
//! no HTTP, no sockets and no host features around it: the floor under every
//! figure of `make bench`. Each component is driven through wasmtime's own
//! dispatcher (`wasmtime_wasi_http::handler::ProxyHandler`, what `wasmtime
//! serve` runs) in two modes, in alternating rounds:
//!
//! - **fresh**: one instance per request, as the host serves (every request
//!   gets a store of its own: its request id, CPU meter, outbound caps and
//!   memory cap; `docs/isolation.md`);
//! - **reused**: one instance serves up to `--reuse` requests, as `wasmtime
//!   serve` reuses WASI 0.3 instances.
//!
//! The ratio reused/fresh per round is what instance reuse could buy at most:
//! the host does more per request than this loop does, so the share of its
//! cost that instantiation is can only be smaller.

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use doc_proxy_host::app::engine::{load_component, new_engine, CodeTarget, Tuning};
use http_body_util::{BodyExt, Empty};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, GuestTaskId, Linker, ResourceTable, ResourceType};
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

#[derive(Parser)]
#[command(about = "Per-request dispatch cost on the host's engine: a fresh instance per request beside a reused one")]
struct Args {
    /// Components to measure, each `path` or `path@/request/path?query`
    /// (default request path `/`).
    #[arg(required = true)]
    components: Vec<String>,
    /// Requests per mode per round.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds, alternating fresh and reused.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Requests one instance serves in the reused mode.
    #[arg(long, default_value_t = 1_000)]
    reuse: usize,
    /// The compile cache (the tests' by default, so nothing is compiled twice).
    #[arg(long, default_value = "target/tmp/doc-proxy-test-cache")]
    cache_dir: PathBuf,
}

/// One store's data: WASI and WASI HTTP, nothing of the host's factors.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

fn http_view(state: &mut State) -> WasiHttpCtxView<'_> {
    state.http()
}

/// Makes instances for one component: `reuse` requests each.
struct Dispatch {
    engine: Engine,
    pre: ProxyPre<State>,
    reuse: usize,
    errors: Arc<AtomicUsize>,
}

impl HandlerState for Dispatch {
    type StoreData = State;
    type WorkerExpiration = IdleExpiry;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<State, IdleExpiry, Worker>> {
        let mut store = Store::new(
            &self.engine,
            State {
                wasi: WasiCtx::builder().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
            },
        );
        // The host's engine interrupts on epochs; this loop sets no deadline.
        store.epoch_deadline_async_yield_and_update(u64::MAX / 2);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy,
            view: http_view,
            expiration: IdleExpiry::default(),
            state: Worker {
                reuse: self.reuse,
                errors: self.errors.clone(),
            },
        })
    }
}

struct Worker {
    reuse: usize,
    /// Instances that ended in an error (a trap, a panic), reported per round.
    errors: Arc<AtomicUsize>,
}

impl WorkerState for Worker {
    type StoreData = State;
    type RequestData = ();

    fn should_accept_request(&self, _concurrent: usize, total: usize) -> ShouldAccept {
        if total < self.reuse {
            ShouldAccept::Yes
        } else {
            ShouldAccept::Never
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, State>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        // No request expires here: the loop measures, the host times out.
        Box::pin(std::future::pending())
    }

    fn drop(&self, _store: Store<State>, result: wasmtime::Result<()>) {
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Ends an instance that has been idle for [`IDLE`]; never one at work.
#[derive(Default)]
struct IdleExpiry {
    timer: Option<(Instant, Pin<Box<tokio::time::Sleep>>)>,
}

const IDLE: Duration = Duration::from_millis(100);

impl WorkerExpiration for IdleExpiry {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>, status: WorkerStatus, start: Instant) -> Poll<()> {
        let this = self.get_mut();
        if status != WorkerStatus::Idle {
            this.timer = None;
            return Poll::Pending;
        }
        if this.timer.as_ref().is_none_or(|(since, _)| *since != start) {
            let deadline = tokio::time::Instant::from_std(start + IDLE);
            this.timer = Some((start, Box::pin(tokio::time::sleep_until(deadline))));
        }
        let (_, sleep) = this.timer.as_mut().expect("set above");
        sleep.as_mut().poll(cx)
    }
}

/// `linker` with every Spin interface `component` imports (variables,
/// key-value…: imported, never called on the measured paths) defined as
/// functions that trap. Whole instances only: wasmtime's
/// `define_unknown_imports_as_traps` would also give `wasi:http`'s type
/// aliases resource types of their own, which then fail to match.
fn with_spin_stubs(engine: &Engine, linker: &Linker<State>, component: &Component) -> anyhow::Result<Linker<State>> {
    let mut linker = linker.clone();
    let mut resources = 0u32;
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if name.starts_with("wasi:") {
            continue;
        }
        let mut defining = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::Resource(_) => {
                    resources += 1;
                    defining.resource(export, ResourceType::host_dynamic(resources), |_, _| Ok(()))?;
                }
                ComponentItem::ComponentFunc(func) => {
                    let called = format!("{name}#{export}");
                    let refused = move || wasmtime::format_err!("{called} is not served by this benchmark");
                    if func.async_() {
                        defining.func_new_concurrent(export, move |_, _, _, _| {
                            let error = refused();
                            Box::pin(async move { Err(error) })
                        })?;
                    } else {
                        defining.func_new(export, move |_, _, _, _| Err(refused()))?;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(linker)
}

/// CPU time this process has used (user and system, all threads).
fn process_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One mode's figures for a round.
struct Round {
    per_second: f64,
    cpu_us: f64,
}

async fn drive(
    handler: &ProxyHandler<Dispatch>,
    uri: &str,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Round> {
    let cpu = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..concurrency {
        let handler = handler.clone();
        let uri = uri.to_owned();
        let count = requests / concurrency + usize::from(lane < requests % concurrency);
        tasks.push(tokio::spawn(async move {
            for _ in 0..count {
                let request = http::Request::get(&uri)
                    .header("host", "localhost")
                    .body(Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync())?;
                let response = handler.handle((), request).await?;
                anyhow::ensure!(response.status().is_success(), "status {}", response.status());
                response.into_body().collect().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let wall = started.elapsed();
    let cpu = process_cpu() - cpu;
    Ok(Round {
        per_second: requests as f64 / wall.as_secs_f64(),
        cpu_us: cpu.as_secs_f64() * 1e6 / requests as f64,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let slots = u32::try_from(args.concurrency * 4).unwrap_or(u32::MAX);
    let engine = new_engine(slots, 64 << 20, Tuning::default(), CodeTarget::Native)?;
    doc_proxy_host::app::engine::start_epoch_ticker(&engine);
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;

    println!("component\twasi\tround\tfresh req/s\treused req/s\treq/s ratio\tfresh CPU µs/req\treused CPU µs/req\tCPU ratio");
    for spec in &args.components {
        let (path, uri_path) = spec.split_once('@').unwrap_or((spec, "/"));
        let loaded =
            load_component(&engine, path.as_ref(), Some(&args.cache_dir)).with_context(|| format!("loading {path}"))?;
        let pre = with_spin_stubs(&engine, &linker, &loaded.component)?.instantiate_pre(&loaded.component)?;
        let (pre, wasi) = match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
            Ok(p3) => (ProxyPre::P3(p3), "0.3"),
            Err(_) => (
                ProxyPre::P2(wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre)?),
                "0.2",
            ),
        };
        let pre = Arc::new(pre);
        let errors = Arc::new(AtomicUsize::new(0));
        let handler_for = |reuse: usize| {
            ProxyHandler::new(Dispatch {
                engine: engine.clone(),
                pre: match &*pre {
                    ProxyPre::P2(p) => ProxyPre::P2(p.clone()),
                    ProxyPre::P3(p) => ProxyPre::P3(p.clone()),
                },
                reuse,
                errors: errors.clone(),
            })
        };
        let (fresh, reused) = (handler_for(1), handler_for(args.reuse));
        let uri = format!("http://localhost{uri_path}");
        let name = std::path::Path::new(path)
            .file_name()
            .map_or(path.into(), |n| n.to_string_lossy());
        // Warm both (code pages, pool slots) before the first round.
        drive(&fresh, &uri, 1_000, args.concurrency).await?;
        drive(&reused, &uri, 1_000, args.concurrency).await?;
        errors.store(0, Ordering::Relaxed);
        for round in 1..=args.rounds {
            let a = drive(&fresh, &uri, args.requests, args.concurrency).await?;
            let b = drive(&reused, &uri, args.requests, args.concurrency).await?;
            // Every request was answered (drive checks); an instance that
            // failed while idle would still be a flaw worth seeing.
            let failed = errors.swap(0, Ordering::Relaxed);
            anyhow::ensure!(failed == 0, "{failed} instances ended in an error in round {round}");
            println!(
                "{name}\t{wasi}\t{round}\t{:.0}\t{:.0}\t{:.2}x\t{:.1}\t{:.1}\t{:.2}x",
                a.per_second,
                b.per_second,
                b.per_second / a.per_second,
                a.cpu_us,
                b.cpu_us,
                b.cpu_us / a.cpu_us,
            );
        }
    }
    Ok(())
}
