//! The per-request store: a fresh, isolated instance state for every request,
//! assembled from what each factor prepares (`app::factors`), and the store
//! limits wasmtime enforces around it. The WASI view traits live here, as in
//! `wasmtime serve`; each factor's `init` adds its interfaces to the linker.

use crate::app::factors::key_value::{Grants, KeyValueView};
use crate::app::factors::limits::{CpuBudgetExceeded, InstanceLimits};
use crate::app::factors::outbound_http::header_budget::HeaderBudget;
use crate::app::factors::outbound_mqtt::{InstanceMqtt, MqttView};
use crate::app::factors::outbound_mysql::{InstanceMysql, MysqlView};
use crate::app::factors::outbound_pg::{InstancePg, PgView};
use crate::app::factors::outbound_redis::{InstanceRedis, RedisView};
use crate::app::factors::sqlite::{InstanceSqlite, SqliteView};
use crate::app::factors::variables::{self, SharedVariables};
use crate::app::factors::wasi::WasiInstance;
use crate::app::factors::{ComponentStates, Factor, Factors, Prepare};
use crate::app::guest_log::GuestOutput;
use crate::outbound::OutboundHooks;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct HostState {
    wasi: WasiInstance,
    /// The component's variables, read through `wasi:config/store` or
    /// Spin's variables interfaces.
    variables: SharedVariables,
    key_value: Grants,
    sqlite: InstanceSqlite,
    redis: InstanceRedis,
    mqtt: InstanceMqtt,
    pg: InstancePg,
    mysql: InstanceMysql,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    /// Header bytes this instance may still build.
    pub header_budget: HeaderBudget,
    limits: InstanceLimits,
}

impl variables::VariablesView for HostState {
    fn variables(&mut self) -> &variables::Variables {
        &self.variables
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi.ctx,
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

/// Handles a reused instance may gain after its first request. Guests open
/// some handles lazily and keep them (wasi-libc its stdout and stderr
/// streams, the first time each is written; doc-proxy gains one or two on
/// its second request), so some growth is no leak; a guest that keeps a
/// handle more every request is retired within this many requests, long
/// before `--max-guest-handles` would trap one of its requests.
pub const REUSE_HANDLE_GROWTH: usize = 16;

/// Every interface the factors provide.
pub fn add_to_linker(linker: &mut Linker<HostState>, factors: &Factors) -> anyhow::Result<()> {
    factors.init(linker)
}

/// A store for one request of the component whose states are `states`. The
/// store holds the instance to its limits: linear memory, live handles and
/// table entries, bytes per host call, and CPU time (checked at every epoch
/// tick the guest runs through, where it also yields, so timeouts can fire
/// and other tasks run even while it computes).
pub fn new_store(engine: &Engine, factors: &Factors, states: &ComponentStates, ctx: &Prepare<'_>) -> Store<HostState> {
    let limits = factors.limits.limits();
    let mut store = Store::new(engine, new_state(factors, states, ctx, None));
    store.limiter(|state| &mut state.limits.memory);
    store.set_max_component_handles(limits.max_handles as usize);
    store.set_hostcall_fuel(usize::try_from(limits.hostcall_bytes).unwrap_or(usize::MAX));
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|context| {
        context.data().limits.cpu.check().map_err(wasmtime::Error::new)?;
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// Readies the store of an instance that served a request for its next one
/// (`app::reuse`): every factor's instance state is prepared afresh for
/// `ctx`, as for a new instance (its CPU meter, header budget, outbound and
/// service counts, request id and trace), except what the guest's memory
/// and handles still refer to: the resource table, the memory the instance
/// has grown to, and its stdout and stderr, which now write under the new
/// request.
pub fn renew_store(store: &mut Store<HostState>, factors: &Factors, states: &ComponentStates, ctx: &Prepare<'_>) {
    let outputs = store.data().wasi.outputs().clone();
    let fresh = new_state(factors, states, ctx, Some(outputs));
    let old = std::mem::replace(store.data_mut(), fresh);
    let state = store.data_mut();
    state.table = old.table;
    state.limits.memory = old.limits.memory;
    store.set_epoch_deadline(1);
}

fn new_state(
    factors: &Factors,
    states: &ComponentStates,
    ctx: &Prepare<'_>,
    outputs: Option<[GuestOutput; 2]>,
) -> HostState {
    let limits = factors.limits.limits();
    let http = factors.http.prepare(&states.http, ctx);
    let mut table = ResourceTable::new();
    table.set_max_capacity(limits.max_handles as usize);
    HostState {
        wasi: factors.wasi.prepare_with(&states.wasi, ctx, outputs),
        variables: factors.variables.prepare(&states.variables, ctx),
        key_value: factors.key_value.prepare(&states.key_value, ctx),
        sqlite: factors.sqlite.prepare(&states.sqlite, ctx),
        redis: factors.redis.prepare(&states.redis, ctx),
        mqtt: factors.mqtt.prepare(&states.mqtt, ctx),
        pg: factors.pg.prepare(&states.pg, ctx),
        mysql: factors.mysql.prepare(&states.mysql, ctx),
        http: http.ctx,
        table,
        hooks: http.hooks,
        header_budget: HeaderBudget::new(factors.http.request.header_budget),
        limits: factors.limits.prepare(&states.limits, ctx),
    }
}

impl HostState {
    /// What the key-value bindings work with.
    pub fn key_value(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            table: &mut self.table,
            grants: &self.key_value,
        }
    }

    /// What the SQLite bindings work with.
    pub fn sqlite(&mut self) -> SqliteView<'_> {
        SqliteView {
            table: &mut self.table,
            sqlite: &self.sqlite,
        }
    }

    /// What the outbound Redis bindings work with.
    pub fn redis(&mut self) -> RedisView<'_> {
        RedisView {
            table: &mut self.table,
            redis: &self.redis,
        }
    }

    /// What the outbound MQTT bindings work with.
    pub fn mqtt(&mut self) -> MqttView<'_> {
        MqttView {
            table: &mut self.table,
            mqtt: &self.mqtt,
        }
    }

    /// What the outbound PostgreSQL bindings work with.
    pub fn pg(&mut self) -> PgView<'_> {
        PgView {
            table: &mut self.table,
            pg: &self.pg,
        }
    }

    /// What the outbound MySQL bindings work with.
    pub fn mysql(&mut self) -> MysqlView<'_> {
        MysqlView {
            table: &mut self.table,
            mysql: &self.mysql,
        }
    }

    /// Whether the instance may serve another request, judged from its
    /// handles after this one (`app::reuse`): none of the request's HTTP
    /// resources may be left (a response body still open, an outgoing call
    /// unfinished), and its table may not have grown more than
    /// [`REUSE_HANDLE_GROWTH`] entries past what it held after its first
    /// request. `first` is that count, `None` on the first request; the
    /// count to carry is returned when it may.
    pub fn reusable_after(&mut self, first: Option<usize>) -> Option<usize> {
        use wasmtime_wasi_http::p2::body::{HostFutureTrailers, HostIncomingBody, HostOutgoingBody};
        use wasmtime_wasi_http::p2::types::{
            HostFutureIncomingResponse, HostIncomingRequest, HostIncomingResponse, HostOutgoingRequest,
            HostOutgoingResponse, HostResponseOutparam,
        };
        let mut entries = 0;
        for entry in self.table.iter_mut() {
            let entry: &dyn std::any::Any = entry;
            let per_request = entry.is::<HostIncomingRequest>()
                || entry.is::<HostResponseOutparam>()
                || entry.is::<HostOutgoingResponse>()
                || entry.is::<HostOutgoingBody>()
                || entry.is::<HostIncomingBody>()
                || entry.is::<HostFutureTrailers>()
                || entry.is::<HostOutgoingRequest>()
                || entry.is::<HostIncomingResponse>()
                || entry.is::<HostFutureIncomingResponse>();
            if per_request {
                tracing::debug!("instance not reused: its request left an HTTP resource");
                return None;
            }
            entries += 1;
        }
        match first {
            None => Some(entries),
            Some(first) if entries > first + REUSE_HANDLE_GROWTH => {
                tracing::debug!(first, now = entries, "instance not reused: its handles grew");
                None
            }
            Some(first) => Some(first),
        }
    }

    /// The instance's CPU meter (read around every poll of its guest).
    pub fn cpu(&self) -> &std::sync::Arc<crate::app::factors::limits::CpuMeter> {
        &self.limits.cpu
    }
}

/// Whether `error` ended a guest for its CPU budget.
pub fn cpu_budget_exceeded(error: &wasmtime::Error) -> Option<&CpuBudgetExceeded> {
    error.downcast_ref::<CpuBudgetExceeded>()
}
