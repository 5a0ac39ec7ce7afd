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
    MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
};
use serde_json::{Value, json};

use super::appautoscaling_target::naming;
use super::context::AwsContext;
use super::errors::{accepted, built, classify, prop};
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct AppautoscalingPolicy(pub std::sync::Arc<AwsContext>);

/// The resource label of `ALBRequestCountPerTarget`: `None` unless both ARNs have the shape
/// Elastic Load Balancing gives them.
pub fn resource_label(lb_arn: &str, tg_arn: &str) -> Option<String> {
    let lb = lb_arn.split_once(":loadbalancer/")?.1;
    let tg = tg_arn.rsplit_once(':')?.1;
    tg.starts_with("targetgroup/").then(|| format!("{lb}/{tg}"))
}

fn outputs(name: &str, arn: Option<&str>) -> Outputs {
    let mut o = Outputs::new();
    o.insert("name".into(), json!(name));
    o.insert("arn".into(), json!(arn));
    o
}

fn seconds(p: &Value, field: &str) -> Option<i32> {
    p[field].as_i64().and_then(|n| i32::try_from(n).ok())
}

fn tracking(p: &Value) -> Result<TargetTrackingScalingPolicyConfiguration, ProviderError> {
    let metric = prop(p, "metric")?;
    let label = match (
        p["load_balancer_arn"].as_str(),
        p["target_group_arn"].as_str(),
    ) {
        (Some(lb), Some(tg)) => Some(resource_label(lb, tg).ok_or_else(|| {
            ProviderError::Validation(format!(
                "{lb} and {tg} are not a load balancer's and a target group's ARNs"
            ))
        })?),
        _ => None,
    };
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(p["target_value"].as_f64().unwrap_or_default())
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric))
                .set_resource_label(label)
                .build()
                .map_err(built)?,
        )
        .set_scale_in_cooldown(seconds(p, "scale_in_cooldown"))
        .set_scale_out_cooldown(seconds(p, "scale_out_cooldown"))
        .build()
        .map_err(built)
}

impl AppautoscalingPolicy {
    async fn describe(
        &self,
        name: &str,
        p: &Value,
    ) -> Result<Option<ScalingPolicy>, ProviderError> {
        let (namespace, dimension) = naming(p)?;
        let out = self
            .0
            .app_autoscaling
            .describe_scaling_policies()
            .service_namespace(namespace)
            .resource_id(prop(p, "resource_id")?)
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

    async fn put(&self, p: &Value) -> Result<Outputs, ProviderError> {
        let (namespace, dimension) = naming(p)?;
        let name = prop(p, "policy_name")?;
        let out = self
            .0
            .app_autoscaling
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(namespace)
            .resource_id(prop(p, "resource_id")?)
            .scalable_dimension(dimension)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(tracking(p)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(outputs(name, Some(out.policy_arn())))
    }
}

#[async_trait]
impl Resource for AppautoscalingPolicy {
    fn kind(&self) -> &'static str {
        "aws.appautoscaling_policy"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "policy_name" | "service_namespace" | "resource_id" | "scalable_dimension"
        )
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(s) = self.describe(id, applied).await? else {
            return Ok(None);
        };
        let t = s.target_tracking_scaling_policy_configuration();
        let spec = t.and_then(|t| t.predefined_metric_specification());
        // The label reads back as one string: the applied ARNs while they still make it.
        let label = spec.and_then(|m| m.resource_label());
        let (lb, tg) = match (
            applied["load_balancer_arn"].as_str(),
            applied["target_group_arn"].as_str(),
        ) {
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
        let outputs = self.put(req.props).await?;
        Ok(Created {
            id: prop(req.props, "policy_name")?.to_string(),
            outputs,
        })
    }

    async fn update(
        &self,
        _id: &str,
        _old: &Value,
        new: &Value,
        _changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        self.put(new).await
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let (namespace, dimension) = naming(applied)?;
        accepted(
            self.0
                .app_autoscaling
                .delete_scaling_policy()
                .policy_name(id)
                .service_namespace(namespace)
                .resource_id(prop(applied, "resource_id")?)
                .scalable_dimension(dimension)
                .send()
                .await,
            |e| e.is_object_not_found_exception(),
        )?;
        Ok(())
    }

    /// Policies carry no tags; this one's name and target are fixed by the stack, and a
    /// crashed create left at most the policy the resent put will replace.
    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(None)
    }
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
