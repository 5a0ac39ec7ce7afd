//! `aws.efs_access_point`: the app's view of the file system — root `/app` (created owned by
//! 1000:1000 with mode 0755 when missing) and every client acting as POSIX user 1000:1000, so
//! EC2, Fargate and Lambda share files without root. EFS cannot change an access point, so
//! any change but tags means a new one. The client token is the engine's idempotency token.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_efs::types::{
    AccessPointDescription, CreationInfo, LifeCycleState, PosixUser, RootDirectory,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::efs_file_system::{efs_retag, efs_tags};
use super::errors::{accepted, built, classify, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct EfsAccessPoint(pub std::sync::Arc<AwsContext>);

const READY: Duration = Duration::from_secs(120);

/// The access point's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfsAccessPointProps {
    /// The file system it opens.
    pub file_system_id: String,
    /// The directory clients see as `/`, created as described when missing.
    pub root_directory: RootDir,
    /// The POSIX identity every client acts as, whatever it claims.
    pub posix_user: Posix,
}

/// The root directory: its path and how EFS creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootDir {
    pub path: String,
    pub owner_uid: i64,
    pub owner_gid: i64,
    /// Octal mode (`0755`).
    pub permissions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posix {
    pub uid: i64,
    pub gid: i64,
}

typed!(
    EfsAccessPointProps,
    "aws.efs_access_point",
    "EFS access point"
);

fn outputs(ap: &AccessPointDescription) -> Outputs {
    let mut o = Outputs::new();
    o.insert(
        "arn".into(),
        json!(ap.access_point_arn().unwrap_or_default()),
    );
    o
}

fn live(ap: &AccessPointDescription) -> bool {
    !matches!(
        ap.life_cycle_state(),
        Some(LifeCycleState::Deleted | LifeCycleState::Deleting)
    )
}

impl EfsAccessPoint {
    async fn describe(&self, id: &str) -> Result<Option<AccessPointDescription>, ProviderError> {
        Ok(found(
            self.0
                .efs
                .describe_access_points()
                .access_point_id(id)
                .send()
                .await,
            |s| s.is_access_point_not_found(),
        )?
        .and_then(|o| o.access_points().iter().find(|a| live(a)).cloned()))
    }
}

#[async_trait]
impl Resource for EfsAccessPoint {
    fn kind(&self) -> &'static str {
        EfsAccessPointProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field != "tags"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(ap) = self.describe(id).await? else {
            return Ok(None);
        };
        let root = ap.root_directory();
        let info = root.and_then(|r| r.creation_info());
        let user = ap.posix_user();
        let props = json!({
            "file_system_id": ap.file_system_id(),
            "root_directory": {
                "path": root.and_then(|r| r.path()).unwrap_or("/"),
                "owner_uid": info.map(|i| i.owner_uid()),
                "owner_gid": info.map(|i| i.owner_gid()),
                "permissions": info.map(|i| i.permissions()),
            },
            "posix_user": {
                "uid": user.map(|u| u.uid()),
                "gid": user.map(|u| u.gid()),
            },
            "tags": tags::from_pairs(ap.tags().iter().map(|t| (t.key(), t.value()))),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&ap),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EfsAccessPointProps::from_value(req.props)?;
        let root = &p.root_directory;
        let out = self
            .0
            .efs
            .create_access_point()
            .client_token(req.token)
            .file_system_id(&p.file_system_id)
            .root_directory(
                RootDirectory::builder()
                    .path(&root.path)
                    .creation_info(
                        CreationInfo::builder()
                            .owner_uid(root.owner_uid)
                            .owner_gid(root.owner_gid)
                            .permissions(&root.permissions)
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
            )
            .posix_user(
                PosixUser::builder()
                    .uid(p.posix_user.uid)
                    .gid(p.posix_user.gid)
                    .build()
                    .map_err(built)?,
            )
            .set_tags(Some(efs_tags(req.props)?))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .access_point_id()
            .ok_or_else(|| ProviderError::Api("CreateAccessPoint returned no id".into()))?
            .to_string();
        let ap = wait::until("EFS access point to become available", READY, || async {
            Ok(self
                .describe(&id)
                .await?
                .filter(|a| a.life_cycle_state() == Some(&LifeCycleState::Available)))
        })
        .await?;
        Ok(Created {
            id,
            outputs: outputs(&ap),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        efs_retag(&self.0.efs, id, old, new).await?;
        let ap = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("access point {id}"),
            })?;
        Ok(outputs(&ap))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let sent = self
            .0
            .efs
            .delete_access_point()
            .access_point_id(id)
            .send()
            .await;
        if accepted(sent, |e| e.is_access_point_not_found())? {
            wait::gone("EFS access point to be deleted", READY, || {
                self.describe(id)
            })
            .await?;
        }
        Ok(())
    }

    /// By client token (what a crashed create sent) or, failing that, by address tag; the
    /// account-wide listing is paginated.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let mut pages = self.0.efs.describe_access_points().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            let found = page.access_points().iter().filter(|a| live(a)).find(|a| {
                a.client_token() == Some(token)
                    || tags::pairs_are_address(
                        a.tags().iter().map(|t| (t.key(), t.value())),
                        stack,
                        address,
                    )
            });
            if let Some(ap) = found {
                return Ok(Some(Created {
                    id: ap.access_point_id().unwrap_or_default().to_string(),
                    outputs: outputs(ap),
                }));
            }
        }
        Ok(None)
    }
}
