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
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{built, classify};
use super::props::{Typed, strings, typed};
use super::route53_zone_lookup::{bare_zone_id, fqdn};
use super::wait;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct Route53Record(pub std::sync::Arc<AwsContext>);

/// The record's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route53RecordProps {
    /// The hosted zone the record is in (`Z…`, or `/hostedzone/Z…`).
    pub zone_id: String,
    /// The name the record answers for, with or without the trailing dot.
    pub name: String,
    /// The record type (`A`, `CNAME`, …).
    pub r#type: String,
    /// What the name resolves to.
    #[serde(flatten)]
    pub value: RecordValue,
    /// Whether create may take over a record of the same name and type that somebody else
    /// made (absent: it may not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_overwrite: Option<bool>,
}

typed!(Route53RecordProps, "aws.route53_record", "Route 53 record");

/// A record's answer: an alias, or plain values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordValue {
    /// An alias to an AWS resource's name, which Route 53 resolves itself.
    Alias { alias: Alias },
    /// Values resolvers may cache for `ttl` seconds.
    Records { ttl: i64, records: Vec<String> },
}

/// The target of an alias record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    /// The name aliased (the load balancer's DNS name).
    pub dns_name: String,
    /// The hosted zone of that name (the load balancer's canonical zone, not ours).
    pub zone_id: String,
    /// Whether Route 53 answers with the target only while it has healthy targets.
    pub evaluate_target_health: bool,
}

/// Route 53 propagates a change to all its name servers within about 60 seconds; Terraform
/// waits up to 30 minutes for `INSYNC`.
const SYNC_WAIT: Duration = Duration::from_secs(1800);

/// The id Terraform gives a record: zone, name and type.
fn record_id(zone: &str, name: &str, kind: &str) -> String {
    format!("{}_{}_{kind}", bare_zone_id(zone), fqdn(name))
}

fn outputs(p: &Route53RecordProps) -> Outputs {
    let mut o = Outputs::new();
    o.insert("fqdn".into(), json!(p.name.trim_end_matches('.')));
    o
}

/// The record set `p` declares.
fn record_set(p: &Route53RecordProps) -> Result<ResourceRecordSet, ProviderError> {
    let mut b = ResourceRecordSet::builder()
        .name(&p.name)
        .r#type(RrType::from(p.r#type.as_str()));
    match &p.value {
        RecordValue::Alias { alias: a } => {
            b = b.alias_target(
                AliasTarget::builder()
                    .dns_name(&a.dns_name)
                    .hosted_zone_id(&a.zone_id)
                    .evaluate_target_health(a.evaluate_target_health)
                    .build()
                    .map_err(built)?,
            );
        }
        RecordValue::Records { ttl, records } => {
            b = b.ttl(*ttl);
            for v in records {
                b = b.resource_records(ResourceRecord::builder().value(v).build().map_err(built)?);
            }
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
    /// The live record set of `p`'s zone, name and type.
    async fn find(
        &self,
        p: &Route53RecordProps,
    ) -> Result<Option<ResourceRecordSet>, ProviderError> {
        let (name, kind) = (p.name.as_str(), p.r#type.as_str());
        let out = self
            .0
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(bare_zone_id(&p.zone_id))
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
        Route53RecordProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "zone_id" | "name" | "type")
    }

    async fn read(&self, _id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let p = Route53RecordProps::from_value(applied)?;
        Ok(self.find(&p).await?.map(|r| Live {
            props: live_props(&r, applied),
            outputs: outputs(&p),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = Route53RecordProps::from_value(req.props)?;
        let zone = p.zone_id.as_str();
        let id = record_id(zone, &p.name, &p.r#type);
        let overwrite = p.allow_overwrite.unwrap_or(false);
        if let Some(existing) = self.find(&p).await? {
            // A record that already says what we want is ours from an earlier attempt whose
            // answer was lost; anything else belongs to somebody.
            let declared = live_props(&record_set(&p)?, req.props);
            if live_props(&existing, req.props) != declared && !overwrite {
                return Err(ProviderError::Validation(format!(
                    "hosted zone {zone} already has a {} record for {} that this stack did not make: remove it, or serve the stack under another name",
                    p.r#type, p.name
                )));
            }
        }
        self.change(zone, ChangeAction::Upsert, record_set(&p)?)
            .await?;
        Ok(Created {
            id,
            outputs: outputs(&p),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        let want = Route53RecordProps::from_value(new)?;
        self.change(&want.zone_id, ChangeAction::Upsert, record_set(&want)?)
            .await?;
        Ok(outputs(&want))
    }

    async fn delete(&self, _id: &str, applied: &Value) -> Result<(), ProviderError> {
        let p = Route53RecordProps::from_value(applied)?;
        // DELETE must repeat the record exactly as it is now.
        let Some(live) = self.find(&p).await? else {
            return Ok(());
        };
        self.change(&p.zone_id, ChangeAction::Delete, live).await
    }

    // No orphan search (the default): an UPSERT of the same values is idempotent, so a
    // resumed create sends it again.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(p: &Value) -> ResourceRecordSet {
        record_set(&Route53RecordProps::from_value(p).unwrap()).unwrap()
    }

    fn alias() -> Value {
        json!({
            "zone_id": "/hostedzone/Z1", "name": "app.example.com", "type": "A",
            "alias": {"dns_name": "demo-alb-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K", "evaluate_target_health": true},
        })
    }

    #[test]
    fn a_record_reads_back_as_declared_despite_route53_spelling() {
        let p = alias();
        let mut live = set(&p);
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
        let live = set(&p);
        assert_eq!(live_props(&live, &p), p);
        let other = set(
            &json!({"zone_id": "Z1", "name": "_x.app.example.com.", "type": "CNAME", "ttl": 300, "records": ["elsewhere.example."]}),
        );
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
