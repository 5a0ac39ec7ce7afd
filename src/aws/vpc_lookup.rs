//! `aws.vpc_lookup`: a VPC wxinfra uses but does not own — the region's default VPC
//! (`{"default": true}`: its default-for-AZ subnets and main route table) or an existing one
//! (`{"default": false, "vpc_id", "subnet_ids"}`: checked to exist and belong together).
//! Create is the lookup, read re-checks it, delete only forgets: wxinfra never deletes a VPC
//! it did not create. Outputs: `id`, `subnet_ids`, `route_table_ids`.

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_one};
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct VpcLookup(pub std::sync::Arc<AwsContext>);

/// What to look up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcLookupProps {
    /// The region's default VPC, with its default-for-AZ subnets.
    pub default: bool,
    /// Otherwise this VPC (`vpc-…`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// ...with these of its subnets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<String>,
}

typed!(VpcLookupProps, "aws.vpc_lookup", "VPC lookup");

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// What a lookup found.
struct Found {
    vpc_id: String,
    subnet_ids: Vec<String>,
    route_table_ids: Vec<String>,
}

impl Found {
    fn outputs(&self) -> Outputs {
        let mut o = Outputs::new();
        o.insert("subnet_ids".into(), json!(self.subnet_ids));
        o.insert("route_table_ids".into(), json!(self.route_table_ids));
        o
    }
}

impl VpcLookup {
    async fn default_vpc(&self) -> Result<Option<Found>, ProviderError> {
        let ec2 = &self.0.ec2;
        let vpcs = ec2
            .describe_vpcs()
            .filters(filter("is-default", "true"))
            .send()
            .await
            .map_err(classify)?;
        let Some(vpc_id) = vpcs.vpcs().first().and_then(|v| v.vpc_id()) else {
            return Ok(None);
        };
        let subnets = ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("default-for-az", "true"))
            .send()
            .await
            .map_err(classify)?;
        let mut subnets: Vec<(String, String)> = subnets
            .subnets()
            .iter()
            .filter_map(|s| {
                Some((
                    s.availability_zone()?.to_string(),
                    s.subnet_id()?.to_string(),
                ))
            })
            .collect();
        subnets.sort();
        let main = ec2
            .describe_route_tables()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("association.main", "true"))
            .send()
            .await
            .map_err(classify)?;
        Ok(Some(Found {
            vpc_id: vpc_id.to_string(),
            subnet_ids: subnets.into_iter().map(|(_, s)| s).collect(),
            route_table_ids: main
                .route_tables()
                .iter()
                .filter_map(|r| r.route_table_id().map(str::to_string))
                .collect(),
        }))
    }

    /// The given VPC and subnets, or `None` when the VPC is gone. Subnets that are gone or in
    /// another VPC are an error naming them.
    async fn existing(
        &self,
        vpc_id: &str,
        wanted: &[String],
    ) -> Result<Option<Found>, ProviderError> {
        let ec2 = &self.0.ec2;
        if ec2_one!(ec2.describe_vpcs().vpc_ids(vpc_id), vpcs).is_none() {
            return Ok(None);
        }
        let subnets = ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(classify)?;
        let in_vpc: Vec<&str> = subnets
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id())
            .collect();
        let foreign: Vec<&str> = wanted
            .iter()
            .map(String::as_str)
            .filter(|s| !in_vpc.contains(s))
            .collect();
        if !foreign.is_empty() {
            return Err(ProviderError::Validation(format!(
                "subnet(s) {} do not exist in {vpc_id}; `network.subnet_ids` must name subnets of `network.vpc_id`",
                foreign.join(", ")
            )));
        }
        // Each subnet routes through its explicit route table, or the VPC's main one.
        let tables = ec2
            .describe_route_tables()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(classify)?;
        let mut route_table_ids: Vec<String> = Vec::new();
        for subnet in wanted {
            let explicit = tables.route_tables().iter().find(|rt| {
                rt.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet.as_str()))
            });
            let main = || {
                tables
                    .route_tables()
                    .iter()
                    .find(|rt| rt.associations().iter().any(|a| a.main() == Some(true)))
            };
            if let Some(id) = explicit.or_else(main).and_then(|rt| rt.route_table_id())
                && !route_table_ids.iter().any(|r| r == id)
            {
                route_table_ids.push(id.to_string());
            }
        }
        Ok(Some(Found {
            vpc_id: vpc_id.to_string(),
            subnet_ids: wanted.to_vec(),
            route_table_ids,
        }))
    }

    async fn lookup(&self, p: &VpcLookupProps) -> Result<Option<Found>, ProviderError> {
        if p.default {
            return self.default_vpc().await;
        }
        let vpc_id = p.vpc_id.as_deref().unwrap_or_default();
        self.existing(vpc_id, &p.subnet_ids).await
    }
}

#[async_trait]
impl Resource for VpcLookup {
    fn kind(&self) -> &'static str {
        VpcLookupProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "default" | "vpc_id")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let p = VpcLookupProps::from_value(applied)?;
        let Some(found) = self.lookup(&p).await? else {
            return Ok(None);
        };
        // A different default VPC (deleted and recreated) is a different resource.
        if found.vpc_id != id {
            return Ok(None);
        }
        let props = if p.default {
            json!({"default": true})
        } else {
            json!({"default": false, "vpc_id": found.vpc_id, "subnet_ids": found.subnet_ids})
        };
        Ok(Some(Live {
            outputs: found.outputs(),
            props,
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = VpcLookupProps::from_value(req.props)?;
        let found = self.lookup(&p).await?.ok_or_else(|| {
            if p.default {
                ProviderError::Validation(format!(
                    "region {} has no default VPC; use `network.vpc: new` or name one with `vpc: existing`",
                    self.0.region
                ))
            } else {
                ProviderError::Validation(format!(
                    "VPC {} does not exist in region {}",
                    p.vpc_id.as_deref().unwrap_or_default(),
                    self.0.region
                ))
            }
        })?;
        Ok(Created {
            outputs: found.outputs(),
            id: found.vpc_id,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        let found = self
            .lookup(&VpcLookupProps::from_value(new)?)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                what: "the looked-up VPC".into(),
            })?;
        Ok(found.outputs())
    }

    async fn delete(&self, _id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // Not ours: forgetting it is all a destroy does.
        Ok(())
    }

    // No orphan search (the default): a lookup creates nothing, so an interrupted one left
    // nothing behind.
}
