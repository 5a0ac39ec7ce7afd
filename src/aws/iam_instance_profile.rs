//! `aws.iam_instance_profile`: how an EC2 instance assumes its role. Name and path are fixed;
//! the role and tags change in place. It references the role's name, so the engine creates
//! it after the role and deletes it before; delete also takes the role out first, which AWS
//! requires (DeleteConflict otherwise).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found};
use super::iam_role::{MAX_NAME, iam_tags, is_address, path, valid_name};
use super::props::{Typed, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The instance profile's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamInstanceProfileProps {
    /// The profile's name, unique in the account (`<stack>-ec2`).
    pub name: String,
    /// The IAM path the profile sits under (`/wxinfra/<stack>/`), which orphans are found by.
    pub path: String,
    /// The name of the role instances launched with the profile assume (a profile holds one).
    pub role: String,
}

typed!(
    IamInstanceProfileProps,
    "aws.iam_instance_profile",
    "IAM instance profile"
);

pub struct IamInstanceProfile(pub std::sync::Arc<AwsContext>);

fn outputs(arn: &str, name: &str) -> Outputs {
    let Value::Object(m) = json!({"arn": arn, "name": name}) else {
        unreachable!("an object literal")
    };
    m
}

impl IamInstanceProfile {
    async fn get(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_iam::types::InstanceProfile>, ProviderError> {
        let get = self
            .0
            .iam
            .get_instance_profile()
            .instance_profile_name(name);
        Ok(
            found(get.send().await, |e| e.is_no_such_entity_exception())?
                .and_then(|o| o.instance_profile),
        )
    }

    async fn remove_role(&self, name: &str, role: &str) -> Result<(), ProviderError> {
        let remove = self.0.iam.remove_role_from_instance_profile();
        let remove = remove.instance_profile_name(name).role_name(role);
        found(remove.send().await, |e| e.is_no_such_entity_exception())?;
        Ok(())
    }

    async fn add_role(&self, name: &str, role: &str) -> Result<(), ProviderError> {
        let sent = self
            .0
            .iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(role)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // A profile holds one role: a resent call whose first answer was lost meets the
            // quota ("InstanceSessionsPerInstanceProfile: 1") with our role already in.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_limit_exceeded_exception()) =>
            {
                let has = self
                    .get(name)
                    .await?
                    .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role));
                if has { Ok(()) } else { Err(classify(e)) }
            }
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl Resource for IamInstanceProfile {
    fn kind(&self) -> &'static str {
        IamInstanceProfileProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "name" | "path")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(p) = self.get(id).await? else {
            return Ok(None);
        };
        let props = json!({
            "name": p.instance_profile_name(),
            "path": p.path(),
            "role": p.roles().first().map(|r| r.role_name()),
            // GetInstanceProfile carries the tags (no ListInstanceProfileTags round trip).
            "tags": tags::from_pairs(p.tags().iter().map(|t| (t.key(), t.value()))),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(p.arn(), p.instance_profile_name()),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = IamInstanceProfileProps::from_value(req.props)?;
        let (name, role) = (p.name.as_str(), p.role.as_str());
        if !valid_name(name) {
            return Err(ProviderError::Validation(format!(
                "`{name}` is not a valid instance profile name (at most {MAX_NAME} of A-Za-z0-9+=,.@_-)"
            )));
        }
        // A name taken already is ProviderError::Exists: the engine adopts the profile when
        // it is this address's earlier attempt (find_orphan) and converges its role.
        let created = self
            .0
            .iam
            .create_instance_profile()
            .instance_profile_name(name)
            .path(&p.path)
            .set_tags(Some(iam_tags(req.props)?))
            .send()
            .await
            .map_err(classify)?;
        self.add_role(name, role).await?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(
                created
                    .instance_profile()
                    .map(|i| i.arn())
                    .unwrap_or_default(),
                name,
            ),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "role") {
            // `old` may be the live view of an adopted profile whose create stopped before
            // the role went in: no role (null) to take out then.
            if let Ok(old) = IamInstanceProfileProps::from_value(old) {
                self.remove_role(id, &old.role).await?;
            }
            self.add_role(id, &IamInstanceProfileProps::from_value(new)?.role)
                .await?;
        }
        if changed.iter().any(|f| f == "tags") {
            let iam = &self.0.iam;
            tags::retag(
                iam.tag_instance_profile()
                    .instance_profile_name(id)
                    .set_tags(Some(iam_tags(new)?))
                    .send(),
                |gone| {
                    iam.untag_instance_profile()
                        .instance_profile_name(id)
                        .set_tag_keys(Some(gone))
                        .send()
                },
                old,
                new,
            )
            .await?;
        }
        let p = self.get(id).await?.ok_or_else(|| ProviderError::NotFound {
            what: format!("instance profile {id}"),
        })?;
        Ok(outputs(p.arn(), id))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let Some(p) = self.get(id).await? else {
            return Ok(());
        };
        for r in p.roles() {
            self.remove_role(id, r.role_name()).await?;
        }
        let delete = self
            .0
            .iam
            .delete_instance_profile()
            .instance_profile_name(id);
        found(delete.send().await, |e| e.is_no_such_entity_exception())?;
        Ok(())
    }

    /// Instance profiles under `/wxinfra/<stack>/` carrying this address tag.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let listed = self.0.iam.list_instance_profiles().path_prefix(path(stack));
        let mut profiles = listed.into_paginator().items().send();
        while let Some(p) = profiles.next().await {
            let p = p.map_err(classify)?;
            let name = p.instance_profile_name();
            // A listed profile carries no tags: its own get does.
            let Some(full) = self.get(name).await? else {
                continue;
            };
            if is_address(full.tags(), stack, address) {
                return Ok(Some(Created {
                    id: name.to_string(),
                    outputs: outputs(p.arn(), name),
                }));
            }
        }
        Ok(None)
    }
}
