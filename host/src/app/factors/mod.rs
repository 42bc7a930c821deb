//! The per-component registry: everything the host keeps for one component
//! of the served app, one factor a feature, shaped like Spin's factors
//! (`spin-factors`). A factor
//!
//! - **`init`**: wires the interfaces it provides into the linker, once, at
//!   start;
//! - **`configure`**: from the component's manifest entry (its grants and
//!   settings) and the state the same component has in the version served
//!   now, builds what it keeps for the component in a new app version. A
//!   reload that keeps a component keeps its state where that is right
//!   (shares, breakers, a verdict cache of unchanged code), so what a
//!   component has done is not forgotten by a reload;
//! - **`prepare`**: builds what one instance (one request's store) gets;
//! - **`retire`**: when a reload removes the component, lets go of what
//!   outlives its memory (metric series).
//!
//! | factor | provides | keeps per component | gives each instance |
//! |---|---|---|---|
//! | [`wasi`] | `wasi:*` 0.2 and 0.3 | environment, log settings | a WASI context, stdout/stderr to the log |
//! | [`sockets`] | — (the WASI context's sockets) | its socket grants, when it has any | TCP and UDP to granted addresses, a connection cap |
//! | [`files`] | — | its `files`, copied, read-only | the copy, preopened at `/` |
//! | [`variables`] | Spin's variables, `wasi:config/store` | the manifest's variables | the same, shared |
//! | [`key_value`] | Spin 2's and 3's key-value, `wasi:keyvalue` | the stores it is granted, opened | the same |
//! | [`sqlite`] | Spin 2's and 3's SQLite | the databases it is granted | its connections, at most two |
//! | [`outbound_redis`] | Spin 2's and 4's outbound Redis | its allow-list, idle connections per address, metric series | connections to granted addresses, at most `--max-service-connections` |
//! | [`outbound_pg`] | Spin's PostgreSQL 2.0.0, 3.0.0 and 4.0.0-4.2.0, TLS | the same, for PostgreSQL (pooled apart per CA) | the same, in the same count |
//! | [`outbound_mqtt`] | Spin 2's and 4's outbound MQTT | its allow-list, metric series (no pool: a session is its client id's) | connections to granted brokers, in the same count |
//! | [`outbound_mysql`] | Spin 2's and 4's MySQL | the same, for MySQL | the same, in the same count |
//! | [`outbound_http`] | `wasi:http` both versions, with a header budget | allow-list, breakers and retry budgets per destination, verdict cache | the hooks every call goes through, per-request caps |
//! | [`limits`] | — | share of the instances, CPU lanes | memory cap, CPU meter |
//! | [`server_timing`] | — | its `Server-Timing` recorder | — |
//!
//! [`Factors`] holds one of each and does for a component what each does;
//! [`ComponentStates`] is what a component of an app version holds. The
//! next Spin interface is one more module here and one more field in each.

pub mod files;
pub mod key_value;
pub mod limits;
pub mod outbound_http;
pub mod outbound_mqtt;
pub mod outbound_mysql;
pub mod outbound_pg;
pub mod outbound_redis;
pub mod server_timing;
pub mod services;
pub mod sockets;
pub mod sqlite;
pub mod variables;
pub mod wasi;

use crate::app::manifest::ComponentSpec;
use crate::app::state::HostState;
use crate::ops::trace::TraceContext;
use crate::outbound::verdict::SeenDigests;
use std::sync::Arc;
use wasmtime::component::Linker;

/// What a factor is told when a component of a new app version is configured.
pub struct Configure<'a> {
    /// The manifest's id.
    pub id: &'a Arc<str>,
    /// What the manifest says of the component.
    pub spec: &'a ComponentSpec,
    /// SHA-256 of its code.
    pub sha256: &'a Arc<str>,
}

impl<'a> Configure<'a> {
    pub fn new(id: &'a Arc<str>, spec: &'a ComponentSpec, sha256: &'a Arc<str>) -> Self {
        Configure { id, spec, sha256 }
    }
}

/// What a factor is told when an instance is prepared for one request.
pub struct Prepare<'a> {
    pub request_id: &'a str,
    /// The request's span: named in log lines and outbound calls.
    pub trace: &'a TraceContext,
    /// The served component's digest, named in its log lines.
    pub sha256: &'a str,
    /// Collects the digests of the bodies this request fetches.
    pub seen: &'a SeenDigests,
    /// How many in-process calls (to the app itself) led to this request.
    pub depth: u32,
    /// The instance's open connections to Spin's outbound services, every
    /// service counted together against `--max-service-connections`.
    pub service_slots: services::Slots,
}

/// One feature of the host, per component (see the module's docs).
pub trait Factor {
    /// What the factor keeps for one component of an app version.
    type ComponentState: Send + Sync + 'static;
    /// What one instance of the component gets.
    type InstanceState: Send + 'static;

    /// Adds the interfaces this factor provides to the linker.
    fn init(&self, _linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        Ok(())
    }

    /// The state of a component of a new app version; `previous` is the state
    /// the component with the same id has in the version served now.
    fn configure(
        &self,
        ctx: &Configure<'_>,
        previous: Option<&Self::ComponentState>,
    ) -> anyhow::Result<Self::ComponentState>;

    /// What one instance gets.
    fn prepare(&self, state: &Self::ComponentState, ctx: &Prepare<'_>) -> Self::InstanceState;

    /// The component left the app.
    fn retire(&self, _id: &str, _state: &Self::ComponentState) {}
}

/// Every factor of this host.
pub struct Factors {
    pub wasi: wasi::WasiFactor,
    pub files: files::FilesFactor,
    pub sockets: sockets::SocketsFactor,
    pub variables: variables::VariablesFactor,
    pub key_value: key_value::KeyValueFactor,
    pub sqlite: sqlite::SqliteFactor,
    pub http: outbound_http::OutboundHttpFactor,
    pub redis: outbound_redis::OutboundRedisFactor,
    pub mqtt: outbound_mqtt::OutboundMqttFactor,
    pub pg: outbound_pg::OutboundPgFactor,
    pub mysql: outbound_mysql::OutboundMysqlFactor,
    pub limits: limits::LimitsFactor,
    pub server_timing: server_timing::ServerTimingFactor,
}

/// What one component of an app version holds, factor by factor.
pub struct ComponentStates {
    pub wasi: wasi::WasiState,
    pub files: Option<Arc<files::Mount>>,
    pub sockets: Option<Arc<sockets::SocketGrant>>,
    pub variables: variables::SharedVariables,
    pub key_value: key_value::Grants,
    pub sqlite: sqlite::Grants,
    pub http: outbound_http::HttpState,
    pub redis: outbound_redis::RedisState,
    pub mqtt: outbound_mqtt::MqttState,
    pub pg: outbound_pg::PgState,
    pub mysql: outbound_mysql::MysqlState,
    pub limits: limits::ComponentLimits,
    pub server_timing: Arc<crate::ops::server_timing::Recorder>,
}

impl Factors {
    /// Every factor's interfaces, into `linker`.
    pub fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        self.wasi.init(linker)?;
        self.files.init(linker)?;
        self.sockets.init(linker)?;
        self.variables.init(linker)?;
        self.key_value.init(linker)?;
        self.sqlite.init(linker)?;
        self.http.init(linker)?;
        self.redis.init(linker)?;
        self.mqtt.init(linker)?;
        self.pg.init(linker)?;
        self.mysql.init(linker)?;
        self.limits.init(linker)?;
        self.server_timing.init(linker)?;
        Ok(())
    }

    /// Every factor's state of one component.
    pub fn configure(
        &self,
        ctx: &Configure<'_>,
        previous: Option<&ComponentStates>,
    ) -> anyhow::Result<ComponentStates> {
        let http = self.http.configure(ctx, previous.map(|p| &p.http))?;
        let mut wasi = self.wasi.configure(ctx, previous.map(|p| &p.wasi))?;
        // The links between factors: a component with a verdict cache reads
        // its token from the environment (`outbound::verdict`)...
        wasi.set_env(crate::outbound::verdict::TOKEN_ENV, http.verdict_token());
        // And the files the WASI context preopens.
        let files = self.files.configure(ctx, previous.map(|p| &p.files))?;
        wasi.set_mount(files.as_ref().map(|mount| mount.path().to_path_buf()));
        // And the sockets it may use.
        let sockets = self.sockets.configure(ctx, previous.map(|p| &p.sockets))?;
        wasi.set_sockets(sockets.clone());
        Ok(ComponentStates {
            wasi,
            files,
            sockets,
            variables: self.variables.configure(ctx, previous.map(|p| &p.variables))?,
            key_value: self.key_value.configure(ctx, previous.map(|p| &p.key_value))?,
            sqlite: self.sqlite.configure(ctx, previous.map(|p| &p.sqlite))?,
            http,
            redis: self.redis.configure(ctx, previous.map(|p| &p.redis))?,
            mqtt: self.mqtt.configure(ctx, previous.map(|p| &p.mqtt))?,
            pg: self.pg.configure(ctx, previous.map(|p| &p.pg))?,
            mysql: self.mysql.configure(ctx, previous.map(|p| &p.mysql))?,
            limits: self.limits.configure(ctx, previous.map(|p| &p.limits))?,
            server_timing: self.server_timing.configure(ctx, previous.map(|p| &p.server_timing))?,
        })
    }

    /// A component left the app.
    pub fn retire(&self, id: &str, states: &ComponentStates) {
        self.wasi.retire(id, &states.wasi);
        self.files.retire(id, &states.files);
        self.sockets.retire(id, &states.sockets);
        self.variables.retire(id, &states.variables);
        self.key_value.retire(id, &states.key_value);
        self.sqlite.retire(id, &states.sqlite);
        self.http.retire(id, &states.http);
        self.redis.retire(id, &states.redis);
        self.mqtt.retire(id, &states.mqtt);
        self.pg.retire(id, &states.pg);
        self.mysql.retire(id, &states.mysql);
        self.limits.retire(id, &states.limits);
        self.server_timing.retire(id, &states.server_timing);
    }
}
