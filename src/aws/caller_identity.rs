//! `aws.caller_identity`: a read-only node giving the account id, partition and region the
//! credentials act in, so ARNs the stack cannot know at synth time (ECR repository, the
//! S3 endpoint's service name) are resolved at apply time. Creates and deletes nothing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct CallerIdentity(pub std::sync::Arc<AwsContext>);

/// Nothing to set: the identity is the credentials'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerIdentityProps {}

typed!(
    CallerIdentityProps,
    "aws.caller_identity",
    "caller identity"
);

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl CallerIdentity {
    async fn outputs(&self) -> Result<Outputs, ProviderError> {
        let account = self.0.account_id().await?;
        let region = &self.0.region;
        let Value::Object(m) = json!({
            "account_id": account,
            "region": region,
            "partition": partition(region),
        }) else {
            unreachable!("an object literal")
        };
        Ok(m)
    }
}

#[async_trait]
impl Resource for CallerIdentity {
    fn kind(&self) -> &'static str {
        CallerIdentityProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        false
    }

    async fn read(&self, _id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        Ok(Some(Live {
            props: applied.clone(),
            outputs: self.outputs().await?,
        }))
    }

    async fn create(&self, _req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let outputs = self.outputs().await?;
        Ok(Created {
            id: outputs["account_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            outputs,
        })
    }

    async fn update(&self, _req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        self.outputs().await
    }

    async fn delete(&self, _id: &str, _applied: &Value) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn partitions() {
        assert_eq!(super::partition("us-east-1"), "aws");
        assert_eq!(super::partition("cn-north-1"), "aws-cn");
        assert_eq!(super::partition("us-gov-west-1"), "aws-us-gov");
    }
}
