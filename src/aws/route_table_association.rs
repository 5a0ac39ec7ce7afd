//! `aws.route_table_association`: ties a subnet to a route table. Any change needs a new
//! association (id = `rtbassoc-…`). Associations carry no tags: a crashed create is found
//! through its subnet, which synth names like the association (`aws.subnet.<name>` for
//! `aws.route_table_association.<name>`) and which does carry the address tag.

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, found};
use super::props::{Typed, typed};
use super::tags;
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct RouteTableAssociation(pub std::sync::Arc<AwsContext>);

/// The association's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTableAssociationProps {
    /// The route table the subnet's traffic follows.
    pub route_table_id: String,
    /// The subnet (at most one explicit association each).
    pub subnet_id: String,
}

typed!(
    RouteTableAssociationProps,
    "aws.route_table_association",
    "route table association"
);

const KIND: &str = RouteTableAssociationProps::KIND;

impl RouteTableAssociation {
    /// The id of the explicit (non-main) association of `subnet`.
    async fn of_subnet(&self, subnet: &str) -> Result<Option<String>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_route_tables()
            .filters(
                Filter::builder()
                    .name("association.subnet-id")
                    .values(subnet)
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .route_tables()
            .iter()
            .flat_map(|rt| rt.associations())
            .find(|a| a.subnet_id() == Some(subnet) && a.main() != Some(true))
            .and_then(|a| a.route_table_association_id())
            .map(str::to_string))
    }
}

#[async_trait]
impl Resource for RouteTableAssociation {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        true
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_route_tables()
            .filters(
                Filter::builder()
                    .name("association.route-table-association-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        let assoc = out
            .route_tables()
            .iter()
            .flat_map(|rt| rt.associations())
            .find(|a| a.route_table_association_id() == Some(id));
        Ok(assoc.map(|a| Live {
            props: json!({"route_table_id": a.route_table_id(), "subnet_id": a.subnet_id()}),
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = RouteTableAssociationProps::from_value(req.props)?;
        let (rt, subnet) = (p.route_table_id.as_str(), p.subnet_id.as_str());
        let out = self
            .0
            .ec2
            .associate_route_table()
            .route_table_id(rt)
            .subnet_id(subnet)
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .association_id()
            .ok_or_else(|| ProviderError::Api("AssociateRouteTable returned no id".into()))?
            .to_string();
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        found(
            self.0
                .ec2
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await,
            ec2_not_found,
        )
        .map(|_| ())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let Some(name) = address.strip_prefix(&format!("{KIND}.")) else {
            return Ok(None);
        };
        let subnets = self
            .0
            .ec2
            .describe_subnets()
            .set_filters(Some(tags::ec2_address_filters(
                stack,
                &format!("aws.subnet.{name}"),
            )))
            .send()
            .await
            .map_err(classify)?;
        let Some(subnet) = subnets.subnets().first().and_then(|s| s.subnet_id()) else {
            return Ok(None);
        };
        Ok(self.of_subnet(subnet).await?.map(|id| Created {
            id,
            outputs: Outputs::new(),
        }))
    }
}
