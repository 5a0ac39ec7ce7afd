//! Spin's host interfaces beyond variables, linked for every component:
//! key-value (`fermyon:spin/key-value@2.0.0`, `wasi:keyvalue` store and batch), SQLite
//! (`fermyon:spin/sqlite@2.0.0`, `spin:sqlite/sqlite@3.0.0`), outbound
//! Redis and MQTT (`fermyon:spin/redis@2.0.0`, `fermyon:spin/mqtt@2.0.0`),
//! PostgreSQL (`fermyon:spin/postgres@2.0.0`, `spin:postgres/postgres@3.0.0`
//! and `@4.0.0`) and MySQL (`fermyon:spin/mysql@2.0.0`). Owns the
//! per-component grants (`key_value_stores`, `sqlite_databases`) and the
//! per-request state the host functions use.

pub mod key_value;
pub mod llm;
pub mod mqtt;
pub mod mysql;
pub mod postgres;
pub mod rdbms;
pub mod redis;
pub mod sqlite;

use crate::engine::Host;
use crate::runtime_config::RuntimeConfig;
use futures::future::BoxFuture;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, ComponentNamedList, ComponentType, Destination, FutureReader, Lift, Linker,
    LinkerInstance, Lower, Resource, ResourceType, StreamProducer, StreamReader, StreamResult,
    VecBuffer,
};

/// Interfaces implemented here (exact names, as the Spin SDKs import them).
pub const INTERFACES: [&str; 20] = [
    key_value::V2,
    key_value::V3,
    key_value::wasi::STORE,
    key_value::wasi::BATCH,
    key_value::atomics::ATOMICS,
    sqlite::V2,
    sqlite::V3,
    sqlite::V3_1,
    redis::V2,
    redis::V3,
    mqtt::V2,
    mqtt::V3,
    rdbms::TYPES_V2,
    postgres::V2,
    postgres::V3,
    postgres::V4,
    postgres::V4_2,
    mysql::V2,
    mysql::V3,
    llm::V2,
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
    pub llm: Arc<llm::Engine>,
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
            llm: Arc::new(llm::Engine::new(config.llm_compute.as_ref())),
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
    /// Models in the component's `ai_models`.
    pub ai_models: Arc<BTreeSet<String>>,
    pub llm: Arc<llm::Engine>,
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
    inst: &mut LinkerInstance<'_, Host>,
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

/// How an interface version declares a function: a plain `func` (Spin 2 and
/// 3), which holds the store for the whole call, or an `async func` (Spin 4),
/// which reaches the store only between awaits. Wasmtime refuses a host
/// function of the other kind, so each version is linked in its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Async,
}

/// The request's host state as a function body sees it, whichever its style.
pub trait HostAccess: Send {
    fn with_host(&mut self, f: &mut dyn FnMut(&mut Host));
}

impl HostAccess for StoreContextMut<'_, Host> {
    fn with_host(&mut self, f: &mut dyn FnMut(&mut Host)) {
        f(self.data_mut())
    }
}

impl HostAccess for &Accessor<Host> {
    fn with_host(&mut self, f: &mut dyn FnMut(&mut Host)) {
        self.with(|mut access| f(access.data_mut()))
    }
}

impl dyn HostAccess + '_ {
    /// Runs `f` on the host state (never across an await).
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Host) -> R) -> R {
        let (mut f, mut out) = (Some(f), None);
        self.with_host(&mut |host| out = f.take().map(|f| f(host)));
        out.expect("with_host calls its function once")
    }
}

/// A host function's body, shared by both styles.
pub type Body<P, R> = for<'a> fn(&'a mut dyn HostAccess, P) -> BoxFuture<'a, wasmtime::Result<R>>;

/// Defines `name` in `inst` as `body`, in `style`.
pub fn define<P, R>(
    inst: &mut LinkerInstance<'_, Host>,
    style: Style,
    name: &str,
    body: Body<P, R>,
) -> wasmtime::Result<()>
where
    P: ComponentNamedList + Lift + Send + Sync + 'static,
    R: ComponentNamedList + Lower + Send + Sync + 'static,
{
    match style {
        Style::Plain => inst.func_wrap_async(name, move |mut store, params: P| {
            Box::new(async move { body(&mut store, params).await })
        }),
        Style::Async => {
            inst.func_wrap_concurrent(name, move |accessor: &Accessor<Host>, params: P| {
                Box::pin(async move {
                    let mut access = accessor;
                    body(&mut access, params).await
                })
            })
        }
    }
}

/// Defines a client interface's `connection` resource (its drop counted
/// down in `count`) and `[static]connection.open` as `open`, in `style`.
pub fn connection<R, P, Res>(
    inst: &mut LinkerInstance<'_, Host>,
    style: Style,
    count: fn(&mut HostState) -> &mut usize,
    open: Body<P, Res>,
) -> wasmtime::Result<()>
where
    R: Send + 'static,
    P: ComponentNamedList + Lift + Send + Sync + 'static,
    Res: ComponentNamedList + Lower + Send + Sync + 'static,
{
    counted_resource::<R>(inst, "connection", count)?;
    define(inst, style, "[static]connection.open", open)
}

/// A `stream<T>` and the `future<result<_, E>>` that says how it ended.
pub type Streamed<T, E> = (StreamReader<T>, FutureReader<Result<(), E>>);

/// What an `async func` answers for a list it streams: the items, and the
/// future that says how the listing ended (Spin 4's `stream<T>` plus
/// `future<result<_, error>>`). The host has every item before the call
/// returns; the guest reads them at its own pace.
pub fn streamed<T, E>(
    accessor: &Accessor<Host>,
    items: Vec<T>,
    end: Result<(), E>,
) -> wasmtime::Result<Streamed<T, E>>
where
    T: ComponentType + Lift + Lower + Send + Sync + Unpin + 'static,
    E: ComponentType + Lift + Lower + Send + Sync + 'static,
{
    accessor.with(|mut access| {
        let stream = StreamReader::new(&mut access, items)?;
        let end = FutureReader::new(
            &mut access,
            std::future::ready(wasmtime::Result::<_>::Ok(end)),
        )?;
        Ok((stream, end))
    })
}

/// A `stream<T>` fed by a channel, for items the host gets one by one (rows
/// as a server sends them); the stream ends when the sender is dropped.
pub struct Channel<T>(pub tokio::sync::mpsc::Receiver<T>);

impl<T: Send + Sync + 'static, D> StreamProducer<D> for Channel<T> {
    type Item = T;
    type Buffer = VecBuffer<T>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, T, VecBuffer<T>>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let room = destination.remaining(&mut store).unwrap_or(STREAM_BATCH);
        // A zero-length read asks whether items are ready: say yes, the next
        // read waits for them.
        if room == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut items = Vec::new();
        match self.get_mut().0.poll_recv_many(cx, &mut items, room) {
            Poll::Ready(0) => Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Ready(_) => {
                destination.set_buffer(items.into());
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Items handed to the guest at once when its read does not say how many.
const STREAM_BATCH: usize = 32;

/// Links every interface of this module into `linker`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    key_value::add_to_linker(linker)?;
    sqlite::add_to_linker(linker)?;
    redis::add_to_linker(linker)?;
    mqtt::add_to_linker(linker)?;
    // Types only: nothing to define, but the import must resolve.
    linker.instance(rdbms::TYPES_V2)?;
    postgres::add_to_linker(linker)?;
    mysql::add_to_linker(linker)?;
    llm::add_to_linker(linker)
}
