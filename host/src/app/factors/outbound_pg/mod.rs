//! The outbound PostgreSQL factor: Spin's `spin:postgres/postgres@4.2.0`
//! (spin-sdk 6's; 4.0.0 and 4.1.0 imports, spin-sdk 5's `pg4` and Spin's
//! conformance suite, link to it), and over the same implementation Spin
//! 3's 3.0.0 (`pg3`) and Spin 2's `fermyon:spin/postgres@2.0.0` (`pg`) in
//! their fewer types ([`older`]), with `tokio-postgres` and the values
//! converted by [`codec`].
//!
//! - Grants: every host of the connection string (`host=db port=5432 …` or
//!   `postgres://…`) must be granted by `allowed_outbound_hosts` for scheme
//!   `postgres` (5432 by default) before anything is connected; else Spin's
//!   `connection-failed("address postgres://HOST[:PORT] is not permitted")`.
//!   Unix sockets are refused, as in Spin.
//! - Connections: at most `--max-service-connections` per instance (all
//!   services together); a dropped connection goes back to its component's
//!   pool for the same address, and is reset (`DISCARD ALL`) before it is
//!   handed out again, so no session state (settings, temporary tables,
//!   prepared statements) passes from one request to the next; a connection
//!   left inside a transaction cannot be reset and is closed instead.
//! - TLS as `sslmode` asks ([`tls`]), the server verified against the
//!   Mozilla roots and the CA a `connection-builder` was given; connections
//!   made with a CA are pooled apart from those made without.
//! - Limits: connecting within `--outbound-connect-timeout`, each query or
//!   statement within `--service-call-timeout`, rows read one at a time and
//!   refused past `--max-store-result-bytes` with Spin's words.
//! - Counted in `outbound_service_uses_total{service="postgres"}`.

mod bindings;
pub mod codec;
mod older;
mod tls;

pub use tls::CaRoot;

use crate::app::factors::services::{Destination, ServiceInstance, ServiceLimits, ServiceState, Shared, Slot};
use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use crate::outbound::allowed_hosts::AllowList;
use futures_util::{pin_mut, TryStreamExt};
use std::sync::Arc;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
use wasmtime::component::{Linker, ResourceTable};

/// A value in a row, or a parameter of a statement (any but
/// `unsupported`, which only the server's rows carry).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Floating32(f32),
    Floating64(f64),
    Str(String),
    Binary(Vec<u8>),
    Date((i32, u8, u8)),
    Time((u8, u8, u8, u32)),
    Datetime((i32, u8, u8, u8, u8, u8, u32)),
    Timestamp(i64),
    Uuid(String),
    Jsonb(Vec<u8>),
    Decimal(String),
    RangeInt32(Range<i32>),
    RangeInt64(Range<i64>),
    RangeDecimal(Range<String>),
    ArrayInt32(Vec<Option<i32>>),
    ArrayInt64(Vec<Option<i64>>),
    ArrayDecimal(Vec<Option<String>>),
    ArrayStr(Vec<Option<String>>),
    Interval(Interval),
    Null,
    Unsupported(Vec<u8>),
}

/// A range's two ends, each open (`None`) or a value and its kind.
pub type Range<T> = (Option<(T, BoundKind)>, Option<(T, BoundKind)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    Inclusive,
    Exclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub micros: i64,
    pub days: i32,
    pub months: i32,
}

/// A column's type as the interface names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Floating32,
    Floating64,
    Str,
    Binary,
    Date,
    Time,
    Datetime,
    Timestamp,
    Uuid,
    Jsonb,
    Decimal,
    RangeInt32,
    RangeInt64,
    RangeDecimal,
    ArrayInt32,
    ArrayInt64,
    ArrayDecimal,
    ArrayStr,
    Interval,
    Other(String),
}

/// The server's own account of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub as_text: String,
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub extras: Vec<(String, String)>,
}

/// PostgreSQL's errors as Spin's interface gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    ConnectionFailed(String),
    BadParameter(String),
    /// The server's account (boxed: it is large), or the client's text.
    QueryFailed(Result<Box<DbError>, String>),
    ValueConversionFailed(String),
    Other(String),
}

/// What a query gives back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowSet {
    pub columns: Vec<(String, DataType)>,
    pub rows: Vec<Vec<Value>>,
}

pub struct OutboundPgFactor {
    pub limits: ServiceLimits,
    pub metrics: Metrics,
}

/// What a component of an app version keeps.
pub type PgState = ServiceState<tokio_postgres::Client>;

/// One instance's PostgreSQL.
pub type InstancePg = ServiceInstance<tokio_postgres::Client>;

/// An open connection (a guest's resource).
pub struct Connection {
    client: Option<Arc<tokio_postgres::Client>>,
    destination: Destination,
    pool_key: String,
    shared: Arc<Shared<tokio_postgres::Client>>,
    limits: ServiceLimits,
    _slot: Slot,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Back to the pool only if no call holds it (a call's future that
        // timed out may still).
        if let Some(client) = self.client.take().and_then(|c| Arc::try_unwrap(c).ok()) {
            if !client.is_closed() {
                self.shared.pool.put(&self.pool_key, client);
            }
        }
    }
}

/// The destinations a connection string names, in Spin's words when one is
/// not granted or cannot be used.
pub fn destinations(address: &str) -> Result<Vec<(String, Option<u16>)>, Error> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::ConnectionFailed(e.to_string()))?;
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            tokio_postgres::config::Host::Tcp(host) => {
                // The port at the host's index, or the only one.
                let port = ports.get(i).or(if ports.len() == 1 { ports.first() } else { None });
                Ok((host.clone(), port.copied()))
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => Err(Error::ConnectionFailed(
                "Unix sockets are not supported on WebAssembly".into(),
            )),
        })
        .collect()
}

/// Spin's words for an address not granted.
fn not_permitted(host: &str, port: Option<u16>) -> Error {
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    Error::ConnectionFailed(format!("address postgres://{host}{port} is not permitted"))
}

/// The first destination of `address`, if `allowed` grants every one.
fn granted(allowed: &AllowList, address: &str) -> Result<Destination, Error> {
    let hosts = destinations(address)?;
    let mut first = None;
    for (host, port) in hosts {
        let at = Destination::parse(
            &format!("{host}{}", port.map(|p| format!(":{p}")).unwrap_or_default()),
            "postgres",
        )
        .filter(|d| allowed.allows_service(&d.scheme, &d.host, d.port))
        .ok_or_else(|| not_permitted(&host, port))?;
        first.get_or_insert(at);
    }
    first.ok_or_else(|| Error::ConnectionFailed("the address names no host".into()))
}

/// Where pooled connections to `address` made trusting `ca` are kept.
fn pool_key(address: &str, ca: Option<&CaRoot>) -> String {
    match ca {
        None => address.to_string(),
        // A NUL cannot be part of a connection string.
        Some(ca) => format!("{address}\0ca={}", ca.digest()),
    }
}

impl ServiceInstance<tokio_postgres::Client> {
    pub async fn open(&self, address: &str) -> Result<Connection, Error> {
        self.open_trusting(address, None).await
    }

    /// As [`open`](Self::open), the server's certificate verified against
    /// `ca` as well as the Mozilla roots.
    pub async fn open_trusting(&self, address: &str, ca: Option<&CaRoot>) -> Result<Connection, Error> {
        let shared = &self.state.shared;
        let destination = match granted(&self.state.allowed, address) {
            Ok(destination) => destination,
            Err(e) => {
                shared.meter.count(None, "denied");
                tracing::warn!(component = %shared.meter.component(), "postgres address not permitted");
                return Err(e);
            }
        };
        let pool_key = pool_key(address, ca);
        let too_many = Error::ConnectionFailed("too many connections".into());
        let (client, slot) = self
            .connection(
                &destination,
                self.pooled(&pool_key),
                connect(address, ca, &self.limits),
                too_many,
            )
            .await?;
        Ok(Connection {
            client: Some(Arc::new(client)),
            destination,
            pool_key,
            shared: shared.clone(),
            limits: self.limits,
            _slot: slot,
        })
    }

    /// A pooled connection under `pool_key`, reset; one that cannot be reset
    /// (closed, or inside a transaction) is dropped.
    async fn pooled(&self, pool_key: &str) -> Option<tokio_postgres::Client> {
        while let Some(client) = self.state.shared.pool.take(pool_key) {
            let reset = tokio::time::timeout(self.limits.call_timeout, client.batch_execute("DISCARD ALL")).await;
            if matches!(reset, Ok(Ok(()))) {
                return Some(client);
            }
        }
        None
    }
}

async fn connect(address: &str, ca: Option<&CaRoot>, limits: &ServiceLimits) -> Result<tokio_postgres::Client, Error> {
    let mut config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::ConnectionFailed(e.to_string()))?;
    config.connect_timeout(limits.connect_timeout);
    let connecting = config.connect(tls::RustlsConnector::new(ca));
    let (client, connection) = match tokio::time::timeout(limits.connect_timeout, connecting).await {
        Ok(Ok(connected)) => connected,
        // The server's own words when it refused (`FATAL: …`), not just "db
        // error"; else the cause too ("error performing TLS handshake" says
        // nothing of a certificate not trusted).
        Ok(Err(e)) => {
            let why = match (e.as_db_error(), std::error::Error::source(&e)) {
                (Some(db), _) => db.to_string(),
                (None, Some(cause)) => format!("{e}: {cause}"),
                (None, None) => e.to_string(),
            };
            return Err(Error::ConnectionFailed(why));
        }
        Err(_) => {
            return Err(Error::ConnectionFailed(format!(
                "connecting timed out after {:?}",
                limits.connect_timeout
            )))
        }
    };
    // Ends when the client is dropped.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// What a call needs of a connection, taken out of the guest's table.
#[derive(Clone)]
pub struct Handle {
    client: Arc<tokio_postgres::Client>,
    destination: Destination,
    shared: Arc<Shared<tokio_postgres::Client>>,
    limits: ServiceLimits,
}

impl Connection {
    pub fn handle(&self) -> Result<Handle, Error> {
        let client = self
            .client
            .clone()
            .ok_or_else(|| Error::Other("the connection is closed".into()))?;
        Ok(Handle {
            client,
            destination: self.destination.clone(),
            shared: self.shared.clone(),
            limits: self.limits,
        })
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if !codec::accepts(self, ty) {
            return Err(format!("cannot convert {} to the type {ty}", self.kind()).into());
        }
        match codec::encode(self, ty)? {
            None => Ok(IsNull::Yes),
            Some(bytes) => {
                out.extend_from_slice(&bytes);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Decided per value, in `to_sql`.
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

impl Value {
    fn kind(&self) -> String {
        let debug = format!("{self:?}");
        debug.split('(').next().unwrap_or_default().to_string()
    }
}

/// A column's value as the server sent it, whatever its type.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Spin's account of a failed query.
fn query_failed(error: tokio_postgres::Error) -> Error {
    let as_text = format!("{error:?}");
    Error::QueryFailed(match error.as_db_error() {
        None => Err(as_text),
        Some(db) => {
            let mut extras = Vec::new();
            let mut extra = |name: &str, value: Option<String>| {
                if let Some(value) = value {
                    extras.push((name.to_string(), value));
                }
            };
            extra("column", db.column().map(str::to_string));
            extra("constraint", db.constraint().map(str::to_string));
            extra("routine", db.routine().map(str::to_string));
            extra("hint", db.hint().map(str::to_string));
            extra("table", db.table().map(str::to_string));
            extra("datatype", db.datatype().map(str::to_string));
            extra("schema", db.schema().map(str::to_string));
            extra("file", db.file().map(str::to_string));
            extra("line", db.line().map(|l| l.to_string()));
            extra("where_", db.where_().map(str::to_string));
            Ok(Box::new(DbError {
                as_text,
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                extras,
            }))
        }
    })
}

/// What one value costs, about.
fn size_of_value(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::Str(s) | Value::Uuid(s) | Value::Decimal(s) => s.len(),
            Value::Binary(b) | Value::Jsonb(b) | Value::Unsupported(b) => b.len(),
            Value::ArrayInt32(a) => a.len() * 8,
            Value::ArrayInt64(a) => a.len() * 16,
            Value::ArrayDecimal(a) | Value::ArrayStr(a) => {
                a.iter().map(|s| 24 + s.as_ref().map_or(0, String::len)).sum()
            }
            Value::RangeDecimal((l, u)) => [l, u].iter().map(|b| b.as_ref().map_or(0, |(s, _)| s.len())).sum(),
            _ => 0,
        }
}

impl Handle {
    /// Checks every parameter's value before anything is sent, as Spin
    /// converts them first (`value-conversion-failed`).
    fn checked(parameters: &[Value]) -> Result<(), Error> {
        for parameter in parameters {
            codec::encode(parameter, &Type::TEXT_ARRAY).map_err(Error::ValueConversionFailed)?;
        }
        Ok(())
    }

    async fn within_time<T>(&self, call: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let meter = &self.shared.meter;
        match tokio::time::timeout(self.limits.call_timeout, call).await {
            Ok(Ok(answer)) => {
                meter.count(Some(&self.destination), "call");
                Ok(answer)
            }
            Ok(Err(e)) => {
                meter.count(Some(&self.destination), "error");
                Err(e)
            }
            Err(_) => {
                meter.count(Some(&self.destination), "timeout");
                Err(Error::QueryFailed(Err(format!(
                    "the query timed out after {:?}",
                    self.limits.call_timeout
                ))))
            }
        }
    }

    pub async fn execute(&self, statement: String, parameters: Vec<Value>) -> Result<u64, Error> {
        Self::checked(&parameters)?;
        self.within_time(async {
            let prepared = self.client.prepare(&statement).await.map_err(query_failed)?;
            self.client
                .execute_raw(&prepared, parameters.iter())
                .await
                .map_err(query_failed)
        })
        .await
    }

    pub async fn query(&self, statement: String, parameters: Vec<Value>) -> Result<RowSet, Error> {
        Self::checked(&parameters)?;
        let limit = self.limits.result_bytes;
        self.within_time(async {
            let prepared = self.client.prepare(&statement).await.map_err(query_failed)?;
            let columns: Vec<(String, DataType)> = prepared
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), codec::data_type(c.type_())))
                .collect();
            let rows = self
                .client
                .query_raw(&prepared, parameters.iter())
                .await
                .map_err(query_failed)?;
            pin_mut!(rows);
            let mut set = RowSet {
                columns,
                rows: Vec::new(),
            };
            let mut size = 0usize;
            while let Some(row) = rows.try_next().await.map_err(query_failed)? {
                let mut values = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let Raw(raw) = row.try_get::<_, Raw>(i).map_err(query_failed)?;
                    let value = codec::decode(column.type_(), raw).map_err(Error::ValueConversionFailed)?;
                    size += size_of_value(&value);
                    values.push(value);
                }
                if size > limit {
                    return Err(Error::QueryFailed(Err(format!(
                        "query result exceeds limit of {limit} bytes"
                    ))));
                }
                set.rows.push(values);
            }
            Ok(set)
        })
        .await
    }
}

/// What the bindings see of a store.
pub struct PgView<'a> {
    pub table: &'a mut ResourceTable,
    pub pg: &'a InstancePg,
}

impl Factor for OutboundPgFactor {
    type ComponentState = PgState;
    type InstanceState = InstancePg;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)?;
        older::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&PgState>) -> anyhow::Result<PgState> {
        Ok(ServiceState::configure(
            ctx,
            previous,
            "postgres",
            self.limits,
            &self.metrics,
        ))
    }

    fn prepare(&self, state: &PgState, ctx: &Prepare<'_>) -> InstancePg {
        ServiceInstance::new(state, self.limits, &ctx.service_slots)
    }

    fn retire(&self, _id: &str, state: &PgState) {
        state.shared.meter.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::allowed_hosts::AllowedHost;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect())
    }

    #[test]
    fn connection_strings_are_granted_host_by_host_in_spins_words() {
        let allowed = list(&["postgres://localhost:5433", "*://db:5432"]);
        let ok = granted(
            &allowed,
            "host=localhost port=5433 user=postgres password=x dbname=spin_dev",
        )
        .unwrap();
        assert_eq!((ok.host.as_str(), ok.port), ("localhost", 5433));
        assert!(granted(&allowed, "postgres://u:pw@db/app").is_ok(), "5432 by default");
        assert_eq!(
            granted(&allowed, "host=localhost port=40697 user=postgres").unwrap_err(),
            Error::ConnectionFailed("address postgres://localhost:40697 is not permitted".into())
        );
        assert_eq!(
            granted(&allowed, "host=elsewhere user=postgres").unwrap_err(),
            Error::ConnectionFailed("address postgres://elsewhere is not permitted".into())
        );
        assert_eq!(
            granted(&allowed, "host=db,evil port=5432 user=x").unwrap_err(),
            Error::ConnectionFailed("address postgres://evil:5432 is not permitted".into()),
            "every host must be granted"
        );
        assert!(matches!(
            granted(&allowed, "host=/var/run/postgresql user=x"),
            Err(Error::ConnectionFailed(_))
        ));
        assert!(matches!(
            granted(&allowed, "not a = connection 'string"),
            Err(Error::ConnectionFailed(_))
        ));
    }

    #[test]
    fn connections_trusting_a_ca_are_pooled_apart() {
        let pem = include_str!("testdata/ca.pem");
        let ca = CaRoot::from_pem(pem).unwrap();
        let address = "host=db user=x";
        assert_eq!(pool_key(address, None), address);
        assert_ne!(pool_key(address, Some(&ca)), pool_key(address, None));
        assert_eq!(
            pool_key(address, Some(&ca)),
            pool_key(address, Some(&CaRoot::from_pem(pem).unwrap()))
        );
    }

    #[test]
    fn parameters_are_checked_before_sending() {
        assert!(Handle::checked(&[Value::Int32(1), Value::Decimal("1.5".into())]).is_ok());
        assert!(matches!(
            Handle::checked(&[Value::Decimal("one".into())]),
            Err(Error::ValueConversionFailed(_))
        ));
        assert_eq!(Value::Int32(1).kind(), "Int32");
    }
}
