//! `aws.internet_gateway`: an internet gateway attached to the stack's VPC. Moving it to
//! another VPC means a new gateway; tags change in place. Deleting detaches it first.

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::ResourceType;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, code, ec2_not_found, ec2_one};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct InternetGateway(pub std::sync::Arc<AwsContext>);

/// The gateway's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetGatewayProps {
    /// The VPC the gateway is attached to (one gateway per VPC).
    pub vpc_id: String,
}

typed!(
    InternetGatewayProps,
    "aws.internet_gateway",
    "internet gateway"
);

impl InternetGateway {
    async fn describe(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::InternetGateway>, ProviderError> {
        Ok(ec2_one!(
            self.0
                .ec2
                .describe_internet_gateways()
                .internet_gateway_ids(id),
            internet_gateways
        ))
    }

    /// Attaches `id` to `vpc` unless it already is (a resumed create may have done it).
    async fn attach(&self, id: &str, vpc: &str) -> Result<(), ProviderError> {
        let attached = self
            .describe(id)
            .await?
            .is_some_and(|g| g.attachments().iter().any(|a| a.vpc_id() == Some(vpc)));
        if attached {
            return Ok(());
        }
        let sent = self
            .0
            .ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // A resent attach whose first answer was lost: done, if to this VPC.
            Err(e) if code(&e) == Some("Resource.AlreadyAssociated") => {
                let ours = self
                    .describe(id)
                    .await?
                    .is_some_and(|g| g.attachments().iter().any(|a| a.vpc_id() == Some(vpc)));
                if ours { Ok(()) } else { Err(classify(e)) }
            }
            Err(e) => Err(classify(e)),
        }
    }
}

#[async_trait]
impl Resource for InternetGateway {
    fn kind(&self) -> &'static str {
        InternetGatewayProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "vpc_id"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.describe(id).await? else {
            return Ok(None);
        };
        // Detached behind our back reads as `vpc_id: null`, which plans a replacement.
        let vpc = g.attachments().iter().find_map(|a| a.vpc_id());
        Ok(Some(Live {
            props: json!({"vpc_id": vpc, "tags": tags::from_ec2(g.tags())}),
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let out = self
            .0
            .ec2
            .create_internet_gateway()
            .tag_specifications(tags::ec2_spec(ResourceType::InternetGateway, req.props))
            .customize()
            .config_override(super::context::ec2_send_once())
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| ProviderError::Api("CreateInternetGateway returned no id".into()))?
            .to_string();
        self.attach(&id, &InternetGatewayProps::from_value(req.props)?.vpc_id)
            .await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let Some(g) = self.describe(id).await? else {
            return Ok(());
        };
        let ec2 = &self.0.ec2;
        // Detaching fails while public addresses are still mapped in the VPC (EC2 instances,
        // load balancer nodes being torn down): retry that like any dependency.
        // Detached already is done (a resent detach whose first answer was lost).
        for vpc in g.attachments().iter().filter_map(|a| a.vpc_id()) {
            wait::delete_while_busy(
                "internet gateway detach",
                wait::DEPENDENCY_DRAIN,
                || {
                    ec2.detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(vpc)
                        .send()
                },
                |e| ec2_not_found(e) || e.code() == Some("Gateway.NotAttached"),
                super::errors::dependency_violation,
            )
            .await?;
        }
        wait::delete_when_free("internet gateway", wait::DEPENDENCY_DRAIN, || {
            ec2.delete_internet_gateway().internet_gateway_id(id).send()
        })
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        // The crash may have come between create and attach.
        self.attach(
            &adopted.id,
            &InternetGatewayProps::from_value(props)?.vpc_id,
        )
        .await?;
        Ok(adopted)
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_internet_gateways(),
            set_filters,
            internet_gateways,
            stack,
            address
        );
        Ok(tags::adopted(
            found.first().and_then(|g| g.internet_gateway_id()),
        ))
    }
}
