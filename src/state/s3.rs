//! The S3 store: the state is one object, written only if it is still the version this run
//! read (`If-Match` on its ETag; `If-None-Match: *` for the first write), and locked by a
//! second object `<key>.lock` created with `If-None-Match: *` (S3's own conditional writes,
//! as Terraform's `use_lockfile`). The trait is synchronous (the engine checkpoints under a
//! mutex), so each call runs on the store's own runtime and the caller waits for it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::State;
use super::file;
use super::lock::{self, LockError, LockGuard, LockInfo};
use super::store::{StateStore, StateVersion, StoreError};

/// Server-side encryption of the state and lock objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    Aes256,
    Kms(String),
}

/// What this run knows about the state object, for the next conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Not read, or read as absent: only a create (`If-None-Match: *`) is allowed.
    Absent,
    Etag(String),
}

/// The store's own runtime. The engine's tasks wait on its state mutex synchronously while a
/// checkpoint writes, so a write driven by their runtime could find every worker blocked and
/// never complete; this one's worker drives only the store's calls.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wxinfra-s3-state")
            .enable_all()
            .build()
            .expect("the S3 state store's runtime starts");
        Self(Some(rt))
    }

    /// Runs `f` to completion on this runtime, from any context (inside an async task too).
    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.0.as_ref().expect("runtime lives until drop");
        // A fresh thread has no runtime context, so `block_on` is allowed there.
        let run = || {
            std::thread::scope(|s| {
                s.spawn(|| rt.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
        };
        match tokio::runtime::Handle::try_current() {
            // Lets the caller's runtime move its other tasks to another worker meanwhile.
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        }
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside an async context.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub struct S3Store {
    client: Client,
    bucket: String,
    key: String,
    sse: Option<Sse>,
    seen: Mutex<Seen>,
    runtime: Arc<OwnRuntime>,
}

/// 412 Precondition Failed, or 409 ConditionalRequestConflict (a concurrent conditional
/// write to the same key won): either way, someone else wrote first.
fn lost_race<E>(e: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool {
    e.raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
}

impl S3Store {
    pub fn new(client: Client, bucket: &str, key: &str, sse: Option<Sse>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            key: key.into(),
            sse,
            seen: Mutex::new(Seen::Absent),
            runtime: Arc::new(OwnRuntime::new()),
        }
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    fn err(
        &self,
        op: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::S3 {
            op,
            url: self.url(),
            source: Box::new(e),
        }
    }

    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.runtime.block(f)
    }

    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        match &self.sse {
            None => req,
            Some(Sse::Aes256) => req.server_side_encryption(ServerSideEncryption::Aes256),
            Some(Sse::Kms(k)) => req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(k),
        }
    }

    /// The object's bytes and ETag; `None` when there is no such key.
    async fn get(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.err("read", e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| self.err("read", e))?
            .into_bytes()
            .to_vec();
        Ok(Some((body, etag)))
    }

    fn decode(&self, bytes: &[u8]) -> Result<State, StoreError> {
        file::decode(bytes).map_err(|source| StoreError::Format {
            path: self.url().into(),
            source,
        })
    }

    async fn holder(&self) -> Result<Option<LockInfo>, StoreError> {
        Ok(self
            .get(&self.lock_key(), None)
            .await?
            .map(|(b, _)| serde_json::from_slice(&b).unwrap_or_else(|_| LockInfo::unknown())))
    }

    async fn try_lock(&self, info: &LockInfo) -> Result<bool, StoreError> {
        let body = serde_json::to_vec_pretty(info).expect("lock info serializes");
        match self
            .put(&self.lock_key(), body)
            .if_none_match("*")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if lost_race(&e) => Ok(false),
            Err(e) => Err(self.err("lock", e)),
        }
    }

    /// Creates the lock object, retrying with backoff until `deadline`; then names the holder.
    async fn acquire(&self, info: &LockInfo, deadline: Instant) -> Result<(), StoreError> {
        let mut wait = Duration::from_millis(200);
        loop {
            if self.try_lock(info).await? {
                return Ok(());
            }
            // The holder may have released it between our create and this read: retry.
            let Some(held) = self.holder().await? else {
                continue;
            };
            if Instant::now() >= deadline {
                return Err(StoreError::Lock(LockError::Held(Box::new(held))));
            }
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }

    /// Deletes the lock object if it still is the one with `id` (or any, with `None`).
    async fn unlock(&self, id: Option<&str>) -> Result<Option<LockInfo>, StoreError> {
        let Some(held) = self.holder().await? else {
            return Ok(None);
        };
        lock::check_id(&held, id)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.lock_key())
            .send()
            .await
            .map_err(|e| self.err("unlock", e))?;
        Ok(Some(held))
    }
}

impl StateStore for S3Store {
    fn read(&self) -> Result<Option<State>, StoreError> {
        let got = self.block(self.get(&self.key, None))?;
        let mut seen = self.seen.lock().expect("poisoned");
        match got {
            None => {
                *seen = Seen::Absent;
                Ok(None)
            }
            Some((bytes, etag)) => {
                let state = self.decode(&bytes)?;
                *seen = Seen::Etag(etag);
                Ok(Some(state))
            }
        }
    }

    fn write(&self, state: &State) -> Result<(), StoreError> {
        let mut body = Vec::new();
        file::encode(state, &mut body).map_err(|source| StoreError::Format {
            path: self.url().into(),
            source,
        })?;
        let mut seen = self.seen.lock().expect("poisoned");
        let req = match &*seen {
            Seen::Absent => self.put(&self.key, body).if_none_match("*"),
            Seen::Etag(e) => self.put(&self.key, body).if_match(e),
        };
        match self.block(req.send()) {
            Ok(out) => {
                *seen = Seen::Etag(out.e_tag().unwrap_or_default().to_string());
                Ok(())
            }
            // If-Match on a key that is gone answers 404: it moved too.
            Err(e)
                if lost_race(&e)
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Err(StoreError::Moved { url: self.url() })
            }
            Err(e) => Err(self.err("write", e)),
        }
    }

    fn lock(&self, info: &LockInfo, timeout: Duration) -> Result<LockGuard, StoreError> {
        self.block(self.acquire(info, Instant::now() + timeout))?;
        let store = Self {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            sse: self.sse.clone(),
            seen: Mutex::new(Seen::Absent),
            runtime: self.runtime.clone(),
        };
        let id = info.id.clone();
        Ok(LockGuard::releasing(move || {
            if let Err(e) = store.block(store.unlock(Some(&id))) {
                tracing::warn!(
                    "could not release the state lock {id}: {}",
                    crate::error_text::with_causes(&e)
                );
            }
        }))
    }

    fn force_unlock(&self, id: Option<&str>) -> Result<Option<LockInfo>, StoreError> {
        self.block(self.unlock(id))
    }

    fn describe(&self) -> String {
        self.url()
    }

    fn versions(&self) -> Result<Vec<StateVersion>, StoreError> {
        let mut out = Vec::new();
        self.block(async {
            // ListObjectVersions pages by key and version markers (it has no paginator).
            let (mut key_marker, mut version_marker) = (None, None);
            loop {
                let page = self
                    .client
                    .list_object_versions()
                    .bucket(&self.bucket)
                    .prefix(&self.key)
                    .set_key_marker(key_marker.take())
                    .set_version_id_marker(version_marker.take())
                    .send()
                    .await
                    .map_err(|e| self.err("list versions of", e))?;
                for v in page.versions() {
                    if v.key() != Some(self.key.as_str()) {
                        continue;
                    }
                    out.push(StateVersion {
                        version_id: v.version_id().unwrap_or("null").to_string(),
                        last_modified: v
                            .last_modified()
                            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                            .unwrap_or_default(),
                        size: v.size().unwrap_or_default(),
                        latest: v.is_latest().unwrap_or_default(),
                    });
                }
                if !page.is_truncated().unwrap_or_default() {
                    break;
                }
                key_marker = page.next_key_marker().map(str::to_string);
                version_marker = page.next_version_id_marker().map(str::to_string);
            }
            Ok::<_, StoreError>(())
        })?;
        // S3 lists a key's versions newest first.
        Ok(out)
    }

    fn read_version(&self, version_id: &str) -> Result<State, StoreError> {
        match self.block(self.get(&self.key, Some(version_id)))? {
            Some((bytes, _)) => self.decode(&bytes),
            None => Err(StoreError::S3 {
                op: "find version",
                url: format!("{} ({version_id})", self.url()),
                source: "no such version".into(),
            }),
        }
    }
}
