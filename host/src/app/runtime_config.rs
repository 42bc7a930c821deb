//! Spin's runtime config file (`--runtime-config-file`): where the app's
//! named key-value stores and SQLite databases are kept, in the tables Spin
//! reads (`[key_value_store.NAME]`, `[sqlite_database.NAME]`), so one file
//! serves `spin up --runtime-config-file` and this host. Without one, the
//! app has `default` of each, in its state directory, as `spin up` does.
//! Tables this host does not serve are refused by name, not ignored.
//!
//! Paths are resolved as Spin resolves them: a key-value store's relative
//! to the runtime config file's directory, a SQLite database's relative to
//! the working directory. Without a `path`, either lives in memory.

use crate::app::factors::key_value;
use crate::app::factors::sqlite;
use std::collections::BTreeMap;
use std::path::Path;
use toml::{Table, Value};

/// The `default` key-value store's file in the state directory (Spin's name).
pub const DEFAULT_KEY_VALUE_FILE: &str = "sqlite_key_value.db";
/// The `default` SQLite database's file in the state directory (Spin's name).
pub const DEFAULT_SQLITE_FILE: &str = "sqlite_db.db";

/// What the runtime config declares, defaults included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub key_value: BTreeMap<String, key_value::Definition>,
    pub sqlite: BTreeMap<String, sqlite::Definition>,
}

impl RuntimeConfig {
    /// The defaults alone: `default` of each, in `state_dir`.
    pub fn defaults(state_dir: &Path) -> Self {
        RuntimeConfig {
            key_value: BTreeMap::from([(
                "default".to_string(),
                key_value::Definition::Sqlite(state_dir.join(DEFAULT_KEY_VALUE_FILE)),
            )]),
            sqlite: BTreeMap::from([(
                "default".to_string(),
                sqlite::Definition::File(state_dir.join(DEFAULT_SQLITE_FILE)),
            )]),
        }
    }

    /// The defaults, overridden and added to by `file` (when given).
    pub fn read(file: Option<&Path>, state_dir: &Path) -> anyhow::Result<Self> {
        let mut config = RuntimeConfig::defaults(state_dir);
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("--runtime-config-file {}: {e}", file.display()))?;
            let beside = file.parent().unwrap_or(Path::new("."));
            config
                .merge(&text, beside)
                .map_err(|e| anyhow::anyhow!("--runtime-config-file {}: {e}", file.display()))?;
        }
        Ok(config)
    }

    /// Adds what `text` declares; `beside` is the file's directory.
    fn merge(&mut self, text: &str, beside: &Path) -> Result<(), String> {
        let root: Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        for (key, value) in &root {
            if !matches!(key.as_str(), "key_value_store" | "sqlite_database") {
                return Err(format!(
                    "[{key}] is not served by this host (key_value_store, sqlite_database)"
                ));
            }
            let tables = value
                .as_table()
                .ok_or_else(|| format!("{key} must be a table of named tables"))?;
            for (name, table) in tables {
                let at = format!("{key}.{name}");
                let table = table.as_table().ok_or_else(|| format!("{at} must be a table"))?;
                if key == "key_value_store" {
                    self.key_value
                        .insert(name.clone(), key_value_store(table, &at, beside)?);
                } else {
                    self.sqlite.insert(name.clone(), sqlite_database(table, &at)?);
                }
            }
        }
        Ok(())
    }
}

fn string<'a>(table: &'a Table, key: &str, at: &str) -> Result<&'a str, String> {
    table
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}.{key} is missing or not a string"))
}

fn only(table: &Table, keys: &[&str], at: &str) -> Result<(), String> {
    match table.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(key) => Err(format!("{at}.{key} is not a key this host reads ({})", keys.join(", "))),
        None => Ok(()),
    }
}

fn key_value_store(table: &Table, at: &str, beside: &Path) -> Result<key_value::Definition, String> {
    match string(table, "type", at)? {
        "spin" => {
            only(table, &["type", "path"], at)?;
            Ok(match table.get("path") {
                None => key_value::Definition::Memory,
                Some(_) => key_value::Definition::Sqlite(beside.join(string(table, "path", at)?)),
            })
        }
        "redis" => {
            only(table, &["type", "url"], at)?;
            let url = string(table, "url", at)?;
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(format!("{at}.url must be a redis:// or rediss:// URL"));
            }
            Ok(key_value::Definition::Redis(url.to_string()))
        }
        other => Err(format!(
            "{at}.type = {other:?} is not served by this host (spin, redis)"
        )),
    }
}

fn sqlite_database(table: &Table, at: &str) -> Result<sqlite::Definition, String> {
    match string(table, "type", at)? {
        "spin" => {
            only(table, &["type", "path"], at)?;
            Ok(match table.get("path") {
                None => sqlite::Definition::Memory,
                Some(_) => sqlite::Definition::File(string(table, "path", at)?.into()),
            })
        }
        other => Err(format!("{at}.type = {other:?} is not served by this host (spin)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_live_in_the_state_directory() {
        let config = RuntimeConfig::read(None, Path::new("/app/.spin")).unwrap();
        assert_eq!(
            config.key_value["default"],
            key_value::Definition::Sqlite("/app/.spin/sqlite_key_value.db".into())
        );
        assert_eq!(
            config.sqlite["default"],
            sqlite::Definition::File("/app/.spin/sqlite_db.db".into())
        );
    }

    #[test]
    fn named_stores_and_databases_as_spin_reads_them() {
        let mut config = RuntimeConfig::defaults(Path::new("/s"));
        config
            .merge(
                r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"

[key_value_store.cache]
type = "spin"
path = "cache.db"

[key_value_store.scratch]
type = "spin"

[sqlite_database.orders]
type = "spin"
path = "/data/orders.db"

[sqlite_database.relative]
type = "spin"
path = "rel.db"
"#,
                Path::new("/config"),
            )
            .unwrap();
        assert_eq!(
            config.key_value["default"],
            key_value::Definition::Redis("redis://127.0.0.1:6379".into())
        );
        // Beside the runtime config file, as Spin resolves a store's path.
        assert_eq!(
            config.key_value["cache"],
            key_value::Definition::Sqlite("/config/cache.db".into())
        );
        assert_eq!(config.key_value["scratch"], key_value::Definition::Memory);
        assert_eq!(
            config.sqlite["orders"],
            sqlite::Definition::File("/data/orders.db".into())
        );
        // From the working directory, as Spin resolves a database's.
        assert_eq!(config.sqlite["relative"], sqlite::Definition::File("rel.db".into()));
    }

    #[test]
    fn what_this_host_does_not_serve_is_refused_by_name() {
        let mut config = RuntimeConfig::defaults(Path::new("/s"));
        for (text, names) in [
            ("[llm_compute]\ntype = \"remote_http\"\n", "llm_compute"),
            ("[key_value_store.x]\ntype = \"azure_cosmos\"\n", "azure_cosmos"),
            (
                "[key_value_store.x]\ntype = \"redis\"\nurl = \"http://x\"\n",
                "redis://",
            ),
            (
                "[key_value_store.x]\ntype = \"spin\"\npath = \"a\"\ncolour = 1\n",
                "colour",
            ),
            ("[sqlite_database.x]\ntype = \"libsql\"\n", "libsql"),
        ] {
            let refused = config.merge(text, Path::new("/s")).unwrap_err();
            assert!(refused.contains(names), "{text}: {refused}");
        }
    }
}
