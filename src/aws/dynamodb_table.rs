//! `aws.dynamodb_table`: one Spin key-value store label of the app, in the layout Spin's
//! `aws_dynamo` store uses (a string partition key `PK`; items carry the value as `VAL`).
//! On-demand capacity (`PAY_PER_REQUEST`) and encryption at rest with the AWS-managed KMS
//! key (`SSESpecification.Enabled`, as `aws_dynamodb_table`'s `server_side_encryption`
//! does). The name and key force a new table; billing, encryption and tags change in place,
//! since a new table would lose the store's data.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, SseSpecification, SseStatus,
    TableDescription, TableStatus, Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct DynamodbTable(pub std::sync::Arc<AwsContext>);

/// The partition key Spin's `aws_dynamo` store reads and writes.
pub const HASH_KEY: &str = "PK";
/// New tables are usually ACTIVE within seconds; deletes likewise.
const READY: Duration = Duration::from_secs(600);

fn outputs(t: &TableDescription) -> Outputs {
    let Value::Object(m) = json!({"name": t.table_name(), "arn": t.table_arn()}) else {
        unreachable!("an object literal")
    };
    m
}

/// The table's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamodbTableProps {
    /// The table's name, unique in the account and region.
    pub name: String,
    /// The string partition key attribute ([`HASH_KEY`], Spin's layout).
    pub hash_key: String,
    /// `PAY_PER_REQUEST` (on demand) or `PROVISIONED`.
    pub billing_mode: String,
    /// Server-side encryption with the AWS-managed KMS key, rather than DynamoDB's own.
    pub encrypted: bool,
}

typed!(DynamodbTableProps, "aws.dynamodb_table", "DynamoDB table");

impl DynamodbTableProps {
    fn billing(&self) -> BillingMode {
        BillingMode::from(self.billing_mode.as_str())
    }

    fn sse(&self) -> SseSpecification {
        SseSpecification::builder().enabled(self.encrypted).build()
    }
}

async fn describe(ctx: &AwsContext, name: &str) -> Result<Option<TableDescription>, ProviderError> {
    Ok(found(
        ctx.dynamodb.describe_table().table_name(name).send().await,
        |s| s.is_resource_not_found_exception(),
    )?
    .and_then(|out| out.table))
}

async fn table_tags(ctx: &AwsContext, arn: &str) -> Result<Value, ProviderError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(classify)?;
        out.extend(
            page.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string())),
        );
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(tags::from_pairs(
        out.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

impl DynamodbTable {
    async fn describe(&self, name: &str) -> Result<Option<TableDescription>, ProviderError> {
        describe(&self.0, name).await
    }

    async fn tags(&self, arn: &str) -> Result<Value, ProviderError> {
        table_tags(&self.0, arn).await
    }

    /// The table once it is ACTIVE, with its encryption settled.
    async fn wait_active(&self, name: &str) -> Result<TableDescription, ProviderError> {
        wait::until("DynamoDB table to become active", READY, || async {
            Ok(self
                .describe(name)
                .await?
                .filter(|t| t.table_status() == Some(&TableStatus::Active)))
        })
        .await
    }
}

/// What one UpdateTable call changes.
enum Setting {
    Billing,
    Encryption,
}

fn dynamo_tags(props: &Value) -> Vec<Tag> {
    tags::pairs(props)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

#[async_trait]
impl Resource for DynamodbTable {
    fn kind(&self) -> &'static str {
        DynamodbTableProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "name" | "hash_key")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(t) = self.describe(id).await? else {
            return Ok(None);
        };
        let hash_key = t
            .key_schema()
            .iter()
            .find(|k| k.key_type() == &KeyType::Hash)
            .map(|k| k.attribute_name().to_string());
        // A table created on demand reports its mode in BillingModeSummary; one without a
        // summary is provisioned.
        let billing_mode = t
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map_or("PROVISIONED", |b| b.as_str());
        let encrypted = t
            .sse_description()
            .and_then(|s| s.status())
            .is_some_and(|s| matches!(s, SseStatus::Enabled | SseStatus::Enabling));
        let props = json!({
            "name": t.table_name(),
            "hash_key": hash_key,
            "billing_mode": billing_mode,
            "encrypted": encrypted,
            "tags": self.tags(t.table_arn().unwrap_or_default()).await?,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&t),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = DynamodbTableProps::from_value(req.props)?;
        let (name, key) = (p.name.as_str(), p.hash_key.as_str());
        let sent = self
            .0
            .dynamodb
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(key)
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .map_err(super::errors::built)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(super::errors::built)?,
            )
            .billing_mode(p.billing())
            .sse_specification(p.sse())
            .set_tags(Some(dynamo_tags(req.props)))
            .send()
            .await;
        if let Err(e) = sent {
            // A resent create meets its own table (ResourceInUseException): adopt only ours.
            let ours = match self.describe(name).await? {
                Some(t)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_in_use_exception()) =>
                {
                    let t = self.tags(t.table_arn().unwrap_or_default()).await?;
                    tags::is_address(&t, req.stack, req.address)
                }
                _ => false,
            };
            if !ours {
                return Err(classify(e));
            }
        }
        let t = self.wait_active(name).await?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(&t),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let want = DynamodbTableProps::from_value(new)?;
        let t = self.wait_active(id).await?;
        let arn = t.table_arn().unwrap_or_default().to_string();
        // One UpdateTable per setting: DynamoDB refuses a second change while one is applied.
        for (field, setting) in [
            ("billing_mode", Setting::Billing),
            ("encrypted", Setting::Encryption),
        ] {
            if !changed.iter().any(|f| f == field) {
                continue;
            }
            let call = self.0.dynamodb.update_table().table_name(id);
            let call = match setting {
                Setting::Billing => call.billing_mode(want.billing()),
                Setting::Encryption => call.sse_specification(want.sse()),
            };
            call.send().await.map_err(classify)?;
            self.wait_active(id).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            let dynamodb = &self.0.dynamodb;
            tags::retag(
                dynamodb
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(dynamo_tags(new)))
                    .send(),
                |gone| {
                    dynamodb
                        .untag_resource()
                        .resource_arn(&arn)
                        .set_tag_keys(Some(gone))
                        .send()
                },
                old,
                new,
            )
            .await?;
        }
        Ok(outputs(&t))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let sent = accepted(
            self.0.dynamodb.delete_table().table_name(id).send().await,
            |e| e.is_resource_not_found_exception(),
        )?;
        if sent {
            wait::gone("DynamoDB table to be deleted", READY, || self.describe(id)).await?;
        }
        Ok(())
    }

    /// The table of this name, when its tags say it is this address's (names are fixed).
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        for name in stack_tables(&self.0, stack).await? {
            let Some(t) = self.describe(&name).await? else {
                continue;
            };
            let t_tags = self.tags(t.table_arn().unwrap_or_default()).await?;
            if tags::is_address(&t_tags, stack, address) {
                return Ok(Some(Created {
                    id: name,
                    outputs: outputs(&t),
                }));
            }
        }
        Ok(None)
    }
}

/// Names of the tables named as `stack` names its stores (`<stack>-kv-…`) and tagged with
/// it: what `destroy`'s sweep removes, and where a lost create is looked for.
pub async fn stack_tables(ctx: &AwsContext, stack: &str) -> Result<Vec<String>, ProviderError> {
    let prefix = format!("{stack}-kv-");
    let mut names = Vec::new();
    let mut pages = ctx.dynamodb.list_tables().into_paginator().send();
    while let Some(page) = pages.next().await {
        for name in page.map_err(classify)?.table_names() {
            if !name.starts_with(&prefix) {
                continue;
            }
            let Some(t) = describe(ctx, name).await? else {
                continue;
            };
            let t_tags = table_tags(ctx, t.table_arn().unwrap_or_default()).await?;
            if t_tags[tags::STACK_TAG] == stack {
                names.push(name.clone());
            }
        }
    }
    Ok(names)
}
