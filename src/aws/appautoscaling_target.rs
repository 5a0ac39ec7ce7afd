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

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalableTarget, ServiceNamespace};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify};
use super::props::{Typed, part, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The scalable target's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppautoscalingTargetProps {
    /// The AWS service of the scaled resource (`ecs`).
    pub service_namespace: String,
    /// The scaled resource (`service/<cluster>/<service>`): the target's id.
    pub resource_id: String,
    /// What of the resource is scaled (`ecs:service:DesiredCount`).
    pub scalable_dimension: String,
    /// The capacity its policies never scale in below.
    pub min_capacity: u32,
    /// The capacity its policies never scale out above.
    pub max_capacity: u32,
}

typed!(
    AppautoscalingTargetProps,
    "aws.appautoscaling_target",
    "scalable target"
);

impl AppautoscalingTargetProps {
    fn naming(&self) -> Naming {
        Naming {
            service_namespace: self.service_namespace.clone(),
            scalable_dimension: self.scalable_dimension.clone(),
        }
    }
}

/// What names a target besides its resource id: all that read and delete take from its
/// properties, and all the sweep knows of a target it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Naming {
    /// As [`AppautoscalingTargetProps::service_namespace`].
    pub service_namespace: String,
    /// As [`AppautoscalingTargetProps::scalable_dimension`].
    pub scalable_dimension: String,
}

impl Naming {
    fn of(props: &Value) -> Result<Naming, ProviderError> {
        part::<AppautoscalingTargetProps, _>(props)
    }

    fn api(&self) -> (ServiceNamespace, ScalableDimension) {
        naming(&self.service_namespace, &self.scalable_dimension)
    }
}

pub struct AppautoscalingTarget(pub std::sync::Arc<AwsContext>);

fn outputs(t: &ScalableTarget) -> Outputs {
    let mut o = Outputs::new();
    o.insert("resource_id".into(), json!(t.resource_id()));
    o.insert("arn".into(), json!(t.scalable_target_arn()));
    o
}

/// A target's (or policy's) namespace and dimension as the API takes them.
pub fn naming(namespace: &str, dimension: &str) -> (ServiceNamespace, ScalableDimension) {
    (
        ServiceNamespace::from(namespace),
        ScalableDimension::from(dimension),
    )
}

/// The registered target, if there is one.
pub async fn describe(
    ctx: &AwsContext,
    resource_id: &str,
    n: &Naming,
) -> Result<Option<ScalableTarget>, ProviderError> {
    let (namespace, dimension) = n.api();
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
    /// Registers the target; `tags` are taken only when it is first registered.
    async fn register(
        &self,
        p: &AppautoscalingTargetProps,
        tags: Option<HashMap<String, String>>,
    ) -> Result<(), ProviderError> {
        let (namespace, dimension) = p.naming().api();
        let capacity = |n: u32| i32::try_from(n).ok();
        self.0
            .app_autoscaling
            .register_scalable_target()
            .service_namespace(namespace)
            .resource_id(&p.resource_id)
            .scalable_dimension(dimension)
            .set_min_capacity(capacity(p.min_capacity))
            .set_max_capacity(capacity(p.max_capacity))
            .set_tags(tags)
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

    async fn registered(&self, id: &str, n: &Naming) -> Result<ScalableTarget, ProviderError> {
        describe(&self.0, id, n).await?.ok_or_else(|| {
            ProviderError::Api(format!(
                "scalable target {id} is not registered after its registration"
            ))
        })
    }
}

#[async_trait]
impl Resource for AppautoscalingTarget {
    fn kind(&self) -> &'static str {
        AppautoscalingTargetProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "service_namespace" | "resource_id" | "scalable_dimension"
        )
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(t) = describe(&self.0, id, &Naming::of(applied)?).await? else {
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
        let p = AppautoscalingTargetProps::from_value(req.props)?;
        // Registering is an upsert keyed by the resource id: a resent call finds its own.
        self.register(&p, Some(tags::map(req.props))).await?;
        let t = self.registered(&p.resource_id, &p.naming()).await?;
        Ok(Created {
            id: p.resource_id,
            outputs: outputs(&t),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = AppautoscalingTargetProps::from_value(new)?;
        if changed.iter().any(|f| f != "tags") {
            self.register(&p, None).await?;
        }
        let t = self.registered(id, &p.naming()).await?;
        if changed.iter().any(|f| f == "tags") {
            let arn = t.scalable_target_arn().unwrap_or_default();
            let app_autoscaling = &self.0.app_autoscaling;
            tags::retag(
                app_autoscaling
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags::map(new)))
                    .send(),
                |gone| {
                    app_autoscaling
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(gone))
                        .send()
                },
                old,
                new,
            )
            .await?;
        }
        Ok(outputs(&t))
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let (namespace, dimension) = Naming::of(applied)?.api();
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
            let Some(t) = describe(&self.0, &id, &Naming::of(&p)?).await? else {
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
                        json!(Naming {
                            service_namespace: t.service_namespace().as_str().into(),
                            scalable_dimension: t.scalable_dimension().as_str().into(),
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
