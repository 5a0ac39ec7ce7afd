//! `aws.release`: the stack's current-release pointer, `releases/current` in the artifact
//! bucket, holding the release id (`wxrun --source s3://<bucket>/releases` reads
//! `releases/current` and `releases/<id>.tar`). It references the bundle object's key, so
//! it moves only after that bundle exists, and the move is one PutObject: runtimes see the
//! old release or the new one, never a missing bundle. `retained` lists the earlier
//! releases whose bundles stay in the bucket for rollback (their objects are separate
//! `aws.s3_object` resources; this kind only records the list).

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found, no_such_bucket};
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The release pointer's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseProps {
    /// The artifact bucket the pointer object lives in.
    pub bucket: String,
    /// The pointer object's key (`releases/current`).
    pub key: String,
    /// The release the pointer names: the bundle's sha256.
    pub release_id: String,
    /// The key of that release's bundle object, which must exist before the pointer moves.
    pub bundle_key: String,
    /// Earlier release ids whose bundles stay in the bucket for rollback, newest first.
    pub retained: Vec<String>,
}

typed!(ReleaseProps, "aws.release", "release pointer");

pub struct Release(pub std::sync::Arc<AwsContext>);

fn outputs(release_id: &str, key: &str) -> Outputs {
    let Value::Object(m) = json!({"release_id": release_id, "key": key}) else {
        unreachable!("an object literal")
    };
    m
}

/// The pointer's content: the id and a newline (what `wxrun` trims).
pub fn pointer(release_id: &str) -> String {
    format!("{release_id}\n")
}

impl Release {
    async fn put(&self, p: &ReleaseProps) -> Result<(), ProviderError> {
        let (bucket, key, id, bundle) = (&p.bucket, &p.key, &p.release_id, &p.bundle_key);
        // The reference already orders us after the upload; this check also catches a
        // bundle deleted behind wxinfra's back before runtimes are pointed at it.
        let sent = self
            .0
            .s3
            .head_object()
            .bucket(bucket)
            .key(bundle)
            .send()
            .await;
        if found(sent, |s| s.is_not_found())?.is_none() {
            return Err(ProviderError::Validation(format!(
                "s3://{bucket}/{bundle} does not exist; refusing to point releases/current at release {id}"
            )));
        }
        self.0
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("text/plain")
            .body(ByteStream::from(pointer(id).into_bytes()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl Resource for Release {
    fn kind(&self) -> &'static str {
        ReleaseProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "bucket" | "key")
    }

    async fn read(&self, _id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let applied = ReleaseProps::from_value(applied)?;
        let (bucket, key) = (applied.bucket.as_str(), applied.key.as_str());
        let got = self.0.s3.get_object().bucket(bucket).key(key).send().await;
        let Some(out) = found(got, |e| e.is_no_such_key() || no_such_bucket(e))? else {
            return Ok(None);
        };
        let body =
            out.body.collect().await.map_err(|e| {
                ProviderError::Transient(format!("reading s3://{bucket}/{key}: {e}"))
            })?;
        let live_id = String::from_utf8_lossy(&body.into_bytes())
            .trim()
            .to_string();
        let props = json!({
            "bucket": bucket,
            "key": key,
            "release_id": live_id,
            "bundle_key": crate::artifacts::bundle_key(&live_id),
            "retained": applied.retained,
        });
        Ok(Some(Live {
            outputs: outputs(&live_id, key),
            props,
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = ReleaseProps::from_value(req.props)?;
        self.put(&p).await?;
        Ok(Created {
            id: format!("s3://{}/{}", p.bucket, p.key),
            outputs: outputs(&p.release_id, &p.key),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, changed) = req.parts();
        let p = ReleaseProps::from_value(new)?;
        if changed
            .iter()
            .any(|f| f == "release_id" || f == "bundle_key")
        {
            self.put(&p).await?;
        }
        Ok(outputs(&p.release_id, &p.key))
    }

    async fn delete(&self, _id: &str, applied: &Value) -> Result<(), ProviderError> {
        let p = ReleaseProps::from_value(applied)?;
        let delete = self.0.s3.delete_object().bucket(&p.bucket).key(&p.key);
        found(delete.send().await, no_such_bucket)?;
        Ok(())
    }

    // No orphan search (the default): putting the pointer is idempotent, so a resumed
    // create puts it again.
}
