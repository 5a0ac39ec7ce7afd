//! `aws.s3_object`: one local artifact uploaded content-addressed (its key contains its
//! sha256), so a new build is a new object and an unchanged one is never re-sent. Bucket,
//! key and digest are fixed (a change means a new object); `source` — where the local file
//! lives — may move freely. The digest is verified before the upload and sent as S3's
//! SHA-256 checksum, so S3 refuses bytes that do not match; it is also stored as metadata
//! (`x-amz-meta-sha256`) for `read`. Objects carry no tags (S3 allows only 10 per object):
//! they live in the tagged stack bucket, which `destroy` empties.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::context::AwsContext;
use super::errors::{classify, found, no_such_bucket};
use super::props::{Typed, typed};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The object's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3ObjectProps {
    /// The bucket the object is uploaded to.
    pub bucket: String,
    /// The object's key, which names its content (`runtime/wxrun-<arch>-<sha256>`, ...).
    pub key: String,
    /// The local file uploaded (under `.wxinfra/artifacts/`); it may move freely.
    pub source: String,
    /// The file's SHA-256 (hex), checked before the upload and sent as S3's checksum.
    pub sha256: String,
    /// The object's `Content-Type`.
    pub content_type: String,
}

typed!(S3ObjectProps, "aws.s3_object", "S3 object");

pub struct S3Object(pub std::sync::Arc<AwsContext>);

/// Metadata key holding the object's sha256 (hex).
const SHA_META: &str = "sha256";

/// `s3://bucket/key`, the id of an object.
fn id(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn split(id: &str) -> Result<(&str, &str), ProviderError> {
    id.strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| ProviderError::Validation(format!("`{id}` is not an s3://bucket/key id")))
}

fn outputs(bucket: &str, key: &str, sha: &str) -> Outputs {
    let Value::Object(m) = json!({"bucket": bucket, "key": key, "sha256": sha}) else {
        unreachable!("an object literal")
    };
    m
}

#[async_trait]
impl Resource for S3Object {
    fn kind(&self) -> &'static str {
        S3ObjectProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "bucket" | "key" | "sha256" | "content_type")
    }

    /// Under a new key (artifact keys name their content) the new object is uploaded before
    /// the old one goes, so what points at the old key (an instance launching, a function
    /// being updated) never meets a missing object. Under the same key it cannot be.
    fn create_before_destroy(&self, changed: &[String]) -> bool {
        changed.iter().any(|f| f == "key" || f == "bucket")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (bucket, key) = split(id)?;
        let sent = self.0.s3.head_object().bucket(bucket).key(key).send().await;
        let Some(head) = found(sent, |s| s.is_not_found())? else {
            return Ok(None);
        };
        let sha = head
            .metadata()
            .and_then(|m| m.get(SHA_META))
            .cloned()
            .unwrap_or_default();
        let props = json!({
            "bucket": bucket,
            "key": key,
            // Where the file came from is not an S3 fact: it is what was last applied.
            "source": applied["source"],
            "sha256": sha,
            "content_type": head.content_type(),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(bucket, key, &sha),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = S3ObjectProps::from_value(req.props)?;
        let (bucket, key, source, want) = (&p.bucket, &p.key, &p.source, &p.sha256);
        let bytes = tokio::fs::read(source).await.map_err(|e| {
            ProviderError::Validation(format!("reading {source} for s3://{bucket}/{key}: {e}"))
        })?;
        let digest = Sha256::digest(&bytes);
        if hex::encode(digest) != *want {
            return Err(ProviderError::Validation(format!(
                "{source} changed since the plan (sha256 {} is not {want}); plan again",
                hex::encode(digest)
            )));
        }
        self.0
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(&p.content_type)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
            .metadata(SHA_META, want)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(classify)?;
        Ok(Created {
            id: id(bucket, key),
            outputs: outputs(bucket, key, want),
        })
    }

    /// Only `source` can change in place, and it names the same bytes: nothing to send.
    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        let p = S3ObjectProps::from_value(new)?;
        Ok(outputs(&p.bucket, &p.key, &p.sha256))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let (bucket, key) = split(id)?;
        let delete = self.0.s3.delete_object().bucket(bucket).key(key);
        found(delete.send().await, no_such_bucket)?;
        Ok(())
    }

    // No orphan search (the default): a put is idempotent (same key, same bytes), so a
    // resumed create puts again.
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_round_trip() {
        let id = super::id("b", "releases/abc.tar");
        assert_eq!(super::split(&id).unwrap(), ("b", "releases/abc.tar"));
        assert!(super::split("b/k").is_err());
    }
}
