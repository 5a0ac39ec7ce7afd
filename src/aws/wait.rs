//! Bounded waiting: poll with backoff until a condition holds or a deadline passes —
//! never an unbounded loop or a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::provider::ProviderError;

/// Polls `check` until it returns `Some`, backing off from 1 s up to 10 s, for at most `max`.
pub async fn until<T, F, Fut>(what: &str, max: Duration, mut check: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let deadline = Instant::now() + max;
    let mut delay = Duration::from_millis(500);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(ProviderError::Timeout {
                what: what.to_string(),
                seconds: max.as_secs(),
            });
        }
        tokio::time::sleep(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
