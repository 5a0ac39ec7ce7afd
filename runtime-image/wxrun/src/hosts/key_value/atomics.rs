//! `wasi:keyvalue/atomics` (0.2.0-draft2) on every store, as Spin 3.x links it:
//! `increment` keeps the counter as each Spin store does (8 little-endian bytes in the
//! `spin` file, decimal text in Redis and DynamoDB), and a `cas` remembers what `current`
//! read (the value; Redis: a `WATCH`; DynamoDB: the `VER` version) so that `swap` writes
//! only if that still holds. A lost race answers `cas-failed` with a fresh `cas` that has
//! already read the new value, as Spin's host does. Two differences, on purpose: a `cas`
//! that read "absent" inserts only if the key is still absent (Spin's `spin` store writes
//! anyway), and a non-counter value makes `increment` return an error (Spin's panics).

use super::wasi::Error;
use super::{Backend, Error as SpinError, OpenStore, backend, dynamo};
use crate::engine::Host;
use wasmtime::component::{ComponentType, Linker, Lower, Resource, ResourceType};

pub const ATOMICS: &str = "wasi:keyvalue/atomics@0.2.0-draft2";

/// What a `cas` saw when it read, per store.
enum Seen {
    /// `current` was not called: `swap` writes unconditionally, as in Spin.
    Unread,
    Value(Option<Vec<u8>>),
    Watched(redis::aio::MultiplexedConnection),
    Dynamo(dynamo::Seen),
}

/// The resource behind a guest's `cas`.
pub struct Cas {
    backend: Backend,
    key: String,
    seen: Seen,
}

/// `cas-error`: the store's error, or the race lost, with a `cas` for another try.
#[derive(ComponentType, Lower)]
#[component(variant)]
pub enum CasError {
    #[component(name = "store-error")]
    StoreError(Error),
    #[component(name = "cas-failed")]
    CasFailed(Resource<Cas>),
}

impl Backend {
    async fn increment(&self, key: String, delta: i64) -> Result<i64, SpinError> {
        match self {
            Backend::Sqlite(s) => s.increment(key, delta).await,
            Backend::Redis(s) => s.increment(key, delta).await,
            Backend::Dynamo(s) => s.increment(key, delta).await,
        }
    }
}

impl Cas {
    /// Reads the key and remembers what a later swap must still find.
    async fn read(&mut self) -> Result<Option<Vec<u8>>, SpinError> {
        let (seen, value) = match &self.backend {
            Backend::Sqlite(s) => {
                let v = s.get(self.key.clone()).await?;
                (Seen::Value(v.clone()), v)
            }
            Backend::Redis(s) => {
                let (conn, v) = s.watch(&self.key).await?;
                (Seen::Watched(conn), v)
            }
            Backend::Dynamo(s) => {
                let (seen, v) = s.watch(&self.key).await?;
                (Seen::Dynamo(seen), v)
            }
        };
        self.seen = seen;
        Ok(value)
    }

    /// Writes `value` if what was read still holds; whether it did.
    async fn swap(self, value: Vec<u8>) -> Result<bool, SpinError> {
        match (self.seen, &self.backend) {
            (Seen::Unread, b) => b.set(self.key, value).await.map(|()| true),
            (Seen::Value(old), Backend::Sqlite(s)) => s.swap_if(self.key, old, value).await,
            (Seen::Watched(conn), Backend::Redis(_)) => {
                super::redis::RedisStore::swap_watched(conn, self.key, value).await
            }
            (Seen::Dynamo(seen), Backend::Dynamo(s)) => s.swap_if(self.key, &seen, value).await,
            _ => Err(SpinError::Other(
                "compare-and-swap state of another store".into(),
            )),
        }
    }
}

fn new_cas(backend: Backend, key: String) -> Cas {
    Cas {
        backend,
        key,
        seen: Seen::Unread,
    }
}

/// Links `wasi:keyvalue/atomics`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(ATOMICS)?;
    inst.resource("cas", ResourceType::host::<Cas>(), |mut store, rep| {
        store
            .data_mut()
            .table
            .delete(Resource::<Cas>::new_own(rep))?;
        Ok(())
    })?;
    inst.func_wrap(
        "[static]cas.new",
        |mut store, (bucket, key): (Resource<OpenStore>, String)| {
            let b = backend(store.data(), &bucket)?;
            let cas = store.data_mut().table.push(new_cas(b, key))?;
            Ok((Ok::<_, Error>(cas),))
        },
    )?;
    inst.func_wrap_async(
        "[method]cas.current",
        |mut store, (res,): (Resource<Cas>,)| {
            Box::new(async move {
                // Taken out while the store is read, put back with what it saw.
                let cas = store.data_mut().table.get_mut(&res)?;
                let mut taken =
                    std::mem::replace(cas, new_cas(cas.backend.clone(), cas.key.clone()));
                let read = taken.read().await;
                *store.data_mut().table.get_mut(&res)? = taken;
                Ok((read.map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "increment",
        |store, (bucket, key, delta): (Resource<OpenStore>, String, i64)| {
            Box::new(async move {
                Ok((backend(store.data(), &bucket)?
                    .increment(key, delta)
                    .await
                    .map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "swap",
        |mut store, (res, value): (Resource<Cas>, Vec<u8>)| {
            Box::new(async move {
                let cas = store.data_mut().table.delete(res)?;
                let (b, key) = (cas.backend.clone(), cas.key.clone());
                match cas.swap(value).await {
                    Ok(true) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(CasError::StoreError(e.into())),)),
                    Ok(false) => {
                        // As Spin: a new cas that has read the value that won.
                        let mut again = new_cas(b, key);
                        if let Err(e) = again.read().await {
                            return Ok((Err(CasError::StoreError(e.into())),));
                        }
                        let again = store.data_mut().table.push(again)?;
                        Ok((Err(CasError::CasFailed(again)),))
                    }
                }
            })
        },
    )?;
    Ok(())
}
