//! Retries throttling and transient server errors with jittered exponential backoff.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::hooks::{Event, Hooks};
use crate::provider::ProviderError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            // Under sustained throttling the SDK's own retries stop once its retry quota (a
            // token bucket) is spent, so these are the ones left; Terraform's AWS provider
            // allows 25. Ten attempts with a 20 s cap wait at most about a minute.
            max_attempts: 10,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter": uniform in [0, min(cap, base·2^attempt)].
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        Duration::from_millis(rand::rng().random_range(0..=exp.as_millis() as u64))
    }
}

pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    hooks: &dyn Hooks,
    address: &str,
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts => {
                let delay = policy.delay(attempt);
                attempt += 1;
                hooks.event(Event::Retrying {
                    address: address.to_string(),
                    attempt,
                    delay,
                    error: e.to_string(),
                });
                crate::provider::pause(delay).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hooks::Silent;

    #[tokio::test]
    async fn retries_throttling_but_not_validation() {
        let p = RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        };
        let mut n = 0;
        let r: Result<u32, _> = with_retry(&p, &Silent, "a", || {
            n += 1;
            let k = n;
            async move {
                if k < 3 {
                    Err(ProviderError::Throttled("slow down".into()))
                } else {
                    Ok(k)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let mut m = 0;
        let r: Result<(), _> = with_retry(&p, &Silent, "a", || {
            m += 1;
            async { Err(ProviderError::Validation("bad".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(m, 1);
    }

    #[test]
    fn delay_is_capped() {
        let p = RetryPolicy::default();
        assert!((0..40).all(|a| p.delay(a) <= p.cap));
    }
}
