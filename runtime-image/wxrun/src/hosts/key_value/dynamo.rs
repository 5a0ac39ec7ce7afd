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
/// Spin's version attribute, added by every compare-and-swap write (a plain set drops it).
const VER: &str = "VER";
/// Tries of an increment that meets concurrent writes (each lost try waits a little,
/// jittered, so that racing writers spread out).
const INCREMENT_TRIES: u32 = 100;

/// What a compare-and-swap read saw, and so what its write must still find.
#[derive(Debug, Clone)]
pub enum Seen {
    Versioned(String),
    Unversioned(Vec<u8>),
    Unset,
}

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

    /// VAL and VER of `key`, read strongly consistent (a CAS or increment must see the latest).
    async fn read_versioned(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<String>), Error> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some([Self::key(key.to_string())].into()))
            .consistent_read(true)
            .projection_expression("#VAL, #VER")
            .expression_attribute_names("#VAL", VAL)
            .expression_attribute_names("#VER", VER)
            .send()
            .await
            .map_err(other)?;
        let mut item = out.item.unwrap_or_default();
        let val = match item.remove(VAL) {
            Some(AttributeValue::B(b)) => Some(b.into_inner()),
            _ => None,
        };
        let ver = match item.remove(VER) {
            Some(AttributeValue::N(n)) => Some(n),
            _ => None,
        };
        Ok((val, ver))
    }

    /// Writes VAL = `value` (adding 1 to VER when `versioned`) if the item still is as
    /// `seen`; whether it was.
    async fn write_if(
        &self,
        key: String,
        seen: &Seen,
        value: Vec<u8>,
        versioned: bool,
    ) -> Result<bool, Error> {
        let update = if versioned {
            "SET #VAL = :val ADD #VER :one"
        } else {
            "SET #VAL = :val"
        };
        let mut call = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some([Self::key(key)].into()))
            .update_expression(update)
            .expression_attribute_names("#VAL", VAL)
            .expression_attribute_values(":val", AttributeValue::B(Blob::new(value)));
        if versioned {
            call = call
                .expression_attribute_names("#VER", VER)
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
        }
        call = match seen {
            Seen::Versioned(v) => call
                .condition_expression("#VER = :ver")
                .expression_attribute_names("#VER", VER)
                .expression_attribute_values(":ver", AttributeValue::N(v.clone())),
            Seen::Unversioned(old) => call
                .condition_expression("#VAL = :old")
                .expression_attribute_values(":old", AttributeValue::B(Blob::new(old.clone()))),
            Seen::Unset => call.condition_expression("attribute_not_exists(#VAL)"),
        };
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(other(e)),
        }
    }

    /// What a compare-and-swap sees now, and the value it reads.
    pub async fn watch(&self, key: &str) -> Result<(Seen, Option<Vec<u8>>), Error> {
        let (val, ver) = self.read_versioned(key).await?;
        let seen = match (&val, ver) {
            (Some(_), Some(v)) => Seen::Versioned(v),
            (Some(v), None) => Seen::Unversioned(v.clone()),
            (None, _) => Seen::Unset,
        };
        Ok((seen, val))
    }

    /// The compare-and-swap write, as Spin's: VAL set and VER bumped if unchanged since.
    pub async fn swap_if(&self, key: String, seen: &Seen, value: Vec<u8>) -> Result<bool, Error> {
        self.write_if(key, seen, value, true).await
    }

    /// Adds `delta` to the counter at `key` (absent: 0), kept as Spin keeps it: decimal text
    /// in VAL. The write is conditional on the value read; a concurrent write is retried.
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, Error> {
        for attempt in 0..INCREMENT_TRIES {
            if attempt > 0 {
                let jitter = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() % 20);
                let ms = u64::from(attempt.min(10) * 5 + jitter);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            let (val, _) = self.read_versioned(&key).await?;
            let old = match &val {
                None => 0,
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| Error::Other("the value is not a decimal counter".into()))?,
            };
            let new = old.wrapping_add(delta);
            let seen = val.map_or(Seen::Unset, Seen::Unversioned);
            if self
                .write_if(key.clone(), &seen, new.to_string().into_bytes(), false)
                .await?
            {
                return Ok(new);
            }
        }
        Err(Error::Other(format!(
            "increment: the value kept changing ({INCREMENT_TRIES} tries)"
        )))
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
