//! `aws.efs_mount_target`: the file system's NFS endpoint in one subnet, guarded by the EFS
//! security group. File system and subnet are fixed (a change means a new mount target);
//! security groups change in place. Consumers reference its id, so they start only once it
//! is `available`. Mount targets carry no tags and take no client token: a retried create
//! adopts the mount target already in that subnet (AWS allows one per subnet and file system).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_efs::types::{LifeCycleState, MountTargetDescription};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, typed};
use super::wait;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct EfsMountTarget(pub std::sync::Arc<AwsContext>);

/// Mount targets take about a minute to become available and as long to go away.
const READY: Duration = Duration::from_secs(600);

/// The mount target's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfsMountTargetProps {
    /// The file system it serves.
    pub file_system_id: String,
    /// The subnet its network interface sits in (one mount target per subnet).
    pub subnet_id: String,
    /// Security groups of its network interface: who may reach NFS.
    pub security_groups: Vec<String>,
}

typed!(
    EfsMountTargetProps,
    "aws.efs_mount_target",
    "EFS mount target"
);

fn sorted(groups: &[String]) -> Vec<String> {
    let mut out = groups.to_vec();
    out.sort();
    out
}

impl EfsMountTarget {
    async fn describe(&self, id: &str) -> Result<Option<MountTargetDescription>, ProviderError> {
        Ok(found(
            self.0
                .efs
                .describe_mount_targets()
                .mount_target_id(id)
                .send()
                .await,
            |s| s.is_mount_target_not_found(),
        )?
        .and_then(|o| {
            o.mount_targets()
                .first()
                .filter(|m| {
                    !matches!(
                        m.life_cycle_state(),
                        LifeCycleState::Deleted | LifeCycleState::Deleting
                    )
                })
                .cloned()
        }))
    }

    async fn wait_available(&self, id: &str) -> Result<(), ProviderError> {
        wait::until("EFS mount target to become available", READY, || async {
            Ok(self
                .describe(id)
                .await?
                .filter(|m| m.life_cycle_state() == &LifeCycleState::Available)
                .map(|_| ()))
        })
        .await
    }

    async fn in_subnet(&self, fs: &str, subnet: &str) -> Result<Option<String>, ProviderError> {
        let out = self
            .0
            .efs
            .describe_mount_targets()
            .file_system_id(fs)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .mount_targets()
            .iter()
            .find(|m| m.subnet_id() == subnet)
            .map(|m| m.mount_target_id().to_string()))
    }
}

#[async_trait]
impl Resource for EfsMountTarget {
    fn kind(&self) -> &'static str {
        EfsMountTargetProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "file_system_id" | "subnet_id")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(mt) = self.describe(id).await? else {
            return Ok(None);
        };
        let sgs = self
            .0
            .efs
            .describe_mount_target_security_groups()
            .mount_target_id(id)
            .send()
            .await
            .map_err(classify)?;
        let props = json!({
            "file_system_id": mt.file_system_id(),
            "subnet_id": mt.subnet_id(),
            "security_groups": sorted(sgs.security_groups()),
        });
        Ok(Some(Live {
            props,
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EfsMountTargetProps::from_value(req.props)?;
        let (fs, subnet) = (p.file_system_id.as_str(), p.subnet_id.as_str());
        let sent = self
            .0
            .efs
            .create_mount_target()
            .file_system_id(fs)
            .subnet_id(subnet)
            .set_security_groups(Some(sorted(&p.security_groups)))
            .send()
            .await;
        let id = match sent {
            Ok(o) => o.mount_target_id().to_string(),
            // One per subnet: an earlier attempt of ours made it.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_mount_target_conflict()) =>
            {
                self.in_subnet(fs, subnet)
                    .await?
                    .ok_or_else(|| classify(e))?
            }
            Err(e) => return Err(classify(e)),
        };
        self.wait_available(&id).await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, _, new, changed) = req.parts();
        if changed.iter().any(|f| f == "security_groups") {
            self.0
                .efs
                .modify_mount_target_security_groups()
                .mount_target_id(id)
                .set_security_groups(Some(sorted(
                    &EfsMountTargetProps::from_value(new)?.security_groups,
                )))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(Outputs::new())
    }

    /// Waits until the mount target is gone: only then does AWS let the file system (and the
    /// subnet and security group, whose ENI it held) be deleted.
    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let sent = self
            .0
            .efs
            .delete_mount_target()
            .mount_target_id(id)
            .send()
            .await;
        if accepted(sent, |e| e.is_mount_target_not_found())? {
            wait::gone("EFS mount target to be deleted", READY, || {
                self.describe(id)
            })
            .await?;
        }
        Ok(())
    }

    // No orphan search (the default): there is nothing to search by (no tags, no token,
    // and the file system is not known here), and `create` adopts the subnet's existing
    // mount target.
}
