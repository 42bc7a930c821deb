//! Spin 2's and Spin 4's outbound Redis interfaces over one implementation
//! ([`InstanceRedis`](super::InstanceRedis)): a connection resource is an
//! open [`Connection`], and values and errors convert one to one. The async
//! family takes what a call needs out of the store first, so a slow server
//! does not hold it.

use super::{Connection, Error, Handle, Parameter, RedisView, Value};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, HasData, Linker, Resource};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/redis",
        imports: {
            "fermyon:spin/redis": async | trappable,
            default: trappable,
        },
        with: {
            "fermyon:spin/redis.connection": super::Spin2Connection,
            "spin:redis/redis.connection": super::Spin3Connection,
        },
    });
}

use generated::fermyon::spin::redis as spin2;
use generated::spin::redis::redis as spin3;

pub struct Spin2Connection(Connection);
pub struct Spin3Connection(Connection);

struct HasRedis;

impl HasData for HasRedis {
    type Data<'a> = RedisView<'a>;
}

fn view(state: &mut HostState) -> RedisView<'_> {
    state.redis()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    spin2::add_to_linker::<HostState, HasRedis>(linker, view)?;
    spin3::add_to_linker::<HostState, HasRedis>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

/// The two interfaces' types are the same shape; this converts each way.
macro_rules! convert {
    ($spin:ident) => {
        impl From<Error> for $spin::Error {
            fn from(error: Error) -> Self {
                match error {
                    Error::InvalidAddress => $spin::Error::InvalidAddress,
                    Error::TooManyConnections => $spin::Error::TooManyConnections,
                    Error::TypeError => $spin::Error::TypeError,
                    Error::Other(why) => $spin::Error::Other(why),
                }
            }
        }

        impl From<$spin::RedisParameter> for Parameter {
            fn from(parameter: $spin::RedisParameter) -> Self {
                match parameter {
                    $spin::RedisParameter::Int64(i) => Parameter::Int64(i),
                    $spin::RedisParameter::Binary(b) => Parameter::Binary(b),
                }
            }
        }

        impl From<Value> for $spin::RedisResult {
            fn from(value: Value) -> Self {
                match value {
                    Value::Nil => $spin::RedisResult::Nil,
                    Value::Status(s) => $spin::RedisResult::Status(s),
                    Value::Int64(i) => $spin::RedisResult::Int64(i),
                    Value::Binary(b) => $spin::RedisResult::Binary(b),
                }
            }
        }
    };
}

convert!(spin2);
convert!(spin3);

/// A call's answer in the family's own types.
fn answer<T, U: From<T>, E: From<Error>>(result: Result<T, Error>) -> Result<Result<U, E>, Trap> {
    Ok(result.map(Into::into).map_err(Into::into))
}

fn results<E: From<Error>, R: From<Value>>(result: Result<Vec<Value>, Error>) -> Result<Result<Vec<R>, E>, Trap> {
    Ok(result
        .map(|values| values.into_iter().map(Into::into).collect())
        .map_err(Into::into))
}

// Spin 2: sync in its WIT, async here (the server is on the network).

impl spin2::Host for RedisView<'_> {}

impl RedisView<'_> {
    fn spin2(&self, connection: &Resource<Spin2Connection>) -> Result<Handle, Trap> {
        Ok(self.table.get(connection)?.0.handle())
    }
}

impl spin2::HostConnection for RedisView<'_> {
    async fn open(&mut self, address: String) -> Result<Result<Resource<Spin2Connection>, spin2::Error>, Trap> {
        match self.redis.open(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(Spin2Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn publish(
        &mut self,
        connection: Resource<Spin2Connection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<Result<(), spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.publish(channel, payload).await)
    }

    async fn get(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
    ) -> Result<Result<Option<Vec<u8>>, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.get(key).await)
    }

    async fn set(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<Result<(), spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.set(key, value).await)
    }

    async fn incr(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
    ) -> Result<Result<i64, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.incr(key).await)
    }

    async fn del(
        &mut self,
        connection: Resource<Spin2Connection>,
        keys: Vec<String>,
    ) -> Result<Result<u32, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.del(keys).await)
    }

    async fn sadd(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<Result<u32, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.sadd(key, values).await)
    }

    async fn smembers(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
    ) -> Result<Result<Vec<String>, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.smembers(key).await)
    }

    async fn srem(
        &mut self,
        connection: Resource<Spin2Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<Result<u32, spin2::Error>, Trap> {
        answer(self.spin2(&connection)?.srem(key, values).await)
    }

    async fn execute(
        &mut self,
        connection: Resource<Spin2Connection>,
        command: String,
        arguments: Vec<spin2::RedisParameter>,
    ) -> Result<Result<Vec<spin2::RedisResult>, spin2::Error>, Trap> {
        let arguments = arguments.into_iter().map(Into::into).collect();
        results(self.spin2(&connection)?.execute(command, arguments).await)
    }

    async fn drop(&mut self, connection: Resource<Spin2Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

// Spin 4: async.

impl spin3::Host for RedisView<'_> {}

impl spin3::HostConnection for RedisView<'_> {
    fn drop(&mut self, connection: Resource<Spin3Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// The connection behind `handle`, read under the accessor.
fn spin3<T>(accessor: &Accessor<T, HasRedis>, connection: &Resource<Spin3Connection>) -> Result<Handle, Trap> {
    accessor.with(|mut access| Ok(access.get().table.get(connection)?.0.handle()))
}

impl<T> spin3::HostConnectionWithStore<T> for HasRedis {
    async fn open(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Result<Resource<Spin3Connection>, spin3::Error>, Trap> {
        let redis = accessor.with(|mut access| access.get().redis.clone());
        match redis.open(&address).await {
            Ok(connection) => {
                accessor.with(|mut access| Ok(Ok(access.get().table.push(Spin3Connection(connection))?)))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn publish(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<Result<(), spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.publish(channel, payload).await)
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
    ) -> Result<Result<Option<Vec<u8>>, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.get(key).await)
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<Result<(), spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.set(key, value).await)
    }

    async fn incr(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
    ) -> Result<Result<i64, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.incr(key).await)
    }

    async fn del(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        keys: Vec<String>,
    ) -> Result<Result<u32, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.del(keys).await)
    }

    async fn sadd(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<Result<u32, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.sadd(key, values).await)
    }

    async fn smembers(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
    ) -> Result<Result<Vec<String>, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.smembers(key).await)
    }

    async fn srem(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        key: String,
        values: Vec<String>,
    ) -> Result<Result<u32, spin3::Error>, Trap> {
        answer(spin3(accessor, &connection)?.srem(key, values).await)
    }

    async fn execute(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        command: String,
        arguments: Vec<spin3::RedisParameter>,
    ) -> Result<Result<Vec<spin3::RedisResult>, spin3::Error>, Trap> {
        let arguments = arguments.into_iter().map(Into::into).collect();
        results(spin3(accessor, &connection)?.execute(command, arguments).await)
    }
}
