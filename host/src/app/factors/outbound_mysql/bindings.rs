//! `fermyon:spin/mysql@2.0.0` and `spin:mysql/mysql@3.0.0` over one
//! implementation ([`InstanceMysql`](super::InstanceMysql)): a connection
//! resource is an open [`Connection`]; values, columns and errors convert
//! one to one (the two versions declare the same types). The async
//! version's query reads its rows as Spin 2's does, bounded, and streams
//! them from the result.

use super::{Connection, DataType, Error, MysqlView, RowSet, Value};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/mysql",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/mysql.connection": super::Mysql2Connection,
            "spin:mysql/mysql.connection": super::Mysql3Connection,
        },
    });
}

use generated::fermyon::spin::mysql as mysql2;
use generated::fermyon::spin::rdbms_types as types2;
use generated::spin::mysql::mysql as mysql3;

pub struct Mysql2Connection(Connection);
pub struct Mysql3Connection(Connection);

struct HasMysql;

impl HasData for HasMysql {
    type Data<'a> = MysqlView<'a>;
}

fn view(state: &mut HostState) -> MysqlView<'_> {
    state.mysql()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    types2::add_to_linker::<HostState, HasMysql>(linker, view)?;
    mysql2::add_to_linker::<HostState, HasMysql>(linker, view)?;
    mysql3::add_to_linker::<HostState, HasMysql>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

/// The two versions' types are the same shape; this converts each way.
macro_rules! convert {
    ($types:ident) => {
        impl From<Error> for $types::Error {
            fn from(error: Error) -> Self {
                match error {
                    Error::ConnectionFailed(why) => $types::Error::ConnectionFailed(why),
                    Error::BadParameter(why) => $types::Error::BadParameter(why),
                    Error::QueryFailed(why) => $types::Error::QueryFailed(why),
                    Error::ValueConversionFailed(why) => $types::Error::ValueConversionFailed(why),
                    Error::Other(why) => $types::Error::Other(why),
                }
            }
        }

        impl From<$types::ParameterValue> for Value {
            fn from(value: $types::ParameterValue) -> Self {
                use $types::ParameterValue as P;
                match value {
                    P::Boolean(b) => Value::Boolean(b),
                    P::Int8(i) => Value::Int8(i),
                    P::Int16(i) => Value::Int16(i),
                    P::Int32(i) => Value::Int32(i),
                    P::Int64(i) => Value::Int64(i),
                    P::Uint8(u) => Value::Uint8(u),
                    P::Uint16(u) => Value::Uint16(u),
                    P::Uint32(u) => Value::Uint32(u),
                    P::Uint64(u) => Value::Uint64(u),
                    P::Floating32(f) => Value::Floating32(f),
                    P::Floating64(f) => Value::Floating64(f),
                    P::Str(s) => Value::Str(s),
                    P::Binary(b) => Value::Binary(b),
                    P::DbNull => Value::Null,
                }
            }
        }

        impl From<Value> for $types::DbValue {
            fn from(value: Value) -> Self {
                use $types::DbValue as V;
                match value {
                    Value::Boolean(b) => V::Boolean(b),
                    Value::Int8(i) => V::Int8(i),
                    Value::Int16(i) => V::Int16(i),
                    Value::Int32(i) => V::Int32(i),
                    Value::Int64(i) => V::Int64(i),
                    Value::Uint8(u) => V::Uint8(u),
                    Value::Uint16(u) => V::Uint16(u),
                    Value::Uint32(u) => V::Uint32(u),
                    Value::Uint64(u) => V::Uint64(u),
                    Value::Floating32(f) => V::Floating32(f),
                    Value::Floating64(f) => V::Floating64(f),
                    Value::Str(s) => V::Str(s),
                    Value::Binary(b) => V::Binary(b),
                    Value::Null => V::DbNull,
                    Value::Unsupported => V::Unsupported,
                }
            }
        }

        impl From<DataType> for $types::DbDataType {
            fn from(ty: DataType) -> Self {
                use $types::DbDataType as T;
                match ty {
                    DataType::Boolean => T::Boolean,
                    DataType::Int8 => T::Int8,
                    DataType::Int16 => T::Int16,
                    DataType::Int32 => T::Int32,
                    DataType::Int64 => T::Int64,
                    DataType::Uint8 => T::Uint8,
                    DataType::Uint16 => T::Uint16,
                    DataType::Uint32 => T::Uint32,
                    DataType::Uint64 => T::Uint64,
                    DataType::Floating32 => T::Floating32,
                    DataType::Floating64 => T::Floating64,
                    DataType::Str => T::Str,
                    DataType::Binary => T::Binary,
                    DataType::Other => T::Other,
                }
            }
        }
    };
}

convert!(types2);
convert!(mysql3);

fn columns<C>(columns: Vec<(String, DataType)>, column: fn(String, DataType) -> C) -> Vec<C> {
    columns.into_iter().map(|(name, ty)| column(name, ty)).collect()
}

fn rows<V: From<Value>>(rows: Vec<Vec<Value>>) -> Vec<Vec<V>> {
    rows.into_iter()
        .map(|row| row.into_iter().map(Into::into).collect())
        .collect()
}

impl From<RowSet> for types2::RowSet {
    fn from(set: RowSet) -> Self {
        types2::RowSet {
            columns: columns(set.columns, |name, ty| types2::Column {
                name,
                data_type: ty.into(),
            }),
            rows: rows(set.rows),
        }
    }
}

impl types2::Host for MysqlView<'_> {}

impl mysql2::Host for MysqlView<'_> {}

impl mysql2::HostConnection for MysqlView<'_> {
    async fn open(&mut self, address: String) -> Result<Result<Resource<Mysql2Connection>, types2::Error>, Trap> {
        match self.mysql.open(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(Mysql2Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<Mysql2Connection>,
        statement: String,
        params: Vec<types2::ParameterValue>,
    ) -> Result<Result<types2::RowSet, types2::Error>, Trap> {
        let handle = match self.table.get(&connection)?.0.handle() {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        Ok(handle
            .query(statement, params)
            .await
            .map(Into::into)
            .map_err(Into::into))
    }

    async fn execute(
        &mut self,
        connection: Resource<Mysql2Connection>,
        statement: String,
        params: Vec<types2::ParameterValue>,
    ) -> Result<Result<(), types2::Error>, Trap> {
        let handle = match self.table.get(&connection)?.0.handle() {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        Ok(handle.execute(statement, params).await.map_err(Into::into))
    }

    async fn drop(&mut self, connection: Resource<Mysql2Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl mysql3::Host for MysqlView<'_> {}

impl mysql3::HostConnection for MysqlView<'_> {
    async fn drop(&mut self, connection: Resource<Mysql3Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// The call handle of the connection behind `connection`, read under the
/// accessor.
fn handle3<T>(
    accessor: &Accessor<T, HasMysql>,
    connection: &Resource<Mysql3Connection>,
) -> Result<Result<super::Handle, Error>, Trap> {
    accessor.with(|mut access| Ok(access.get().table.get(connection)?.0.handle()))
}

type Rows3 = (
    Vec<mysql3::Column>,
    StreamReader<mysql3::Row>,
    FutureReader<Result<(), mysql3::Error>>,
);

impl<T> mysql3::HostConnectionWithStore<T> for HasMysql {
    async fn open(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Result<Resource<Mysql3Connection>, mysql3::Error>, Trap> {
        let mysql = accessor.with(|mut access| access.get().mysql.clone());
        match mysql.open(&address).await {
            Ok(connection) => {
                accessor.with(|mut access| Ok(Ok(access.get().table.push(Mysql3Connection(connection))?)))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn query(
        accessor: &Accessor<T, Self>,
        connection: Resource<Mysql3Connection>,
        statement: String,
        params: Vec<mysql3::ParameterValue>,
    ) -> Result<Result<Rows3, mysql3::Error>, Trap> {
        let handle = match handle3(accessor, &connection)? {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        let set = match handle.query(statement, params).await {
            Ok(set) => set,
            Err(e) => return Ok(Err(e.into())),
        };
        let columns = columns(set.columns, |name, ty| mysql3::Column {
            name,
            data_type: ty.into(),
        });
        let rows: Vec<mysql3::Row> = rows(set.rows);
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute(
        accessor: &Accessor<T, Self>,
        connection: Resource<Mysql3Connection>,
        statement: String,
        params: Vec<mysql3::ParameterValue>,
    ) -> Result<Result<(), mysql3::Error>, Trap> {
        let handle = match handle3(accessor, &connection)? {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        Ok(handle.execute(statement, params).await.map_err(Into::into))
    }
}
