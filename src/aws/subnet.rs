//! `aws.subnet`: a public subnet in the `az_index`-th available AZ of the region (AZs in name
//! order, resolved here so synth needs no network). A new VPC, CIDR block or AZ needs a new
//! subnet; `map_public_ip_on_launch` and tags change in place.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, SubnetState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_one};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The resource, with the region's zones once a create or read has asked for them: every
/// subnet of a run needs the same list.
pub struct Subnet(
    pub std::sync::Arc<AwsContext>,
    tokio::sync::OnceCell<Vec<String>>,
);

const READY: Duration = Duration::from_secs(120);

/// The subnet's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetProps {
    /// The VPC the subnet is in.
    pub vpc_id: String,
    /// The subnet's IPv4 range, inside the VPC's.
    pub cidr_block: String,
    /// Which availability zone: the i-th available zone of the region in name order, so
    /// synth picks zones without asking AWS.
    pub az_index: usize,
    /// Whether instances launched here get a public IPv4 address.
    pub map_public_ip_on_launch: bool,
}

typed!(SubnetProps, "aws.subnet", "subnet");

impl Subnet {
    pub fn new(ctx: std::sync::Arc<AwsContext>) -> Self {
        Subnet(ctx, tokio::sync::OnceCell::new())
    }

    /// The subnet once it is available; right after its create it may not be describable
    /// yet (EC2 eventual consistency).
    async fn available(&self, id: &str) -> Result<aws_sdk_ec2::types::Subnet, ProviderError> {
        let ec2 = self.0.ec2.clone();
        wait::until("subnet to become available", READY, || {
            let (ec2, id) = (ec2.clone(), id.to_string());
            async move {
                // Not found yet right after its create: EC2 is eventually consistent.
                let s = ec2_one!(ec2.describe_subnets().subnet_ids(&id), subnets);
                Ok(s.filter(|s| s.state() == Some(&SubnetState::Available)))
            }
        })
        .await
    }

    /// Names of the region's available (non-local, non-wavelength) AZs, sorted; asked once
    /// per run.
    async fn zones(&self) -> Result<&[String], ProviderError> {
        let zones = self.1.get_or_try_init(|| self.ask_zones()).await?;
        Ok(zones)
    }

    async fn ask_zones(&self) -> Result<Vec<String>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_availability_zones()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("state")
                    .values("available")
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        let mut names: Vec<String> = out
            .availability_zones()
            .iter()
            .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn set_public_ip(&self, id: &str, on: bool) -> Result<(), ProviderError> {
        self.0
            .ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The attribute a create sets after the subnet exists.
    async fn finish(
        &self,
        s: &aws_sdk_ec2::types::Subnet,
        p: &SubnetProps,
    ) -> Result<(), ProviderError> {
        let want = p.map_public_ip_on_launch;
        if s.map_public_ip_on_launch().unwrap_or(false) != want {
            self.set_public_ip(s.subnet_id().unwrap_or_default(), want)
                .await?;
        }
        Ok(())
    }

    fn outputs(s: &aws_sdk_ec2::types::Subnet) -> Outputs {
        let mut o = Outputs::new();
        o.insert("availability_zone".into(), json!(s.availability_zone()));
        o.insert("arn".into(), json!(s.subnet_arn()));
        o
    }
}

#[async_trait]
impl Resource for Subnet {
    fn kind(&self) -> &'static str {
        SubnetProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "vpc_id" | "cidr_block" | "az_index")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(s) = ec2_one!(self.0.ec2.describe_subnets().subnet_ids(id), subnets) else {
            return Ok(None);
        };
        let zones = self.zones().await?;
        // An AZ that is no longer listed as available maps to null: a replacement, not a guess.
        let az_index = s
            .availability_zone()
            .and_then(|az| zones.iter().position(|z| z == az));
        Ok(Some(Live {
            props: json!({
                "vpc_id": s.vpc_id(),
                "cidr_block": s.cidr_block(),
                "az_index": az_index,
                "map_public_ip_on_launch": s.map_public_ip_on_launch().unwrap_or(false),
                "tags": tags::from_ec2(s.tags()),
            }),
            outputs: Self::outputs(&s),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = SubnetProps::from_value(req.props)?;
        let zones = self.zones().await?;
        let index = p.az_index;
        let az = zones.get(index).ok_or_else(|| {
            ProviderError::Validation(format!(
                "the stack asks for {} availability zones but region {} has {} available ({})",
                index + 1,
                self.0.region,
                zones.len(),
                zones.join(", ")
            ))
        })?;
        let out = self
            .0
            .ec2
            .create_subnet()
            .vpc_id(&p.vpc_id)
            .cidr_block(&p.cidr_block)
            .availability_zone(az)
            .tag_specifications(tags::ec2_spec(ResourceType::Subnet, req.props))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| ProviderError::Api("CreateSubnet returned no id".into()))?
            .to_string();
        let subnet = self.available(&id).await?;
        self.finish(&subnet, &p).await?;
        Ok(Created {
            outputs: Self::outputs(&subnet),
            id,
        })
    }

    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        // The crash (or a lost answer) may have come between create and the attribute call.
        let subnet = self.available(&adopted.id).await?;
        self.finish(&subnet, &SubnetProps::from_value(props)?)
            .await?;
        Ok(adopted)
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "map_public_ip_on_launch") {
            let on = SubnetProps::from_value(new)?.map_public_ip_on_launch;
            self.set_public_ip(id, on).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(self
            .read(id, new)
            .await?
            .map(|l| l.outputs)
            .unwrap_or_default())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let ec2 = &self.0.ec2;
        super::lambda_enis::clear(ec2, super::lambda_enis::Holder::Subnet(id)).await?;
        wait::delete_when_free("subnet", wait::DEPENDENCY_DRAIN, || {
            ec2.delete_subnet().subnet_id(id).send()
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
            self.0.ec2.describe_subnets(),
            set_filters,
            subnets,
            stack,
            address
        );
        Ok(found.first().and_then(|s| {
            Some(Created {
                id: s.subnet_id()?.to_string(),
                outputs: Self::outputs(s),
            })
        }))
    }
}
