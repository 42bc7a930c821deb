//! The SQLite factor: Spin's SQLite databases through Spin 2's
//! `fermyon:spin/sqlite` and `spin:sqlite@3.1.0` (Spin 4's; 3.0.0 imports
//! link to it).
//!
//! - Databases: `default`, a file in the app's state directory as `spin up`
//!   keeps it (`sqlite_db.db`), and whatever the runtime config declares
//!   (`[sqlite_database.NAME]`).
//! - Grants: a component opens only the databases its manifest lists in
//!   `sqlite_databases`; anything else is `access-denied`.
//! - Limits: each `open` is a connection of its own (so a guest's
//!   transaction is its own), at most `--max-sqlite-connections` per
//!   instance, each with a small page cache; a query's result is at most
//!   `--max-store-result-bytes`; all of it in the memory plan
//!   (`ops::memory`).

mod bindings;

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Linker, ResourceTable};

/// Page cache of one connection, in KiB (SQLite's default is 2,000).
const CACHE_KIB: i64 = 256;
/// What one connection holds, its cache included, about.
pub const CONNECTION_BYTES: u64 = (CACHE_KIB as u64) * 1024 + 128 * 1024;

/// How much SQLite (and key-value) one instance may use.
#[derive(Debug, Clone, Copy)]
pub struct SqliteLimits {
    /// Connections open at once (`--max-sqlite-connections`).
    pub connections: usize,
    /// Largest result one call brings back (`--max-store-result-bytes`).
    pub result_bytes: usize,
}

impl SqliteLimits {
    /// What one instance's key-value and SQLite use can make the host hold:
    /// its connections and one result (`ops::memory`).
    pub fn instance_bytes(&self) -> u64 {
        self.connections as u64 * CONNECTION_BYTES + self.result_bytes as u64
    }
}

/// How a database is kept, from the runtime config (or `default`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    /// In this file (made, with its directory, when first opened).
    File(PathBuf),
    /// In memory, shared by the connections to it, for the life of the host.
    Memory,
}

/// SQLite's errors as Spin's interfaces give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    NoSuchDatabase,
    AccessDenied,
    InvalidConnection,
    DatabaseFull,
    Io(String),
}

/// A value in a row or a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

/// What a query gives back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

pub struct SqliteFactor {
    pub databases: Arc<BTreeMap<String, Definition>>,
    pub limits: SqliteLimits,
}

/// The databases one component may open.
#[derive(Clone, Default)]
pub struct Grants(Arc<BTreeMap<String, PathBuf>>);

/// One instance's SQLite state: its grants, and how many connections it has.
#[derive(Clone)]
pub struct InstanceSqlite {
    grants: Grants,
    limits: SqliteLimits,
    open: Arc<std::sync::atomic::AtomicUsize>,
}

/// An open connection (a resource of the guest's).
pub struct Connection {
    pub(super) db: Arc<Mutex<rusqlite::Connection>>,
    pub(super) result_bytes: usize,
    /// Given back to the instance's count when the connection is dropped.
    _slot: ConnectionSlot,
}

struct ConnectionSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl InstanceSqlite {
    /// Opens `label` as Spin decides: not granted is `access-denied`; past
    /// the instance's connections, `io` saying so.
    pub async fn open(&self, label: &str) -> Result<Connection, Error> {
        let path = self.grants.0.get(label).cloned().ok_or(Error::AccessDenied)?;
        let open = self.open.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let slot = ConnectionSlot(self.open.clone());
        if open >= self.limits.connections {
            // Spin's words, at its limit of 256.
            return Err(Error::Io("too many connections opened".into()));
        }
        let db = tokio::task::spawn_blocking(move || open_file(&path))
            .await
            .map_err(|e| Error::Io(format!("opening the database failed: {e}")))??;
        Ok(Connection {
            db: Arc::new(Mutex::new(db)),
            result_bytes: self.limits.result_bytes,
            _slot: slot,
        })
    }
}

fn open_file(path: &std::path::Path) -> Result<rusqlite::Connection, Error> {
    let in_memory = path.to_str().is_some_and(|p| p.starts_with("file:"));
    if let Some(dir) = path.parent().filter(|d| !in_memory && !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("creating the database's directory: {e}")))?;
    }
    let db = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(io)?;
    db.busy_timeout(std::time::Duration::from_secs(5)).map_err(io)?;
    db.execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB}"))
        .map_err(io)?;
    Ok(db)
}

fn io(error: rusqlite::Error) -> Error {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
        _ => Error::Io(error.to_string()),
    }
}

/// Runs `statement` with `parameters` on `db`, on a blocking thread; a
/// result past `limit` bytes is an error.
pub async fn execute_on(
    db: Arc<Mutex<rusqlite::Connection>>,
    statement: String,
    parameters: Vec<Value>,
    limit: usize,
) -> Result<QueryResult, Error> {
    tokio::task::spawn_blocking(move || {
        let db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        run(&db, &statement, parameters, limit)
    })
    .await
    .map_err(|e| Error::Io(format!("the query's task failed: {e}")))?
}

impl Connection {
    /// Runs `statement` with `parameters` on a blocking thread.
    pub async fn execute(&self, statement: String, parameters: Vec<Value>) -> Result<QueryResult, Error> {
        execute_on(self.db.clone(), statement, parameters, self.result_bytes).await
    }

    pub fn last_insert_rowid(&self) -> i64 {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .last_insert_rowid()
    }

    pub fn changes(&self) -> u64 {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .changes()
    }
}

fn run(db: &rusqlite::Connection, statement: &str, parameters: Vec<Value>, limit: usize) -> Result<QueryResult, Error> {
    let mut prepared = db.prepare_cached(statement).map_err(io)?;
    let columns: Vec<String> = prepared.column_names().map(str::to_string).collect();
    let parameters = parameters.into_iter().map(|value| match value {
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(t) => rusqlite::types::Value::Text(t),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
        Value::Null => rusqlite::types::Value::Null,
    });
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters)).map_err(io)?;
    let mut result = QueryResult {
        columns,
        rows: Vec::new(),
    };
    let mut size = 0usize;
    while let Some(row) = rows.next().map_err(io)? {
        let mut values = Vec::with_capacity(result.columns.len());
        for index in 0..result.columns.len() {
            let value = match row.get_ref(index).map_err(io)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            };
            size += match &value {
                Value::Text(t) => t.len(),
                Value::Blob(b) => b.len(),
                _ => 8,
            } + 16;
            values.push(value);
        }
        if size > limit {
            return Err(Error::Io(format!("query result exceeds limit of {limit} bytes")));
        }
        result.rows.push(values);
    }
    Ok(result)
}

/// What the bindings see of a store.
pub struct SqliteView<'a> {
    pub table: &'a mut ResourceTable,
    pub sqlite: &'a InstanceSqlite,
}

impl Factor for SqliteFactor {
    type ComponentState = Grants;
    type InstanceState = InstanceSqlite;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, _previous: Option<&Grants>) -> anyhow::Result<Grants> {
        let mut granted = BTreeMap::new();
        for label in &ctx.spec.sqlite_databases {
            match self.databases.get(label) {
                Some(Definition::File(path)) => granted.insert(label.clone(), path.clone()),
                // SQLite's name for a named in-memory database its
                // connections share.
                Some(Definition::Memory) => {
                    granted.insert(label.clone(), format!("file:{label}?mode=memory&cache=shared").into())
                }
                None => anyhow::bail!(
                    "sqlite_databases names {label:?}, which no [sqlite_database.{label}] in the runtime config \
                     declares (declared: {})",
                    self.databases.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            };
        }
        Ok(Grants(Arc::new(granted)))
    }

    fn prepare(&self, state: &Grants, _ctx: &Prepare<'_>) -> InstanceSqlite {
        InstanceSqlite {
            grants: state.clone(),
            limits: self.limits,
            open: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SqliteLimits = SqliteLimits {
        connections: 2,
        result_bytes: 1024 * 1024,
    };

    fn instance(path: PathBuf) -> InstanceSqlite {
        InstanceSqlite {
            grants: Grants(Arc::new(BTreeMap::from([("default".to_string(), path)]))),
            limits: LIMITS,
            open: Arc::default(),
        }
    }

    #[tokio::test]
    async fn statements_run_with_parameters_and_answer_rows() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = instance(dir.path().join("state/sqlite_db.db"));
        let db = sqlite.open("default").await.unwrap();
        db.execute("CREATE TABLE t (n INTEGER, s TEXT, b BLOB, r REAL)".into(), vec![])
            .await
            .unwrap();
        db.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?)".into(),
            vec![
                Value::Integer(7),
                Value::Text("seven".into()),
                Value::Blob(vec![7]),
                Value::Null,
            ],
        )
        .await
        .unwrap();
        assert_eq!(db.last_insert_rowid(), 1);
        assert_eq!(db.changes(), 1);
        let result = db.execute("SELECT n, s, b, r FROM t".into(), vec![]).await.unwrap();
        assert_eq!(result.columns, ["n", "s", "b", "r"]);
        assert_eq!(
            result.rows,
            vec![vec![
                Value::Integer(7),
                Value::Text("seven".into()),
                Value::Blob(vec![7]),
                Value::Null
            ]]
        );
        assert!(matches!(
            db.execute("SELECT * FROM missing".into(), vec![]).await,
            Err(Error::Io(_))
        ));
    }

    #[tokio::test]
    async fn grants_connections_and_results_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = instance(dir.path().join("db"));
        assert!(matches!(sqlite.open("other").await, Err(Error::AccessDenied)));
        let held: Vec<_> = futures_open(&sqlite, LIMITS.connections).await;
        assert!(matches!(sqlite.open("default").await, Err(Error::Io(_))));
        drop(held);
        let db = sqlite.open("default").await.expect("connections come back");
        let big = "x".repeat(LIMITS.result_bytes / 4);
        db.execute("CREATE TABLE t (s TEXT)".into(), vec![]).await.unwrap();
        for _ in 0..5 {
            db.execute("INSERT INTO t VALUES (?)".into(), vec![Value::Text(big.clone())])
                .await
                .unwrap();
        }
        let refused = db.execute("SELECT s FROM t".into(), vec![]).await.unwrap_err();
        assert!(
            matches!(refused, Error::Io(ref why) if why.contains("exceeds limit")),
            "{refused:?}"
        );
    }

    async fn futures_open(sqlite: &InstanceSqlite, count: usize) -> Vec<Connection> {
        let mut held = Vec::new();
        for _ in 0..count {
            held.push(sqlite.open("default").await.unwrap());
        }
        held
    }
}
