//! `aws.vpc`: a new VPC. Changing its CIDR block forces a new VPC; DNS attributes and tags
//! change in place.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_one};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct Vpc(pub std::sync::Arc<AwsContext>);

/// The VPC's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcProps {
    /// The VPC's IPv4 range (`10.42.0.0/16`); its subnets are carved from it.
    pub cidr_block: String,
    /// Whether the Amazon-provided DNS server (the `.2` address) answers in the VPC.
    pub enable_dns_support: bool,
    /// Whether instances get public DNS host names (needed for EFS mount names).
    pub enable_dns_hostnames: bool,
}

typed!(VpcProps, "aws.vpc", "VPC");

/// A new VPC takes seconds to become available; a minute is generous.
const READY: Duration = Duration::from_secs(120);

/// Which DNS attributes a call sets: support, host names.
#[derive(Clone, Copy)]
struct DnsAttributes(bool, bool);

impl Vpc {
    /// Sets the DNS attributes `which` names to their values in `props`.
    async fn set_dns(
        &self,
        id: &str,
        which: DnsAttributes,
        props: &Value,
    ) -> Result<(), ProviderError> {
        let p = VpcProps::from_value(props)?;
        // EC2 takes one attribute per call.
        let flag = |on: bool| AttributeBooleanValue::builder().value(on).build();
        let call = || self.0.ec2.modify_vpc_attribute().vpc_id(id);
        let support = call().enable_dns_support(flag(p.enable_dns_support));
        let hostnames = call().enable_dns_hostnames(flag(p.enable_dns_hostnames));
        for (wanted, call) in [(which.0, support), (which.1, hostnames)] {
            if wanted {
                call.send().await.map_err(classify)?;
            }
        }
        Ok(())
    }

    async fn attribute(&self, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(name.clone())
            .send()
            .await
            .map_err(classify)?;
        let v = match name {
            VpcAttributeName::EnableDnsSupport => out.enable_dns_support().and_then(|a| a.value()),
            _ => out.enable_dns_hostnames().and_then(|a| a.value()),
        };
        Ok(v.unwrap_or(false))
    }
}

#[async_trait]
impl Resource for Vpc {
    fn kind(&self) -> &'static str {
        VpcProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "cidr_block"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(vpc) = ec2_one!(self.0.ec2.describe_vpcs().vpc_ids(id), vpcs) else {
            return Ok(None);
        };
        let (support, hostnames) = tokio::try_join!(
            self.attribute(id, VpcAttributeName::EnableDnsSupport),
            self.attribute(id, VpcAttributeName::EnableDnsHostnames),
        )?;
        let props = json!({
            "cidr_block": vpc.cidr_block(),
            "enable_dns_support": support,
            "enable_dns_hostnames": hostnames,
            "tags": tags::from_ec2(vpc.tags()),
        });
        Ok(Some(Live {
            props,
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = VpcProps::from_value(req.props)?;
        let out = self
            .0
            .ec2
            .create_vpc()
            .cidr_block(p.cidr_block)
            .tag_specifications(tags::ec2_spec(ResourceType::Vpc, req.props))
            .customize()
            .config_override(super::context::ec2_send_once())
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| ProviderError::Api("CreateVpc returned no id".into()))?
            .to_string();
        let ec2 = self.0.ec2.clone();
        wait::until("VPC to become available", READY, || {
            let (ec2, id) = (ec2.clone(), id.clone());
            async move {
                // Not found yet right after its create: EC2 is eventually consistent.
                let v = ec2_one!(ec2.describe_vpcs().vpc_ids(&id), vpcs);
                Ok(
                    v.filter(|v| v.state() == Some(&aws_sdk_ec2::types::VpcState::Available))
                        .map(|_| ()),
                )
            }
        })
        .await?;
        // Only what differs from a new (nondefault) VPC's: DNS support on, host names off
        // (https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html#vpc-dns-support).
        let p = VpcProps::from_value(req.props)?;
        let which = DnsAttributes(!p.enable_dns_support, p.enable_dns_hostnames);
        self.set_dns(&id, which, req.props).await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let named = |f: &str| changed.iter().any(|c| c == f);
        let which = DnsAttributes(named("enable_dns_support"), named("enable_dns_hostnames"));
        self.set_dns(id, which, new).await?;
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // The network interfaces of a load balancer or Lambda function deleted moments ago
        // keep the VPC busy for a while.
        let ec2 = &self.0.ec2;
        wait::delete_when_free("VPC", wait::DEPENDENCY_DRAIN, || {
            ec2.delete_vpc().vpc_id(id).send()
        })
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        // The crash may have come before the DNS attributes were set.
        self.set_dns(&adopted.id, DnsAttributes(true, true), props)
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
            self.0.ec2.describe_vpcs(),
            set_filters,
            vpcs,
            stack,
            address
        );
        Ok(tags::adopted(found.first().and_then(|v| v.vpc_id())))
    }
}
