//! `aws.route53_zone_lookup`: the public hosted zone (`{"name"}`) that holds the stack's
//! domain, which wxinfra uses but does not own. Create is the lookup, read re-checks it,
//! delete only forgets. Output: `id` (without the `/hostedzone/` prefix).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::classify;
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// What to look up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route53ZoneLookupProps {
    /// The public hosted zone's DNS name (`load_balancer.hosted_zone`), trailing dot or not.
    pub name: String,
}

typed!(
    Route53ZoneLookupProps,
    "aws.route53_zone_lookup",
    "Route 53 zone lookup"
);

pub struct Route53ZoneLookup(pub std::sync::Arc<AwsContext>);

/// A DNS name as Route 53 lists it: lower case, with the root's trailing dot.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

/// A zone id as the record calls take it (`Z…`), whatever form it came in.
pub fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

fn outputs(id: &str) -> Outputs {
    let mut o = Outputs::new();
    o.insert("id".into(), json!(id));
    o
}

impl Route53ZoneLookup {
    /// The id of the account's public zone named `name`; private zones of the same name do
    /// not count, as an ACM validation record or an internet-facing name cannot live there.
    async fn find(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let want = fqdn(name);
        let out = self
            .0
            .route53
            .list_hosted_zones_by_name()
            .dns_name(&want)
            .max_items(100)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .hosted_zones()
            .iter()
            .filter(|z| fqdn(z.name()) == want)
            .find(|z| !z.config().is_some_and(|c| c.private_zone()))
            .map(|z| bare_zone_id(z.id()).to_string()))
    }
}

#[async_trait]
impl Resource for Route53ZoneLookup {
    fn kind(&self) -> &'static str {
        Route53ZoneLookupProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        true
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let name = Route53ZoneLookupProps::from_value(applied)?.name;
        Ok(self
            .find(&name)
            .await?
            .filter(|found| found == id)
            .map(|_| Live {
                props: json!({"name": name}),
                outputs: outputs(id),
            }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let name = Route53ZoneLookupProps::from_value(req.props)?.name;
        let id = self.find(&name).await?.ok_or_else(|| {
            ProviderError::Validation(format!(
                "this account has no public Route 53 hosted zone named `{name}`: create it (and delegate the domain to its name servers), or fix `load_balancer.hosted_zone`"
            ))
        })?;
        Ok(Created {
            outputs: outputs(&id),
            id,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, _, _, _) = req.parts();
        Ok(outputs(id))
    }

    /// wxinfra never deletes a zone it did not create.
    async fn delete(&self, _id: &str, _applied: &Value) -> Result<(), ProviderError> {
        Ok(())
    }
}
