//! `aws.nat_gateway`: a public NAT gateway in a public subnet with an Elastic IP, the way out
//! for private compute subnets. A new subnet or address means a new gateway; tags change in
//! place. Create waits until it is `available`, delete until it is `deleted`: the address and
//! the internet gateway cannot be let go before.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGateway as Gateway, NatGatewayState, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, ec2_one, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct NatGateway(pub std::sync::Arc<AwsContext>);

/// The gateway's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGatewayProps {
    /// The public subnet the gateway sits in.
    pub subnet_id: String,
    /// The Elastic IP (`eipalloc-…`) its traffic leaves from.
    pub allocation_id: String,
}

typed!(NatGatewayProps, "aws.nat_gateway", "NAT gateway");

/// Terraform's bounds (aws_nat_gateway: create 10 minutes, delete 30); AWS takes one to two
/// minutes for either.
const CREATE_WAIT: Duration = Duration::from_secs(600);
const DELETE_WAIT: Duration = Duration::from_secs(1800);

fn outputs(id: &str) -> Outputs {
    let mut o = Outputs::new();
    o.insert("id".into(), json!(id));
    o
}

/// A gateway that is, or is becoming, usable; `failed` and `deleted` ones linger in
/// descriptions for about an hour and count as gone.
fn live(g: &Gateway) -> bool {
    matches!(
        g.state(),
        Some(NatGatewayState::Pending | NatGatewayState::Available)
    )
}

impl NatGateway {
    async fn describe(&self, id: &str) -> Result<Option<Gateway>, ProviderError> {
        Ok(ec2_one!(
            self.0.ec2.describe_nat_gateways().nat_gateway_ids(id),
            nat_gateways
        ))
    }

    /// Waits for `available`; a gateway AWS gave up on (`failed`, e.g. "Gateway.NotAttached:
    /// Network vpc-… has no Internet gateway attached") is an error carrying AWS's reason.
    async fn available(&self, id: &str) -> Result<(), ProviderError> {
        wait::until("NAT gateway to become available", CREATE_WAIT, || async {
            let Some(g) = self.describe(id).await? else {
                // Not visible yet (EC2 eventual consistency).
                return Ok(None);
            };
            match g.state() {
                Some(NatGatewayState::Available) => Ok(Some(())),
                Some(NatGatewayState::Failed | NatGatewayState::Deleted) => {
                    Err(ProviderError::Api(format!(
                        "NAT gateway {id} failed: {}: {}",
                        g.failure_code().unwrap_or("unknown"),
                        g.failure_message().unwrap_or("(no message)")
                    )))
                }
                _ => Ok(None),
            }
        })
        .await
    }
}

#[async_trait]
impl Resource for NatGateway {
    fn kind(&self) -> &'static str {
        NatGatewayProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "subnet_id" | "allocation_id")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.describe(id).await?.filter(live) else {
            return Ok(None);
        };
        let allocation = g
            .nat_gateway_addresses()
            .iter()
            .find_map(|a| a.allocation_id());
        Ok(Some(Live {
            props: json!({
                "subnet_id": g.subnet_id(),
                "allocation_id": allocation,
                "tags": tags::from_ec2(g.tags()),
            }),
            outputs: outputs(id),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = NatGatewayProps::from_value(req.props)?;
        // The client token makes a resent create return the first one's gateway.
        let out = self
            .0
            .ec2
            .create_nat_gateway()
            .subnet_id(p.subnet_id)
            .allocation_id(p.allocation_id)
            .client_token(req.token)
            .tag_specifications(tags::ec2_spec(ResourceType::Natgateway, req.props))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .nat_gateway()
            .and_then(|g| g.nat_gateway_id())
            .ok_or_else(|| ProviderError::Api("CreateNatGateway returned no id".into()))?
            .to_string();
        self.available(&id).await?;
        Ok(Created {
            outputs: outputs(&id),
            id,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        tags::ec2_update(&self.0.ec2, id, old, new).await?;
        Ok(outputs(id))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let deleting = self.0.ec2.delete_nat_gateway().nat_gateway_id(id);
        if found(deleting.send().await, ec2_not_found)?.is_none() {
            return Ok(());
        }
        // Its address stays mapped until `deleted`: releasing the Elastic IP or detaching the
        // internet gateway before then is refused.
        wait::gone("NAT gateway to be deleted", DELETE_WAIT, || async {
            Ok(self
                .describe(id)
                .await?
                .filter(|g| g.state() != Some(&NatGatewayState::Deleted)))
        })
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        _props: &Value,
    ) -> Result<Created, ProviderError> {
        self.available(&adopted.id).await?;
        Ok(adopted)
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_nat_gateways(),
            set_filter,
            nat_gateways,
            stack,
            address
        );
        Ok(found
            .iter()
            .filter(|g| live(g))
            .find_map(|g| g.nat_gateway_id())
            .map(|id| Created {
                id: id.to_string(),
                outputs: outputs(id),
            }))
    }
}
