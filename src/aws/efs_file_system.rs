//! `aws.efs_file_system`: the encrypted file system holding the app's releases and AOT cache.
//! Encryption at rest and the performance mode are fixed at creation (changing them forces a
//! new file system); throughput mode, the Infrequent Access lifecycle, the TLS-only file
//! system policy and tags change in place. The creation token is the engine's idempotency
//! token, so a retried or resumed create never makes a second file system.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_efs::types::{
    LifeCycleState, LifecyclePolicy, PerformanceMode, Tag, ThroughputMode, TransitionToIaRules,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, built, classify, found};
use super::props::{Typed, typed};
use super::{policy, tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct EfsFileSystem(pub std::sync::Arc<AwsContext>);

/// The file system's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfsFileSystemProps {
    /// Encryption at rest (with the AWS-managed key).
    pub encrypted: bool,
    /// `generalPurpose` or `maxIO`.
    pub performance_mode: String,
    /// `elastic`, `bursting` or `provisioned`.
    pub throughput_mode: String,
    /// Days without access before a file moves to Infrequent Access (0: never).
    pub transition_to_ia_days: u32,
    /// Whether the file system policy refuses NFS clients that do not use TLS.
    pub enforce_tls: bool,
}

typed!(EfsFileSystemProps, "aws.efs_file_system", "EFS file system");

/// A new file system is usable within seconds; deletion can take a minute.
const READY: Duration = Duration::from_secs(300);

/// Days EFS accepts for the transition to Infrequent Access (0 = never).
pub const IA_DAYS: &[u32] = &[1, 7, 14, 30, 60, 90, 180, 270, 365];

/// `TransitionToIaRules` value for `days` (`AFTER_1_DAY`, `AFTER_30_DAYS`, ...).
pub fn ia_rule(days: u32) -> Option<String> {
    match days {
        0 => None,
        1 => Some("AFTER_1_DAY".into()),
        d => Some(format!("AFTER_{d}_DAYS")),
    }
}

/// Inverse of [`ia_rule`].
pub fn ia_days(rule: &str) -> u32 {
    rule.trim_start_matches("AFTER_")
        .split('_')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn efs_tags(props: &Value) -> Result<Vec<Tag>, ProviderError> {
    tags::pairs(props)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect()
}

/// Brings an EFS file system's or access point's tags from `old` to `new`.
pub async fn efs_retag(
    efs: &aws_sdk_efs::Client,
    id: &str,
    old: &Value,
    new: &Value,
) -> Result<(), ProviderError> {
    tags::retag(
        efs.tag_resource()
            .resource_id(id)
            .set_tags(Some(efs_tags(new)?))
            .send(),
        |gone| {
            efs.untag_resource()
                .resource_id(id)
                .set_tag_keys(Some(gone))
                .send()
        },
        old,
        new,
    )
    .await
}

fn outputs(arn: &str) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(arn));
    o
}

impl EfsFileSystem {
    async fn describe(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_efs::types::FileSystemDescription>, ProviderError> {
        Ok(found(
            self.0
                .efs
                .describe_file_systems()
                .file_system_id(id)
                .send()
                .await,
            |s| s.is_file_system_not_found(),
        )?
        .and_then(|o| {
            o.file_systems()
                .first()
                .filter(|f| {
                    !matches!(
                        f.life_cycle_state(),
                        LifeCycleState::Deleted | LifeCycleState::Deleting
                    )
                })
                .cloned()
        }))
    }

    async fn set_lifecycle(&self, id: &str, days: u32) -> Result<(), ProviderError> {
        let policies = ia_rule(days)
            .map(|r| {
                vec![
                    LifecyclePolicy::builder()
                        .transition_to_ia(TransitionToIaRules::from(r.as_str()))
                        .build(),
                ]
            })
            .unwrap_or_default();
        self.0
            .efs
            .put_lifecycle_configuration()
            .file_system_id(id)
            .set_lifecycle_policies(Some(policies))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Encryption in transit, enforced: any NFS client not using TLS is refused. Mounts must
    /// use `tls,iam` (the roles' identity policies grant ClientMount/ClientWrite).
    async fn set_policy(
        &self,
        id: &str,
        arn: &str,
        enforce_tls: bool,
    ) -> Result<(), ProviderError> {
        if enforce_tls {
            let doc = policy::document(vec![policy::deny_insecure_transport(json!(arn))]);
            self.0
                .efs
                .put_file_system_policy()
                .file_system_id(id)
                .policy(doc.to_string())
                .send()
                .await
                .map_err(classify)?;
        } else {
            found(
                self.0
                    .efs
                    .delete_file_system_policy()
                    .file_system_id(id)
                    .send()
                    .await,
                |s| s.is_file_system_not_found(),
            )?;
        }
        Ok(())
    }

    async fn wait_available(&self, id: &str) -> Result<String, ProviderError> {
        wait::until("EFS file system to become available", READY, || async {
            Ok(self
                .describe(id)
                .await?
                .filter(|f| f.life_cycle_state() == &LifeCycleState::Available)
                .map(|f| f.file_system_arn().unwrap_or_default().to_string()))
        })
        .await
    }
}

#[async_trait]
impl Resource for EfsFileSystem {
    fn kind(&self) -> &'static str {
        EfsFileSystemProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        // Fixed by CreateFileSystem; UpdateFileSystem changes only throughput.
        matches!(field, "encrypted" | "performance_mode")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(fs) = self.describe(id).await? else {
            return Ok(None);
        };
        // Sent together: a no-change plan waits on each resource's round trips.
        let lifecycle = async {
            self.0
                .efs
                .describe_lifecycle_configuration()
                .file_system_id(id)
                .send()
                .await
                .map_err(classify)
        };
        let enforce_tls = async {
            let found = found(
                self.0
                    .efs
                    .describe_file_system_policy()
                    .file_system_id(id)
                    .send()
                    .await,
                |s| s.is_policy_not_found(),
            )?;
            match found {
                Some(o) => Ok(policy::denies_insecure_transport(&policy::parse(
                    o.policy().unwrap_or("{}"),
                )?)),
                None => Ok(false),
            }
        };
        let (lifecycle, enforce_tls) = tokio::try_join!(lifecycle, enforce_tls)?;
        let days = lifecycle
            .lifecycle_policies()
            .iter()
            .find_map(|p| p.transition_to_ia())
            .map(|r| ia_days(r.as_str()))
            .unwrap_or(0);
        let props = json!({
            "encrypted": fs.encrypted().unwrap_or(false),
            "performance_mode": fs.performance_mode().as_str(),
            "throughput_mode": fs.throughput_mode().map(|t| t.as_str()).unwrap_or("bursting"),
            "transition_to_ia_days": days,
            "enforce_tls": enforce_tls,
            "tags": tags::from_pairs(fs.tags().iter().map(|t| (t.key(), t.value()))),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(fs.file_system_arn().unwrap_or_default()),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EfsFileSystemProps::from_value(req.props)?;
        let sent = self
            .0
            .efs
            .create_file_system()
            .creation_token(req.token)
            .encrypted(p.encrypted)
            .performance_mode(PerformanceMode::from(p.performance_mode.as_str()))
            .throughput_mode(ThroughputMode::from(p.throughput_mode.as_str()))
            .set_tags(Some(efs_tags(req.props)?))
            .send()
            .await;
        let id = match sent {
            Ok(o) => o.file_system_id().to_string(),
            // Same token: our own earlier attempt made it; adopt it.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_file_system_already_exists()) =>
            {
                self.find_orphan(req.stack, req.address, req.token)
                    .await?
                    .map(|c| c.id)
                    .ok_or_else(|| classify(e))?
            }
            Err(e) => return Err(classify(e)),
        };
        let arn = self.wait_available(&id).await?;
        self.set_lifecycle(&id, p.transition_to_ia_days).await?;
        self.set_policy(&id, &arn, p.enforce_tls).await?;
        Ok(Created {
            id,
            outputs: outputs(&arn),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let arn = self.wait_available(id).await?;
        let want = EfsFileSystemProps::from_value(new)?;
        for field in changed {
            match field.as_str() {
                "throughput_mode" => {
                    self.0
                        .efs
                        .update_file_system()
                        .file_system_id(id)
                        .throughput_mode(ThroughputMode::from(want.throughput_mode.as_str()))
                        .send()
                        .await
                        .map_err(classify)?;
                }
                "transition_to_ia_days" => {
                    self.set_lifecycle(id, want.transition_to_ia_days).await?
                }
                "enforce_tls" => self.set_policy(id, &arn, want.enforce_tls).await?,
                "tags" => {
                    efs_retag(&self.0.efs, id, old, new).await?;
                }
                _ => {}
            }
        }
        Ok(outputs(&arn))
    }

    /// AWS refuses to delete a file system that still has mount targets (FileSystemInUse);
    /// mount targets reference the file system's id, so the engine deletes them first.
    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let sent = self
            .0
            .efs
            .delete_file_system()
            .file_system_id(id)
            .send()
            .await;
        if accepted(sent, |e| e.is_file_system_not_found())? {
            wait::gone("EFS file system to be deleted", READY, || self.describe(id)).await?;
        }
        Ok(())
    }

    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let out = self
            .0
            .efs
            .describe_file_systems()
            .creation_token(token)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .file_systems()
            .iter()
            .find(|f| {
                !matches!(
                    f.life_cycle_state(),
                    LifeCycleState::Deleted | LifeCycleState::Deleting
                )
            })
            .map(|f| Created {
                id: f.file_system_id().to_string(),
                outputs: outputs(f.file_system_arn().unwrap_or_default()),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ia_rules_round_trip() {
        assert_eq!(ia_rule(0), None);
        for d in IA_DAYS {
            let rule = ia_rule(*d).unwrap();
            assert!(
                TransitionToIaRules::values().contains(&rule.as_str()),
                "{rule}"
            );
            assert_eq!(ia_days(&rule), *d);
        }
    }
}
