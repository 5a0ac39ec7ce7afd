//! `aws.eip`: an Elastic IP address in the VPC domain, for a NAT gateway. Only tags change in
//! place. AllocateAddress takes no idempotency token, so it is sent once and a lost answer is
//! found again by the address tag.

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, ec2_one};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct Eip(pub std::sync::Arc<AwsContext>);

/// The address's properties: none but its tags (always in the VPC domain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EipProps {}

typed!(EipProps, "aws.eip", "Elastic IP");

/// How long a release waits for the NAT gateway that held the address to let it go: AWS
/// deletes a NAT gateway in about a minute, and refuses the release until then.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

fn outputs(a: &Address) -> Outputs {
    let mut o = Outputs::new();
    o.insert("allocation_id".into(), json!(a.allocation_id()));
    o.insert("public_ip".into(), json!(a.public_ip()));
    o
}

impl Eip {
    async fn describe(&self, id: &str) -> Result<Option<Address>, ProviderError> {
        Ok(ec2_one!(
            self.0.ec2.describe_addresses().allocation_ids(id),
            addresses
        ))
    }
}

#[async_trait]
impl Resource for Eip {
    fn kind(&self) -> &'static str {
        EipProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        false
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        Ok(self.describe(id).await?.map(|a| Live {
            props: json!({"tags": tags::from_ec2(a.tags())}),
            outputs: outputs(&a),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let out = self
            .0
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tags::ec2_spec(ResourceType::ElasticIp, req.props))
            .customize()
            .config_override(super::context::ec2_send_once())
            .send()
            .await
            .map_err(classify)?;
        let id = out.allocation_id().ok_or_else(|| {
            ProviderError::Api("AllocateAddress returned no allocation id".into())
        })?;
        let mut o = Outputs::new();
        o.insert("allocation_id".into(), json!(id));
        o.insert("public_ip".into(), json!(out.public_ip()));
        Ok(Created {
            id: id.to_string(),
            outputs: o,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        tags::ec2_update(&self.0.ec2, id, old, new).await?;
        let a = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                what: id.to_string(),
            })?;
        Ok(outputs(&a))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let ec2 = &self.0.ec2;
        // While the NAT gateway that held it is still deleting, AWS answers the release with
        // AuthFailure ("You do not have permission to access the specified resource",
        // terraform-provider-aws #11385, #13763) or InvalidIPAddress.InUse (the ReleaseAddress
        // API reference, for an address still associated).
        wait::delete_while_busy(
            "Elastic IP",
            RELEASE_WAIT,
            || ec2.release_address().allocation_id(id).send(),
            ec2_not_found,
            |e| matches!(e.code(), Some("AuthFailure" | "InvalidIPAddress.InUse")),
        )
        .await
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_addresses(),
            set_filters,
            addresses,
            stack,
            address
        );
        Ok(found.first().and_then(|a| {
            Some(Created {
                id: a.allocation_id()?.to_string(),
                outputs: outputs(a),
            })
        }))
    }
}
