//! `spin:postgres/postgres@4.2.0` (which 4.0.0 and 4.1.0 imports link to)
//! over [`InstancePg`](super::InstancePg): a connection resource is an open
//! [`Connection`], a connection builder the address and CA it will open
//! with; values, columns and errors convert one to one. The async forms run
//! the same calls; `query-async` streams the rows of the same bounded
//! result, its future always `ok` (a failure is the call's error).

use super::{BoundKind, CaRoot, Connection, DataType, Error, Handle, Interval, PgView, Range, RowSet, Value};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/postgres",
        imports: { default: async | trappable },
        with: {
            "spin:postgres/postgres.connection": super::Pg4Connection,
            "spin:postgres/postgres.connection-builder": super::Pg4ConnectionBuilder,
        },
    });
}

use generated::spin::postgres4_2_0::postgres as pg4;

pub struct Pg4Connection(Connection);

/// What `connection-builder.build` will open.
pub struct Pg4ConnectionBuilder {
    address: String,
    ca: Option<CaRoot>,
}

struct HasPg;

impl HasData for HasPg {
    type Data<'a> = PgView<'a>;
}

fn view(state: &mut HostState) -> PgView<'_> {
    state.pg()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    pg4::add_to_linker::<HostState, HasPg>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

impl From<Error> for pg4::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::ConnectionFailed(why) => pg4::Error::ConnectionFailed(why),
            Error::BadParameter(why) => pg4::Error::BadParameter(why),
            Error::QueryFailed(Err(text)) => pg4::Error::QueryFailed(pg4::QueryError::Text(text)),
            Error::QueryFailed(Ok(db)) => {
                let db = *db;
                pg4::Error::QueryFailed(pg4::QueryError::DbError(pg4::DbError {
                    as_text: db.as_text,
                    severity: db.severity,
                    code: db.code,
                    message: db.message,
                    detail: db.detail,
                    extras: db.extras,
                }))
            }
            Error::ValueConversionFailed(why) => pg4::Error::ValueConversionFailed(why),
            Error::Other(why) => pg4::Error::Other(why),
        }
    }
}

fn kind_in(kind: pg4::RangeBoundKind) -> BoundKind {
    match kind {
        pg4::RangeBoundKind::Inclusive => BoundKind::Inclusive,
        pg4::RangeBoundKind::Exclusive => BoundKind::Exclusive,
    }
}

fn kind_out(kind: BoundKind) -> pg4::RangeBoundKind {
    match kind {
        BoundKind::Inclusive => pg4::RangeBoundKind::Inclusive,
        BoundKind::Exclusive => pg4::RangeBoundKind::Exclusive,
    }
}

type WitRange<T> = (Option<(T, pg4::RangeBoundKind)>, Option<(T, pg4::RangeBoundKind)>);

fn range_in<T>((lower, upper): WitRange<T>) -> Range<T> {
    (lower.map(|(v, k)| (v, kind_in(k))), upper.map(|(v, k)| (v, kind_in(k))))
}

fn range_out<T>((lower, upper): Range<T>) -> WitRange<T> {
    (
        lower.map(|(v, k)| (v, kind_out(k))),
        upper.map(|(v, k)| (v, kind_out(k))),
    )
}

impl From<pg4::Interval> for Interval {
    fn from(i: pg4::Interval) -> Self {
        Interval {
            micros: i.micros,
            days: i.days,
            months: i.months,
        }
    }
}

impl From<Interval> for pg4::Interval {
    fn from(i: Interval) -> Self {
        pg4::Interval {
            micros: i.micros,
            days: i.days,
            months: i.months,
        }
    }
}

impl From<pg4::ParameterValue> for Value {
    fn from(value: pg4::ParameterValue) -> Self {
        use pg4::ParameterValue as P;
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
            P::Uuid(u) => Value::Uuid(u),
            P::Jsonb(j) => Value::Jsonb(j),
            P::Decimal(d) => Value::Decimal(d),
            P::RangeInt32(r) => Value::RangeInt32(range_in(r)),
            P::RangeInt64(r) => Value::RangeInt64(range_in(r)),
            P::RangeDecimal(r) => Value::RangeDecimal(range_in(r)),
            P::ArrayInt32(a) => Value::ArrayInt32(a),
            P::ArrayInt64(a) => Value::ArrayInt64(a),
            P::ArrayDecimal(a) => Value::ArrayDecimal(a),
            P::ArrayStr(a) => Value::ArrayStr(a),
            P::Interval(i) => Value::Interval(i.into()),
            P::DbNull => Value::Null,
        }
    }
}

impl From<Value> for pg4::DbValue {
    fn from(value: Value) -> Self {
        use pg4::DbValue as V;
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
            Value::Uuid(u) => V::Uuid(u),
            Value::Jsonb(j) => V::Jsonb(j),
            Value::Decimal(d) => V::Decimal(d),
            Value::RangeInt32(r) => V::RangeInt32(range_out(r)),
            Value::RangeInt64(r) => V::RangeInt64(range_out(r)),
            Value::RangeDecimal(r) => V::RangeDecimal(range_out(r)),
            Value::ArrayInt32(a) => V::ArrayInt32(a),
            Value::ArrayInt64(a) => V::ArrayInt64(a),
            Value::ArrayDecimal(a) => V::ArrayDecimal(a),
            Value::ArrayStr(a) => V::ArrayStr(a),
            Value::Interval(i) => V::Interval(i.into()),
            Value::Null => V::DbNull,
            Value::Unsupported(b) => V::Unsupported(b),
        }
    }
}

impl From<DataType> for pg4::DbDataType {
    fn from(ty: DataType) -> Self {
        use pg4::DbDataType as T;
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
            DataType::Uuid => T::Uuid,
            DataType::Jsonb => T::Jsonb,
            DataType::Decimal => T::Decimal,
            DataType::RangeInt32 => T::RangeInt32,
            DataType::RangeInt64 => T::RangeInt64,
            DataType::RangeDecimal => T::RangeDecimal,
            DataType::ArrayInt32 => T::ArrayInt32,
            DataType::ArrayInt64 => T::ArrayInt64,
            DataType::ArrayDecimal => T::ArrayDecimal,
            DataType::ArrayStr => T::ArrayStr,
            DataType::Interval => T::Interval,
            DataType::Other(name) => T::Other(name),
        }
    }
}

impl From<RowSet> for pg4::RowSet {
    fn from(set: RowSet) -> Self {
        pg4::RowSet {
            columns: set
                .columns
                .into_iter()
                .map(|(name, ty)| pg4::Column {
                    name,
                    data_type: ty.into(),
                })
                .collect(),
            rows: set
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(Into::into).collect())
                .collect(),
        }
    }
}

impl pg4::Host for PgView<'_> {}

impl pg4::HostConnectionBuilder for PgView<'_> {
    async fn new(&mut self, address: String) -> Result<Resource<Pg4ConnectionBuilder>, Trap> {
        Ok(self.table.push(Pg4ConnectionBuilder { address, ca: None })?)
    }

    async fn set_ca_root(
        &mut self,
        builder: Resource<Pg4ConnectionBuilder>,
        certificate: String,
    ) -> Result<Result<(), pg4::Error>, Trap> {
        let ca = match CaRoot::from_pem(&certificate) {
            Ok(ca) => ca,
            Err(e) => return Ok(Err(e.into())),
        };
        self.table.get_mut(&builder)?.ca = Some(ca);
        Ok(Ok(()))
    }

    async fn build(
        &mut self,
        builder: Resource<Pg4ConnectionBuilder>,
    ) -> Result<Result<Resource<Pg4Connection>, pg4::Error>, Trap> {
        let Pg4ConnectionBuilder { address, ca } = self.table.get(&builder)?;
        match self.pg.open_trusting(address, ca.as_ref()).await {
            Ok(connection) => Ok(Ok(self.table.push(Pg4Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn drop(&mut self, builder: Resource<Pg4ConnectionBuilder>) -> Result<(), Trap> {
        self.table.delete(builder)?;
        Ok(())
    }
}

impl pg4::HostConnection for PgView<'_> {
    async fn open(&mut self, address: String) -> Result<Result<Resource<Pg4Connection>, pg4::Error>, Trap> {
        match self.pg.open(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(Pg4Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<Pg4Connection>,
        statement: String,
        params: Vec<pg4::ParameterValue>,
    ) -> Result<Result<pg4::RowSet, pg4::Error>, Trap> {
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
        connection: Resource<Pg4Connection>,
        statement: String,
        params: Vec<pg4::ParameterValue>,
    ) -> Result<Result<u64, pg4::Error>, Trap> {
        let handle = match self.table.get(&connection)?.0.handle() {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        Ok(handle.execute(statement, params).await.map_err(Into::into))
    }

    async fn drop(&mut self, connection: Resource<Pg4Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// Opens `address` trusting `ca` and puts the connection in the guest's table.
async fn open_async<T>(
    accessor: &Accessor<T, HasPg>,
    address: &str,
    ca: Option<&CaRoot>,
) -> Result<Result<Resource<Pg4Connection>, pg4::Error>, Trap> {
    let pg = accessor.with(|mut access| access.get().pg.clone());
    match pg.open_trusting(address, ca).await {
        Ok(connection) => accessor.with(|mut access| Ok(Ok(access.get().table.push(Pg4Connection(connection))?))),
        Err(e) => Ok(Err(e.into())),
    }
}

/// What a call needs of `connection`, read under the accessor.
fn handle<T>(
    accessor: &Accessor<T, HasPg>,
    connection: &Resource<Pg4Connection>,
) -> Result<Result<Handle, Error>, Trap> {
    accessor.with(|mut access| Ok(access.get().table.get(connection)?.0.handle()))
}

impl<T> pg4::HostConnectionBuilderWithStore<T> for HasPg {
    async fn build_async(
        accessor: &Accessor<T, Self>,
        builder: Resource<Pg4ConnectionBuilder>,
    ) -> Result<Result<Resource<Pg4Connection>, pg4::Error>, Trap> {
        let (address, ca) = accessor.with(|mut access| {
            let builder = access.get().table.get(&builder)?;
            Ok::<_, Trap>((builder.address.clone(), builder.ca.clone()))
        })?;
        open_async(accessor, &address, ca.as_ref()).await
    }
}

impl<T> pg4::HostConnectionWithStore<T> for HasPg {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Result<Resource<Pg4Connection>, pg4::Error>, Trap> {
        open_async(accessor, &address, None).await
    }

    async fn query_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Pg4Connection>,
        statement: String,
        params: Vec<pg4::ParameterValue>,
    ) -> Result<
        Result<
            (
                Vec<pg4::Column>,
                StreamReader<pg4::Row>,
                FutureReader<Result<(), pg4::Error>>,
            ),
            pg4::Error,
        >,
        Trap,
    > {
        let handle = match handle(accessor, &connection)? {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        let pg4::RowSet { columns, rows } = match handle.query(statement, params).await {
            Ok(set) => set.into(),
            Err(e) => return Ok(Err(e.into())),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Pg4Connection>,
        statement: String,
        params: Vec<pg4::ParameterValue>,
    ) -> Result<Result<u64, pg4::Error>, Trap> {
        let handle = match handle(accessor, &connection)? {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e.into())),
        };
        let params = params.into_iter().map(Into::into).collect();
        Ok(handle.execute(statement, params).await.map_err(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::component::Component;

    /// wasmtime's linker gives an import the newest definition of its major
    /// version: components importing 4.0.0 (spin-sdk 5's `pg4`) or 4.1.0
    /// link to the 4.2.0 definitions; another major version does not.
    #[tokio::test]
    async fn earlier_4_x_imports_link_to_the_4_2_0_definitions() {
        let engine = crate::app::engine::new_engine(
            2,
            1 << 20,
            crate::app::engine::Tuning::default(),
            crate::app::engine::CodeTarget::Native,
        )
        .unwrap();
        let mut linker = Linker::<HostState>::new(&engine);
        add_to_linker(&mut linker).unwrap();
        let importing = |version: &str| {
            let wat = format!(
                r#"(component
                    (import "spin:postgres/postgres@{version}" (instance
                        (export "connection" (type (sub resource)))
                        (export "connection-builder" (type $b (sub resource)))
                        (export "[constructor]connection-builder" (func (param "address" string) (result (own $b))))
                    ))
                )"#
            );
            Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap()
        };
        for version in ["4.0.0", "4.1.0", "4.2.0"] {
            linker
                .instantiate_pre(&importing(version))
                .unwrap_or_else(|e| panic!("{version}: {e:?}"));
        }
        assert!(linker.instantiate_pre(&importing("3.0.0")).is_err());
    }
}
