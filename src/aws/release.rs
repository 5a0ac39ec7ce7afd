//! `aws.release`: the stack's current-release pointer, `releases/current` in the artifact
//! bucket, holding the release id (`wxrun --source s3://<bucket>/releases` reads
//! `releases/current` and `releases/<id>.tar`). It references the bundle object's key, so
//! it moves only after that bundle exists, and the move is one PutObject: runtimes see the
//! old release or the new one, never a missing bundle. `retained` lists the earlier
//! releases whose bundles stay in the bucket for rollback (their objects are separate
//! `aws.s3_object` resources; this kind only records the list).

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, code, prop};
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

pub struct Release(pub std::sync::Arc<AwsContext>);

fn outputs(props: &Value) -> Outputs {
    let Value::Object(m) = json!({"release_id": props["release_id"], "key": props["key"]}) else {
        unreachable!("an object literal")
    };
    m
}

/// The pointer's content: the id and a newline (what `wxrun` trims).
pub fn pointer(release_id: &str) -> String {
    format!("{release_id}\n")
}

impl Release {
    async fn put(&self, props: &Value) -> Result<(), ProviderError> {
        let (bucket, key, id, bundle) = (
            prop(props, "bucket")?,
            prop(props, "key")?,
            prop(props, "release_id")?,
            prop(props, "bundle_key")?,
        );
        // The reference already orders us after the upload; this check also catches a
        // bundle deleted behind wxinfra's back before runtimes are pointed at it.
        match self
            .0
            .s3
            .head_object()
            .bucket(bucket)
            .key(bundle)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                return Err(ProviderError::Validation(format!(
                    "s3://{bucket}/{bundle} does not exist; refusing to point releases/current at release {id}"
                )));
            }
            Err(e) => return Err(classify(e)),
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
        "aws.release"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "bucket" | "key")
    }

    async fn read(&self, _id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (bucket, key) = (prop(applied, "bucket")?, prop(applied, "key")?);
        let out = match self.0.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) if code(&e) == Some("NoSuchBucket") => return Ok(None),
            Err(e) => return Err(classify(e)),
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
            "retained": applied["retained"],
        });
        Ok(Some(Live {
            outputs: outputs(&props),
            props,
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        self.put(req.props).await?;
        Ok(Created {
            id: format!(
                "s3://{}/{}",
                prop(req.props, "bucket")?,
                prop(req.props, "key")?
            ),
            outputs: outputs(req.props),
        })
    }

    async fn update(
        &self,
        _id: &str,
        _old: &Value,
        new: &Value,
        changed: &[String],
    ) -> Result<Outputs, ProviderError> {
        if changed
            .iter()
            .any(|f| f == "release_id" || f == "bundle_key")
        {
            self.put(new).await?;
        }
        Ok(outputs(new))
    }

    async fn delete(&self, _id: &str, applied: &Value) -> Result<(), ProviderError> {
        let (bucket, key) = (prop(applied, "bucket")?, prop(applied, "key")?);
        match self
            .0
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    /// Putting the pointer is idempotent; a resumed create puts it again.
    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(None)
    }
}
