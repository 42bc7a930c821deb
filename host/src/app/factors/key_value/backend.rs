//! Where a key-value store keeps its entries: a SQLite file by default, as
//! `spin up` keeps them (`.spin/sqlite_key_value.db` beside the manifest,
//! one table shared by every store, keyed by store and key), or Redis when
//! the runtime config says so, so that replicas share a store. Either way
//! the same operations, with Spin's errors. Redis calls are bounded in time;
//! SQLite calls run on the blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

/// Spin's key-value errors, whichever interface family reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    StoreTableFull,
    NoSuchStore,
    AccessDenied,
    Other(String),
}

type Result<T> = std::result::Result<T, Error>;

/// One store's entries.
#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Redis(RedisStore),
}

impl Backend {
    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>> {
        match self {
            Backend::Sqlite(store) => store.run(move |db, name| read_value(db, name, &key)).await,
            Backend::Redis(store) => store.get(&key).await,
        }
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<()> {
        match self {
            Backend::Sqlite(store) => {
                store
                    .run(move |db, name| write_value(db, name, &key, &value).map(drop))
                    .await
            }
            Backend::Redis(store) => store.command(redis::cmd("SET").arg(&key).arg(value)).await,
        }
    }

    pub async fn delete(&self, key: String) -> Result<()> {
        match self {
            Backend::Sqlite(store) => {
                store
                    .run(move |db, name| {
                        db.execute("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2", (name, &key))
                            .map(drop)
                    })
                    .await
            }
            Backend::Redis(store) => store.command::<i64>(redis::cmd("DEL").arg(&key)).await.map(drop),
        }
    }

    pub async fn exists(&self, key: String) -> Result<bool> {
        match self {
            Backend::Redis(store) => store.command(redis::cmd("EXISTS").arg(&key)).await,
            _ => Ok(self.get(key).await?.is_some()),
        }
    }

    pub async fn keys(&self) -> Result<Vec<String>> {
        match self {
            Backend::Sqlite(store) => {
                store
                    .run(|db, name| {
                        let mut statement = db.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                        let keys = statement.query_map([name], |row| row.get::<_, String>(0))?;
                        keys.collect()
                    })
                    .await
            }
            Backend::Redis(store) => store.keys().await,
        }
    }

    /// Adds `delta` to the key's value read as a decimal integer (absent is
    /// 0), atomically, and returns the new value.
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64> {
        match self {
            Backend::Sqlite(store) => {
                let outcome = store
                    .run(move |db, name| {
                        let transaction = db.unchecked_transaction()?;
                        let current = read_value(&transaction, name, &key)?;
                        let Some(current) = parse_counter(current.as_deref()) else {
                            return Ok(None);
                        };
                        let next = current.saturating_add(delta);
                        write_value(&transaction, name, &key, next.to_string().as_bytes())?;
                        transaction.commit()?;
                        Ok(Some(next))
                    })
                    .await?;
                outcome.ok_or_else(|| Error::Other("the value is not a decimal integer".into()))
            }
            Backend::Redis(store) => store.command(redis::cmd("INCRBY").arg(&key).arg(delta)).await,
        }
    }

    /// Sets the key to `new` if it still holds `expected`; whether it did.
    pub async fn compare_and_swap(&self, key: String, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool> {
        match self {
            Backend::Sqlite(store) => {
                store
                    .run(move |db, name| {
                        let transaction = db.unchecked_transaction()?;
                        let current = read_value(&transaction, name, &key)?;
                        if current != expected {
                            return Ok(false);
                        }
                        write_value(&transaction, name, &key, &new)?;
                        transaction.commit()?;
                        Ok(true)
                    })
                    .await
            }
            Backend::Redis(store) => store.compare_and_swap(&key, expected, new).await,
        }
    }
}

/// A store on a Redis server: every key of the server (or of the database
/// the URL names) is the store's, as Spin keeps it. One multiplexed
/// connection, re-made when it breaks; every command bounded in time.
#[derive(Clone)]
pub struct RedisStore {
    connection: redis::aio::ConnectionManager,
}

/// How long one Redis command may take, connecting included.
const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl RedisStore {
    /// Connects to `url` (`redis://host:port[/db]`).
    pub async fn connect(url: &str) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(REDIS_TIMEOUT, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "no connection to {} within {} s",
                    redacted(url),
                    REDIS_TIMEOUT.as_secs()
                )
            })??;
        Ok(RedisStore { connection })
    }

    async fn command<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T> {
        let mut connection = self.connection.clone();
        command
            .query_async(&mut connection)
            .await
            .map_err(|e| Error::Other(format!("redis: {:?}", e.kind())))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.command(redis::cmd("GET").arg(key)).await
    }

    async fn keys(&self) -> Result<Vec<String>> {
        // SCAN, not KEYS: the server is not blocked while a large store is listed.
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .command(redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000))
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Sets `key` to `new` if it still holds `expected`, with a server-side
    /// script, so no other client's write can come between.
    async fn compare_and_swap(&self, key: &str, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool> {
        const SCRIPT: &str = r"
            local current = redis.call('GET', KEYS[1])
            if ARGV[1] == '0' then
                if current then return 0 end
            elseif current ~= ARGV[2] then
                return 0
            end
            redis.call('SET', KEYS[1], ARGV[3])
            return 1";
        let mut command = redis::cmd("EVAL");
        command.arg(SCRIPT).arg(1).arg(key);
        match expected {
            None => command.arg("0").arg(""),
            Some(value) => command.arg("1").arg(value),
        };
        command.arg(new);
        let swapped: i64 = self.command(&command).await?;
        Ok(swapped == 1)
    }
}

/// A Redis URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_string(),
    }
}

/// The value of `key` in store `name`, if it has one.
fn read_value(db: &rusqlite::Connection, name: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    db.query_row(
        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
        (name, key),
        |row| row.get::<_, Vec<u8>>(0),
    )
    .map(Some)
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    })
}

/// Sets `key` in store `name` to `value`, added or replaced.
fn write_value(db: &rusqlite::Connection, name: &str, key: &str, value: &[u8]) -> rusqlite::Result<usize> {
    db.execute(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(store, key) DO UPDATE SET value = excluded.value",
        (name, key, value),
    )
}

/// A counter's value: absent is 0, otherwise a decimal integer.
fn parse_counter(value: Option<&[u8]>) -> Option<i64> {
    match value {
        None => Some(0),
        Some(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
    }
}

/// A store in a SQLite file: its name in the shared table, and the file's
/// one connection (SQLite serializes writers anyway).
#[derive(Clone)]
pub struct SqliteStore {
    name: Arc<str>,
    path: Arc<Path>,
    db: Arc<Mutex<rusqlite::Connection>>,
}

impl SqliteStore {
    /// The store `name` in the SQLite file at `path` (made, with its
    /// directory and table, if absent).
    pub fn open(path: &Path, name: &str) -> anyhow::Result<SqliteStore> {
        use anyhow::Context as _;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db = rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
        )
        .with_context(|| format!("preparing {}", path.display()))?;
        Ok(SqliteStore {
            name: name.into(),
            path: path.into(),
            db: Arc::new(Mutex::new(db)),
        })
    }

    /// The same file, another store name.
    pub fn named(&self, name: &str) -> SqliteStore {
        SqliteStore {
            name: name.into(),
            path: self.path.clone(),
            db: self.db.clone(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `query` on a blocking thread, with the connection and the store's name.
    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (db, name) = (self.db.clone(), self.name.clone());
        tokio::task::spawn_blocking(move || {
            let db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            query(&db, &name)
        })
        .await
        .map_err(|e| Error::Other(format!("the store's task failed: {e}")))?
        .map_err(|e| Error::Other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sqlite_store_keeps_entries_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let default = Backend::Sqlite(SqliteStore::open(&dir.path().join("kv.db"), "default").unwrap());
        let other = match &default {
            Backend::Sqlite(s) => Backend::Sqlite(s.named("other")),
            Backend::Redis(_) => unreachable!(),
        };
        default.set("k".into(), b"v1".to_vec()).await.unwrap();
        default.set("k".into(), b"v2".to_vec()).await.unwrap();
        assert_eq!(default.get("k".into()).await.unwrap(), Some(b"v2".to_vec()));
        assert_eq!(other.get("k".into()).await.unwrap(), None, "stores do not share keys");
        assert!(default.exists("k".into()).await.unwrap());
        assert_eq!(default.keys().await.unwrap(), vec!["k".to_string()]);
        default.delete("k".into()).await.unwrap();
        default.delete("k".into()).await.unwrap();
        assert!(!default.exists("k".into()).await.unwrap());
        // A second open of the file sees what the first wrote.
        default.set("kept".into(), b"1".to_vec()).await.unwrap();
        let again = Backend::Sqlite(SqliteStore::open(&dir.path().join("kv.db"), "default").unwrap());
        assert_eq!(again.get("kept".into()).await.unwrap(), Some(b"1".to_vec()));
    }

    #[tokio::test]
    async fn counters_and_compare_and_swap() {
        let dir = tempfile::tempdir().unwrap();
        let store = Backend::Sqlite(SqliteStore::open(&dir.path().join("kv.db"), "default").unwrap());
        assert_eq!(store.increment("n".into(), 5).await.unwrap(), 5);
        assert_eq!(store.increment("n".into(), -2).await.unwrap(), 3);
        store.set("text".into(), b"abc".to_vec()).await.unwrap();
        assert!(store.increment("text".into(), 1).await.is_err());
        assert!(store.compare_and_swap("c".into(), None, b"1".to_vec()).await.unwrap());
        assert!(!store.compare_and_swap("c".into(), None, b"2".to_vec()).await.unwrap());
        assert!(store
            .compare_and_swap("c".into(), Some(b"1".to_vec()), b"2".to_vec())
            .await
            .unwrap());
        assert_eq!(store.get("c".into()).await.unwrap(), Some(b"2".to_vec()));
    }
}
