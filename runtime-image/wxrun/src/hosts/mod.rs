//! Spin's host interfaces beyond variables, linked for every component:
//! key-value (`fermyon:spin/key-value@2.0.0`, `wasi:keyvalue` store and batch), SQLite
//! (`fermyon:spin/sqlite@2.0.0`, `spin:sqlite/sqlite@3.0.0`), outbound
//! Redis and MQTT (`fermyon:spin/redis@2.0.0`, `fermyon:spin/mqtt@2.0.0`),
//! PostgreSQL (`fermyon:spin/postgres@2.0.0`, `spin:postgres/postgres@3.0.0`
//! and `@4.0.0`) and MySQL (`fermyon:spin/mysql@2.0.0`). Owns the
//! per-component grants (`key_value_stores`, `sqlite_databases`) and the
//! per-request state the host functions use.

pub mod key_value;
pub mod mqtt;
pub mod mysql;
pub mod postgres;
pub mod rdbms;
pub mod redis;
pub mod sqlite;

use crate::runtime_config::RuntimeConfig;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::component::{Linker, LinkerInstance, Resource, ResourceType};

/// Interfaces implemented here (exact names, as the Spin SDKs import them).
pub const INTERFACES: [&str; 13] = [
    key_value::V2,
    key_value::wasi::STORE,
    key_value::wasi::BATCH,
    key_value::atomics::ATOMICS,
    sqlite::V2,
    sqlite::V3,
    redis::V2,
    mqtt::V2,
    rdbms::TYPES_V2,
    postgres::V2,
    postgres::V3,
    postgres::V4,
    mysql::V2,
];

/// The process's key-value stores and SQLite databases, from the runtime
/// config and the state directory, and its PostgreSQL and MySQL connection
/// pools. Shared by every release it serves.
#[derive(Clone, Default)]
pub struct Resources {
    pub stores: Arc<key_value::Stores>,
    pub databases: Arc<sqlite::Databases>,
    pub postgres: Arc<postgres::Pools>,
    pub mysql: Arc<mysql::Pools>,
}

impl Resources {
    pub fn new(
        config: &RuntimeConfig,
        state_dir: Option<PathBuf>,
    ) -> Result<Resources, key_value::StoreError> {
        Ok(Resources {
            databases: Arc::new(sqlite::Databases::new(config, state_dir.as_deref())),
            stores: Arc::new(key_value::Stores::new(config, state_dir)?),
            postgres: Arc::default(),
            mysql: Arc::default(),
        })
    }
}

/// What one component may use, shared by all its requests.
#[derive(Clone, Default)]
pub struct Grants {
    /// Labels in the component's `key_value_stores`.
    pub key_value: Arc<BTreeSet<String>>,
    /// Labels in the component's `sqlite_databases`.
    pub sqlite: Arc<BTreeSet<String>>,
    pub stores: Arc<key_value::Stores>,
    pub databases: Arc<sqlite::Databases>,
    pub postgres: Arc<postgres::Pools>,
    pub mysql: Arc<mysql::Pools>,
    /// The component's `allowed_outbound_hosts`, for the database clients.
    pub allowed: Arc<crate::allowed_hosts::AllowedHosts>,
}

/// The state of one request's host interfaces.
pub struct HostState {
    pub grants: Grants,
    /// Key-value stores the guest has open now.
    pub open_stores: usize,
    /// SQLite connections the guest has open now.
    pub open_databases: usize,
    /// Outbound Redis connections the guest has open now.
    pub open_redis: usize,
    /// Outbound MQTT connections the guest has open now.
    pub open_mqtt: usize,
    /// PostgreSQL connections the guest has open now (all versions).
    pub open_postgres: usize,
    /// MySQL connections the guest has open now.
    pub open_mysql: usize,
}

impl HostState {
    pub fn new(grants: Grants) -> Self {
        HostState {
            grants,
            open_stores: 0,
            open_databases: 0,
            open_redis: 0,
            open_mqtt: 0,
            open_postgres: 0,
            open_mysql: 0,
        }
    }
}

/// Defines a host resource the guest opens (a client's `connection`, a
/// key-value `store` or `bucket`): dropping one frees its table entry and its
/// place in the `count` of open ones.
pub fn counted_resource<R: Send + 'static>(
    inst: &mut LinkerInstance<'_, crate::engine::Host>,
    name: &str,
    count: fn(&mut HostState) -> &mut usize,
) -> wasmtime::Result<()> {
    inst.resource(name, ResourceType::host::<R>(), move |mut store, rep| {
        let host = store.data_mut();
        host.table.delete(Resource::<R>::new_own(rep))?;
        *count(&mut host.hosts) -= 1;
        Ok(())
    })
}

/// Links every interface of this module into `linker`.
pub fn add_to_linker(linker: &mut Linker<crate::engine::Host>) -> wasmtime::Result<()> {
    key_value::add_to_linker(linker)?;
    sqlite::add_to_linker(linker)?;
    redis::add_to_linker(linker)?;
    mqtt::add_to_linker(linker)?;
    // Types only: nothing to define, but the import must resolve.
    linker.instance(rdbms::TYPES_V2)?;
    postgres::add_to_linker(linker)?;
    mysql::add_to_linker(linker)
}
