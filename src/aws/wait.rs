//! Bounded waiting: poll with backoff until a condition holds or a deadline passes —
//! never an unbounded loop or a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::provider::ProviderError;

/// Polls `check` until it returns `Some`: at once, then backing off from 100 ms up to 10 s
/// (as Terraform's state-change waits do), for at most `max`. Most resources are ready within
/// a second, so a long first pause would sit on the apply's critical path. A poll that is
/// throttled or fails transiently saw nothing, and the polls go on: the SDK stops retrying
/// once its retry quota is spent, which a long wait under throttling reaches.
pub async fn until<T, F, Fut>(what: &str, max: Duration, mut check: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let deadline = Instant::now() + max;
    let mut delay = Duration::from_millis(100);
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) if e.is_retryable() && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(ProviderError::Timeout {
                what: what.to_string(),
                seconds: max.as_secs(),
            });
        }
        crate::provider::pause(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Polls `describe` until the resource it describes is gone.
pub async fn gone<T, F, Fut>(
    what: &str,
    max: Duration,
    mut describe: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    until(what, max, || {
        let d = describe();
        async move { Ok(d.await?.is_none().then_some(())) }
    })
    .await
}

/// How long a call keeps retrying while IAM propagates a new role or instance profile: usually
/// seconds (Terraform waits up to 2 minutes too).
pub const IAM_PROPAGATION: Duration = Duration::from_secs(120);

/// Runs `call` again, backing off from 500 ms to 10 s, while it fails with an IAM propagation
/// error and the bound allows; any other answer, or the last one, is returned as is.
pub async fn while_iam_propagates<O, E, R, F, Fut>(
    call: F,
) -> Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: aws_sdk_ec2::error::ProvideErrorMetadata,
{
    while_propagating(IAM_PROPAGATION, super::errors::is_iam_propagation, call).await
}

/// Runs `call` again while it fails as `propagating` says (a change AWS has made but not yet
/// shown everywhere) and `max` allows; any other answer, or the last one, is returned as is.
/// The pauses are Terraform's for such retries (the plugin SDK's `RetryContext`: 500 ms at
/// least, doubling up to 10 s): a propagation often ends within a second, and the first
/// pause sits on the apply's critical path.
pub async fn while_propagating<O, E, R, F, Fut>(
    max: Duration,
    propagating: impl Fn(&aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool,
    mut call: F,
) -> Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
{
    let deadline = Instant::now() + max;
    let mut delay = Duration::from_millis(500);
    loop {
        match call().await {
            Err(e) if propagating(&e) && Instant::now() + delay < deadline => {
                crate::provider::pause(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

/// How long a delete keeps retrying `DependencyViolation` (ENIs of a deleted load balancer,
/// Lambda function or mount target can take minutes to drain).
pub const DEPENDENCY_DRAIN: Duration = Duration::from_secs(600);

/// Runs an EC2 delete call until it succeeds, finds the resource gone, or the deadline passes
/// while AWS still reports `DependencyViolation`. Any other error ends it at once.
pub async fn delete_when_free<O, E, R, F, Fut>(
    what: &str,
    max: Duration,
    call: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + super::errors::HttpStatus,
{
    use super::errors::{dependency_violation, ec2_not_found};
    delete_while_busy(what, max, call, ec2_not_found, dependency_violation).await
}

/// Runs a delete `call` until it succeeds, `gone` says there is nothing left to delete, or
/// the deadline passes while `busy` still holds (something AWS is still tearing down uses the
/// resource). Any other error ends it at once.
pub async fn delete_while_busy<O, E, R, F, Fut>(
    what: &str,
    max: Duration,
    mut call: F,
    gone: impl Fn(&E) -> bool,
    busy: impl Fn(&E) -> bool,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>>,
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + super::errors::HttpStatus,
{
    let (gone, busy) = (&gone, &busy);
    until(&format!("{what} to be free of dependencies"), max, || {
        let fut = call();
        async move {
            match fut.await {
                Ok(_) => Ok(Some(())),
                Err(e) if e.as_service_error().is_some_and(gone) => Ok(Some(())),
                Err(e) if e.as_service_error().is_some_and(busy) => Ok(None),
                Err(e) => Err(super::errors::classify(e)),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check answering `answers` in turn, then `Some(())`.
    fn answers(
        answers: Vec<ProviderError>,
    ) -> impl FnMut() -> std::future::Ready<Result<Option<()>, ProviderError>> {
        let mut answers = answers.into_iter();
        move || std::future::ready(answers.next().map_or(Ok(Some(())), Err))
    }

    #[tokio::test]
    async fn a_throttled_or_failed_poll_is_polled_again() {
        let check = answers(vec![
            ProviderError::Throttled("Rate exceeded".into()),
            ProviderError::Transient("503".into()),
        ]);
        until("x", Duration::from_secs(60), check).await.unwrap();
    }

    #[tokio::test]
    async fn any_other_error_ends_the_wait() {
        let check = answers(vec![ProviderError::Api("AccessDenied".into())]);
        let e = until("x", Duration::from_secs(60), check)
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::Api(_)), "{e:?}");
    }
}
