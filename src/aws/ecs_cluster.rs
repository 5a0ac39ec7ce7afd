//! `aws.ecs_cluster`: the Fargate cluster. A new name forces a new cluster; tags change in
//! place. AWS refuses to delete a cluster that still has services, so the graph deletes
//! `aws.ecs_service.app` (which waits for INACTIVE) before this.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{Cluster, ClusterField};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::classify;
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The cluster's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsClusterProps {
    /// The cluster's name, unique in the account and region (the stack's name).
    pub cluster_name: String,
}

typed!(EcsClusterProps, "aws.ecs_cluster", "ECS cluster");

pub struct EcsCluster(pub std::sync::Arc<AwsContext>);

/// How long a delete waits for the tasks of a deleted service to stop: their target group's
/// deregistration delay plus the container's stop timeout, with room to spare.
const TASKS_STOP: Duration = Duration::from_secs(600);

fn outputs(c: &Cluster) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(c.cluster_arn()));
    o.insert("name".into(), json!(c.cluster_name()));
    o
}

impl EcsCluster {
    async fn describe(&self, name: &str) -> Result<Option<Cluster>, ProviderError> {
        let out = self
            .0
            .ecs
            .describe_clusters()
            .clusters(name)
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(classify)?;
        // A deleted cluster stays visible as INACTIVE for a while.
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.status() == Some("ACTIVE"))
            .cloned())
    }
}

#[async_trait]
impl Resource for EcsCluster {
    fn kind(&self) -> &'static str {
        EcsClusterProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "cluster_name"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        Ok(self.describe(id).await?.map(|c| Live {
            props: json!({"cluster_name": c.cluster_name(), "tags": tags::from_ecs(c.tags())}),
            outputs: outputs(&c),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        // CreateCluster returns the existing cluster for a name that is already active, so a
        // re-run after a crash gets the same one back.
        let p = EcsClusterProps::from_value(req.props)?;
        let out = self
            .0
            .ecs
            .create_cluster()
            .cluster_name(p.cluster_name)
            .set_tags(Some(tags::ecs_tags(req.props)))
            .send()
            .await
            .map_err(classify)?;
        let c = out
            .cluster()
            .ok_or_else(|| ProviderError::Api("CreateCluster returned no cluster".into()))?;
        Ok(Created {
            id: c.cluster_name().unwrap_or_default().to_string(),
            outputs: outputs(c),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        let c = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })?;
        tags::ecs_update(&self.0.ecs, c.cluster_arn().unwrap_or_default(), old, new).await?;
        Ok(outputs(&c))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // The deleted service's tasks stop asynchronously (they drain from the target group
        // first); until they have, AWS refuses with ClusterContainsTasksException.
        let ecs = &self.0.ecs;
        wait::delete_while_busy(
            "ECS cluster",
            TASKS_STOP,
            || ecs.delete_cluster().cluster(id).send(),
            |e| e.is_cluster_not_found_exception(),
            |e| e.is_cluster_contains_tasks_exception(),
        )
        .await
    }

    // No orphan search (the default): `create` adopts an existing cluster of the same name
    // (CreateCluster is idempotent).
}
