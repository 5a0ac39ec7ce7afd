//! `aws.lb_target_attachment`: one target (an EC2 instance id or a Lambda function ARN)
//! registered with a target group. Its id is `<target group ARN>|<target id>`; every field
//! forces a new registration. Fargate tasks are registered by their ECS service instead.
//!
//! EC2 registration is its own kind rather than part of `aws.instance` so that a replaced
//! instance's attachment follows it through the graph (and a Lambda target can be ordered
//! after its invoke permission with the same mechanism).

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found};
use super::props::{Typed, id_pair, typed};
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

/// The registration's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LbTargetAttachmentProps {
    /// ARN of the target group the target is registered with.
    pub target_group_arn: String,
    /// The target: an EC2 instance id, or a Lambda function's (or alias's) ARN.
    pub target_id: String,
    /// The port traffic goes to on the target; none: the target group's (always none for a
    /// Lambda target).
    pub port: Option<i32>,
}

typed!(
    LbTargetAttachmentProps,
    "aws.lb_target_attachment",
    "target registration"
);

pub struct LbTargetAttachment(pub std::sync::Arc<AwsContext>);

fn split(id: &str) -> Result<(&str, &str), ProviderError> {
    id_pair(id, "<target group>|<target>")
}

fn target(target_id: &str, port: Option<i32>) -> TargetDescription {
    TargetDescription::builder()
        .id(target_id)
        .set_port(port)
        .build()
}

#[async_trait]
impl Resource for LbTargetAttachment {
    fn kind(&self) -> &'static str {
        LbTargetAttachmentProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        true
    }

    /// A registration in a new target group is made before the old group's goes; a new
    /// target in the same group (a Lambda group takes one function) only after.
    fn create_before_destroy(&self, changed: &[String]) -> bool {
        changed.iter().any(|f| f == "target_group_arn")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (tg, target_id) = split(id)?;
        // Import reads with null properties when it cannot resolve the stack's yet: no port.
        let port = LbTargetAttachmentProps::from_value(applied)
            .ok()
            .and_then(|p| p.port);
        let Some(out) = found(
            self.0
                .elb
                .describe_target_health()
                .target_group_arn(tg)
                .targets(target(target_id, port))
                .send()
                .await,
            |e| e.is_target_group_not_found_exception() || e.is_invalid_target_exception(),
        )?
        else {
            return Ok(None);
        };
        let registered = out.target_health_descriptions().iter().find(|d| {
            let health = d.target_health();
            let unregistered = health.and_then(|h| h.reason())
                == Some(&TargetHealthReasonEnum::NotRegistered)
                || health.and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Draining);
            d.target().and_then(|t| t.id()) == Some(target_id) && !unregistered
        });
        Ok(registered.map(|_| Live {
            props: json!({"target_group_arn": tg, "target_id": target_id, "port": port}),
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LbTargetAttachmentProps::from_value(req.props)?;
        let (tg, target_id) = (&p.target_group_arn, &p.target_id);
        // RegisterTargets is idempotent: registering twice leaves one registration.
        self.0
            .elb
            .register_targets()
            .target_group_arn(tg)
            .targets(target(target_id, p.port))
            .send()
            .await
            .map_err(classify)?;
        Ok(Created {
            id: format!("{tg}|{target_id}"),
            outputs: Outputs::new(),
        })
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let (tg, target_id) = split(id)?;
        let port = LbTargetAttachmentProps::from_value(applied)?.port;
        found(
            self.0
                .elb
                .deregister_targets()
                .target_group_arn(tg)
                .targets(target(target_id, port))
                .send()
                .await,
            |e| e.is_target_group_not_found_exception() || e.is_invalid_target_exception(),
        )
        .map(drop)
    }

    // No orphan search (the default): registration is idempotent (see `create`), so a
    // resumed create registers again.
}
