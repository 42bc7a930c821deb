//! The host assembled. [`Host::builder`] takes the serve flags;
//! [`HostBuilder::start`] builds the engine, links WASI, loads the app (or
//! compiles it and caches the code), pre-instantiates it, binds the three
//! listeners and reports ready; [`Host::serve`] then serves until shutdown:
//! readiness off, keep serving for the shutdown delay, stop accepting, drain.
//! Meanwhile the app can be swapped live (`app::reload`). `main` and the
//! tests start hosts the same way.

use crate::app::factors::{
    self, files, key_value, limits, outbound_http, outbound_mqtt, outbound_mysql, outbound_pg, outbound_redis,
    server_timing, services, sockets, sqlite, variables, wasi,
};
use crate::app::flags::{AppFlags, GuestLimitFlags};
use crate::app::{self, engine, reload, state};
use crate::edge::flags::EdgeFlags;
use crate::edge::{admin, control, listener, proxy};
use crate::ops::flags::MemoryFlags;
use crate::ops::{file_descriptors, memory, metrics};
use crate::outbound;
use crate::outbound::flags::OutboundFlags;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wasmtime::component::Linker;

/// Everything that configures a serving host, one group per wing.
#[derive(Debug, Clone, clap::Args)]
pub struct HostFlags {
    #[command(flatten)]
    pub app: AppFlags,

    #[command(flatten)]
    pub edge: EdgeFlags,

    #[command(flatten)]
    pub guest: GuestLimitFlags,

    #[command(flatten)]
    pub outbound: OutboundFlags,

    #[command(flatten)]
    pub memory: MemoryFlags,
}

impl HostFlags {
    /// The flags as the command line `args` (without the program's name)
    /// gives them, defaults and environment variables included.
    pub fn from_args<I, T>(args: I) -> Result<HostFlags, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        #[command(name = "doc-proxy-host")]
        struct Only {
            #[command(flatten)]
            flags: HostFlags,
        }
        let program = std::iter::once(std::ffi::OsString::from("doc-proxy-host"));
        <Only as clap::Parser>::try_parse_from(program.chain(args.into_iter().map(Into::into))).map(|only| only.flags)
    }

    /// What components may take of Spin's outbound services.
    fn service_limits(&self) -> services::ServiceLimits {
        let (guest, outbound) = (&self.guest, &self.outbound);
        services::ServiceLimits {
            connect_timeout: outbound.outbound_connect_timeout,
            call_timeout: outbound.service_call_timeout,
            connections: guest.max_service_connections as usize,
            idle_per_destination: outbound.service_idle_per_address as usize,
            idle_for: outbound.service_idle_timeout,
            destinations: outbound.service_destinations_per_component as usize,
            result_bytes: guest.sqlite_limits().result_bytes,
            message_bytes: guest.max_mqtt_payload_bytes as usize,
        }
    }

    /// Concurrency and per-instance memory from the memory flags
    /// (`ops::memory`), with what the edge holds for clients.
    fn memory_plan(&self) -> anyhow::Result<memory::MemoryPlan> {
        let (memory, edge, guest) = (&self.memory, &self.edge, &self.guest);
        let instance_host = memory::instance_host_bytes(memory::InstanceHostUse {
            header_budget: guest.guest_header_budget,
            hostcall_bytes: guest.max_hostcall_bytes,
            max_handles: guest.max_guest_handles,
            max_outbound: guest.max_outbound_per_request,
            body_chunk: outbound::BODY_CHUNK_BYTES as u64,
            read_buffer: self.outbound.outbound_read_buffer_bytes,
            stores: guest.sqlite_limits().instance_bytes() + self.service_limits().instance_bytes(),
        });
        memory::plan(
            memory.max_concurrent_requests,
            memory.max_instance_memory_bytes,
            memory.guest_memory_budget,
            memory.host_memory_overhead,
        )
        .map(|plan| {
            plan.with_body_buffer(edge.request_body_buffer_bytes)
                .with_pool_resident(memory.pool_keep_resident)
                .with_client_sockets(
                    u64::from(edge.max_connections) + 2 * INTERNAL_MAX_CONNECTIONS as u64,
                    edge.client_send_buffer_bytes,
                )
                .with_instance_host(instance_host)
        })
        .map_err(anyhow::Error::msg)
    }
}

/// Open connections at most on each of the admin and control listeners:
/// probes, scrapers and an operator, not clients.
const INTERNAL_MAX_CONNECTIONS: usize = 16;

/// A host whose listeners are bound and whose app is loaded: ready.
pub struct Host {
    public_addr: SocketAddr,
    admin_addr: SocketAddr,
    control_addr: SocketAddr,
    ready: Arc<AtomicBool>,
    draining: Arc<AtomicBool>,
    shutdown: watch::Receiver<bool>,
    stopper: Stopper,
    shutdown_delay: Duration,
    public: (watch::Sender<bool>, JoinHandle<()>),
    admin: (watch::Sender<bool>, JoinHandle<()>),
    control: JoinHandle<()>,
}

/// Starts a [`Host`].
pub struct HostBuilder {
    flags: HostFlags,
    signal: Option<watch::Receiver<bool>>,
}

/// Shuts a host down as a first SIGTERM would: readiness off, the shutdown
/// delay, then drain.
#[derive(Clone)]
pub struct Stopper(Arc<watch::Sender<bool>>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Host {
    pub fn builder(flags: HostFlags) -> HostBuilder {
        HostBuilder { flags, signal: None }
    }

    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// Ends [`Host::serve`] from anywhere, signal or not.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until shut down, then stops as Kubernetes expects: readiness
    /// fails at once, the public listener keeps serving for the shutdown
    /// delay (responses say `Connection: close`), then stops accepting and
    /// drains; the admin listener outlives it, so probes see /readyz fail
    /// throughout.
    pub async fn serve(mut self) -> anyhow::Result<()> {
        listener::stopped(&mut self.shutdown).await;
        self.ready.store(false, Ordering::Release);
        self.draining.store(true, Ordering::Release);
        if !self.shutdown_delay.is_zero() {
            tracing::info!(
                delay_ms = self.shutdown_delay.as_millis() as u64,
                "still serving while load balancers take this pod out"
            );
            tokio::time::sleep(self.shutdown_delay).await;
        }
        let _ = self.public.0.send(true);
        let _ = self.public.1.await;
        let _ = self.admin.0.send(true);
        let _ = self.admin.1.await;
        let _ = self.control.await;
        tracing::info!("stopped");
        Ok(())
    }
}

impl HostBuilder {
    /// Shut down when `signal` turns true (`main` passes SIGTERM and SIGINT,
    /// `edge::shutdown`). Without it, only [`Host::stopper`] stops the host.
    pub fn shutdown_on(mut self, signal: watch::Receiver<bool>) -> HostBuilder {
        self.signal = Some(signal);
        self
    }

    /// Everything up to ready: the memory plan checked against the
    /// container's limit, the engine, the app loaded, the listeners bound.
    pub async fn start(self) -> anyhow::Result<Host> {
        let HostFlags {
            app: app_flags,
            edge,
            guest,
            outbound: outbound_flags,
            memory: memory_flags,
        } = &self.flags;
        let metrics = metrics::Metrics::new();

        let plan = self.flags.memory_plan()?;
        edge.check().map_err(anyhow::Error::msg)?;
        let self_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let container_limit = memory::cgroup_limit(&memory_flags.cgroup_root, &self_cgroup);
        memory::check_fits(&plan, container_limit).map_err(anyhow::Error::msg)?;
        tracing::info!(
            concurrency = plan.concurrency,
            instance_memory = %memory::show(plan.per_instance),
            guest_worst_case = %memory::show(plan.guest_worst_case()),
            host_overhead = %memory::show(plan.host_overhead),
            body_buffer = %memory::show(plan.body_buffer),
            pool_resident = %memory::show(plan.pool_resident()),
            socket_buffers = %memory::show(plan.socket_buffers),
            host_per_instance = %memory::show(plan.instance_host),
            worst_case = %memory::show(plan.worst_case()),
            container_limit = %container_limit.map_or_else(|| "none".to_string(), memory::show),
            "memory plan"
        );
        let engine = engine::new_engine(
            plan.concurrency,
            plan.per_instance,
            engine::Tuning {
                keep_resident: plan.keep_resident,
                perfmap: app_flags.perfmap,
            },
            engine::CodeTarget::Native,
        )?;
        let descriptors = file_descriptors::needed(
            u64::from(edge.max_connections) + 2 * INTERNAL_MAX_CONNECTIONS as u64,
            plan.concurrency,
            // Its HTTP calls in flight, and as many TCP connections when its
            // component is granted sockets (`factors::sockets`).
            2 * guest.max_outbound_per_request,
        );
        let open_files = file_descriptors::ensure(descriptors).map_err(anyhow::Error::msg)?;
        tracing::info!(needed = descriptors, limit = open_files, "file descriptors");
        engine::start_epoch_ticker(&engine);
        metrics.instances_max.set(i64::from(plan.concurrency));

        let outbound = Arc::new(outbound::Outbound::new(
            outbound_flags.timeouts(),
            outbound_flags.pool(),
            metrics.clone(),
        ));
        tracing::info!(
            entries = outbound_flags.verdict_cache_entries,
            "verdict cache (per opted-in component)"
        );
        tracing::info!(
            cpu_lanes_per_component = guest.lanes(),
            cpu_budget_ms = guest.request_cpu_budget.as_millis() as u64,
            "guest limits"
        );
        let runtime =
            app::runtime_config::RuntimeConfig::read(app_flags.runtime_config_file.as_deref(), &app_flags.state_dir())?;
        let stores = Arc::new(key_value::Stores::new(runtime.key_value));
        stores.connect_remote().await?;
        let factors = factors::Factors {
            wasi: wasi::WasiFactor {
                guest_log_budget: app_flags.guest_log_limit_bytes,
                guest_log_min_rank: app_flags.guest_log_level.rank(),
            },
            files: files::FilesFactor,
            sockets: sockets::SocketsFactor {
                own: outbound.own_addresses().clone(),
                max_connections: guest.max_outbound_per_request,
                metrics: metrics.clone(),
            },
            variables: variables::VariablesFactor,
            key_value: key_value::KeyValueFactor {
                stores,
                result_bytes: guest.sqlite_limits().result_bytes,
            },
            sqlite: sqlite::SqliteFactor {
                databases: Arc::new(runtime.sqlite),
                limits: guest.sqlite_limits(),
            },
            http: outbound_http::OutboundHttpFactor {
                outbound: outbound.clone(),
                verdict_cache_entries: outbound_flags.verdict_cache_entries(),
                protection: outbound_flags.protection(),
                request: guest.request_limits(),
                metrics: metrics.clone(),
            },
            redis: outbound_redis::OutboundRedisFactor {
                limits: self.flags.service_limits(),
                metrics: metrics.clone(),
            },
            mqtt: outbound_mqtt::OutboundMqttFactor {
                limits: self.flags.service_limits(),
                metrics: metrics.clone(),
            },
            pg: outbound_pg::OutboundPgFactor {
                limits: self.flags.service_limits(),
                metrics: metrics.clone(),
            },
            mysql: outbound_mysql::OutboundMysqlFactor {
                limits: self.flags.service_limits(),
                metrics: metrics.clone(),
            },
            limits: limits::LimitsFactor::new(guest.guest_limits(plan.concurrency, plan.per_instance)),
            server_timing: server_timing::ServerTimingFactor {
                metrics: metrics.clone(),
            },
        };
        let mut linker = Linker::new(&engine);
        state::add_to_linker(&mut linker, &factors)?;

        let source = app_flags.source()?;
        let wide = app::HostWide {
            factors,
            metrics: metrics.clone(),
        };
        let safeguards = reload::Safeguards {
            check_timeout: edge.request_timeout,
            rollback_after_failures: app_flags.rollback_after_failures,
        };
        let app = reload::Reloader::start(engine, linker, source, wide, app_flags.cache_dir(), safeguards).await?;
        app.reload_on_sighup()?;
        if !app_flags.watch_interval.is_zero() {
            app.reload_on_change(app_flags.watch_interval);
        }

        let draining = Arc::new(AtomicBool::new(false));
        let proxy = Arc::new(proxy::Proxy::new(
            app.clone(),
            metrics.clone(),
            plan.concurrency,
            edge,
            draining.clone(),
        ));
        let in_process: Arc<dyn outbound::InProcess> = proxy.clone();
        outbound.serve_in_process(Arc::downgrade(&in_process));
        let ready = Arc::new(AtomicBool::new(false));
        let connection_metrics = listener::ConnectionMetrics {
            errors: metrics.connection_errors.clone(),
            open: metrics.connections_open.clone(),
            refused: metrics.connections_refused.clone(),
            evicted: metrics.connections_evicted.clone(),
        };
        let admin = Arc::new(admin::Admin {
            metrics,
            ready: ready.clone(),
        });
        let token = edge
            .control_token_file
            .as_deref()
            .map(control::ControlToken::load_or_create)
            .transpose()?;
        let control = Arc::new(control::Control { app, token });

        let public_listener = bind(edge.listen_addr).await?;
        let admin_listener = bind(edge.admin_addr).await?;
        control::check_loopback(edge.control_addr).map_err(anyhow::Error::msg)?;
        let control_listener = bind(edge.control_addr).await?;
        let (public_addr, admin_addr, control_addr) = (
            public_listener.local_addr()?,
            admin_listener.local_addr()?,
            control_listener.local_addr()?,
        );
        outbound.own_addresses().set(vec![admin_addr, control_addr]);

        let limits = edge.connection_limits();
        let internal_limits = listener::ConnectionLimits {
            max_connections: INTERNAL_MAX_CONNECTIONS,
            max_per_client: INTERNAL_MAX_CONNECTIONS,
            ..limits
        };
        let (public_stop, public_stopped) = watch::channel(false);
        let public = tokio::spawn(listener::serve(
            "public",
            public_listener,
            limits,
            public_stopped,
            edge.drain_timeout,
            connection_metrics.clone(),
            move |req| proxy.clone().handle(req),
        ));
        let (admin_stop, admin_stopped) = watch::channel(false);
        let admin_task = tokio::spawn(listener::serve(
            "admin",
            admin_listener,
            internal_limits,
            admin_stopped.clone(),
            edge.drain_timeout,
            connection_metrics.clone(),
            move |req| admin.clone().handle(req),
        ));
        let control_task = tokio::spawn(listener::serve(
            "control",
            control_listener,
            internal_limits,
            admin_stopped,
            edge.drain_timeout,
            connection_metrics,
            move |req| control.clone().handle(req),
        ));

        let (stop, shutdown) = watch::channel(false);
        let stopper = Stopper(Arc::new(stop));
        if let Some(mut signal) = self.signal {
            let stopper = stopper.clone();
            tokio::spawn(async move {
                listener::stopped(&mut signal).await;
                stopper.stop();
            });
        }
        ready.store(true, Ordering::Release);
        // Logged only once /readyz says ready: tests and scripts start on this line.
        tracing::info!(public = %public_addr, admin = %admin_addr, control = %control_addr, "listening");
        Ok(Host {
            public_addr,
            admin_addr,
            control_addr,
            ready,
            draining,
            shutdown,
            stopper,
            shutdown_delay: edge.shutdown_delay,
            public: (public_stop, public),
            admin: (admin_stop, admin_task),
            control: control_task,
        })
    }
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))
}

/// `doc-proxy-host compile`: the same engine as a serving host's, so what it
/// writes loads, once per CPU level in `levels` (best first).
pub fn compile(
    flags: &HostFlags,
    levels: &[engine::CodeTarget],
    input: &std::path::Path,
    output: &std::path::Path,
) -> anyhow::Result<()> {
    let plan = flags.memory_plan()?;
    let engines = levels
        .iter()
        .map(|level| {
            let engine = engine::new_engine(plan.concurrency, plan.per_instance, engine::Tuning::default(), *level)?;
            Ok((level.name(), engine))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = std::time::Instant::now();
    engine::compile_to_file(&engines, input, output)?;
    tracing::info!(
        input = %input.display(),
        output = %output.display(),
        levels = %levels.iter().map(|l| l.name()).collect::<Vec<_>>().join(","),
        compile_ms = started.elapsed().as_secs_f64() * 1e3,
        "component precompiled"
    );
    Ok(())
}
