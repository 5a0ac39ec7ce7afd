//! `aws.appautoscaling_policy`: a target-tracking scaling policy on a scalable target
//! (`PutScalingPolicy`, `TargetTrackingScaling`). Application Auto Scaling makes and owns the
//! CloudWatch alarms behind it. The id is the policy name; name and target force a new
//! policy, while the metric, its target value and the cooldowns change in place (putting a
//! policy of the same name replaces its configuration).
//!
//! `ALBRequestCountPerTarget` names its target group by a resource label made of the load
//! balancer's and the target group's ARN suffixes,
//! `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`
//! (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html);
//! the properties keep the two ARNs, and the label is made here.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalingPolicy,
    ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::appautoscaling_target::naming;
use super::context::AwsContext;
use super::errors::{accepted, built, classify};
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The policy's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppautoscalingPolicyProps {
    /// The policy's name, unique per scalable target: its id.
    pub policy_name: String,
    /// The scalable target's service namespace (`ecs`).
    pub service_namespace: String,
    /// The scalable target's resource id (`service/<cluster>/<service>`).
    pub resource_id: String,
    /// The scalable target's dimension (`ecs:service:DesiredCount`).
    pub scalable_dimension: String,
    /// The predefined metric tracked: `ECSServiceAverageCPUUtilization` or
    /// `ALBRequestCountPerTarget`.
    pub metric: String,
    /// The value to hold: percent CPU, or requests per target per minute.
    pub target_value: f64,
    /// For `ALBRequestCountPerTarget`: the load balancer whose requests are counted (null
    /// for other metrics).
    pub load_balancer_arn: Option<String>,
    /// For `ALBRequestCountPerTarget`: the target group they are counted in (null for
    /// other metrics).
    pub target_group_arn: Option<String>,
    /// Seconds after a scale-in before the next; null leaves AWS's default.
    pub scale_in_cooldown: Option<u32>,
    /// Seconds after a scale-out before the next; null leaves AWS's default.
    pub scale_out_cooldown: Option<u32>,
}

typed!(
    AppautoscalingPolicyProps,
    "aws.appautoscaling_policy",
    "Application Auto Scaling policy"
);

impl AppautoscalingPolicyProps {
    fn naming(&self) -> (ServiceNamespace, ScalableDimension) {
        naming(&self.service_namespace, &self.scalable_dimension)
    }

    fn tracking(&self) -> Result<TargetTrackingScalingPolicyConfiguration, ProviderError> {
        let seconds = |s: Option<u32>| s.and_then(|n| i32::try_from(n).ok());
        TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(self.target_value)
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::from(self.metric.as_str()))
                    .set_resource_label(label(
                        self.load_balancer_arn.as_deref(),
                        self.target_group_arn.as_deref(),
                    )?)
                    .build()
                    .map_err(built)?,
            )
            .set_scale_in_cooldown(seconds(self.scale_in_cooldown))
            .set_scale_out_cooldown(seconds(self.scale_out_cooldown))
            .build()
            .map_err(built)
    }
}

pub struct AppautoscalingPolicy(pub std::sync::Arc<AwsContext>);

/// The resource label of `ALBRequestCountPerTarget`: `None` unless both ARNs have the shape
/// Elastic Load Balancing gives them.
pub fn resource_label(lb_arn: &str, tg_arn: &str) -> Option<String> {
    let lb = lb_arn.split_once(":loadbalancer/")?.1;
    let tg = tg_arn.rsplit_once(':')?.1;
    tg.starts_with("targetgroup/").then(|| format!("{lb}/{tg}"))
}

/// The resource label of a policy's load balancer and target group, when it names both (an
/// `ALBRequestCountPerTarget` policy); an error when they are not such ARNs.
pub fn label(lb: Option<&str>, tg: Option<&str>) -> Result<Option<String>, ProviderError> {
    let (Some(lb), Some(tg)) = (lb, tg) else {
        return Ok(None);
    };
    resource_label(lb, tg).map(Some).ok_or_else(|| {
        ProviderError::Validation(format!(
            "{lb} and {tg} are not a load balancer's and a target group's ARNs"
        ))
    })
}

fn outputs(name: &str, arn: Option<&str>) -> Outputs {
    let mut o = Outputs::new();
    o.insert("name".into(), json!(name));
    o.insert("arn".into(), json!(arn));
    o
}

impl AppautoscalingPolicy {
    async fn describe(
        &self,
        name: &str,
        p: &AppautoscalingPolicyProps,
    ) -> Result<Option<ScalingPolicy>, ProviderError> {
        let (namespace, dimension) = p.naming();
        let out = self
            .0
            .app_autoscaling
            .describe_scaling_policies()
            .service_namespace(namespace)
            .resource_id(&p.resource_id)
            .scalable_dimension(dimension)
            .policy_names(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .scaling_policies()
            .iter()
            .find(|s| s.policy_name() == name)
            .cloned())
    }

    async fn put(&self, p: &AppautoscalingPolicyProps) -> Result<Outputs, ProviderError> {
        let (namespace, dimension) = p.naming();
        let out = self
            .0
            .app_autoscaling
            .put_scaling_policy()
            .policy_name(&p.policy_name)
            .service_namespace(namespace)
            .resource_id(&p.resource_id)
            .scalable_dimension(dimension)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(p.tracking()?)
            .send()
            .await
            .map_err(classify)?;
        Ok(outputs(&p.policy_name, Some(out.policy_arn())))
    }
}

#[async_trait]
impl Resource for AppautoscalingPolicy {
    fn kind(&self) -> &'static str {
        AppautoscalingPolicyProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "policy_name" | "service_namespace" | "resource_id" | "scalable_dimension"
        )
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let applied = AppautoscalingPolicyProps::from_value(applied)?;
        let Some(s) = self.describe(id, &applied).await? else {
            return Ok(None);
        };
        let t = s.target_tracking_scaling_policy_configuration();
        let spec = t.and_then(|t| t.predefined_metric_specification());
        // The label reads back as one string: the applied ARNs while they still make it.
        let label = spec.and_then(|m| m.resource_label());
        let (lb, tg) = match (&applied.load_balancer_arn, &applied.target_group_arn) {
            (Some(lb), Some(tg)) if label == resource_label(lb, tg).as_deref() => {
                (json!(lb), json!(tg))
            }
            _ => (json!(label), Value::Null),
        };
        let props = json!({
            "policy_name": s.policy_name(),
            "service_namespace": s.service_namespace().as_str(),
            "resource_id": s.resource_id(),
            "scalable_dimension": s.scalable_dimension().as_str(),
            "metric": spec.map(|m| m.predefined_metric_type().as_str()),
            "load_balancer_arn": lb,
            "target_group_arn": tg,
            "target_value": t.map(|t| t.target_value()),
            "scale_in_cooldown": t.and_then(|t| t.scale_in_cooldown()),
            "scale_out_cooldown": t.and_then(|t| t.scale_out_cooldown()),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(s.policy_name(), Some(s.policy_arn())),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        // Putting is an upsert keyed by the name: a resent call meets its own policy.
        let p = AppautoscalingPolicyProps::from_value(req.props)?;
        let outputs = self.put(&p).await?;
        Ok(Created {
            id: p.policy_name,
            outputs,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        self.put(&AppautoscalingPolicyProps::from_value(new)?).await
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let p = AppautoscalingPolicyProps::from_value(applied)?;
        let (namespace, dimension) = p.naming();
        accepted(
            self.0
                .app_autoscaling
                .delete_scaling_policy()
                .policy_name(id)
                .service_namespace(namespace)
                .resource_id(&p.resource_id)
                .scalable_dimension(dimension)
                .send()
                .await,
            |e| e.is_object_not_found_exception(),
        )?;
        Ok(())
    }

    // No orphan search (the default): policies carry no tags, but the name and target are
    // fixed by the stack and the resent put replaces whatever a crashed create left.
}

#[cfg(test)]
mod tests {
    use super::resource_label;

    #[test]
    fn request_count_label_is_made_of_both_arn_suffixes() {
        assert_eq!(
            resource_label(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-alb/50dc6c495c0c9188",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-fargate/943f017f100becff",
            )
            .as_deref(),
            Some("app/demo-alb/50dc6c495c0c9188/targetgroup/demo-fargate/943f017f100becff")
        );
        assert_eq!(
            resource_label(
                "arn:aws:s3:::bucket",
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/b"
            ),
            None
        );
    }
}
