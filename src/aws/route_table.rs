//! `aws.route_table`: a route table in the stack's VPC with the routes the stack declares
//! (`routes: [{destination_cidr_block, gateway_id}]`). Routes change in place. Only declared
//! routes are managed: the `local` route and routes others add (e.g. a VPC endpoint's
//! prefix-list route) are neither read back nor removed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, code, is_ec2_not_found};
use super::{tags, wait};
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct RouteTable(pub std::sync::Arc<AwsContext>);

/// destination CIDR → gateway id, as declared in a `routes` property.
fn declared(props: &Value) -> BTreeMap<String, String> {
    props["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["destination_cidr_block"].as_str()?.to_string(),
                r["gateway_id"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// A route list in the property's shape, sorted by destination.
fn routes_value(routes: &BTreeMap<String, Option<String>>) -> Value {
    Value::Array(
        routes
            .iter()
            .map(|(d, g)| json!({"destination_cidr_block": d, "gateway_id": g}))
            .collect(),
    )
}

impl RouteTable {
    /// Waits until a new table can be described (EC2 eventual consistency).
    async fn visible(&self, id: &str) -> Result<(), ProviderError> {
        let rt = self.0.clone();
        wait::until(
            "route table to become visible",
            std::time::Duration::from_secs(60),
            || {
                let (rt, id) = (rt.clone(), id.to_string());
                async move { Ok(RouteTable(rt).describe(&id).await?.map(|_| ())) }
            },
        )
        .await
    }

    async fn describe(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::RouteTable>, ProviderError> {
        match self
            .0
            .ec2
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.route_tables().first().cloned()),
            Err(e) if is_ec2_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Live IPv4 routes by destination (target: the gateway id, `None` for other targets).
    fn live_routes(rt: &aws_sdk_ec2::types::RouteTable) -> BTreeMap<String, Option<String>> {
        rt.routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local"))
            .filter_map(|r| {
                Some((
                    r.destination_cidr_block()?.to_string(),
                    r.gateway_id().map(str::to_string),
                ))
            })
            .collect()
    }

    /// Brings the declared routes from `old` to `new`, leaving routes nobody declared alone.
    async fn sync_routes(&self, id: &str, old: &Value, new: &Value) -> Result<(), ProviderError> {
        let live = match self.describe(id).await? {
            Some(rt) => Self::live_routes(&rt),
            None => return Err(ProviderError::NotFound { what: id.into() }),
        };
        let want = declared(new);
        let ec2 = &self.0.ec2;
        for (dest, gw) in &want {
            let replace = match live.get(dest) {
                Some(Some(have)) => have != gw,
                Some(None) => true,
                None => {
                    let sent = ec2
                        .create_route()
                        .route_table_id(id)
                        .destination_cidr_block(dest)
                        .gateway_id(gw)
                        .send()
                        .await;
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
                ec2.replace_route()
                    .route_table_id(id)
                    .destination_cidr_block(dest)
                    .gateway_id(gw)
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        for dest in declared(old).keys() {
            if want.contains_key(dest) || !live.contains_key(dest) {
                continue;
            }
            match ec2
                .delete_route()
                .route_table_id(id)
                .destination_cidr_block(dest)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_ec2_not_found(&e) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for RouteTable {
    fn kind(&self) -> &'static str {
        "aws.route_table"
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
        let routes: BTreeMap<String, Option<String>> = Self::live_routes(&rt)
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
            .vpc_id(req.props["vpc_id"].as_str().unwrap_or_default())
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
        self.visible(&id).await?;
        self.sync_routes(&id, &Value::Null, req.props).await?;
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(
        &self,
        id: &str,
        old: &Value,
        new: &Value,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        if changed.iter().any(|f| f == "routes") {
            self.sync_routes(id, old, new).await?;
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
        self.visible(&adopted.id).await?;
        self.sync_routes(&adopted.id, &Value::Null, props).await?;
        Ok(adopted)
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_route_tables()
            .set_filters(Some(tags::ec2_address_filters(stack, address)))
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .route_tables()
            .first()
            .and_then(|r| r.route_table_id())
            .map(|id| Created {
                id: id.to_string(),
                outputs: Outputs::new(),
            }))
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
        assert_eq!(d["0.0.0.0/0"], "igw-1");
        assert_eq!(d.len(), 2);
        assert!(declared(&Value::Null).is_empty());
    }

    #[test]
    fn read_shape_matches_the_declared_shape() {
        let mut live = BTreeMap::new();
        live.insert("0.0.0.0/0".to_string(), Some("igw-1".to_string()));
        assert_eq!(
            routes_value(&live),
            json!([{"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"}])
        );
    }
}
