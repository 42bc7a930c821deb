//! doc-proxy-host: serves `wasi:http` components (WASI 0.2 and 0.3), the app
//! of a Spin manifest or one component on every path.
//!
//! Start-up, in order: build the engine, link WASI, read the manifest, load
//! (or compile and cache) each component, pre-instantiate, bind both
//! listeners, report ready.
//! Then serve until SIGTERM/SIGINT: readiness off, keep serving for the
//! shutdown delay, stop accepting, drain. Meanwhile the component can be
//! swapped live (`reload.rs`).
//!
//! `compile` and `probe` are helpers for container images (see `cli.rs`).

mod admin;
mod allowed_hosts;
mod app;
mod breaker;
mod cgroup_path;
mod cli;
mod compile_cache;
mod control;
mod engine;
mod guest_log;
mod invoke;
mod listener;
mod logging;
mod manifest;
mod memory;
mod metrics;
mod outbound;
mod probe;
mod problem;
mod proxy;
mod reload;
mod request_id;
mod retry_budget;
mod router;
mod server_timing;
mod shares;
mod shutdown;
mod spin_variables;
mod state;
mod trace;
mod unprovided;
mod verdict;
mod write_timeout;

use allowed_hosts::AllowedHost;
use anyhow::Context as _;
use clap::Parser;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use wasmtime::component::Linker;

// musl's allocator serialises threads on one lock; the static image would pay
// for it on every request. mimalloc is used in every build so the image and the
// regular release build behave alike (`make bench-image` compares them).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if let Err(e) = logging::init(&args.log_filter(), args.log_queue_lines as usize) {
        eprintln!("doc-proxy-host: invalid --log-level: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match args.command.clone() {
        None => runtime.block_on(run(args)),
        Some(cli::Command::Compile { input, output }) => compile(&args, &input, &output),
        Some(cli::Command::Probe { url, timeout }) => match runtime.block_on(probe::probe(&url, timeout)) {
            Ok(status) if status.is_success() => Ok(()),
            Ok(status) => Err(anyhow::anyhow!("{url} answered {status}")),
            Err(e) => Err(e),
        },
    };
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "exiting");
            ExitCode::FAILURE
        }
    };
    logging::flush(Duration::from_secs(2));
    code
}

/// `doc-proxy-host compile`: the same engine as `serve`, so what it writes loads.
fn compile(args: &cli::Args, input: &std::path::Path, output: &std::path::Path) -> anyhow::Result<()> {
    let plan = memory_plan(args)?;
    let engine = engine::new_engine(
        plan.concurrency,
        plan.per_instance,
        engine::Tuning::default(),
        engine::CodeTarget::Portable,
    )?;
    let started = std::time::Instant::now();
    engine::compile_to_file(&engine, input, output)?;
    tracing::info!(
        input = %input.display(),
        output = %output.display(),
        compile_ms = started.elapsed().as_secs_f64() * 1e3,
        "component precompiled"
    );
    Ok(())
}

async fn run(args: cli::Args) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal()?;
    let metrics = metrics::Metrics::new();

    let plan = memory_plan(&args)?;
    if args.request_body_buffer_bytes < args.max_request_body_bytes {
        anyhow::bail!(
            "--request-body-buffer-bytes ({}) cannot hold one body of --max-request-body-bytes ({}): raise it",
            memory::show(args.request_body_buffer_bytes),
            memory::show(args.max_request_body_bytes)
        );
    }
    let self_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let container_limit = memory::cgroup_limit(&args.cgroup_root, &self_cgroup);
    memory::check_fits(&plan, container_limit).map_err(anyhow::Error::msg)?;
    tracing::info!(
        concurrency = plan.concurrency,
        instance_memory = %memory::show(plan.per_instance),
        guest_worst_case = %memory::show(plan.guest_worst_case()),
        host_overhead = %memory::show(plan.host_overhead),
        body_buffer = %memory::show(plan.body_buffer),
        pool_resident = %memory::show(plan.pool_resident()),
        socket_buffers = %memory::show(plan.socket_buffers),
        worst_case = %memory::show(plan.worst_case()),
        container_limit = %container_limit.map_or_else(|| "none".to_string(), memory::show),
        "memory plan"
    );
    let engine = engine::new_engine(
        plan.concurrency,
        plan.per_instance,
        engine::Tuning {
            keep_resident: plan.keep_resident,
            perfmap: args.perfmap,
        },
        engine::CodeTarget::Native,
    )?;
    engine::start_epoch_ticker(&engine);
    let mut linker = Linker::new(&engine);
    state::add_to_linker(&mut linker)?;
    metrics.instances_max.set(i64::from(plan.concurrency));

    let outbound = Arc::new(outbound::Outbound::new(
        outbound::Timeouts {
            connect: args.outbound_connect_timeout,
            first_byte: args.outbound_first_byte_timeout,
            between_bytes: args.outbound_between_bytes_timeout,
        },
        outbound::PoolSettings {
            max_idle_per_host: args.outbound_max_idle_per_host,
            read_buffer_bytes: args.outbound_read_buffer_bytes as usize,
        },
        outbound::Protection {
            breaker: breaker::BreakerSettings {
                failures: args.breaker_failures,
                open_for: args.breaker_open_for,
            },
            retry_budget: retry_budget::BudgetSettings {
                ratio: args.retry_budget_ratio,
                min_per_second: args.retry_budget_min_per_second,
                window: args.retry_budget_window,
            },
        },
        metrics.clone(),
    ));
    tracing::info!(
        entries = args.verdict_cache_entries,
        "verdict cache (per opted-in component)"
    );

    let misplaced = args.component_flags_with_manifest();
    if !misplaced.is_empty() {
        anyhow::bail!(
            "{} configure --component's one component; with --manifest, the manifest configures every \
             component (allowed_outbound_hosts, environment, variables; per-environment values as \
             SPIN_VARIABLE_<NAME>)",
            misplaced.join(", ")
        );
    }
    let wide = app::HostWide {
        outbound,
        verdict_cache_entries: std::num::NonZeroUsize::new(args.verdict_cache_entries as usize),
        metrics: metrics.clone(),
        shares: shares::Shares::default(),
        server_timing: server_timing::Recorders::new(metrics.clone()),
        instance_memory_bytes: plan.per_instance,
        concurrency: plan.concurrency,
        guest_log_budget: args.guest_log_limit_bytes,
        guest_log_min_rank: args.guest_log_level.rank(),
    };
    let source = match &args.manifest {
        Some(path) => reload::AppSource::Manifest(path.clone()),
        None => reload::AppSource::Flags(one_component_app(&args)?),
    };
    let app = reload::Reloader::start(engine, linker, source, wide, args.cache_dir(), metrics.clone())?;
    app.reload_on_sighup()?;
    if !args.watch_interval.is_zero() {
        app.reload_on_change(args.watch_interval);
    }

    let draining = Arc::new(AtomicBool::new(false));
    let proxy = Arc::new(proxy::Proxy {
        app: app.clone(),
        metrics: metrics.clone(),
        permits: Arc::new(tokio::sync::Semaphore::new(plan.concurrency as usize)),
        request_timeout: args.request_timeout,
        max_body_bytes: args.max_request_body_bytes,
        body_timeout: args.request_body_timeout,
        body_buffer: Arc::new(tokio::sync::Semaphore::new(
            proxy::body_buffer_permits(args.request_body_buffer_bytes) as usize,
        )),
        expose_server_timing: args.expose_server_timing,
        draining: draining.clone(),
    });
    let ready = Arc::new(AtomicBool::new(false));
    let connection_metrics = listener::ConnectionMetrics {
        errors: metrics.connection_errors.clone(),
        open: metrics.connections_open.clone(),
        refused: metrics.connections_refused.clone(),
    };
    let admin = Arc::new(admin::Admin {
        metrics,
        ready: ready.clone(),
    });
    let control = Arc::new(control::Control { app });

    let public_listener = TcpListener::bind(args.listen_addr)
        .await
        .with_context(|| format!("binding {}", args.listen_addr))?;
    let admin_listener = TcpListener::bind(args.admin_addr)
        .await
        .with_context(|| format!("binding {}", args.admin_addr))?;
    control::check_loopback(args.control_addr).map_err(anyhow::Error::msg)?;
    let control_listener = TcpListener::bind(args.control_addr)
        .await
        .with_context(|| format!("binding {}", args.control_addr))?;
    let (public_addr, admin_addr, control_addr) = (
        public_listener.local_addr()?,
        admin_listener.local_addr()?,
        control_listener.local_addr()?,
    );

    let limits = listener::ConnectionLimits {
        max_header_bytes: args.max_request_header_bytes as usize,
        header_read_timeout: args.header_read_timeout,
        max_connections: args.max_connections as usize,
        write_timeout: args.client_write_timeout,
        send_buffer_bytes: args.client_send_buffer_bytes as usize,
    };
    let internal_limits = listener::ConnectionLimits {
        max_connections: INTERNAL_MAX_CONNECTIONS,
        ..limits
    };
    // The public listener stops accepting only after the shutdown delay; the
    // admin listener outlives it, so probes see /readyz fail throughout.
    let (public_stop, public_stopped) = tokio::sync::watch::channel(false);
    let public = tokio::spawn(listener::serve(
        "public",
        public_listener,
        limits,
        public_stopped,
        args.drain_timeout,
        connection_metrics.clone(),
        move |req| proxy.clone().handle(req),
    ));
    let (admin_stop, admin_stopped) = tokio::sync::watch::channel(false);
    let admin_task = tokio::spawn(listener::serve(
        "admin",
        admin_listener,
        internal_limits,
        admin_stopped.clone(),
        args.drain_timeout,
        connection_metrics.clone(),
        move |req| admin.clone().handle(req),
    ));
    let control_task = tokio::spawn(listener::serve(
        "control",
        control_listener,
        internal_limits,
        admin_stopped,
        args.drain_timeout,
        connection_metrics,
        move |req| control.clone().handle(req),
    ));
    ready.store(true, Ordering::Release);
    // Logged only once /readyz says ready: tests and scripts start on this line.
    tracing::info!(public = %public_addr, admin = %admin_addr, control = %control_addr, "listening");

    listener::stopped(&mut shutdown.clone()).await;
    ready.store(false, Ordering::Release);
    draining.store(true, Ordering::Release);
    if !args.shutdown_delay.is_zero() {
        tracing::info!(
            delay_ms = args.shutdown_delay.as_millis() as u64,
            "still serving while load balancers take this pod out"
        );
        tokio::time::sleep(args.shutdown_delay).await;
    }
    let _ = public_stop.send(true);
    let _ = public.await;
    let _ = admin_stop.send(true);
    let _ = admin_task.await;
    let _ = control_task.await;
    tracing::info!("stopped");
    Ok(())
}

/// Open connections at most on each of the admin and control listeners:
/// probes, scrapers and an operator, not clients.
const INTERNAL_MAX_CONNECTIONS: usize = 16;

/// Concurrency and per-instance memory from the memory flags (`memory.rs`).
fn memory_plan(args: &cli::Args) -> anyhow::Result<memory::MemoryPlan> {
    memory::plan(
        args.max_concurrent_requests,
        args.max_instance_memory_bytes,
        args.guest_memory_budget,
        args.host_memory_overhead,
    )
    .map(|plan| {
        plan.with_body_buffer(args.request_body_buffer_bytes)
            .with_pool_resident(args.pool_keep_resident)
            .with_client_sockets(
                u64::from(args.max_connections) + 2 * INTERNAL_MAX_CONNECTIONS as u64,
                args.client_send_buffer_bytes,
            )
    })
    .map_err(anyhow::Error::msg)
}

/// `--component`'s app: the component on every path, as `spin.toml`'s
/// `route = "/..."` does, configured by the flags as a manifest would
/// configure it; its id is the file's name, as a Spin id.
fn one_component_app(args: &cli::Args) -> anyhow::Result<manifest::AppSpec> {
    let path = &args.component;
    let id: String = path
        .file_stem()
        .map_or_else(|| "component".into(), |s| s.to_string_lossy().into_owned())
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    Ok(manifest::AppSpec {
        name: id.clone(),
        components: vec![manifest::ComponentSpec {
            id: id.clone(),
            source: path.to_path_buf(),
            allowed_outbound_hosts: allowed_outbound(args)?,
            environment: args.guest_env(),
            variables: args.guest_variables().map_err(anyhow::Error::msg)?,
            max_concurrent_requests: None,
            // The operator chose to serve this component alone.
            verdict_cache: true,
        }],
        routes: vec![("/...".to_string(), id)],
        warnings: Vec::new(),
    })
}

/// `--component`'s allow-list: the upstream's authority and every
/// `--allow-outbound`.
fn allowed_outbound(args: &cli::Args) -> anyhow::Result<Vec<AllowedHost>> {
    let mut allowed = Vec::new();
    if let Some(url) = &args.upstream_url {
        allowed.push(destination_of(url).context("UPSTREAM_URL")?);
    }
    for entry in &args.allow_outbound {
        let url = if entry.contains("://") {
            entry.clone()
        } else {
            format!("http://{entry}")
        };
        allowed.push(destination_of(&url).with_context(|| format!("--allow-outbound {entry}"))?);
    }
    allowed
        .iter()
        .map(|authority| AllowedHost::authority(authority).map_err(anyhow::Error::msg))
        .collect()
}

/// The `host:port` an http(s) URL points at.
fn destination_of(url: &str) -> anyhow::Result<String> {
    let uri: http::Uri = url.parse().map_err(|e| anyhow::anyhow!("{url:?} is not a URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .filter(|s| matches!(*s, "http" | "https"))
        .ok_or_else(|| anyhow::anyhow!("{url:?}: the scheme must be http or https"))?;
    let authority = uri
        .authority()
        .filter(|a| !a.as_str().contains('@'))
        .ok_or_else(|| anyhow::anyhow!("{url:?}: expected scheme://host[:port][/path], without user info"))?;
    Ok(outbound::normalize_authority(scheme, authority.as_str()))
}

#[cfg(test)]
mod tests {
    use super::destination_of;

    #[test]
    fn destinations_are_host_and_port_of_http_urls_only() {
        assert_eq!(destination_of("http://127.0.0.1:3000").unwrap(), "127.0.0.1:3000");
        assert_eq!(
            destination_of("https://Docs.Example/base/").unwrap(),
            "docs.example:443"
        );
        assert_eq!(destination_of("http://upstream/").unwrap(), "upstream:80");
        for bad in [
            "ftp://x",
            "127.0.0.1:3000",
            "http://user@x",
            "not a url",
            "http:///path",
        ] {
            assert!(destination_of(bad).is_err(), "{bad}");
        }
    }
}
