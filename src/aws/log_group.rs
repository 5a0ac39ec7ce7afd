//! `aws.log_group`: a CloudWatch Logs group the runtimes write to, with a retention period.
//! The name is fixed (a change means a new group); retention and tags change in place.
//! Names are limited to 512 characters of `[A-Za-z0-9._/#-]` (see [`valid_name`]).

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as Described;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify};
use super::props::{Typed, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The log group's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogGroupProps {
    /// The group's name (`/wxinfra/<stack>/<primitive>`).
    pub name: String,
    /// Days CloudWatch Logs keeps events; none keeps them forever.
    pub retention_days: Option<i32>,
}

typed!(LogGroupProps, "aws.log_group", "log group");

pub struct LogGroup(pub std::sync::Arc<AwsContext>);

/// CloudWatch Logs' limit on log group names.
pub const MAX_NAME: usize = 512;

pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/#-".contains(&b))
}

/// The group's ARN without the `:*` that DescribeLogGroups appends (the form tagging and
/// IAM policies use; log streams are `<arn>:log-stream:<name>`).
fn arn(g: &Described) -> String {
    g.arn()
        .unwrap_or_default()
        .trim_end_matches(":*")
        .to_string()
}

fn outputs(g: &Described) -> Outputs {
    let Value::Object(m) = json!({"name": g.log_group_name(), "arn": arn(g)}) else {
        unreachable!("an object literal")
    };
    m
}

impl LogGroup {
    async fn describe(&self, name: &str) -> Result<Option<Described>, ProviderError> {
        let mut pages = self
            .0
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            if let Some(g) = page
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name))
            {
                return Ok(Some(g.clone()));
            }
        }
        Ok(None)
    }

    async fn tags(&self, arn: &str) -> Result<Value, ProviderError> {
        let out = self
            .0
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(classify)?;
        Ok(tags::from_pairs(
            out.tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }

    async fn set_retention(&self, name: &str, days: Option<i32>) -> Result<(), ProviderError> {
        match days {
            Some(days) => {
                self.0
                    .logs
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days)
                    .send()
                    .await
                    .map_err(classify)?;
            }
            None => {
                self.0
                    .logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }

    async fn require(&self, name: &str) -> Result<Described, ProviderError> {
        self.describe(name)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("log group {name}"),
            })
    }
}

#[async_trait]
impl Resource for LogGroup {
    fn kind(&self) -> &'static str {
        LogGroupProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "name"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.describe(id).await? else {
            return Ok(None);
        };
        let props = json!({
            "name": g.log_group_name(),
            "retention_days": g.retention_in_days(),
            "tags": self.tags(&arn(&g)).await?,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&g),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LogGroupProps::from_value(req.props)?;
        let name = p.name.as_str();
        if !valid_name(name) {
            return Err(ProviderError::Validation(format!(
                "`{name}` is not a valid log group name"
            )));
        }
        // A name taken already is ProviderError::Exists: the engine adopts the group when it
        // is this address's earlier attempt (find_orphan) and converges its retention; a
        // stranger's is a clash the user must resolve.
        self.0
            .logs
            .create_log_group()
            .log_group_name(name)
            .set_tags(Some(tags::map(req.props)))
            .send()
            .await
            .map_err(classify)?;
        self.set_retention(name, p.retention_days).await?;
        let g = self.require(name).await?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(&g),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let g = self.require(id).await?;
        if changed.iter().any(|f| f == "retention_days") {
            let days = LogGroupProps::from_value(new)?.retention_days;
            self.set_retention(id, days).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            let logs = &self.0.logs;
            tags::retag(
                logs.tag_resource()
                    .resource_arn(arn(&g))
                    .set_tags(Some(tags::map(new)))
                    .send(),
                |gone| {
                    logs.untag_resource()
                        .resource_arn(arn(&g))
                        .set_tag_keys(Some(gone))
                        .send()
                },
                old,
                new,
            )
            .await?;
        }
        Ok(outputs(&g))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        accepted(
            self.0
                .logs
                .delete_log_group()
                .log_group_name(id)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )?;
        Ok(())
    }

    /// Groups under `/wxinfra/<stack>/` tagged with this address.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let mut pages = self
            .0
            .logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/wxinfra/{stack}/"))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            for g in page.log_groups() {
                let t = self.tags(&arn(g)).await?;
                if tags::is_address(&t, stack, address) {
                    return Ok(Some(Created {
                        id: g.log_group_name().unwrap_or_default().to_string(),
                        outputs: outputs(g),
                    }));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cloudwatch_rules() {
        assert!(valid_name("/wxinfra/demo/fargate"));
        assert!(!valid_name("/wxinfra/demo stack"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(MAX_NAME + 1)));
    }
}
