//! `aws.vpc_endpoint`: a gateway VPC endpoint (S3) on the network's route tables. A Lambda
//! function in a VPC has no internet path even in a public subnet, so this is its way to the
//! artifact bucket; EC2 and Fargate use it too. VPC and service are fixed (a change means a
//! new endpoint); route tables, the endpoint policy and tags change in place. The client
//! token is the engine's idempotency token.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint as Described, VpcEndpointType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, found, is_ec2_not_found_code};
use super::props::{Typed, Val, typed};
use super::{policy, tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct VpcEndpoint(pub std::sync::Arc<AwsContext>);

const READY: Duration = Duration::from_secs(300);

/// The endpoint's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcEndpointProps {
    /// The VPC the endpoint serves.
    pub vpc_id: String,
    /// The AWS service (`com.amazonaws.<region>.s3`).
    pub service_name: String,
    /// Route tables that get the service's prefix-list route: the stack's, or a looked-up
    /// VPC's (a reference until apply).
    pub route_table_ids: Val<Vec<String>>,
    /// The endpoint policy: which buckets requests through it may reach.
    pub policy: Value,
}

typed!(VpcEndpointProps, "aws.vpc_endpoint", "VPC endpoint");

impl VpcEndpointProps {
    fn route_tables(&self) -> Result<Vec<String>, ProviderError> {
        let mut out = self.route_table_ids.known("route_table_ids")?.clone();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// The endpoint's state, lowercased: EC2 reports VPC endpoint states in lowercase
/// (`available`), which the SDK's capitalised `State` enum does not recognise.
fn state(e: &Described) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

fn gone(e: &Described) -> bool {
    matches!(state(e).as_str(), "deleted" | "deleting")
}

impl VpcEndpoint {
    async fn describe(&self, id: &str) -> Result<Option<Described>, ProviderError> {
        let described = self.0.ec2.describe_vpc_endpoints().vpc_endpoint_ids(id);
        Ok(found(described.send().await, ec2_not_found)?
            .and_then(|o| o.vpc_endpoints().iter().find(|e| !gone(e)).cloned()))
    }
}

#[async_trait]
impl Resource for VpcEndpoint {
    fn kind(&self) -> &'static str {
        VpcEndpointProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "vpc_id" | "service_name")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(e) = self.describe(id).await? else {
            return Ok(None);
        };
        let props = json!({
            "vpc_id": e.vpc_id(),
            "service_name": e.service_name(),
            "route_table_ids": super::props::ordered_like(
                e.route_table_ids().to_vec(),
                applied,
                "route_table_ids",
            ),
            "policy": match e.policy_document() {
                Some(d) => policy::parse(d)?,
                None => Value::Null,
            },
            "tags": tags::from_ec2(e.tags()),
        });
        Ok(Some(Live {
            props,
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = VpcEndpointProps::from_value(req.props)?;
        let out = self
            .0
            .ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .set_route_table_ids(Some(p.route_tables()?))
            .vpc_id(p.vpc_id)
            .service_name(p.service_name)
            .policy_document(p.policy.to_string())
            .client_token(req.token)
            .tag_specifications(tags::ec2_spec(ResourceType::VpcEndpoint, req.props))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .ok_or_else(|| ProviderError::Api("CreateVpcEndpoint returned no id".into()))?
            .to_string();
        wait::until("VPC endpoint to become available", READY, || async {
            Ok(self
                .describe(&id)
                .await?
                .filter(|e| state(e) == "available")
                .map(|_| ()))
        })
        .await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let (was, want) = (
            VpcEndpointProps::from_value(old)?,
            VpcEndpointProps::from_value(new)?,
        );
        let mut call = self.0.ec2.modify_vpc_endpoint().vpc_endpoint_id(id);
        let mut modify = false;
        if changed.iter().any(|f| f == "route_table_ids") {
            let (was, want) = (was.route_tables()?, want.route_tables()?);
            let add: Vec<String> = want.iter().filter(|r| !was.contains(r)).cloned().collect();
            let remove: Vec<String> = was.iter().filter(|r| !want.contains(r)).cloned().collect();
            call = call
                .set_add_route_table_ids(Some(add).filter(|v| !v.is_empty()))
                .set_remove_route_table_ids(Some(remove).filter(|v| !v.is_empty()));
            modify = true;
        }
        if changed.iter().any(|f| f == "policy") {
            call = call.policy_document(want.policy.to_string());
            modify = true;
        }
        if modify {
            call.send().await.map_err(classify)?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let deleting = self.0.ec2.delete_vpc_endpoints().vpc_endpoint_ids(id);
        let Some(o) = found(deleting.send().await, ec2_not_found)? else {
            return Ok(());
        };
        // DeleteVpcEndpoints answers per endpoint, an endpoint already gone among them.
        if let Some(err) = o.unsuccessful().first().and_then(|u| u.error()) {
            let code = err.code().unwrap_or_default();
            if !is_ec2_not_found_code(code) {
                return Err(ProviderError::Api(format!(
                    "{code}: {}",
                    err.message().unwrap_or_default()
                )));
            }
        }
        wait::until("VPC endpoint to be deleted", READY, || async {
            Ok(self.describe(id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_vpc_endpoints(),
            set_filters,
            vpc_endpoints,
            stack,
            address
        );
        Ok(tags::adopted(
            found
                .iter()
                .find(|e| !gone(e))
                .and_then(|e| e.vpc_endpoint_id()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::State;

    #[test]
    fn lowercase_states_are_understood() {
        let e = |s: &str| Described::builder().state(State::from(s)).build();
        assert_eq!(state(&e("available")), "available");
        assert_eq!(state(&e("Available")), "available");
        assert!(gone(&e("deleted")));
        assert!(!gone(&e("pending")));
    }
}
