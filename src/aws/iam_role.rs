//! `aws.iam_role`: a role under `/wxinfra/<stack>/` with a trust policy and inline
//! least-privilege policies (documents are JSON properties, so drift shows field by field;
//! IAM returns them URL-encoded and `read` decodes them). Name and path are fixed (a change
//! means a new role); trust policy, inline policies, description and tags change in place.
//! AWS refuses to delete a role that still has policies or sits in an instance profile, so
//! delete takes those off first ([`teardown`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::context::AwsContext;
use super::errors::{built, classify, found};
use super::props::{Typed, typed};
use super::{policy, tags};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The role's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRoleProps {
    /// The role's name, unique in the account (`<stack>-<primitive>`).
    pub name: String,
    /// The IAM path the role sits under (`/wxinfra/<stack>/`), which orphans are found by.
    pub path: String,
    /// What the role is for; IAM allows none, which the live view shows as null.
    pub description: Option<String>,
    /// The trust policy: which service may assume the role (an IAM policy document).
    pub assume_role_policy: Value,
    /// Inline policies by name: what the role may do (IAM policy documents).
    pub policies: BTreeMap<String, Value>,
}

typed!(IamRoleProps, "aws.iam_role", "IAM role");

pub struct IamRole(pub std::sync::Arc<AwsContext>);

/// IAM's limit on role (and instance profile) names.
pub const MAX_NAME: usize = 64;

/// Whether `name` is a valid IAM role or instance profile name.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// One call of a role's deletion, in the order AWS accepts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    DeleteInlinePolicy(String),
    DetachPolicy(String),
    RemoveFromInstanceProfile(String),
    DeleteRole,
}

/// The calls that delete a role: everything attached to it first, the role last.
pub fn teardown(inline: &[String], attached: &[String], profiles: &[String]) -> Vec<Step> {
    inline
        .iter()
        .cloned()
        .map(Step::DeleteInlinePolicy)
        .chain(attached.iter().cloned().map(Step::DetachPolicy))
        .chain(
            profiles
                .iter()
                .cloned()
                .map(Step::RemoveFromInstanceProfile),
        )
        .chain([Step::DeleteRole])
        .collect()
}

/// The IAM path of a stack's roles and instance profiles, which finds them again.
pub fn path(stack: &str) -> String {
    format!("/wxinfra/{stack}/")
}

/// Whether IAM tags are those of `address` in `stack`.
pub fn is_address(t: &[Tag], stack: &str, address: &str) -> bool {
    tags::pairs_are_address(t.iter().map(|t| (t.key(), t.value())), stack, address)
}

pub fn iam_tags(props: &Value) -> Result<Vec<Tag>, ProviderError> {
    tags::pairs(props)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect()
}

fn outputs(arn: &str, name: &str) -> Outputs {
    let Value::Object(m) = json!({"arn": arn, "name": name}) else {
        unreachable!("an object literal")
    };
    m
}

impl IamRole {
    async fn inline_names(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        let mut names = Vec::new();
        let mut pages = self
            .0
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            names.extend(p.map_err(classify)?.policy_names().iter().cloned());
        }
        Ok(names)
    }

    /// Puts the inline policies of `want` that `have` lacks or holds otherwise, and deletes
    /// those only `have` names.
    async fn put_policies(
        &self,
        name: &str,
        have: &BTreeMap<String, Value>,
        want: &BTreeMap<String, Value>,
    ) -> Result<(), ProviderError> {
        for (pname, doc) in want {
            if have.get(pname) != Some(doc) {
                self.0
                    .iam
                    .put_role_policy()
                    .role_name(name)
                    .policy_name(pname)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        for pname in have.keys().filter(|k| !want.contains_key(*k)) {
            let delete = self.0.iam.delete_role_policy().role_name(name);
            found(delete.policy_name(pname).send().await, |e| {
                e.is_no_such_entity_exception()
            })?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for IamRole {
    fn kind(&self) -> &'static str {
        IamRoleProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "name" | "path")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        // The role and its policies' names together, then every policy at once: a no-change
        // plan waits on each resource's round trips. A role that is gone fails the listing
        // too, so the role's answer is looked at first.
        let (got, names) = tokio::join!(
            self.0.iam.get_role().role_name(id).send(),
            self.inline_names(id)
        );
        let got = found(got, |e| e.is_no_such_entity_exception())?;
        let Some(role) = got.and_then(|o| o.role) else {
            return Ok(None);
        };
        let docs = futures::future::try_join_all(names?.into_iter().map(|pname| async move {
            let doc = self
                .0
                .iam
                .get_role_policy()
                .role_name(id)
                .policy_name(&pname)
                .send()
                .await
                .map_err(classify)?;
            Ok::<_, ProviderError>((pname, policy::parse(doc.policy_document())?))
        }))
        .await?;
        let policies: Map<String, Value> = docs.into_iter().collect();
        let trust = match role.assume_role_policy_document() {
            Some(d) => policy::parse(d)?,
            None => Value::Null,
        };
        let props = json!({
            "name": role.role_name(),
            "path": role.path(),
            "description": role.description(),
            "assume_role_policy": trust,
            "policies": policies,
            "tags": tags::from_pairs(role.tags().iter().map(|t| (t.key(), t.value()))),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(role.arn(), role.role_name()),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = IamRoleProps::from_value(req.props)?;
        let name = p.name.as_str();
        if !valid_name(name) {
            return Err(ProviderError::Validation(format!(
                "`{name}` is not a valid IAM role name (at most {MAX_NAME} of A-Za-z0-9+=,.@_-)"
            )));
        }
        // A name taken already is ProviderError::Exists: the engine adopts the role when it
        // is this address's earlier attempt (find_orphan) and converges its policies.
        let created = self
            .0
            .iam
            .create_role()
            .role_name(name)
            .path(&p.path)
            .set_description(p.description.clone())
            .assume_role_policy_document(p.assume_role_policy.to_string())
            .set_tags(Some(iam_tags(req.props)?))
            .send()
            .await
            .map_err(classify)?;
        let arn = created.role().map(|r| r.arn()).unwrap_or_default();
        self.put_policies(name, &BTreeMap::new(), &p.policies)
            .await?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(arn, name),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let iam = &self.0.iam;
        let p = IamRoleProps::from_value(new)?;
        for field in changed {
            match field.as_str() {
                "assume_role_policy" => {
                    iam.update_assume_role_policy()
                        .role_name(id)
                        .policy_document(p.assume_role_policy.to_string())
                        .send()
                        .await
                        .map_err(classify)?;
                }
                "policies" => {
                    // `old` is what was applied, or the live view of an adopted create:
                    // both read as the role's properties.
                    let have = IamRoleProps::from_value(old)?.policies;
                    self.put_policies(id, &have, &p.policies).await?
                }
                "description" => {
                    iam.update_role()
                        .role_name(id)
                        .description(p.description.as_deref().unwrap_or_default())
                        .send()
                        .await
                        .map_err(classify)?;
                }
                "tags" => {
                    tags::retag(
                        iam.tag_role()
                            .role_name(id)
                            .set_tags(Some(iam_tags(new)?))
                            .send(),
                        |gone| {
                            iam.untag_role()
                                .role_name(id)
                                .set_tag_keys(Some(gone))
                                .send()
                        },
                        old,
                        new,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        let role = iam
            .get_role()
            .role_name(id)
            .send()
            .await
            .map_err(classify)?;
        let arn = role.role().map(|r| r.arn()).unwrap_or_default();
        Ok(outputs(arn, id))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let iam = &self.0.iam;
        let got = found(iam.get_role().role_name(id).send().await, |e| {
            e.is_no_such_entity_exception()
        })?;
        if got.is_none() {
            return Ok(());
        }
        let inline = self.inline_names(id).await?;
        let mut attached = Vec::new();
        let mut pages = iam
            .list_attached_role_policies()
            .role_name(id)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            attached.extend(
                p.map_err(classify)?
                    .attached_policies()
                    .iter()
                    .filter_map(|a| a.policy_arn().map(str::to_string)),
            );
        }
        let mut profiles = Vec::new();
        let mut pages = iam
            .list_instance_profiles_for_role()
            .role_name(id)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            profiles.extend(
                p.map_err(classify)?
                    .instance_profiles()
                    .iter()
                    .map(|i| i.instance_profile_name().to_string()),
            );
        }
        // Each step's target being gone already (a concurrent delete, an earlier attempt)
        // is success.
        for step in teardown(&inline, &attached, &profiles) {
            match &step {
                Step::DeleteInlinePolicy(n) => {
                    let call = iam.delete_role_policy().role_name(id).policy_name(n);
                    found(call.send().await, |e| e.is_no_such_entity_exception())?;
                }
                Step::DetachPolicy(arn) => {
                    let call = iam.detach_role_policy().role_name(id).policy_arn(arn);
                    found(call.send().await, |e| e.is_no_such_entity_exception())?;
                }
                Step::RemoveFromInstanceProfile(p) => {
                    let call = iam.remove_role_from_instance_profile();
                    let call = call.instance_profile_name(p).role_name(id);
                    found(call.send().await, |e| e.is_no_such_entity_exception())?;
                }
                Step::DeleteRole => {
                    let call = iam.delete_role().role_name(id);
                    found(call.send().await, |e| e.is_no_such_entity_exception())?;
                }
            }
        }
        Ok(())
    }

    /// Roles under `/wxinfra/<stack>/` carrying this address tag.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let iam = &self.0.iam;
        let listed = iam.list_roles().path_prefix(path(stack));
        let mut roles = listed.into_paginator().items().send();
        while let Some(role) = roles.next().await {
            let role = role.map_err(classify)?;
            let name = role.role_name();
            let t = iam.list_role_tags().role_name(name).send().await;
            if is_address(t.map_err(classify)?.tags(), stack, address) {
                return Ok(Some(Created {
                    id: name.to_string(),
                    outputs: outputs(role.arn(), name),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_is_deleted_last_after_everything_attached() {
        let steps = teardown(
            &["wxinfra".into()],
            &["arn:aws:iam::aws:policy/X".into()],
            &["demo-ec2".into()],
        );
        assert_eq!(steps.last(), Some(&Step::DeleteRole));
        assert_eq!(steps.len(), 4);
        assert!(steps.contains(&Step::DeleteInlinePolicy("wxinfra".into())));
        assert!(steps.contains(&Step::RemoveFromInstanceProfile("demo-ec2".into())));
        assert_eq!(teardown(&[], &[], &[]), vec![Step::DeleteRole]);
    }

    #[test]
    fn role_names_follow_iam_rules() {
        assert!(valid_name("demo-ecs-execution"));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name("has space"));
        assert!(!valid_name("slash/no"));
    }
}
