//! `aws.route_table`: a route table in the stack's VPC with the routes the stack declares
//! (`routes: [{destination_cidr_block, gateway_id | nat_gateway_id}]`). Routes change in place. Only declared
//! routes are managed: the `local` route and routes others add (e.g. a VPC endpoint's
//! prefix-list route) are neither read back nor removed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, code, ec2_not_found, ec2_one, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct RouteTable(pub std::sync::Arc<AwsContext>);

/// The table's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTableProps {
    /// The VPC the table belongs to.
    pub vpc_id: String,
    /// The routes the stack manages in it.
    pub routes: Vec<Route>,
}

typed!(RouteTableProps, "aws.route_table", "route table");

/// One declared route: traffic for a destination range goes to one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// The IPv4 range the route matches (`0.0.0.0/0` for the way out).
    pub destination_cidr_block: String,
    #[serde(flatten)]
    pub target: Target,
}

/// Where a route sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An internet gateway (`igw-…`).
    GatewayId(String),
    /// A NAT gateway (`nat-…`).
    NatGatewayId(String),
}

/// destination CIDR → target, as declared in `props`: none before a table's first create,
/// and a route read back with a target no stack declares (a null gateway) is not ours.
fn declared(props: &Value) -> BTreeMap<String, Target> {
    let routes = props.get("routes").and_then(Value::as_array);
    routes
        .into_iter()
        .flatten()
        .filter_map(|r| serde_json::from_value::<Route>(r.clone()).ok())
        .map(|r| (r.destination_cidr_block, r.target))
        .collect()
}

/// A route list in the property's shape, sorted by destination; a target no stack declares
/// reads as a null gateway.
fn routes_value(routes: &BTreeMap<String, Option<Target>>) -> Value {
    Value::Array(
        routes
            .iter()
            .map(|(d, t)| match t {
                Some(target) => json!(Route {
                    destination_cidr_block: d.clone(),
                    target: target.clone(),
                }),
                None => json!({"destination_cidr_block": d, "gateway_id": null}),
            })
            .collect(),
    )
}

/// Points a CreateRoute or ReplaceRoute at `target`.
macro_rules! to_target {
    ($call:expr, $target:expr) => {{
        match $target {
            Target::NatGatewayId(id) => $call.nat_gateway_id(id),
            Target::GatewayId(id) => $call.gateway_id(id),
        }
    }};
}

impl RouteTable {
    /// Waits until a new table can be described (EC2 eventual consistency) and returns it:
    /// its routes are what the routes are synced from, without describing it again.
    async fn visible(&self, id: &str) -> Result<aws_sdk_ec2::types::RouteTable, ProviderError> {
        let rt = self.0.clone();
        wait::until(
            "route table to become visible",
            std::time::Duration::from_secs(60),
            || {
                let (rt, id) = (rt.clone(), id.to_string());
                async move { RouteTable(rt).describe(&id).await }
            },
        )
        .await
    }

    async fn describe(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::RouteTable>, ProviderError> {
        Ok(ec2_one!(
            self.0.ec2.describe_route_tables().route_table_ids(id),
            route_tables
        ))
    }

    /// Live IPv4 routes by destination (`None` for targets no stack declares).
    fn live_routes(rt: &aws_sdk_ec2::types::RouteTable) -> BTreeMap<String, Option<Target>> {
        rt.routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local"))
            .filter_map(|r| {
                let target = match (r.gateway_id(), r.nat_gateway_id()) {
                    (Some(g), _) => Some(Target::GatewayId(g.to_string())),
                    (None, Some(n)) => Some(Target::NatGatewayId(n.to_string())),
                    (None, None) => None,
                };
                Some((r.destination_cidr_block()?.to_string(), target))
            })
            .collect()
    }

    /// Brings the declared routes of table `id`, as `table` describes it, from `old` to `new`,
    /// leaving routes nobody declared alone.
    async fn sync_routes(
        &self,
        id: &str,
        table: &aws_sdk_ec2::types::RouteTable,
        old: &Value,
        new: &Value,
    ) -> Result<(), ProviderError> {
        let live = Self::live_routes(table);
        let want = declared(new);
        let ec2 = &self.0.ec2;
        for (dest, target) in &want {
            let replace = match live.get(dest) {
                Some(Some(have)) => have != target,
                Some(None) => true,
                None => {
                    let call = ec2
                        .create_route()
                        .route_table_id(id)
                        .destination_cidr_block(dest);
                    let sent = to_target!(call, target).send().await;
                    match sent {
                        Ok(_) => false,
                        // A resent create whose first answer was lost (or a route the
                        // listing did not show yet): point it where it must go.
                        Err(e) if code(&e) == Some("RouteAlreadyExists") => true,
                        Err(e) => return Err(classify(e)),
                    }
                }
            };
            if replace {
                let call = ec2
                    .replace_route()
                    .route_table_id(id)
                    .destination_cidr_block(dest);
                to_target!(call, target).send().await.map_err(classify)?;
            }
        }
        for dest in declared(old).keys() {
            if want.contains_key(dest) || !live.contains_key(dest) {
                continue;
            }
            let route = ec2.delete_route().route_table_id(id);
            found(
                route.destination_cidr_block(dest).send().await,
                ec2_not_found,
            )?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for RouteTable {
    fn kind(&self) -> &'static str {
        RouteTableProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "vpc_id"
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(rt) = self.describe(id).await? else {
            return Ok(None);
        };
        // Only destinations we applied are ours to report; a missing one reads as absent.
        let ours = declared(applied);
        let routes: BTreeMap<String, Option<Target>> = Self::live_routes(&rt)
            .into_iter()
            .filter(|(d, _)| ours.contains_key(d))
            .collect();
        Ok(Some(Live {
            props: json!({
                "vpc_id": rt.vpc_id(),
                "routes": routes_value(&routes),
                "tags": tags::from_ec2(rt.tags()),
            }),
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let out = self
            .0
            .ec2
            .create_route_table()
            .vpc_id(RouteTableProps::from_value(req.props)?.vpc_id)
            .tag_specifications(tags::ec2_spec(ResourceType::RouteTable, req.props))
            .customize()
            .config_override(super::context::ec2_send_once())
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .route_table()
            .and_then(|r| r.route_table_id())
            .ok_or_else(|| ProviderError::Api("CreateRouteTable returned no id".into()))?
            .to_string();
        let table = self.visible(&id).await?;
        self.sync_routes(&id, &table, &Value::Null, req.props)
            .await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "routes") {
            let Some(table) = self.describe(id).await? else {
                return Err(ProviderError::NotFound { what: id.into() });
            };
            self.sync_routes(id, &table, old, new).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let ec2 = &self.0.ec2;
        wait::delete_when_free("route table", wait::DEPENDENCY_DRAIN, || {
            ec2.delete_route_table().route_table_id(id).send()
        })
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        // The crash (or a lost answer) may have come before the routes were added.
        let table = self.visible(&adopted.id).await?;
        self.sync_routes(&adopted.id, &table, &Value::Null, props)
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
            self.0.ec2.describe_route_tables(),
            set_filters,
            route_tables,
            stack,
            address
        );
        Ok(tags::adopted(
            found.first().and_then(|r| r.route_table_id()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_routes_are_keyed_by_destination() {
        let props = json!({"routes": [
            {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
            {"destination_cidr_block": "10.1.0.0/16", "gateway_id": "igw-2"},
        ]});
        let d = declared(&props);
        assert_eq!(d["0.0.0.0/0"], Target::GatewayId("igw-1".to_string()));
        assert_eq!(d.len(), 2);
        assert!(declared(&Value::Null).is_empty());
    }

    #[test]
    fn read_shape_matches_the_declared_shape() {
        let mut live = BTreeMap::new();
        live.insert(
            "0.0.0.0/0".to_string(),
            Some(Target::GatewayId("igw-1".to_string())),
        );
        live.insert(
            "10.9.0.0/16".to_string(),
            Some(Target::NatGatewayId("nat-1".to_string())),
        );
        live.insert("10.8.0.0/16".to_string(), None);
        let props = json!({"routes": routes_value(&live)});
        assert_eq!(
            props["routes"],
            json!([
                {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"},
                {"destination_cidr_block": "10.8.0.0/16", "gateway_id": null},
                {"destination_cidr_block": "10.9.0.0/16", "nat_gateway_id": "nat-1"},
            ])
        );
        assert_eq!(
            declared(&props).len(),
            2,
            "what read returns declares the same routes"
        );
    }
}
