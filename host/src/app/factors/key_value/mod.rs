//! The key-value factor: Spin's key-value stores, in the three interface
//! families Spin's SDKs import (Spin 2's `fermyon:spin/key-value`, Spin 3's
//! async `spin:key-value`, and the draft `wasi:keyvalue` store, atomics and
//! batch), over one set of stores.
//!
//! - Stores: `default`, a SQLite file in the app's state directory as
//!   `spin up` keeps it, and whatever the runtime config file declares
//!   (`[key_value_store.NAME]`), on SQLite or Redis (`backend`).
//! - Grants: a component opens only the stores its manifest lists in
//!   `key_value_stores`; anything else is `access-denied`, a store nobody
//!   declared `no-such-store`, as Spin answers.
//! - Limits: a value is at most [`MAX_VALUE_BYTES`], and a read or a key
//!   list brings back at most the SQLite factor's result limit, so one call
//!   cannot make the host hold more than the memory plan counts.

pub mod backend;
mod bindings;

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use backend::{Backend, Error, SqliteStore};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Linker, ResourceTable};

/// Largest value a store takes, in bytes: 1 MB, as Fermyon's cloud
/// allows (Spin itself sets none; a value must pass `--max-hostcall-bytes`,
/// 1 MiB by default, to reach the host at all).
pub const MAX_VALUE_BYTES: usize = 1_000_000;

/// How a store is kept, from the runtime config (or `default`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definition {
    /// In this SQLite file (made when first used).
    Sqlite(PathBuf),
    /// On the Redis server at this URL.
    Redis(String),
    /// In memory, for the life of the host (`type = "spin"` without a path).
    Memory,
}

/// The stores this host has, by label: opened when a component granted one
/// is first configured, then shared by every component granted it.
#[derive(Default)]
pub struct Stores {
    definitions: BTreeMap<String, Definition>,
    opened: Mutex<BTreeMap<String, Backend>>,
}

impl Stores {
    pub fn new(definitions: BTreeMap<String, Definition>) -> Self {
        Stores {
            definitions,
            opened: Mutex::default(),
        }
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.definitions.keys().map(String::as_str)
    }

    /// Connects every store kept on a server, at start: a store that cannot
    /// be reached stops the host, as Spin stops.
    pub async fn connect_remote(&self) -> anyhow::Result<()> {
        for (label, definition) in &self.definitions {
            if let Definition::Redis(url) = definition {
                let store = backend::RedisStore::connect(url)
                    .await
                    .map_err(|e| anyhow::anyhow!("key-value store {label:?} at {}: {e}", backend::redacted(url)))?;
                tracing::info!(store = label, kept = %backend::redacted(url), "key-value store connected");
                self.opened
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(label.clone(), Backend::Redis(store));
            }
        }
        Ok(())
    }

    /// The store `label`, opened now if it is not yet.
    fn open(&self, label: &str) -> anyhow::Result<Backend> {
        let mut opened = self.opened.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(backend) = opened.get(label) {
            return Ok(backend.clone());
        }
        let definition = self
            .definitions
            .get(label)
            .ok_or_else(|| anyhow::anyhow!("no key-value store {label:?}"))?;
        let backend = match definition {
            Definition::Sqlite(path) => {
                // Stores in one file share its connection.
                let sibling = opened.values().find_map(|b| match b {
                    Backend::Sqlite(s) if s.path() == path.as_path() => Some(s.named(label)),
                    _ => None,
                });
                Backend::Sqlite(match sibling {
                    Some(store) => store,
                    None => SqliteStore::open(path, label)?,
                })
            }
            Definition::Memory => Backend::Sqlite(SqliteStore::open(std::path::Path::new(":memory:"), label)?),
            // Connected at start (`connect_remote`).
            Definition::Redis(url) => anyhow::bail!(
                "key-value store {label:?} at {} is not connected",
                backend::redacted(url)
            ),
        };
        tracing::info!(store = label, kept = %path_of(definition), "key-value store opened");
        opened.insert(label.to_string(), backend.clone());
        Ok(backend)
    }
}

fn path_of(definition: &Definition) -> String {
    match definition {
        Definition::Sqlite(path) => path.display().to_string(),
        Definition::Redis(url) => backend::redacted(url),
        Definition::Memory => "memory".into(),
    }
}

pub struct KeyValueFactor {
    pub stores: Arc<Stores>,
    /// Largest value or key list one call brings back (`--max-store-result-bytes`).
    pub result_bytes: usize,
}

/// The stores one component may open, opened, and what one read may bring back.
#[derive(Clone, Default)]
pub struct Grants {
    stores: Arc<BTreeMap<String, Backend>>,
    result_bytes: usize,
}

impl Grants {
    /// The store `label`; one not granted is `access-denied`, as Spin
    /// answers.
    pub fn open(&self, label: &str) -> Result<Backend, Error> {
        self.stores.get(label).cloned().ok_or(Error::AccessDenied)
    }

    /// A read of `bytes` as Spin refuses one past its limit (ours is
    /// `--max-store-result-bytes`, in the memory plan; Spin's 128 MiB).
    pub fn within_limit(&self, bytes: usize) -> Result<(), Error> {
        if bytes > self.result_bytes {
            return Err(Error::Other(format!(
                "query result exceeds limit of {} bytes",
                self.result_bytes
            )));
        }
        Ok(())
    }
}

/// What the bindings see of a store: its grants and its resource table.
pub struct KeyValueView<'a> {
    pub table: &'a mut ResourceTable,
    pub grants: &'a Grants,
}

impl Factor for KeyValueFactor {
    type ComponentState = Grants;
    type InstanceState = Grants;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, _previous: Option<&Grants>) -> anyhow::Result<Grants> {
        let mut granted = BTreeMap::new();
        for label in &ctx.spec.key_value_stores {
            if !self.stores.definitions.contains_key(label) {
                // Spin refuses to start an app whose component names a
                // store no runtime config declares (`default` needs none).
                anyhow::bail!(
                    "key_value_stores names {label:?}, which no [key_value_store.{label}] in the runtime config \
                     declares (declared: {})",
                    self.stores.labels().collect::<Vec<_>>().join(", ")
                );
            }
            granted.insert(label.clone(), self.stores.open(label)?);
        }
        Ok(Grants {
            stores: Arc::new(granted),
            result_bytes: self.result_bytes,
        })
    }

    fn prepare(&self, state: &Grants, _ctx: &Prepare<'_>) -> Grants {
        state.clone()
    }
}

/// Checks a value against the store's limit.
pub fn check_sizes(_key: &str, value: Option<&[u8]>) -> Result<(), Error> {
    match value {
        Some(value) if value.len() > MAX_VALUE_BYTES => Err(Error::Other(format!(
            "value of {} bytes exceeds limit of {MAX_VALUE_BYTES} bytes",
            value.len()
        ))),
        _ => Ok(()),
    }
}
