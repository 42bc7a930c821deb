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
use crate::app::factors::{ComponentStates, Factor, Factors, Prepare};
use crate::outbound::OutboundHooks;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct HostState {
    wasi: WasiCtx,
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
            ctx: &mut self.wasi,
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
    let http = factors.http.prepare(&states.http, ctx);
    let mut table = ResourceTable::new();
    table.set_max_capacity(limits.max_handles as usize);
    let state = HostState {
        wasi: factors.wasi.prepare(&states.wasi, ctx),
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
    };
    let mut store = Store::new(engine, state);
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

    /// The instance's CPU meter (read around every poll of its guest).
    pub fn cpu(&self) -> &std::sync::Arc<crate::app::factors::limits::CpuMeter> {
        &self.limits.cpu
    }
}

/// Whether `error` ended a guest for its CPU budget.
pub fn cpu_budget_exceeded(error: &wasmtime::Error) -> Option<&CpuBudgetExceeded> {
    error.downcast_ref::<CpuBudgetExceeded>()
}
