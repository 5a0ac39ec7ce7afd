//! What apply built, as the load balancer sees it: each target group's targets under its
//! own health checks, waited for after the last change until every group is healthy, the
//! load balancer says it cannot tell, or the bound passes.

use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum as State;

use super::context::AwsContext;
use super::errors::classify;
use crate::provider::ProviderError;

/// One target group's health at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every registered target passes its health checks.
    Healthy { targets: usize },
    /// Still on the way: no target registered yet, or some initial, draining or failing.
    Pending(String),
    /// The load balancer cannot tell (health checks disabled, target not in use or
    /// unavailable): reported as such, never as healthy.
    Unknown(String),
}

impl Verdict {
    fn settled(&self) -> bool {
        !matches!(self, Verdict::Pending(_))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Healthy { targets } => write!(f, "healthy ({targets} of {targets} targets)"),
            Verdict::Pending(why) => write!(f, "not healthy yet: {why}"),
            Verdict::Unknown(why) => write!(f, "unknown: {why}"),
        }
    }
}

/// The group's verdict now.
pub async fn check(ctx: &AwsContext, arn: &str) -> Result<Verdict, ProviderError> {
    let out = ctx
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(classify)?;
    let targets = out.target_health_descriptions();
    if targets.is_empty() {
        return Ok(Verdict::Pending("no target registered".into()));
    }
    let mut pending = Vec::new();
    let mut unknown = Vec::new();
    for t in targets {
        let id = t.target().and_then(|t| t.id()).unwrap_or("?");
        let health = t.target_health();
        let state = health.and_then(|h| h.state());
        let reason = health
            .and_then(|h| h.description().or(h.reason().map(|r| r.as_str())))
            .unwrap_or("no reason given");
        match state {
            Some(State::Healthy) => {}
            Some(State::Unavailable | State::Unused) => unknown.push(format!("{id}: {reason}")),
            Some(s) => pending.push(format!("{id} {}: {reason}", s.as_str())),
            None => pending.push(format!("{id}: no state")),
        }
    }
    Ok(if !pending.is_empty() {
        Verdict::Pending(pending.join("; "))
    } else if !unknown.is_empty() {
        Verdict::Unknown(unknown.join("; "))
    } else {
        Verdict::Healthy {
            targets: targets.len(),
        }
    })
}

/// Polls `groups` (name, ARN) until every one is settled or `max` passes; `say` hears each
/// group's verdict when it changes. Returns the last verdicts, in `groups`' order.
pub async fn wait(
    ctx: &AwsContext,
    groups: &[(String, String)],
    max: Duration,
    mut say: impl FnMut(&str, &Verdict),
) -> Result<Vec<Verdict>, ProviderError> {
    let deadline = Instant::now() + max;
    let mut last: Vec<Option<Verdict>> = vec![None; groups.len()];
    let mut delay = Duration::from_secs(1);
    loop {
        let open: Vec<usize> = (0..groups.len())
            .filter(|&i| !last[i].as_ref().is_some_and(Verdict::settled))
            .collect();
        // The groups are independent: one look at all of them costs one call's time. A look
        // that is throttled or fails transiently saw nothing new, as in wait::until.
        let looked = futures::future::try_join_all(open.iter().map(|&i| check(ctx, &groups[i].1)));
        match looked.await {
            Ok(seen) => {
                for (i, v) in open.into_iter().zip(seen) {
                    if last[i].as_ref() != Some(&v) {
                        say(&groups[i].0, &v);
                    }
                    last[i] = Some(v);
                }
                let now: Vec<Verdict> = last.iter().flatten().cloned().collect();
                if now.iter().all(Verdict::settled) || Instant::now() >= deadline {
                    return Ok(now);
                }
            }
            Err(e) if e.is_retryable() && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
        crate::provider::pause(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}
