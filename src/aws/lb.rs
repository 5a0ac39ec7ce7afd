//! `aws.lb`: the internet-facing Application Load Balancer. Its name, scheme and subnets force
//! a new load balancer; security groups, idle timeout and tags change in place.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, Val, ordered_like, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct Lb(pub std::sync::Arc<AwsContext>);

/// The load balancer's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LbProps {
    /// The load balancer's name, unique in the account and region (`<stack>-alb`).
    pub name: String,
    /// `internet-facing` (public addresses) or `internal`.
    pub scheme: String,
    /// Subnets it has a node in, one per Availability Zone; a looked-up VPC's are a
    /// reference until apply.
    pub subnets: Val<Vec<String>>,
    /// Security groups of its network interfaces: who may reach the listeners.
    pub security_groups: Vec<String>,
    /// Seconds a connection may stay idle before the load balancer closes it.
    pub idle_timeout: u32,
}

typed!(LbProps, "aws.lb", "load balancer");

const GONE: Duration = Duration::from_secs(300);
const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";

fn outputs(lb: &LoadBalancer) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(lb.load_balancer_arn()));
    o.insert("dns_name".into(), json!(lb.dns_name()));
    o.insert("zone_id".into(), json!(lb.canonical_hosted_zone_id()));
    o
}

async fn describe(ctx: &AwsContext, arn: &str) -> Result<Option<LoadBalancer>, ProviderError> {
    Ok(found(
        ctx.elb
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await,
        |e| e.is_load_balancer_not_found_exception(),
    )?
    .and_then(|o| o.load_balancers().first().cloned()))
}

impl Lb {
    async fn set_idle_timeout(&self, arn: &str, seconds: u32) -> Result<(), ProviderError> {
        self.0
            .elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .attributes(
                LoadBalancerAttribute::builder()
                    .key(IDLE_TIMEOUT)
                    .value(seconds.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// Waits up to `max` for the load balancer `arn` to leave `provisioning` (a few minutes in
/// AWS); `say` hears its state when it changes. False if it is not `active` in time; an
/// error if it failed.
pub async fn wait_active(
    ctx: &AwsContext,
    arn: &str,
    max: Duration,
    say: impl Fn(&str) + Sync,
) -> Result<bool, ProviderError> {
    let last = std::sync::Mutex::new(None);
    let (last, say) = (&last, &say);
    let active = wait::until("load balancer to become active", max, || async move {
        let state = describe(ctx, arn)
            .await?
            .and_then(|l| l.state().cloned())
            .ok_or_else(|| ProviderError::NotFound { what: arn.into() })?;
        let code = state.code().cloned();
        let changed = {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *last, code.clone()) != code
        };
        if changed {
            say(code.as_ref().map_or("no state", |c| c.as_str()));
        }
        match code {
            Some(LoadBalancerStateEnum::Active) => Ok(Some(())),
            Some(LoadBalancerStateEnum::Failed) => Err(ProviderError::Api(format!(
                "load balancer {arn} failed to provision: {}",
                state.reason().unwrap_or("no reason given")
            ))),
            _ => Ok(None),
        }
    })
    .await;
    match active {
        Ok(()) => Ok(true),
        Err(ProviderError::Timeout { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Resource for Lb {
    fn kind(&self) -> &'static str {
        LbProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "name" | "scheme" | "subnets")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(lb) = describe(&self.0, id).await? else {
            return Ok(None);
        };
        // Sent together: a no-change plan waits on each resource's round trips.
        let attrs = async {
            self.0
                .elb
                .describe_load_balancer_attributes()
                .load_balancer_arn(id)
                .send()
                .await
                .map_err(classify)
        };
        let (attrs, tags) = tokio::try_join!(attrs, tags::elb_read(&self.0.elb, id))?;
        let idle = attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(IDLE_TIMEOUT))
            .and_then(|a| a.value())
            .and_then(|v| v.parse::<u64>().ok());
        let subnets = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string))
            .collect();
        let props = json!({
            "name": lb.load_balancer_name(),
            "scheme": lb.scheme().map(|s| s.as_str()),
            "subnets": ordered_like(subnets, applied, "subnets"),
            "security_groups": ordered_like(lb.security_groups().to_vec(), applied, "security_groups"),
            "idle_timeout": idle,
            "tags": tags,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&lb),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LbProps::from_value(req.props)?;
        let out = self
            .0
            .elb
            .create_load_balancer()
            .name(&p.name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::from(p.scheme.as_str()))
            .set_subnets(Some(p.subnets.known("subnets")?.clone()))
            .set_security_groups(Some(p.security_groups))
            .set_tags(Some(tags::elb_tags(req.props)))
            .send()
            .await
            .map_err(classify)?;
        let (lb, arn) = out
            .load_balancers()
            .first()
            .and_then(|l| Some((l, l.load_balancer_arn()?.to_string())))
            .ok_or_else(|| ProviderError::Api("CreateLoadBalancer returned no ARN".into()))?;
        self.set_idle_timeout(&arn, p.idle_timeout).await?;
        // Not waiting for `active` (minutes): listeners, target groups and services are
        // accepted while it provisions, so they go ahead; apply's health proof waits for it
        // (`wait_active`).
        Ok(Created {
            id: arn,
            outputs: outputs(lb),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let want = LbProps::from_value(new)?;
        if changed.iter().any(|f| f == "security_groups") {
            self.0
                .elb
                .set_security_groups()
                .load_balancer_arn(id)
                .set_security_groups(Some(want.security_groups))
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "idle_timeout") {
            self.set_idle_timeout(id, want.idle_timeout).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::elb_update(&self.0.elb, id, old, new).await?;
        }
        let lb = describe(&self.0, id)
            .await?
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })?;
        Ok(outputs(&lb))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let sent = self
            .0
            .elb
            .delete_load_balancer()
            .load_balancer_arn(id)
            .send()
            .await;
        if accepted(sent, |e| e.is_load_balancer_not_found_exception())? {
            wait::gone("load balancer to be deleted", GONE, || {
                describe(&self.0, id)
            })
            .await?;
        }
        Ok(())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let Some(arn) = tags::find_arn(
            &self.0.tagging,
            "elasticloadbalancing:loadbalancer",
            stack,
            address,
        )
        .await?
        else {
            return Ok(None);
        };
        Ok(describe(&self.0, &arn).await?.map(|lb| Created {
            id: arn,
            outputs: outputs(&lb),
        }))
    }
}
