//! The one narrow interface every resource kind implements, and the typed errors it returns.
//! Providers (`aws`, fakes in tests) hand the engine a [`Provider`] that finds a kind by name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

/// Properties as applied (references resolved) and outputs other resources can use.
pub type Outputs = Map<String, Value>;

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The live properties, in the same shape as the desired ones.
    pub props: Value,
    pub outputs: Outputs,
}

/// Everything a create needs.
#[derive(Debug, Clone)]
pub struct CreateRequest<'a> {
    pub address: &'a str,
    pub stack: &'a str,
    /// Resolved properties.
    pub props: &'a Value,
    /// Idempotency token derived from stack + address + plan serial, reused on resume.
    pub token: &'a str,
}

/// Everything an in-place update needs.
#[derive(Debug, Clone, Copy)]
pub struct UpdateRequest<'a> {
    /// The resource's physical id.
    pub id: &'a str,
    /// What was last applied (or, for an adopted create, what was read back).
    pub old: &'a Value,
    /// The resolved properties to apply.
    pub new: &'a Value,
    /// The top-level properties that differ, none of which forces a replacement.
    pub changed: &'a [String],
}

impl<'a> UpdateRequest<'a> {
    /// Id, old and new properties, and the changed fields, for a kind to take apart at once.
    pub fn parts(&self) -> (&'a str, &'a Value, &'a Value, &'a [String]) {
        (self.id, self.old, self.new, self.changed)
    }
}

#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub outputs: Outputs,
}

/// Errors a provider call can end in, kept apart so the engine can decide what to retry.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("timed out after {seconds}s waiting for {what}")]
    Timeout { what: String, seconds: u64 },
    #[error("rejected by the API: {0}")]
    Validation(String),
    /// The create met a resource of its name or token: maybe what its own earlier attempt made
    /// (an answer lost on the way back), which the engine then looks for and adopts.
    #[error("already exists: {0}")]
    Exists(String),
    /// A server-side error (5xx, dispatch failure) worth retrying.
    #[error("transient API error: {0}")]
    Transient(String),
    #[error("{0}")]
    Api(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ProviderError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Throttled(_) | ProviderError::Transient(_)
        )
    }
}

/// One resource kind's whole lifecycle. Facts about the kind (which changes force
/// replacement, its waiter, its not-found check) live in the kind's own file.
#[async_trait]
pub trait Resource: Send + Sync {
    /// `<provider>.<kind>`, e.g. `aws.vpc`.
    fn kind(&self) -> &'static str;

    /// Whether a change to this top-level property needs a new resource.
    fn forces_replacement(&self, field: &str) -> bool;

    /// Whether a replacement changing `changed` fields may create the new resource before it
    /// deletes the old one (AWS allows the two at once: a new task definition revision, an
    /// object under a new key), so what uses it moves over first and nothing goes without.
    fn create_before_destroy(&self, _changed: &[String]) -> bool {
        false
    }

    /// Whether an in-place update of `changed` fields gives this output a new value (a launch
    /// template's version, a function's published version): plan then shows what refers to
    /// it as known after apply, so it is updated too.
    fn updates_output(&self, _output: &str, _changed: &[String]) -> bool {
        false
    }

    /// What an in-place update of `changed` fields does beyond setting them, shown in plan
    /// (an instance refresh).
    fn update_reason(&self, _changed: &[String]) -> Option<String> {
        None
    }

    /// The live resource; `None` when it is gone. `applied` is what was last applied, for
    /// properties the API cannot read back.
    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError>;

    /// Creates the resource and waits until it is usable.
    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError>;

    /// Changes `changed` fields in place; returns the new outputs. Kinds whose every
    /// property forces a replacement keep the default, which a plan never calls.
    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        Err(ProviderError::Api(format!(
            "{} cannot change in place ({} changed); it is replaced",
            self.kind(),
            req.changed.join(", ")
        )))
    }

    /// Deletes the resource and waits until it is gone; gone already is success.
    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError>;

    /// Finds a resource that a crashed run created but never recorded (by its idempotency
    /// token or its `wxinfra:address` tag), so a resume adopts it instead of creating twice.
    /// Kinds whose create adopts what an earlier attempt left by itself (an idempotent put, a
    /// fixed name) and lookups that create nothing keep the default: nothing to find.
    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(None)
    }

    /// Finishes what an interrupted `create` may have left undone on a resource that
    /// `find_orphan` adopted (an attachment, a follow-up attribute call), so a resumed apply
    /// converges in one run. Kinds whose create is a single call keep the default.
    async fn resume_create(
        &self,
        adopted: Created,
        _props: &Value,
    ) -> Result<Created, ProviderError> {
        Ok(adopted)
    }
}

tokio::task_local! {
    static OPERATION: Operation;
}

/// What one provider call (a resource's create, update or delete) is running under: who hears
/// its progress, and a tally of where its time went.
struct Operation {
    report: Arc<dyn Fn(String) + Send + Sync>,
    calls: AtomicU64,
    api_micros: AtomicU64,
    paused_micros: AtomicU64,
}

/// Where a provider call's time went: API requests sent (retries included), the time they
/// were in flight, and the time spent pausing between polls. The rest is local work.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub calls: u64,
    pub api: Duration,
    pub paused: Duration,
}

/// Reports how far a long call is (an instance refresh's share done), shown beside the
/// resource while the engine runs it; nothing when no one listens.
pub fn progress(message: String) {
    let _ = OPERATION.try_with(|op| (op.report)(message));
}

/// Counts one API request of the running call, and the time it was in flight.
pub fn count_call(in_flight: Duration) {
    let _ = OPERATION.try_with(|op| {
        op.calls.fetch_add(1, Ordering::Relaxed);
        op.api_micros
            .fetch_add(micros(in_flight), Ordering::Relaxed);
    });
}

/// Pauses between two polls, counted as the running call's waiting.
pub async fn pause(delay: Duration) {
    tokio::time::sleep(delay).await;
    let _ = OPERATION.try_with(|op| op.paused_micros.fetch_add(micros(delay), Ordering::Relaxed));
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Runs `call` with `report` receiving what [`progress`] reports, and tallies its requests
/// and pauses.
pub async fn observed<F: std::future::Future>(
    report: Arc<dyn Fn(String) + Send + Sync>,
    call: F,
) -> (F::Output, Tally) {
    let op = Operation {
        report,
        calls: AtomicU64::new(0),
        api_micros: AtomicU64::new(0),
        paused_micros: AtomicU64::new(0),
    };
    OPERATION
        .scope(op, async {
            let out = call.await;
            let tally = OPERATION.with(|op| Tally {
                calls: op.calls.load(Ordering::Relaxed),
                api: Duration::from_micros(op.api_micros.load(Ordering::Relaxed)),
                paused: Duration::from_micros(op.paused_micros.load(Ordering::Relaxed)),
            });
            (out, tally)
        })
        .await
}

/// Finds the implementation of a kind.
pub trait Provider: Send + Sync {
    fn resource(&self, kind: &str) -> Option<&dyn Resource>;
}

/// A provider assembled from a list of kinds.
#[derive(Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Box<dyn Resource>>,
}

impl Registry {
    pub fn with(mut self, r: impl Resource + 'static) -> Self {
        self.kinds.insert(r.kind(), Box::new(r));
        self
    }
}

impl Provider for Registry {
    fn resource(&self, kind: &str) -> Option<&dyn Resource> {
        self.kinds.get(kind).map(|b| b.as_ref())
    }
}
