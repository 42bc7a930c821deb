//! The outbound Redis factor: Spin's `fermyon:spin/redis@2.0.0` and
//! `spin:redis/redis@3.0.0` (async), over one implementation.
//!
//! - Grants: an address is opened only if the component's
//!   `allowed_outbound_hosts` grants its scheme, host and port (6379 by
//!   default), decided before any connection is made; anything else is
//!   `invalid-address`, as Spin answers (`services::granted`).
//! - Connections: at most `--max-service-connections` open per instance;
//!   past it `too-many-connections`. A connection the guest drops goes back
//!   to its component's pool for the same address (a few per address, for
//!   `--service-idle-timeout`), unless the guest ran an arbitrary command
//!   through `execute` on it (which may have changed its database, begun a
//!   transaction or subscribed) or it failed.
//! - Limits: connecting within `--outbound-connect-timeout`, each call
//!   within `--service-call-timeout`; an answer larger than
//!   `--max-store-result-bytes` is refused with Spin's words (the client has
//!   read it by then, as Spin's has: the limit bounds what reaches the guest
//!   and what the host keeps).
//! - Counted in `outbound_service_uses_total`.

mod bindings;

use crate::app::factors::services::{self, Destination, ServiceInstance, ServiceLimits, ServiceState, Shared, Slot};
use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use redis::aio::MultiplexedConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wasmtime::component::{Linker, ResourceTable};

/// Redis's errors as Spin's interfaces give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidAddress,
    TooManyConnections,
    TypeError,
    Other(String),
}

/// An argument of `execute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    Int64(i64),
    Binary(Vec<u8>),
}

/// One value of `execute`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Nil,
    Status(String),
    Int64(i64),
    Binary(Vec<u8>),
}

pub struct OutboundRedisFactor {
    pub limits: ServiceLimits,
    pub metrics: Metrics,
}

/// What a component of an app version keeps.
pub type RedisState = ServiceState<MultiplexedConnection>;

/// One instance's Redis.
pub type InstanceRedis = ServiceInstance<MultiplexedConnection>;

/// An open connection (a guest's resource).
pub struct Connection {
    handle: Handle,
    address: String,
    _slot: Slot,
}

/// What a call needs of a connection, cloned out of the guest's table so an
/// async call does not hold the store.
#[derive(Clone)]
pub struct Handle {
    connection: MultiplexedConnection,
    destination: Destination,
    shared: Arc<Shared<MultiplexedConnection>>,
    limits: ServiceLimits,
    /// Whether the connection may serve another request: cleared by
    /// `execute` and by a failure.
    reusable: Arc<AtomicBool>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.handle.reusable.load(Ordering::Acquire) {
            self.handle
                .shared
                .pool
                .put(&self.address, self.handle.connection.clone());
        }
    }
}

impl ServiceInstance<MultiplexedConnection> {
    /// Opens `address` as Spin does, if the component is granted it: a
    /// pooled connection to the same address, or a new one.
    pub async fn open(&self, address: &str) -> Result<Connection, Error> {
        let shared = &self.state.shared;
        let granted = services::granted(&self.state.allowed, address, "redis");
        // The client must connect where the grant was checked: it reads the
        // address itself, and an address both readings do not agree on is
        // refused.
        let Some(destination) = granted.filter(|d| connects_to(address, d)) else {
            shared.meter.count(None, "denied");
            tracing::warn!(component = %shared.meter.component(), address = %redacted(address), "redis address not permitted");
            return Err(Error::InvalidAddress);
        };
        let pooled = async { shared.pool.take(address) };
        let (connection, slot) = self
            .connection(
                &destination,
                pooled,
                connect(address, &self.limits),
                Error::TooManyConnections,
            )
            .await?;
        Ok(Connection {
            handle: Handle {
                connection,
                destination,
                shared: shared.clone(),
                limits: self.limits,
                reusable: Arc::new(AtomicBool::new(true)),
            },
            address: address.to_string(),
            _slot: slot,
        })
    }
}

/// Whether the client, reading `address` itself, connects to `destination`.
fn connects_to(address: &str, destination: &Destination) -> bool {
    use redis::{ConnectionAddr, IntoConnectionInfo};
    let Ok(info) = address.into_connection_info() else {
        return false;
    };
    let (host, port) = match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => (host, *port),
        // A Unix socket, or what a later client may add: not a granted host.
        _ => return false,
    };
    let bare = |h: &str| h.trim_matches(['[', ']']).to_ascii_lowercase();
    bare(host) == bare(&destination.host) && port == destination.port
}

/// A new connection to `address`, handshake included, within the connect
/// timeout.
async fn connect(address: &str, limits: &ServiceLimits) -> Result<MultiplexedConnection, Error> {
    let client = redis::Client::open(address).map_err(|_| Error::InvalidAddress)?;
    // The timeouts are the host's own (here and in `Handle::query`), so a
    // timeout is one error in one wording, whoever would notice it first.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(None)
        .set_response_timeout(None);
    match tokio::time::timeout(
        limits.connect_timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(e)) => Err(Error::Other(e.to_string())),
        Err(_) => Err(Error::Other(format!(
            "connecting timed out after {:?}",
            limits.connect_timeout
        ))),
    }
}

/// `address` without its password, for logs.
fn redacted(address: &str) -> String {
    crate::app::factors::key_value::backend::redacted(address)
}

impl Connection {
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Handle {
    /// Sends `command`, within the call timeout, and reads its answer.
    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, Error> {
        let meter = &self.shared.meter;
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.limits.call_timeout, command.query_async::<T>(&mut connection)).await {
            Ok(Ok(answer)) => {
                meter.count(Some(&self.destination), "call");
                Ok(answer)
            }
            Ok(Err(e)) => {
                meter.count(Some(&self.destination), "error");
                if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() || e.is_timeout() {
                    self.reusable.store(false, Ordering::Release);
                }
                Err(error_of(&e))
            }
            Err(_) => {
                meter.count(Some(&self.destination), "timeout");
                // Its answer may still come, to the next caller.
                self.reusable.store(false, Ordering::Release);
                Err(Error::Other(format!(
                    "the call timed out after {:?}",
                    self.limits.call_timeout
                )))
            }
        }
    }

    fn within_limit(&self, bytes: usize) -> Result<(), Error> {
        within_limit(bytes, self.limits.result_bytes)
    }

    pub async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), Error> {
        self.query::<i64>(redis::cmd("PUBLISH").arg(channel).arg(payload))
            .await
            .map(drop)
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        let value: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(key)).await?;
        self.within_limit(value.as_ref().map_or(0, Vec::len))?;
        Ok(value)
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.query::<()>(redis::cmd("SET").arg(key).arg(value)).await
    }

    pub async fn incr(&self, key: String) -> Result<i64, Error> {
        self.query(redis::cmd("INCRBY").arg(key).arg(1)).await
    }

    pub async fn del(&self, keys: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("DEL").arg(keys)).await
    }

    pub async fn sadd(&self, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("SADD").arg(key).arg(values)).await
    }

    pub async fn smembers(&self, key: String) -> Result<Vec<String>, Error> {
        let members: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(key)).await?;
        self.within_limit(members.iter().map(|m| m.len() + 24).sum())?;
        Ok(members)
    }

    pub async fn srem(&self, key: String, values: Vec<String>) -> Result<u32, Error> {
        self.query(redis::cmd("SREM").arg(key).arg(values)).await
    }

    /// Any command: the connection is not pooled after it, since the
    /// command may have changed what the connection is (its database, a
    /// transaction begun, a subscription).
    pub async fn execute(&self, command: String, arguments: Vec<Parameter>) -> Result<Vec<Value>, Error> {
        self.reusable.store(false, Ordering::Release);
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                Parameter::Int64(i) => cmd.arg(i),
                Parameter::Binary(b) => cmd.arg(b),
            };
        }
        let answer: redis::Value = self.query(&cmd).await?;
        let mut values = Vec::new();
        flatten(&answer, &mut values).map_err(Error::Other)?;
        self.within_limit(values.iter().map(size_of_value).sum())?;
        Ok(values)
    }
}

/// A refusal of an answer past `limit` bytes, in Spin's words.
fn within_limit(bytes: usize, limit: usize) -> Result<(), Error> {
    if bytes > limit {
        return Err(Error::Other(format!("query result exceeds limit of {limit} bytes")));
    }
    Ok(())
}

fn error_of(error: &redis::RedisError) -> Error {
    if error.kind() == redis::ErrorKind::UnexpectedReturnType || error.code() == Some("WRONGTYPE") {
        Error::TypeError
    } else {
        Error::Other(error.to_string())
    }
}

/// `value` as the flat list Spin's `execute` answers: arrays and sets
/// spread, numbers and booleans as Spin gives them; maps, attributes,
/// verbatim strings and pushes are not supported, as in Spin.
fn flatten(value: &redis::Value, into: &mut Vec<Value>) -> Result<(), String> {
    match value {
        redis::Value::Nil => into.push(Value::Nil),
        redis::Value::Int(i) => into.push(Value::Int64(*i)),
        redis::Value::BulkString(bytes) => into.push(Value::Binary(bytes.clone())),
        redis::Value::SimpleString(s) => into.push(Value::Status(s.clone())),
        redis::Value::Okay => into.push(Value::Status("OK".into())),
        redis::Value::Array(values) | redis::Value::Set(values) => {
            for value in values {
                flatten(value, into)?;
            }
        }
        redis::Value::Double(f) => into.push(Value::Binary(f.to_string().into_bytes())),
        redis::Value::Boolean(b) => into.push(Value::Int64(i64::from(*b))),
        redis::Value::ServerError(e) => return Err(format!("the server answered an error: {e:?}")),
        other => return Err(format!("Redis answers of this type are not supported: {other:?}")),
    }
    Ok(())
}

/// What one value of an answer costs, about.
fn size_of_value(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::Nil | Value::Int64(_) => 0,
            Value::Status(s) => s.len(),
            Value::Binary(b) => b.len(),
        }
}

/// What the bindings see of a store.
pub struct RedisView<'a> {
    pub table: &'a mut ResourceTable,
    pub redis: &'a InstanceRedis,
}

impl Factor for OutboundRedisFactor {
    type ComponentState = RedisState;
    type InstanceState = InstanceRedis;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&RedisState>) -> anyhow::Result<RedisState> {
        Ok(ServiceState::configure(
            ctx,
            previous,
            "redis",
            self.limits,
            &self.metrics,
        ))
    }

    fn prepare(&self, state: &RedisState, ctx: &Prepare<'_>) -> InstanceRedis {
        ServiceInstance::new(state, self.limits, &ctx.service_slots)
    }

    fn retire(&self, _id: &str, state: &RedisState) {
        state.shared.meter.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_flatten_as_spin_gives_them() {
        let answer = redis::Value::Array(vec![
            redis::Value::Nil,
            redis::Value::Int(7),
            redis::Value::BulkString(b"seven".to_vec()),
            redis::Value::Set(vec![redis::Value::SimpleString("PONG".into()), redis::Value::Okay]),
            redis::Value::Double(1.5),
            redis::Value::Boolean(true),
        ]);
        let mut values = Vec::new();
        flatten(&answer, &mut values).unwrap();
        assert_eq!(
            values,
            [
                Value::Nil,
                Value::Int64(7),
                Value::Binary(b"seven".to_vec()),
                Value::Status("PONG".into()),
                Value::Status("OK".into()),
                Value::Binary(b"1.5".to_vec()),
                Value::Int64(1),
            ]
        );
        let map = redis::Value::Map(vec![(redis::Value::Int(1), redis::Value::Int(2))]);
        assert!(flatten(&map, &mut Vec::new()).is_err());
    }

    #[test]
    fn the_client_connects_where_the_grant_was_checked() {
        let at = |address: &str| Destination::parse(address, "redis").unwrap();
        for address in [
            "redis://cache:7000",
            "redis://u:p@Cache:7000/2",
            "redis://[::1]:7000",
            "redis://cache",
        ] {
            assert!(connects_to(address, &at(address)), "{address}");
        }
        // Read as Spin reads it, `cache:7000`; the client would go to `u`.
        let fragment = "redis://u#x@cache:7000";
        assert_eq!(at(fragment).host, "cache");
        assert!(!connects_to(fragment, &at(fragment)));
        assert!(!connects_to("redis+unix:///tmp/r.sock", &at("redis://cache")));
    }

    #[test]
    fn answers_past_the_limit_are_refused_in_spins_words() {
        assert!(within_limit(10, 10).is_ok());
        assert_eq!(
            within_limit(11, 10),
            Err(Error::Other("query result exceeds limit of 10 bytes".into()))
        );
        assert!(size_of_value(&Value::Binary(vec![0; 100])) > 100);
    }
}
