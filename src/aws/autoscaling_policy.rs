//! `aws.autoscaling_policy`: a target-tracking policy of an EC2 Auto Scaling group
//! (`PutScalingPolicy`, `TargetTrackingScaling`): Auto Scaling keeps the group's average CPU
//! or its requests per target near the target value, between the group's bounds, and owns the
//! CloudWatch alarms behind it. Putting a policy of the same name replaces its configuration,
//! so only the group and the name force a new one. Deleting the group deletes its policies.
//!
//! `ALBRequestCountPerTarget` names the target group by the same resource label as
//! Application Auto Scaling (`app/<lb>/<id>/targetgroup/<tg>/<id>`), made from the two ARNs.

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalingPolicy, TargetTrackingConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::appautoscaling_policy::label;
use super::context::AwsContext;
use super::errors::classify;
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct AutoscalingPolicy(pub std::sync::Arc<AwsContext>);

/// The policy's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscalingPolicyProps {
    /// The Auto Scaling group the policy scales.
    pub group_name: String,
    /// The policy's name, unique within the group.
    pub policy_name: String,
    /// `ASGAverageCPUUtilization` or `ALBRequestCountPerTarget`.
    pub metric: String,
    /// The value to hold: percent CPU, or requests per target per minute.
    pub target_value: f64,
    /// For `ALBRequestCountPerTarget`: the load balancer and the target group it counts.
    pub load_balancer_arn: Option<String>,
    pub target_group_arn: Option<String>,
}

typed!(
    AutoscalingPolicyProps,
    "aws.autoscaling_policy",
    "scaling policy"
);

impl AutoscalingPolicyProps {
    fn label(&self) -> Result<Option<String>, ProviderError> {
        label(
            self.load_balancer_arn.as_deref(),
            self.target_group_arn.as_deref(),
        )
    }

    fn tracking(&self) -> Result<TargetTrackingConfiguration, ProviderError> {
        Ok(TargetTrackingConfiguration::builder()
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::from(self.metric.as_str()))
                    .set_resource_label(self.label()?)
                    .build(),
            )
            .target_value(self.target_value)
            .build())
    }
}

fn outputs(s: &ScalingPolicy) -> Outputs {
    let mut o = Outputs::new();
    o.insert("name".into(), json!(s.policy_name()));
    o.insert("arn".into(), json!(s.policy_arn()));
    o
}

impl AutoscalingPolicy {
    async fn describe(
        &self,
        group: &str,
        name: &str,
    ) -> Result<Option<ScalingPolicy>, ProviderError> {
        let out = self
            .0
            .autoscaling
            .describe_policies()
            .auto_scaling_group_name(group)
            .policy_names(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .scaling_policies()
            .iter()
            .find(|s| s.policy_name() == Some(name))
            .cloned())
    }

    async fn put(&self, p: &AutoscalingPolicyProps) -> Result<Outputs, ProviderError> {
        self.0
            .autoscaling
            .put_scaling_policy()
            .auto_scaling_group_name(&p.group_name)
            .policy_name(&p.policy_name)
            .policy_type("TargetTrackingScaling")
            .target_tracking_configuration(p.tracking()?)
            .send()
            .await
            .map_err(classify)?;
        let s = self
            .describe(&p.group_name, &p.policy_name)
            .await?
            .ok_or_else(|| {
                ProviderError::Api(format!("{} is not there after its put", p.policy_name))
            })?;
        Ok(outputs(&s))
    }
}

#[async_trait]
impl Resource for AutoscalingPolicy {
    fn kind(&self) -> &'static str {
        "aws.autoscaling_policy"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "group_name" | "policy_name")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let applied = AutoscalingPolicyProps::from_value(applied)?;
        let Some(s) = self.describe(&applied.group_name, id).await? else {
            return Ok(None);
        };
        let t = s.target_tracking_configuration();
        let spec = t.and_then(|t| t.predefined_metric_specification());
        let label = spec.and_then(|m| m.resource_label());
        // The label reads back as one string: the applied ARNs while they still make it.
        let (lb, tg) = if label.map(str::to_string) == applied.label()? {
            (
                json!(applied.load_balancer_arn),
                json!(applied.target_group_arn),
            )
        } else {
            (json!(label), Value::Null)
        };
        let props = json!({
            "group_name": s.auto_scaling_group_name(),
            "policy_name": s.policy_name(),
            "metric": spec.and_then(|m| m.predefined_metric_type()).map(|m| m.as_str()),
            "target_value": t.map(|t| t.target_value()),
            "load_balancer_arn": lb,
            "target_group_arn": tg,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&s),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = AutoscalingPolicyProps::from_value(req.props)?;
        // Putting is an upsert keyed by group and name: a resent call meets its own policy.
        let outputs = self.put(&p).await?;
        Ok(Created {
            id: p.policy_name,
            outputs,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        self.put(&AutoscalingPolicyProps::from_value(new)?).await
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let p = AutoscalingPolicyProps::from_value(applied)?;
        // Auto Scaling answers a missing group or policy with a plain ValidationError: look
        // first (a deleted group took its policies with it).
        if self.describe(&p.group_name, id).await?.is_none() {
            return Ok(());
        }
        let sent = self
            .0
            .autoscaling
            .delete_policy()
            .auto_scaling_group_name(&p.group_name)
            .policy_name(id)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(_) if self.describe(&p.group_name, id).await?.is_none() => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    // No orphan search (the default): policies carry no tags, but the name and group are
    // fixed by the stack and the resent put replaces whatever a crashed create left.
}
