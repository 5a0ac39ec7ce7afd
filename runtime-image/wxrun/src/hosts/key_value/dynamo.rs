//! The `aws_dynamo` key-value store (Spin 3.1): one item per key in the
//! configured table, partition key `PK` (string), value in `VAL` (binary);
//! reads strongly consistent when `consistent_read` is set. Credentials are
//! the config's `access_key`/`secret_key`/`token` or else the SDK's default
//! chain (instance role, task role, Lambda role).

use super::Error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;
use tokio::sync::OnceCell;

const PK: &str = "PK";
const VAL: &str = "VAL";

/// Static credentials from the runtime config.
#[derive(Clone)]
pub struct StaticKeys {
    pub access_key: String,
    pub secret_key: String,
    pub token: Option<String>,
}

#[derive(Clone)]
pub struct DynamoStore {
    region: String,
    table: String,
    consistent_read: bool,
    keys: Option<StaticKeys>,
    client: Arc<OnceCell<Client>>,
}

impl DynamoStore {
    pub fn new(region: &str, table: &str, consistent_read: bool, keys: Option<StaticKeys>) -> Self {
        DynamoStore {
            region: region.to_string(),
            table: table.to_string(),
            consistent_read,
            keys,
            client: Arc::default(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region.clone()));
                if let Some(k) = &self.keys {
                    loader =
                        loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                            &k.access_key,
                            &k.secret_key,
                            k.token.clone(),
                            None,
                            "wxrun-runtime-config",
                        ));
                }
                Client::new(&loader.load().await)
            })
            .await
    }

    fn key(key: String) -> (String, AttributeValue) {
        (PK.to_string(), AttributeValue::S(key))
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some([Self::key(key)].into()))
            .consistent_read(self.consistent_read)
            .projection_expression(VAL)
            .send()
            .await
            .map_err(other)?;
        Ok(match out.item.and_then(|mut i| i.remove(VAL)) {
            Some(AttributeValue::B(b)) => Some(b.into_inner()),
            _ => None,
        })
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .item(PK, AttributeValue::S(key))
            .item(VAL, AttributeValue::B(Blob::new(value)))
            .send()
            .await
            .map(drop)
            .map_err(other)
    }

    pub async fn delete(&self, key: String) -> Result<(), Error> {
        self.client()
            .await
            .delete_item()
            .table_name(&self.table)
            .set_key(Some([Self::key(key)].into()))
            .send()
            .await
            .map(drop)
            .map_err(other)
    }

    pub async fn exists(&self, key: String) -> Result<bool, Error> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some([Self::key(key)].into()))
            .consistent_read(self.consistent_read)
            .projection_expression(PK)
            .send()
            .await
            .map_err(other)?;
        Ok(out.item.is_some_and(|i| i.contains_key(PK)))
    }

    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        let mut pages = self
            .client()
            .await
            .scan()
            .table_name(&self.table)
            .projection_expression(PK)
            .consistent_read(self.consistent_read)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            for mut item in page.map_err(other)?.items.unwrap_or_default() {
                if let Some(AttributeValue::S(k)) = item.remove(PK) {
                    keys.push(k);
                }
            }
        }
        Ok(keys)
    }
}

fn other<E: std::error::Error + 'static>(e: E) -> Error {
    Error::Other(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}
