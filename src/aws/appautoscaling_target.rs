//! `aws.appautoscaling_target`: a resource registered with Application Auto Scaling as a
//! scalable target (`RegisterScalableTarget`), e.g. an ECS service's desired count, with the
//! bounds its policies scale within. The id is the target's resource id
//! (`service/<cluster>/<service>`); namespace, resource id and dimension name it, so a change
//! to any of them is a new target, while the bounds and tags change in place (registering
//! again updates a target). Application Auto Scaling creates its service-linked role
//! (`AWSServiceRoleForApplicationAutoScaling_ECSService`) on the first registration; no role
//! of ours is involved.
//!
//! Deregistering a target also deletes its scaling policies ("Deregistering a scalable
//! target deletes the scaling policies that are associated with it",
//! https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html).

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalableTarget, ServiceNamespace};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, prop};
use super::tags;
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct AppautoscalingTarget(pub std::sync::Arc<AwsContext>);

fn outputs(t: &ScalableTarget) -> Outputs {
    let mut o = Outputs::new();
    o.insert("resource_id".into(), json!(t.resource_id()));
    o.insert("arn".into(), json!(t.scalable_target_arn()));
    o
}

/// The namespace and dimension a target's (or policy's) properties name.
pub fn naming(p: &Value) -> Result<(ServiceNamespace, ScalableDimension), ProviderError> {
    Ok((
        ServiceNamespace::from(prop(p, "service_namespace")?),
        ScalableDimension::from(prop(p, "scalable_dimension")?),
    ))
}

/// The registered target, if there is one.
pub async fn describe(
    ctx: &AwsContext,
    resource_id: &str,
    p: &Value,
) -> Result<Option<ScalableTarget>, ProviderError> {
    let (namespace, dimension) = naming(p)?;
    let out = ctx
        .app_autoscaling
        .describe_scalable_targets()
        .service_namespace(namespace)
        .resource_ids(resource_id)
        .scalable_dimension(dimension)
        .send()
        .await
        .map_err(classify)?;
    Ok(out.scalable_targets().first().cloned())
}

impl AppautoscalingTarget {
    async fn register(&self, p: &Value, with_tags: bool) -> Result<(), ProviderError> {
        let (namespace, dimension) = naming(p)?;
        let capacity = |f: &str| p[f].as_i64().and_then(|n| i32::try_from(n).ok());
        self.0
            .app_autoscaling
            .register_scalable_target()
            .service_namespace(namespace)
            .resource_id(prop(p, "resource_id")?)
            .scalable_dimension(dimension)
            .set_min_capacity(capacity("min_capacity"))
            .set_max_capacity(capacity("max_capacity"))
            // Tags are taken only when the target is first registered.
            .set_tags(with_tags.then(|| tags::map(p)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn tags(&self, arn: &str) -> Result<Value, ProviderError> {
        let out = self
            .0
            .app_autoscaling
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(classify)?;
        Ok(tags::from_map(out.tags().into_iter().flatten()))
    }

    async fn registered(&self, id: &str, p: &Value) -> Result<ScalableTarget, ProviderError> {
        describe(&self.0, id, p).await?.ok_or_else(|| {
            ProviderError::Api(format!(
                "scalable target {id} is not registered after its registration"
            ))
        })
    }
}

#[async_trait]
impl Resource for AppautoscalingTarget {
    fn kind(&self) -> &'static str {
        "aws.appautoscaling_target"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "service_namespace" | "resource_id" | "scalable_dimension"
        )
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(t) = describe(&self.0, id, applied).await? else {
            return Ok(None);
        };
        let props = json!({
            "service_namespace": t.service_namespace().as_str(),
            "resource_id": t.resource_id(),
            "scalable_dimension": t.scalable_dimension().as_str(),
            "min_capacity": t.min_capacity(),
            "max_capacity": t.max_capacity(),
            "tags": self.tags(t.scalable_target_arn().unwrap_or_default()).await?,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&t),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = req.props;
        // Registering is an upsert keyed by the resource id: a resent call finds its own.
        self.register(p, true).await?;
        let id = prop(p, "resource_id")?;
        let t = self.registered(id, p).await?;
        Ok(Created {
            id: id.to_string(),
            outputs: outputs(&t),
        })
    }

    async fn update(
        &self,
        id: &str,
        old: &Value,
        new: &Value,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        if changed.iter().any(|f| f != "tags") {
            self.register(new, false).await?;
        }
        let t = self.registered(id, new).await?;
        if changed.iter().any(|f| f == "tags") {
            let arn = t.scalable_target_arn().unwrap_or_default();
            self.0
                .app_autoscaling
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags::map(new)))
                .send()
                .await
                .map_err(classify)?;
            let gone = tags::removed(old, new);
            if !gone.is_empty() {
                self.0
                    .app_autoscaling
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(gone))
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(outputs(&t))
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let (namespace, dimension) = naming(applied)?;
        accepted(
            self.0
                .app_autoscaling
                .deregister_scalable_target()
                .service_namespace(namespace)
                .resource_id(id)
                .scalable_dimension(dimension)
                .send()
                .await,
            |e| e.is_object_not_found_exception(),
        )?;
        Ok(())
    }

    /// The target registered for this resource id: its name is fixed by the stack.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        for (id, p) in stack_targets(&self.0, stack).await? {
            let Some(t) = describe(&self.0, &id, &p).await? else {
                continue;
            };
            let t_tags = self
                .tags(t.scalable_target_arn().unwrap_or_default())
                .await?;
            if tags::is_address(&t_tags, stack, address) {
                return Ok(Some(Created {
                    id,
                    outputs: outputs(&t),
                }));
            }
        }
        Ok(None)
    }
}

/// The stack's registered ECS service targets, found by the stack's cluster (named after the
/// stack) in their resource ids, with the properties `delete` needs: what the sweep removes.
pub async fn stack_targets(
    ctx: &AwsContext,
    stack: &str,
) -> Result<Vec<(String, Value)>, ProviderError> {
    let prefix = format!("service/{stack}/");
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .app_autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .set_next_token(token)
            .send()
            .await
            .map_err(classify)?;
        found.extend(
            page.scalable_targets()
                .iter()
                .filter(|t| t.resource_id().starts_with(&prefix))
                .map(|t| {
                    (
                        t.resource_id().to_string(),
                        json!({
                            "service_namespace": t.service_namespace().as_str(),
                            "scalable_dimension": t.scalable_dimension().as_str(),
                        }),
                    )
                }),
        );
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(found)
}
