//! `aws.route53_record`: one record set in a hosted zone: plain values (`ttl`, `records`) or
//! an alias (`alias: {dns_name, zone_id, evaluate_target_health}`, e.g. the load balancer).
//! Values change in place (UPSERT); zone, name and type make it another record. Create
//! refuses to take over a record somebody else made unless `allow_overwrite` (ACM validation
//! records are the same for every certificate of a domain and account, so one may be there
//! already). Every change waits until Route 53 reports it `INSYNC` on its name servers.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{built, classify};
use super::props::{str, strings};
use super::route53_zone_lookup::{bare_zone_id, fqdn};
use super::wait;
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct Route53Record(pub std::sync::Arc<AwsContext>);

/// Route 53 propagates a change to all its name servers within about 60 seconds; Terraform
/// waits up to 30 minutes for `INSYNC`.
const SYNC_WAIT: Duration = Duration::from_secs(1800);

/// The id Terraform gives a record: zone, name and type.
fn record_id(zone: &str, name: &str, kind: &str) -> String {
    format!("{}_{}_{kind}", bare_zone_id(zone), fqdn(name))
}

fn outputs(props: &Value) -> Outputs {
    let mut o = Outputs::new();
    o.insert(
        "fqdn".into(),
        json!(props["name"].as_str().map(|n| n.trim_end_matches('.'))),
    );
    o
}

/// The record set `props` declares.
fn record_set(props: &Value) -> Result<ResourceRecordSet, ProviderError> {
    let mut b = ResourceRecordSet::builder()
        .name(str(props, "name")?)
        .r#type(RrType::from(str(props, "type")?));
    if props["alias"].is_object() {
        let a = &props["alias"];
        b = b.alias_target(
            AliasTarget::builder()
                .dns_name(str(a, "dns_name")?)
                .hosted_zone_id(str(a, "zone_id")?)
                .evaluate_target_health(a["evaluate_target_health"].as_bool().unwrap_or(false))
                .build()
                .map_err(built)?,
        );
    } else {
        b = b.ttl(props["ttl"].as_i64().unwrap_or(300));
        for v in strings(props, "records") {
            b = b.resource_records(ResourceRecord::builder().value(v).build().map_err(built)?);
        }
    }
    b.build().map_err(built)
}

/// A live record set in the property shape, with `applied`'s spelling wherever the two
/// differ only in case or the trailing dot, so that only real changes show as drift.
fn live_props(r: &ResourceRecordSet, applied: &Value) -> Value {
    let same = |live: &str, field: &Value| match field.as_str() {
        Some(a) if fqdn(a) == fqdn(live) => json!(a),
        _ => json!(live),
    };
    let mut p = json!({
        "zone_id": applied["zone_id"],
        "name": same(r.name(), &applied["name"]),
        "type": r.r#type().as_str(),
    });
    if let Some(a) = r.alias_target() {
        p["alias"] = json!({
            "dns_name": same(a.dns_name(), &applied["alias"]["dns_name"]),
            "zone_id": a.hosted_zone_id(),
            "evaluate_target_health": a.evaluate_target_health(),
        });
    } else {
        p["ttl"] = json!(r.ttl());
        let mut values: Vec<String> = r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect();
        values.sort();
        let mut want = strings(applied, "records");
        want.sort();
        // Route 53 may spell a CNAME target with or without the trailing dot.
        p["records"] = if values
            .iter()
            .map(|v| fqdn(v))
            .eq(want.iter().map(|v| fqdn(v)))
        {
            applied["records"].clone()
        } else {
            json!(values)
        };
    }
    if applied.get("allow_overwrite").is_some() {
        p["allow_overwrite"] = applied["allow_overwrite"].clone();
    }
    p
}

impl Route53Record {
    /// The live record set of `props`' zone, name and type.
    async fn find(&self, props: &Value) -> Result<Option<ResourceRecordSet>, ProviderError> {
        let (name, kind) = (str(props, "name")?, str(props, "type")?);
        let out = self
            .0
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(bare_zone_id(str(props, "zone_id")?))
            .start_record_name(name)
            .start_record_type(RrType::from(kind))
            .max_items(1)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .resource_record_sets()
            .first()
            .filter(|r| fqdn(r.name()) == fqdn(name) && r.r#type().as_str() == kind)
            .cloned())
    }

    /// Sends one change and waits until Route 53 has it on every name server.
    async fn change(
        &self,
        zone: &str,
        action: ChangeAction,
        set: ResourceRecordSet,
    ) -> Result<(), ProviderError> {
        let deleting = action == ChangeAction::Delete;
        let batch = ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build()
                    .map_err(built)?,
            )
            .build()
            .map_err(built)?;
        let sent = self
            .0
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(bare_zone_id(zone))
            .change_batch(batch)
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            // A resent DELETE whose first answer was lost finds nothing left to delete.
            Err(e)
                if deleting
                    && e.as_service_error().is_some_and(|se| {
                        se.is_invalid_change_batch()
                            && se.meta().message().is_some_and(|m| m.contains("not found"))
                    }) =>
            {
                return Ok(());
            }
            Err(e) => return Err(classify(e)),
        };
        let Some(id) = out.change_info().map(|c| c.id().to_string()) else {
            return Ok(());
        };
        let route53 = &self.0.route53;
        wait::until(
            "the DNS change to reach every name server",
            SYNC_WAIT,
            || async {
                let out = route53
                    .get_change()
                    .id(&id)
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(out
                    .change_info()
                    .is_some_and(|c| c.status() == &ChangeStatus::Insync)
                    .then_some(()))
            },
        )
        .await
    }
}

#[async_trait]
impl Resource for Route53Record {
    fn kind(&self) -> &'static str {
        "aws.route53_record"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "zone_id" | "name" | "type")
    }

    async fn read(&self, _id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        Ok(self.find(applied).await?.map(|r| Live {
            props: live_props(&r, applied),
            outputs: outputs(applied),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = req.props;
        let zone = str(p, "zone_id")?;
        let id = record_id(zone, str(p, "name")?, str(p, "type")?);
        let overwrite = p["allow_overwrite"].as_bool().unwrap_or(false);
        if let Some(existing) = self.find(p).await? {
            // A record that already says what we want is ours from an earlier attempt whose
            // answer was lost; anything else belongs to somebody.
            if live_props(&existing, p) != live_props(&record_set(p)?, p) && !overwrite {
                return Err(ProviderError::Validation(format!(
                    "hosted zone {zone} already has a {} record for {} that this stack did not make: remove it, or serve the stack under another name",
                    str(p, "type")?,
                    str(p, "name")?
                )));
            }
        }
        self.change(zone, ChangeAction::Upsert, record_set(p)?)
            .await?;
        Ok(Created {
            id,
            outputs: outputs(p),
        })
    }

    async fn update(
        &self,
        _id: &str,
        _old: &Value,
        new: &Value,
        _changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        self.change(str(new, "zone_id")?, ChangeAction::Upsert, record_set(new)?)
            .await?;
        Ok(outputs(new))
    }

    async fn delete(&self, _id: &str, applied: &Value) -> Result<(), ProviderError> {
        // DELETE must repeat the record exactly as it is now.
        let Some(live) = self.find(applied).await? else {
            return Ok(());
        };
        self.change(str(applied, "zone_id")?, ChangeAction::Delete, live)
            .await
    }

    /// UPSERT of the same values is idempotent: a resumed create simply sends it again.
    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias() -> Value {
        json!({
            "zone_id": "/hostedzone/Z1", "name": "app.example.com", "type": "A",
            "alias": {"dns_name": "demo-alb-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K", "evaluate_target_health": true},
        })
    }

    #[test]
    fn a_record_reads_back_as_declared_despite_route53_spelling() {
        let p = alias();
        let mut live = record_set(&p).unwrap();
        live.name = "APP.example.com.".into();
        live.alias_target = Some(
            AliasTarget::builder()
                .dns_name("demo-alb-1.us-east-1.elb.amazonaws.com.")
                .hosted_zone_id("Z35SXDOTRQ7X7K")
                .evaluate_target_health(true)
                .build()
                .unwrap(),
        );
        assert_eq!(live_props(&live, &p), p);
    }

    #[test]
    fn plain_records_compare_as_a_set_and_report_other_values() {
        let p = json!({"zone_id": "Z1", "name": "_x.app.example.com.", "type": "CNAME", "ttl": 300, "records": ["_y.acm-validations.aws."]});
        let live = record_set(&p).unwrap();
        assert_eq!(live_props(&live, &p), p);
        let other = record_set(&json!({"zone_id": "Z1", "name": "_x.app.example.com.", "type": "CNAME", "ttl": 300, "records": ["elsewhere.example."]})).unwrap();
        assert_eq!(
            live_props(&other, &p)["records"],
            json!(["elsewhere.example."])
        );
    }

    #[test]
    fn ids_name_zone_record_and_type() {
        assert_eq!(
            record_id("/hostedzone/Z1", "App.Example.com", "A"),
            "Z1_app.example.com._A"
        );
    }
}
