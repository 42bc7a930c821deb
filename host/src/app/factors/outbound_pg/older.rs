//! Spin 2's `fermyon:spin/postgres@2.0.0` and Spin 3's
//! `spin:postgres/postgres@3.0.0` over the same [`InstancePg`](super::InstancePg)
//! as 4.0.0: the same grants, pool, limits and metric. Their types are
//! fewer, so values convert down as Spin converts them: what the older
//! interface has no case for is `unsupported` (a column type `other`), an
//! unsigned parameter (Spin 2's) is refused, and a server's structured error
//! is its text.

use super::{Connection, DataType, Error, PgView, RowSet, Value};
use crate::app::state::HostState;
use wasmtime::component::{HasData, Linker, Resource};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/postgres-older",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/postgres.connection": super::Pg2Connection,
            "spin:postgres/postgres.connection": super::Pg3Connection,
        },
    });
}

use generated::fermyon::spin::postgres as pg2;
use generated::fermyon::spin::rdbms_types as types2;
use generated::spin::postgres3_0_0::postgres as pg3;

pub struct Pg2Connection(Connection);
pub struct Pg3Connection(Connection);

struct HasPg;

impl HasData for HasPg {
    type Data<'a> = PgView<'a>;
}

fn view(state: &mut HostState) -> PgView<'_> {
    state.pg()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    // Spin 2's relational types (types only) are linked once, by MySQL's
    // bindings, which share them.
    pg2::add_to_linker::<HostState, HasPg>(linker, view)?;
    pg3::add_to_linker::<HostState, HasPg>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

/// The text of a query's failure: the server's own words when it gave them.
fn failure_text(failure: Result<Box<super::DbError>, String>) -> String {
    match failure {
        Ok(db) => db.as_text,
        Err(text) => text,
    }
}

/// The error types of both interfaces have the same cases.
macro_rules! errors_into {
    ($error:path) => {
        impl From<Error> for $error {
            fn from(error: Error) -> Self {
                use $error as E;
                match error {
                    Error::ConnectionFailed(why) => E::ConnectionFailed(why),
                    Error::BadParameter(why) => E::BadParameter(why),
                    Error::QueryFailed(failure) => E::QueryFailed(failure_text(failure)),
                    Error::ValueConversionFailed(why) => E::ValueConversionFailed(why),
                    Error::Other(why) => E::Other(why),
                }
            }
        }
    };
}

errors_into!(types2::Error);
errors_into!(pg3::Error);

/// A Spin 2 parameter as the service's, refusing what PostgreSQL has no
/// type for.
fn parameter2(value: types2::ParameterValue) -> Result<Value, Error> {
    use types2::ParameterValue as P;
    Ok(match value {
        P::Boolean(b) => Value::Boolean(b),
        P::Int8(i) => Value::Int8(i),
        P::Int16(i) => Value::Int16(i),
        P::Int32(i) => Value::Int32(i),
        P::Int64(i) => Value::Int64(i),
        P::Uint8(_) | P::Uint16(_) | P::Uint32(_) | P::Uint64(_) => {
            return Err(Error::ValueConversionFailed(
                "Postgres does not support unsigned integers".into(),
            ))
        }
        P::Floating32(f) => Value::Floating32(f),
        P::Floating64(f) => Value::Floating64(f),
        P::Str(s) => Value::Str(s),
        P::Binary(b) => Value::Binary(b),
        P::DbNull => Value::Null,
    })
}

fn parameter3(value: pg3::ParameterValue) -> Value {
    use pg3::ParameterValue as P;
    match value {
        P::Boolean(b) => Value::Boolean(b),
        P::Int8(i) => Value::Int8(i),
        P::Int16(i) => Value::Int16(i),
        P::Int32(i) => Value::Int32(i),
        P::Int64(i) => Value::Int64(i),
        P::Floating32(f) => Value::Floating32(f),
        P::Floating64(f) => Value::Floating64(f),
        P::Str(s) => Value::Str(s),
        P::Binary(b) => Value::Binary(b),
        P::Date(d) => Value::Date(d),
        P::Time(t) => Value::Time(t),
        P::Datetime(d) => Value::Datetime(d),
        P::Timestamp(t) => Value::Timestamp(t),
        P::DbNull => Value::Null,
    }
}

fn value2(value: Value) -> types2::DbValue {
    use types2::DbValue as V;
    match value {
        Value::Boolean(b) => V::Boolean(b),
        Value::Int8(i) => V::Int8(i),
        Value::Int16(i) => V::Int16(i),
        Value::Int32(i) => V::Int32(i),
        Value::Int64(i) => V::Int64(i),
        Value::Floating32(f) => V::Floating32(f),
        Value::Floating64(f) => V::Floating64(f),
        Value::Str(s) => V::Str(s),
        Value::Binary(b) => V::Binary(b),
        Value::Null => V::DbNull,
        _ => V::Unsupported,
    }
}

fn value3(value: Value) -> pg3::DbValue {
    use pg3::DbValue as V;
    match value {
        Value::Boolean(b) => V::Boolean(b),
        Value::Int8(i) => V::Int8(i),
        Value::Int16(i) => V::Int16(i),
        Value::Int32(i) => V::Int32(i),
        Value::Int64(i) => V::Int64(i),
        Value::Floating32(f) => V::Floating32(f),
        Value::Floating64(f) => V::Floating64(f),
        Value::Str(s) => V::Str(s),
        Value::Binary(b) => V::Binary(b),
        Value::Date(d) => V::Date(d),
        Value::Time(t) => V::Time(t),
        Value::Datetime(d) => V::Datetime(d),
        Value::Timestamp(t) => V::Timestamp(t),
        Value::Null => V::DbNull,
        _ => V::Unsupported,
    }
}

fn type2(ty: DataType) -> types2::DbDataType {
    use types2::DbDataType as T;
    match ty {
        DataType::Boolean => T::Boolean,
        DataType::Int8 => T::Int8,
        DataType::Int16 => T::Int16,
        DataType::Int32 => T::Int32,
        DataType::Int64 => T::Int64,
        DataType::Floating32 => T::Floating32,
        DataType::Floating64 => T::Floating64,
        DataType::Str => T::Str,
        DataType::Binary => T::Binary,
        _ => T::Other,
    }
}

fn type3(ty: DataType) -> pg3::DbDataType {
    use pg3::DbDataType as T;
    match ty {
        DataType::Boolean => T::Boolean,
        DataType::Int8 => T::Int8,
        DataType::Int16 => T::Int16,
        DataType::Int32 => T::Int32,
        DataType::Int64 => T::Int64,
        DataType::Floating32 => T::Floating32,
        DataType::Floating64 => T::Floating64,
        DataType::Str => T::Str,
        DataType::Binary => T::Binary,
        DataType::Date => T::Date,
        DataType::Time => T::Time,
        DataType::Datetime => T::Datetime,
        DataType::Timestamp => T::Timestamp,
        _ => T::Other,
    }
}

fn row_set2(set: RowSet) -> types2::RowSet {
    types2::RowSet {
        columns: set
            .columns
            .into_iter()
            .map(|(name, ty)| types2::Column {
                name,
                data_type: type2(ty),
            })
            .collect(),
        rows: set
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(value2).collect())
            .collect(),
    }
}

fn row_set3(set: RowSet) -> pg3::RowSet {
    pg3::RowSet {
        columns: set
            .columns
            .into_iter()
            .map(|(name, ty)| pg3::Column {
                name,
                data_type: type3(ty),
            })
            .collect(),
        rows: set
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(value3).collect())
            .collect(),
    }
}

impl pg2::Host for PgView<'_> {}
impl pg3::Host for PgView<'_> {}

/// A query of `connection` with `params`, converted for the service.
async fn query(connection: &Connection, statement: String, params: Result<Vec<Value>, Error>) -> Result<RowSet, Error> {
    let handle = connection.handle()?;
    handle.query(statement, params?).await
}

/// A statement on `connection` with `params`, converted for the service.
async fn execute(connection: &Connection, statement: String, params: Result<Vec<Value>, Error>) -> Result<u64, Error> {
    let handle = connection.handle()?;
    handle.execute(statement, params?).await
}

impl pg2::HostConnection for PgView<'_> {
    async fn open(&mut self, address: String) -> Result<Result<Resource<Pg2Connection>, types2::Error>, Trap> {
        match self.pg.open(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(Pg2Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<Pg2Connection>,
        statement: String,
        params: Vec<types2::ParameterValue>,
    ) -> Result<Result<types2::RowSet, types2::Error>, Trap> {
        let params = params.into_iter().map(parameter2).collect();
        let answer = query(&self.table.get(&connection)?.0, statement, params).await;
        Ok(answer.map(row_set2).map_err(Into::into))
    }

    async fn execute(
        &mut self,
        connection: Resource<Pg2Connection>,
        statement: String,
        params: Vec<types2::ParameterValue>,
    ) -> Result<Result<u64, types2::Error>, Trap> {
        let params = params.into_iter().map(parameter2).collect();
        Ok(execute(&self.table.get(&connection)?.0, statement, params)
            .await
            .map_err(Into::into))
    }

    async fn drop(&mut self, connection: Resource<Pg2Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl pg3::HostConnection for PgView<'_> {
    async fn open(&mut self, address: String) -> Result<Result<Resource<Pg3Connection>, pg3::Error>, Trap> {
        match self.pg.open(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(Pg3Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<Pg3Connection>,
        statement: String,
        params: Vec<pg3::ParameterValue>,
    ) -> Result<Result<pg3::RowSet, pg3::Error>, Trap> {
        let params = Ok(params.into_iter().map(parameter3).collect());
        let answer = query(&self.table.get(&connection)?.0, statement, params).await;
        Ok(answer.map(row_set3).map_err(Into::into))
    }

    async fn execute(
        &mut self,
        connection: Resource<Pg3Connection>,
        statement: String,
        params: Vec<pg3::ParameterValue>,
    ) -> Result<Result<u64, pg3::Error>, Trap> {
        let params = Ok(params.into_iter().map(parameter3).collect());
        Ok(execute(&self.table.get(&connection)?.0, statement, params)
            .await
            .map_err(Into::into))
    }

    async fn drop(&mut self, connection: Resource<Pg3Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_down_as_spin_converts_them() {
        assert_eq!(
            parameter2(types2::ParameterValue::Uint8(1)),
            Err(Error::ValueConversionFailed(
                "Postgres does not support unsigned integers".into()
            ))
        );
        assert_eq!(parameter2(types2::ParameterValue::Int64(-1)), Ok(Value::Int64(-1)));
        assert_eq!(
            parameter3(pg3::ParameterValue::Date((2026, 12, 5))),
            Value::Date((2026, 12, 5))
        );
        assert!(matches!(
            value2(Value::Date((2026, 12, 5))),
            types2::DbValue::Unsupported
        ));
        assert!(matches!(
            value3(Value::Date((2026, 12, 5))),
            pg3::DbValue::Date((2026, 12, 5))
        ));
        assert!(matches!(value3(Value::Uuid("u".into())), pg3::DbValue::Unsupported));
        assert!(matches!(value2(Value::Null), types2::DbValue::DbNull));
        assert!(matches!(type2(DataType::Timestamp), types2::DbDataType::Other));
        assert!(matches!(type3(DataType::Timestamp), pg3::DbDataType::Timestamp));
        assert!(matches!(type3(DataType::Jsonb), pg3::DbDataType::Other));
    }

    #[test]
    fn a_servers_structured_error_is_its_text() {
        let db = super::super::DbError {
            as_text: "ERROR: relation \"t\" does not exist".into(),
            severity: "ERROR".into(),
            code: "42P01".into(),
            message: "relation \"t\" does not exist".into(),
            detail: None,
            extras: vec![],
        };
        let error: pg3::Error = Error::QueryFailed(Ok(Box::new(db))).into();
        assert!(matches!(error, pg3::Error::QueryFailed(ref t) if t == "ERROR: relation \"t\" does not exist"));
        let error: types2::Error = Error::QueryFailed(Err("closed".into())).into();
        assert!(matches!(error, types2::Error::QueryFailed(ref t) if t == "closed"));
    }
}
