//! Refresh: read every resource the state knows, in parallel, to see what is really there.

use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::hooks::Hooks;
use super::retry::{RetryPolicy, with_retry};
use crate::plan::build::Refreshed;
use crate::provider::{Provider, ProviderError};
use crate::state::{State, Status};

#[derive(Debug, thiserror::Error)]
#[error("refreshing {address}")]
pub struct RefreshError {
    pub address: String,
    #[source]
    pub source: ProviderError,
}

/// Reads each created resource by id; resources still being created have no id to read
/// and are left out (the plan resumes them).
pub async fn refresh(
    state: &State,
    provider: Arc<dyn Provider>,
    hooks: Arc<dyn Hooks>,
    parallelism: usize,
) -> Result<Refreshed, RefreshError> {
    let policy = RetryPolicy::default();
    let jobs = state.resources.iter().filter_map(|(addr, rs)| {
        let id = rs.id.clone().filter(|_| rs.status != Status::Creating)?;
        Some((addr.clone(), rs.kind.clone(), id, rs.props.clone()))
    });
    let results: Vec<_> = stream::iter(jobs)
        .map(|(addr, kind, id, props)| {
            let provider = provider.clone();
            let hooks = hooks.clone();
            async move {
                let r = match provider.resource(&kind) {
                    None => Err(ProviderError::Api(format!("no provider for kind `{kind}`"))),
                    Some(res) => {
                        with_retry(&policy, hooks.as_ref(), &addr, || res.read(&id, &props)).await
                    }
                };
                (addr, r)
            }
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    let mut out = Refreshed::new();
    for (address, r) in results {
        match r {
            Ok(live) => {
                out.insert(address, live);
            }
            Err(source) => return Err(RefreshError { address, source }),
        }
    }
    Ok(out)
}
