//! The outbound MySQL factor: Spin 2's `fermyon:spin/mysql@2.0.0` (what
//! spin-sdk 2 to 6's `mysql` imports) and Spin 4's async
//! `spin:mysql/mysql@3.0.0` (spin-sdk 7's), with `mysql_async` and values
//! converted by Spin's rules ([`convert`]).
//!
//! - Grants: the address (`mysql://user:password@host:port/db`) must be
//!   granted by `allowed_outbound_hosts` for scheme `mysql` (3306 by
//!   default) before anything is connected; else Spin's
//!   `connection-failed("address … is not permitted")`. The client then
//!   connects to exactly the host and port granted ([`address`]); Unix
//!   sockets are refused. No TLS: `ssl-mode=REQUIRED` fails to connect.
//! - Connections: at most `--max-service-connections` per instance; a
//!   dropped connection goes back to its component's pool for the same
//!   address and is reset (`COM_RESET_CONNECTION`) before it is handed out
//!   again, so no session state (variables, temporary tables, prepared
//!   statements, an open transaction) passes from one request to the next;
//!   one that cannot be reset is closed. A connection whose call did not
//!   finish cleanly (timed out, cut off, past the result's bound) is closed,
//!   never pooled: what it still has to read is unknown.
//! - Limits: connecting within `--outbound-connect-timeout`, each call
//!   within `--service-call-timeout`, rows read one at a time and refused
//!   past `--max-store-result-bytes` with Spin's words (and no packet
//!   larger than that read at all).
//! - Counted in `outbound_service_uses_total{service="mysql"}`.

mod address;
mod bindings;
pub mod convert;

use crate::app::factors::services::{self, Destination, ServiceInstance, ServiceLimits, ServiceState, Shared, Slot};
use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use futures_util::future::BoxFuture;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::sync::Arc;
use tokio::sync::Mutex;
use wasmtime::component::{Linker, ResourceTable};

/// A value in a row, or a parameter of a statement (any but
/// `unsupported`, which Spin declares for rows and never sends).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Uint8(u8),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Floating32(f32),
    Floating64(f64),
    Str(String),
    Binary(Vec<u8>),
    Null,
    Unsupported,
}

/// A column's type as the interfaces name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Floating32,
    Floating64,
    Str,
    Binary,
    Other,
}

/// MySQL's errors as Spin's interfaces give them (both versions have these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    ConnectionFailed(String),
    BadParameter(String),
    QueryFailed(String),
    ValueConversionFailed(String),
    Other(String),
}

/// What a query gives back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowSet {
    pub columns: Vec<(String, DataType)>,
    pub rows: Vec<Vec<Value>>,
}

pub struct OutboundMysqlFactor {
    pub limits: ServiceLimits,
    pub metrics: Metrics,
}

/// What a component of an app version keeps.
pub type MysqlState = ServiceState<Conn>;

/// One instance's MySQL.
pub type InstanceMysql = ServiceInstance<Conn>;

/// The client connection behind a guest's connection: `None` once a call
/// that did not finish cleanly has closed it.
type Held = Arc<Mutex<Option<Conn>>>;

/// An open connection (a guest's resource).
pub struct Connection {
    conn: Option<Held>,
    destination: Destination,
    address: String,
    shared: Arc<Shared<Conn>>,
    limits: ServiceLimits,
    _slot: Slot,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Back to the pool only if no call holds it (a call the guest gave
        // up on may still) and it is still open.
        let conn = self
            .conn
            .take()
            .and_then(|held| Arc::try_unwrap(held).ok())
            .and_then(Mutex::into_inner);
        if let Some(conn) = conn {
            self.shared.pool.put(&self.address, conn);
        }
    }
}

impl ServiceInstance<Conn> {
    pub async fn open(&self, address: &str) -> Result<Connection, Error> {
        let shared = &self.state.shared;
        let Some(destination) = services::granted(&self.state.allowed, address, "mysql") else {
            shared.meter.count(None, "denied");
            tracing::warn!(component = %shared.meter.component(), "mysql address not permitted");
            return Err(address::not_permitted(address));
        };
        let options = match address::options(address, &destination, &self.limits) {
            Ok(options) => options,
            Err(e) => {
                shared.meter.count(Some(&destination), "connect_error");
                return Err(e);
            }
        };
        let too_many = Error::ConnectionFailed("too many connections".into());
        let (conn, slot) = self
            .connection(
                &destination,
                self.pooled(address),
                connect(options, &self.limits),
                too_many,
            )
            .await?;
        Ok(Connection {
            conn: Some(Arc::new(Mutex::new(Some(conn)))),
            destination,
            address: address.to_string(),
            shared: shared.clone(),
            limits: self.limits,
            _slot: slot,
        })
    }

    /// A pooled connection to `address`, reset; one that cannot be reset
    /// (closed, or a server without `COM_RESET_CONNECTION`) is dropped.
    async fn pooled(&self, address: &str) -> Option<Conn> {
        while let Some(mut conn) = self.state.shared.pool.take(address) {
            let reset = tokio::time::timeout(self.limits.call_timeout, conn.reset()).await;
            if matches!(reset, Ok(Ok(true))) {
                return Some(conn);
            }
        }
        None
    }
}

async fn connect(options: mysql_async::Opts, limits: &ServiceLimits) -> Result<Conn, Error> {
    match tokio::time::timeout(limits.connect_timeout, Conn::new(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(Error::ConnectionFailed(e.to_string())),
        Err(_) => Err(Error::ConnectionFailed(format!(
            "connecting timed out after {:?}",
            limits.connect_timeout
        ))),
    }
}

/// What a call needs of a connection, taken out of the guest's table.
#[derive(Clone)]
pub struct Handle {
    conn: Held,
    destination: Destination,
    shared: Arc<Shared<Conn>>,
    limits: ServiceLimits,
}

impl Connection {
    pub fn handle(&self) -> Result<Handle, Error> {
        let conn = self.conn.clone().ok_or_else(closed)?;
        Ok(Handle {
            conn,
            destination: self.destination.clone(),
            shared: self.shared.clone(),
            limits: self.limits,
        })
    }
}

fn closed() -> Error {
    Error::Other("the connection is closed".into())
}

/// A failed call: the error, and whether the connection is as good as
/// before it (the server refused the statement) and may be used again.
type Failure = (Error, bool);

/// The client's error in Spin's words (`wrap` picks the case), usable
/// again only when the server itself answered with the error.
fn failed(error: mysql_async::Error, wrap: fn(String) -> Error) -> Failure {
    let usable = matches!(error, mysql_async::Error::Server(_));
    (wrap(format!("{error:?}")), usable)
}

fn parameters(values: Vec<Value>) -> Result<mysql_async::Params, Error> {
    let values = values
        .into_iter()
        .map(convert::parameter)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if values.is_empty() {
        mysql_async::Params::Empty
    } else {
        mysql_async::Params::Positional(values)
    })
}

impl Handle {
    /// Runs `call` on the connection within the call timeout, counting it;
    /// the connection is closed unless the call finished cleanly.
    async fn call<T>(
        &self,
        call: impl for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, Failure>>,
    ) -> Result<T, Error> {
        let meter = &self.shared.meter;
        let mut held = self.conn.lock().await;
        let mut conn = held.take().ok_or_else(closed)?;
        let outcome = tokio::time::timeout(self.limits.call_timeout, call(&mut conn)).await;
        match outcome {
            Ok(Ok(answer)) => {
                *held = Some(conn);
                meter.count(Some(&self.destination), "call");
                Ok(answer)
            }
            Ok(Err((error, usable))) => {
                if usable {
                    *held = Some(conn);
                }
                meter.count(Some(&self.destination), "error");
                Err(error)
            }
            Err(_) => {
                meter.count(Some(&self.destination), "timeout");
                Err(Error::QueryFailed(format!(
                    "the query timed out after {:?}",
                    self.limits.call_timeout
                )))
            }
        }
    }

    pub async fn execute(&self, statement: String, parameters: Vec<Value>) -> Result<(), Error> {
        let parameters = self::parameters(parameters)?;
        self.call(|conn: &mut Conn| {
            Box::pin(async move {
                conn.exec_drop(statement, parameters)
                    .await
                    .map_err(|e| failed(e, Error::QueryFailed))
            })
        })
        .await
    }

    pub async fn query(&self, statement: String, parameters: Vec<Value>) -> Result<RowSet, Error> {
        let parameters = self::parameters(parameters)?;
        let limit = self.limits.result_bytes;
        self.call(|conn: &mut Conn| {
            Box::pin(async move {
                let mut result = conn
                    .exec_iter(statement, parameters)
                    .await
                    .map_err(|e| failed(e, Error::QueryFailed))?;
                let columns: Vec<(String, DataType)> = result
                    .columns()
                    .map(|columns| {
                        columns
                            .iter()
                            .map(|c| {
                                (
                                    c.name_str().into_owned(),
                                    convert::data_type(c.column_type(), c.flags()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut set = RowSet {
                    columns,
                    rows: Vec::new(),
                };
                let mut size = std::mem::size_of::<RowSet>();
                while let Some(row) = result.next().await.map_err(|e| failed(e, Error::Other))? {
                    let mut values = Vec::with_capacity(row.len());
                    for (raw, (name, ty)) in row.unwrap().into_iter().zip(&set.columns) {
                        let value = convert::value(raw, name, ty).map_err(|e| (e, false))?;
                        size += convert::size_of_value(&value);
                        values.push(value);
                    }
                    if size > limit {
                        let error = Error::Other(format!("query result exceeds limit of {limit} bytes"));
                        return Err((error, false));
                    }
                    set.rows.push(values);
                }
                Ok(set)
            })
        })
        .await
    }
}

/// What the bindings see of a store.
pub struct MysqlView<'a> {
    pub table: &'a mut ResourceTable,
    pub mysql: &'a InstanceMysql,
}

impl Factor for OutboundMysqlFactor {
    type ComponentState = MysqlState;
    type InstanceState = InstanceMysql;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&MysqlState>) -> anyhow::Result<MysqlState> {
        Ok(ServiceState::configure(
            ctx,
            previous,
            "mysql",
            self.limits,
            &self.metrics,
        ))
    }

    fn prepare(&self, state: &MysqlState, ctx: &Prepare<'_>) -> InstanceMysql {
        ServiceInstance::new(state, self.limits, &ctx.service_slots)
    }

    fn retire(&self, _id: &str, state: &MysqlState) {
        state.shared.meter.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_converted_before_anything_is_sent() {
        assert_eq!(parameters(vec![]), Ok(mysql_async::Params::Empty));
        assert_eq!(
            parameters(vec![Value::Int32(1), Value::Str("a".into())]),
            Ok(mysql_async::Params::Positional(vec![
                mysql_async::Value::Int(1),
                mysql_async::Value::Bytes(b"a".to_vec())
            ]))
        );
        assert!(matches!(
            parameters(vec![Value::Unsupported]),
            Err(Error::ValueConversionFailed(_))
        ));
    }

    #[test]
    fn only_the_servers_own_refusals_leave_a_connection_usable() {
        let server = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1146,
            message: "Table 'db.nowhere' doesn't exist".into(),
            state: "42S02".into(),
        });
        let (error, usable) = failed(server, Error::QueryFailed);
        assert!(usable);
        assert!(
            matches!(&error, Error::QueryFailed(text) if text.contains("1146") && text.contains("nowhere")),
            "{error:?}"
        );
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::ErrorKind::BrokenPipe.into()));
        assert!(!failed(io, Error::Other).1);
    }
}
