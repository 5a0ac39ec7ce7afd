//! Spin key-value: `fermyon:spin/key-value@2.0.0` and Spin 4's
//! `spin:key-value/key-value@3.0.0` on the stores of the
//! runtime config (`spin` SQLite file, `redis`, `aws_dynamo`), with Spin's
//! permission model: a label missing from the component's `key_value_stores`
//! opens as `access-denied`, a granted label with no store stops the app at
//! load (Spin: "unknown key_value_stores label"). Owns the store table and
//! the guest-facing functions; each backend is its own module, and
//! `wasi:keyvalue` (on the same stores) is `wasi` and `atomics`.

pub mod atomics;
mod dynamo;
mod redis;
mod sqlite;
pub mod wasi;

use crate::engine::Host;
use crate::hosts::{Style, define, streamed};
use crate::runtime_config::{KeyValueStore, RuntimeConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use wasmtime::component::{Accessor, ComponentType, Lift, Linker, LinkerInstance, Lower, Resource};

/// The Spin 2 key-value interface.
pub const V2: &str = "fermyon:spin/key-value@2.0.0";
/// Spin 4's: the same calls as `async func`s, the keys as a stream.
pub const V3: &str = "spin:key-value/key-value@3.0.0";

/// The file Spin keeps the `default` store in, under the state directory.
pub const DEFAULT_STORE_FILE: &str = "sqlite_key_value.db";

/// Stores a guest may have open at once (Spin's table capacity).
const MAX_OPEN_STORES: usize = 256;

/// The `error` variant of Spin's key-value interfaces.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "store-table-full")]
    StoreTableFull,
    #[component(name = "no-such-store")]
    NoSuchStore,
    #[component(name = "access-denied")]
    AccessDenied,
    #[component(name = "other")]
    Other(String),
}

/// Why a configured store cannot be used (e.g. a malformed Redis URL).
#[derive(Debug, thiserror::Error)]
#[error("key_value_store.{label}: {message}")]
pub struct StoreError {
    pub label: String,
    pub message: String,
}

/// One configured store.
#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Redis(redis::RedisStore),
    Dynamo(dynamo::DynamoStore),
}

/// Calls the same method on whichever backend `$b` is.
macro_rules! each {
    ($b:expr, $s:ident => $call:expr) => {
        match $b {
            Backend::Sqlite($s) => $call,
            Backend::Redis($s) => $call,
            Backend::Dynamo($s) => $call,
        }
    };
}

impl Backend {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        each!(self, s => s.get(key).await)
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        each!(self, s => s.set(key, value).await)
    }

    async fn delete(&self, key: String) -> Result<(), Error> {
        each!(self, s => s.delete(key).await)
    }

    async fn exists(&self, key: String) -> Result<bool, Error> {
        each!(self, s => s.exists(key).await)
    }

    async fn keys(&self) -> Result<Vec<String>, Error> {
        each!(self, s => s.keys().await)
    }
}

/// The process's key-value stores by label: those of the runtime config,
/// plus `default` as a `spin` store in `<state dir>/sqlite_key_value.db`
/// (in memory without a state dir) unless the config defines it.
#[derive(Clone, Default)]
pub struct Stores(BTreeMap<String, Backend>);

impl Stores {
    /// Builds the stores; nothing is opened until a guest uses one.
    pub fn new(config: &RuntimeConfig, state_dir: Option<PathBuf>) -> Result<Stores, StoreError> {
        let mut stores = BTreeMap::new();
        for (label, store) in &config.key_value_store {
            let backend = match store {
                KeyValueStore::Spin { path } => {
                    Backend::Sqlite(sqlite::SqliteStore::new(label, path.clone()))
                }
                KeyValueStore::Redis { url } => {
                    Backend::Redis(redis::RedisStore::new(url).map_err(|e| StoreError {
                        label: label.clone(),
                        message: e.to_string(),
                    })?)
                }
                KeyValueStore::AwsDynamo {
                    region,
                    table,
                    consistent_read,
                    access_key,
                    secret_key,
                    token,
                } => {
                    let keys = match (access_key, secret_key) {
                        (Some(a), Some(s)) => Some(dynamo::StaticKeys {
                            access_key: a.clone(),
                            secret_key: s.clone(),
                            token: token.clone(),
                        }),
                        _ => None,
                    };
                    Backend::Dynamo(dynamo::DynamoStore::new(
                        region,
                        table,
                        *consistent_read,
                        keys,
                    ))
                }
            };
            stores.insert(label.clone(), backend);
        }
        stores.entry("default".to_string()).or_insert_with(|| {
            Backend::Sqlite(sqlite::SqliteStore::new(
                "default",
                state_dir.map(|d| d.join(DEFAULT_STORE_FILE)),
            ))
        });
        Ok(Stores(stores))
    }

    /// Whether `label` names a store.
    pub fn contains(&self, label: &str) -> bool {
        self.0.contains_key(label)
    }
}

/// A store the guest opened: the resource behind `store`.
pub struct OpenStore {
    backend: Backend,
}

fn open(host: &mut Host, label: &str) -> wasmtime::Result<Result<Resource<OpenStore>, Error>> {
    if !host.hosts.grants.key_value.contains(label) {
        return Ok(Err(Error::AccessDenied));
    }
    let Some(backend) = host.hosts.grants.stores.0.get(label).cloned() else {
        return Ok(Err(Error::NoSuchStore));
    };
    if host.hosts.open_stores >= MAX_OPEN_STORES {
        return Ok(Err(Error::StoreTableFull));
    }
    host.hosts.open_stores += 1;
    Ok(Ok(host.table.push(OpenStore { backend })?))
}

fn backend(host: &Host, res: &Resource<OpenStore>) -> wasmtime::Result<Backend> {
    Ok(host.table.get(res)?.backend.clone())
}

/// Defines the resource for a store the guest opens (a Spin `store` or a WASI `bucket`).
fn store_resource(inst: &mut LinkerInstance<'_, Host>, name: &str) -> wasmtime::Result<()> {
    crate::hosts::counted_resource::<OpenStore>(inst, name, |h| &mut h.open_stores)
}

/// Links `store` and the functions both Spin key-value versions share, in `style`.
fn link_store<'a>(
    linker: &'a mut Linker<Host>,
    name: &str,
    style: Style,
) -> wasmtime::Result<LinkerInstance<'a, Host>> {
    let mut inst = linker.instance(name)?;
    store_resource(&mut inst, "store")?;
    define(
        &mut inst,
        style,
        "[static]store.open",
        |h, (label,): (String,)| Box::pin(async move { Ok((h.with(|host| open(host, &label))?,)) }),
    )?;
    define(
        &mut inst,
        style,
        "[method]store.get",
        |h, (res, key): (Resource<OpenStore>, String)| {
            Box::pin(async move { Ok((h.with(|host| backend(host, &res))?.get(key).await,)) })
        },
    )?;
    define(
        &mut inst,
        style,
        "[method]store.set",
        |h, (res, key, value): (Resource<OpenStore>, String, Vec<u8>)| {
            Box::pin(
                async move { Ok((h.with(|host| backend(host, &res))?.set(key, value).await,)) },
            )
        },
    )?;
    define(
        &mut inst,
        style,
        "[method]store.delete",
        |h, (res, key): (Resource<OpenStore>, String)| {
            Box::pin(async move { Ok((h.with(|host| backend(host, &res))?.delete(key).await,)) })
        },
    )?;
    define(
        &mut inst,
        style,
        "[method]store.exists",
        |h, (res, key): (Resource<OpenStore>, String)| {
            Box::pin(async move { Ok((h.with(|host| backend(host, &res))?.exists(key).await,)) })
        },
    )?;
    Ok(inst)
}

/// Links both Spin key-value versions and `wasi:keyvalue`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    wasi::add_to_linker(linker)?;
    atomics::add_to_linker(linker)?;
    let mut v2 = link_store(linker, V2, Style::Plain)?;
    define(
        &mut v2,
        Style::Plain,
        "[method]store.get-keys",
        |h, (res,): (Resource<OpenStore>,)| {
            Box::pin(async move { Ok((h.with(|host| backend(host, &res))?.keys().await,)) })
        },
    )?;
    // Spin 4 streams the keys, and says in a future how the listing ended.
    let mut v3 = link_store(linker, V3, Style::Async)?;
    v3.func_wrap_concurrent(
        "[method]store.get-keys",
        |accessor: &Accessor<Host>, (res,): (Resource<OpenStore>,)| {
            Box::pin(async move {
                let store = accessor.with(|mut a| backend(a.data_mut(), &res))?;
                let (keys, end) = match store.keys().await {
                    Ok(keys) => (keys, Ok(())),
                    Err(e) => (Vec::new(), Err(e)),
                };
                Ok((streamed(accessor, keys, end)?,))
            })
        },
    )?;
    Ok(())
}
