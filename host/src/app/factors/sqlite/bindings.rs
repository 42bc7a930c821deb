//! Spin 2's and Spin 4's SQLite interfaces (`spin:sqlite@3.1.0`, which
//! 3.0.0 imports link to) over one implementation
//! ([`InstanceSqlite`](super::InstanceSqlite)): a connection resource is an
//! open [`Connection`], and values and errors convert one to one. The async
//! forms run the same query and stream its rows from the result.

use super::{Connection, Error, QueryResult, SqliteView, Value};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/sqlite",
        imports: { default: async | trappable },
        with: {
            "fermyon:spin/sqlite.connection": super::Spin2Connection,
            "spin:sqlite/sqlite.connection": super::Spin3Connection,
        },
    });
}

use generated::fermyon::spin::sqlite as spin2;
use generated::spin::sqlite::sqlite as spin3;

pub struct Spin2Connection(Connection);
pub struct Spin3Connection(Connection);

struct HasSqlite;

impl HasData for HasSqlite {
    type Data<'a> = SqliteView<'a>;
}

fn view(state: &mut HostState) -> SqliteView<'_> {
    state.sqlite()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    spin2::add_to_linker::<HostState, HasSqlite>(linker, view)?;
    spin3::add_to_linker::<HostState, HasSqlite>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

/// The two interfaces' types are the same shape; this converts each way.
macro_rules! convert {
    ($spin:ident) => {
        impl From<Error> for $spin::Error {
            fn from(error: Error) -> Self {
                match error {
                    Error::NoSuchDatabase => $spin::Error::NoSuchDatabase,
                    Error::AccessDenied => $spin::Error::AccessDenied,
                    Error::InvalidConnection => $spin::Error::InvalidConnection,
                    Error::DatabaseFull => $spin::Error::DatabaseFull,
                    Error::Io(why) => $spin::Error::Io(why),
                }
            }
        }

        impl From<$spin::Value> for Value {
            fn from(value: $spin::Value) -> Self {
                match value {
                    $spin::Value::Integer(i) => Value::Integer(i),
                    $spin::Value::Real(f) => Value::Real(f),
                    $spin::Value::Text(t) => Value::Text(t),
                    $spin::Value::Blob(b) => Value::Blob(b),
                    $spin::Value::Null => Value::Null,
                }
            }
        }

        impl From<Value> for $spin::Value {
            fn from(value: Value) -> Self {
                match value {
                    Value::Integer(i) => $spin::Value::Integer(i),
                    Value::Real(f) => $spin::Value::Real(f),
                    Value::Text(t) => $spin::Value::Text(t),
                    Value::Blob(b) => $spin::Value::Blob(b),
                    Value::Null => $spin::Value::Null,
                }
            }
        }

        impl From<QueryResult> for $spin::QueryResult {
            fn from(result: QueryResult) -> Self {
                $spin::QueryResult {
                    columns: result.columns,
                    rows: result
                        .rows
                        .into_iter()
                        .map(|values| $spin::RowResult {
                            values: values.into_iter().map(Into::into).collect(),
                        })
                        .collect(),
                }
            }
        }
    };
}

convert!(spin2);
convert!(spin3);

/// The methods both families' connections share, converting as they go.
macro_rules! connection_methods {
    ($spin:ident, $handle:ident) => {
        async fn open(&mut self, database: String) -> Result<Result<Resource<$handle>, $spin::Error>, Trap> {
            match self.sqlite.open(&database).await {
                Ok(connection) => Ok(Ok(self.table.push($handle(connection))?)),
                Err(e) => Ok(Err(e.into())),
            }
        }

        async fn execute(
            &mut self,
            connection: Resource<$handle>,
            statement: String,
            parameters: Vec<$spin::Value>,
        ) -> Result<Result<$spin::QueryResult, $spin::Error>, Trap> {
            let connection = &self.table.get(&connection)?.0;
            let parameters = parameters.into_iter().map(Into::into).collect();
            Ok(connection
                .execute(statement, parameters)
                .await
                .map(Into::into)
                .map_err(Into::into))
        }

        async fn drop(&mut self, connection: Resource<$handle>) -> Result<(), Trap> {
            self.table.delete(connection)?;
            Ok(())
        }
    };
}

impl spin2::Host for SqliteView<'_> {}

impl spin2::HostConnection for SqliteView<'_> {
    connection_methods!(spin2, Spin2Connection);
}

impl spin3::Host for SqliteView<'_> {}

impl spin3::HostConnection for SqliteView<'_> {
    connection_methods!(spin3, Spin3Connection);

    async fn last_insert_rowid(&mut self, connection: Resource<Spin3Connection>) -> Result<i64, Trap> {
        Ok(self.table.get(&connection)?.0.last_insert_rowid())
    }

    async fn changes(&mut self, connection: Resource<Spin3Connection>) -> Result<u64, Trap> {
        Ok(self.table.get(&connection)?.0.changes())
    }
}

/// The connection behind `handle`, read under the accessor.
fn spin3_connection<T>(
    accessor: &Accessor<T, HasSqlite>,
    handle: &Resource<Spin3Connection>,
) -> Result<(std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>, usize), Trap> {
    accessor.with(|mut access| {
        let connection = &access.get().table.get(handle)?.0;
        Ok((connection.db.clone(), connection.result_bytes))
    })
}

impl<T> spin3::HostConnectionWithStore<T> for HasSqlite {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        database: String,
    ) -> Result<Result<Resource<Spin3Connection>, spin3::Error>, Trap> {
        let sqlite = accessor.with(|mut access| access.get().sqlite.clone());
        match sqlite.open(&database).await {
            Ok(connection) => {
                accessor.with(|mut access| Ok(Ok(access.get().table.push(Spin3Connection(connection))?)))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        statement: String,
        parameters: Vec<spin3::Value>,
    ) -> Result<
        Result<
            (
                Vec<String>,
                StreamReader<spin3::RowResult>,
                FutureReader<Result<(), spin3::Error>>,
            ),
            spin3::Error,
        >,
        Trap,
    > {
        let (db, limit) = spin3_connection(accessor, &connection)?;
        let parameters = parameters.into_iter().map(Into::into).collect();
        let result = match super::execute_on(db, statement, parameters, limit).await {
            Ok(result) => result,
            Err(e) => return Ok(Err(e.into())),
        };
        let spin3::QueryResult { columns, rows } = result.into();
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn last_insert_rowid_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
    ) -> Result<i64, Trap> {
        let (db, _) = spin3_connection(accessor, &connection)?;
        let rowid = db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .last_insert_rowid();
        Ok(rowid)
    }

    async fn changes_async(accessor: &Accessor<T, Self>, connection: Resource<Spin3Connection>) -> Result<u64, Trap> {
        let (db, _) = spin3_connection(accessor, &connection)?;
        let changes = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).changes();
        Ok(changes)
    }
}
