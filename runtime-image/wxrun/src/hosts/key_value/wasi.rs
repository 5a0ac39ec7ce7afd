//! `wasi:keyvalue/store` and `wasi:keyvalue/batch` (0.2.0-draft2), which Spin
//! links beside its own key-value interface: a bucket is a store opened by its
//! label, with the same grants, backends and open-store limit. As in Spin,
//! `list-keys` returns every key at once and refuses a cursor. `get-many`
//! answers every asked key, `none` for a missing one (the interface's rule).
//! `wasi:keyvalue/atomics` is `atomics`.

use super::{Backend, Error as SpinError, OpenStore, backend, open, store_resource};
use crate::engine::Host;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource};

pub const STORE: &str = "wasi:keyvalue/store@0.2.0-draft2";
pub const BATCH: &str = "wasi:keyvalue/batch@0.2.0-draft2";

/// The `error` variant of `wasi:keyvalue/store`.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "no-such-store")]
    NoSuchStore,
    #[component(name = "access-denied")]
    AccessDenied,
    #[component(name = "other")]
    Other(String),
}

/// Spin's mapping of its key-value errors onto the WASI ones.
impl From<SpinError> for Error {
    fn from(e: SpinError) -> Self {
        match e {
            SpinError::AccessDenied => Error::AccessDenied,
            SpinError::NoSuchStore => Error::NoSuchStore,
            SpinError::StoreTableFull => Error::Other("store table full".into()),
            SpinError::Other(m) => Error::Other(m),
        }
    }
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub struct KeyResponse {
    keys: Vec<String>,
    cursor: Option<String>,
}

impl Backend {
    async fn list_keys(&self, cursor: Option<String>) -> Result<KeyResponse, Error> {
        if cursor.is_some() {
            return Err(Error::Other("list_keys: cursor not supported".into()));
        }
        let keys = self.keys().await?;
        Ok(KeyResponse { keys, cursor: None })
    }

    async fn get_many(&self, keys: Vec<String>) -> Result<Vec<(String, Option<Vec<u8>>)>, Error> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let value = self.get(key.clone()).await?;
            out.push((key, value));
        }
        Ok(out)
    }

    async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        for (key, value) in pairs {
            self.set(key, value).await?;
        }
        Ok(())
    }

    async fn delete_many(&self, keys: Vec<String>) -> Result<(), Error> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }
}

/// Links `wasi:keyvalue/store` and `wasi:keyvalue/batch`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(STORE)?;
    store_resource(&mut inst, "bucket")?;
    inst.func_wrap("open", |mut store, (label,): (String,)| {
        Ok((open(store.data_mut(), &label)?.map_err(Error::from),))
    })?;
    inst.func_wrap_async(
        "[method]bucket.get",
        |store, (res, key): (Resource<OpenStore>, String)| {
            Box::new(async move {
                Ok((backend(store.data(), &res)?
                    .get(key)
                    .await
                    .map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "[method]bucket.set",
        |store, (res, key, value): (Resource<OpenStore>, String, Vec<u8>)| {
            Box::new(async move {
                Ok((backend(store.data(), &res)?
                    .set(key, value)
                    .await
                    .map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "[method]bucket.delete",
        |store, (res, key): (Resource<OpenStore>, String)| {
            Box::new(async move {
                Ok((backend(store.data(), &res)?
                    .delete(key)
                    .await
                    .map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "[method]bucket.exists",
        |store, (res, key): (Resource<OpenStore>, String)| {
            Box::new(async move {
                Ok((backend(store.data(), &res)?
                    .exists(key)
                    .await
                    .map_err(Error::from),))
            })
        },
    )?;
    inst.func_wrap_async(
        "[method]bucket.list-keys",
        |store, (res, cursor): (Resource<OpenStore>, Option<String>)| {
            Box::new(async move { Ok((backend(store.data(), &res)?.list_keys(cursor).await,)) })
        },
    )?;

    let mut batch = linker.instance(BATCH)?;
    batch.func_wrap_async(
        "get-many",
        |store, (res, keys): (Resource<OpenStore>, Vec<String>)| {
            Box::new(async move { Ok((backend(store.data(), &res)?.get_many(keys).await,)) })
        },
    )?;
    batch.func_wrap_async(
        "set-many",
        |store, (res, pairs): (Resource<OpenStore>, Vec<(String, Vec<u8>)>)| {
            Box::new(async move { Ok((backend(store.data(), &res)?.set_many(pairs).await,)) })
        },
    )?;
    batch.func_wrap_async(
        "delete-many",
        |store, (res, keys): (Resource<OpenStore>, Vec<String>)| {
            Box::new(async move { Ok((backend(store.data(), &res)?.delete_many(keys).await,)) })
        },
    )?;
    Ok(())
}
