//! `aws.s3_bucket`: the stack's private artifact bucket (release bundles, the runtime binary,
//! the Lambda zip). Its name is derived at create time from the stack, account and region
//! (bucket names are global), so it is an output, not a property. Public access is blocked,
//! objects are encrypted by default, requests without TLS are refused by the bucket policy;
//! all of that changes in place. Versioning is left off: every object but the release
//! pointer is content-addressed, so versions would only duplicate bytes. Delete still empties
//! every version and delete marker (someone may have turned versioning on by hand), since S3
//! refuses to delete a bucket that holds anything.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::caller_identity::partition;
use super::context::AwsContext;
use super::errors::{built, classify, code, found, is_404, no_such_bucket};
use super::props::{Typed, typed};
use super::{policy, tags};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct S3Bucket(pub std::sync::Arc<AwsContext>);

/// The bucket's properties (its name comes from the create's token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3BucketProps {
    /// Whether all four public-access blocks are on.
    pub block_public_access: bool,
    /// Default encryption: `AES256` (S3-managed keys) or `aws:kms`.
    pub encryption: String,
    /// Whether the bucket policy refuses requests not made over TLS.
    pub enforce_tls: bool,
}

typed!(S3BucketProps, "aws.s3_bucket", "S3 bucket");

/// S3's limit on bucket names.
pub const MAX_NAME: usize = 63;
/// Most pages of 1000 versions one delete walks through before giving up (a million
/// objects): bounded, and far above what an artifact bucket holds.
const MAX_PAGES: usize = 1000;

/// `<stack>-artifacts-<account>-<region>`: unique per account and region, DNS-safe (the
/// stack name is lowercase letters, digits and `-`), at most 63 characters (the stack part
/// is cut if it would not fit).
pub fn bucket_name(stack: &str, account: &str, region: &str) -> String {
    let suffix = format!("-artifacts-{account}-{region}");
    let room = MAX_NAME.saturating_sub(suffix.len());
    let head: String = stack.chars().take(room).collect();
    format!("{}{suffix}", head.trim_end_matches('-'))
}

/// Whether `name` is a valid DNS-style bucket name.
pub fn valid_name(name: &str) -> bool {
    (3..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}

impl S3Bucket {
    fn outputs(&self, name: &str) -> Outputs {
        let mut o = Outputs::new();
        o.insert("arn".into(), json!(self.arn(name)));
        o.insert("name".into(), json!(name));
        o
    }

    fn arn(&self, name: &str) -> String {
        format!("arn:{}:s3:::{name}", partition(&self.0.region))
    }

    async fn exists(&self, name: &str) -> Result<bool, ProviderError> {
        let sent = self.0.s3.head_bucket().bucket(name).send().await;
        Ok(found(sent, |s| s.is_not_found())?.is_some())
    }

    async fn name_for(&self, stack: &str) -> Result<String, ProviderError> {
        let name = bucket_name(stack, &self.0.account_id().await?, &self.0.region);
        if !valid_name(&name) {
            return Err(ProviderError::Validation(format!(
                "derived bucket name `{name}` is not a valid S3 bucket name"
            )));
        }
        Ok(name)
    }

    async fn configure(
        &self,
        name: &str,
        props: &Value,
        fields: &[&str],
    ) -> Result<(), ProviderError> {
        let p = S3BucketProps::from_value(props)?;
        let s3 = &self.0.s3;
        for field in fields {
            match *field {
                "block_public_access" => {
                    let on = p.block_public_access;
                    s3.put_public_access_block()
                        .bucket(name)
                        .public_access_block_configuration(
                            PublicAccessBlockConfiguration::builder()
                                .block_public_acls(on)
                                .ignore_public_acls(on)
                                .block_public_policy(on)
                                .restrict_public_buckets(on)
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(classify)?;
                }
                "encryption" => {
                    let rule = ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::from(p.encryption.as_str()))
                                .build()
                                .map_err(built)?,
                        )
                        .build();
                    s3.put_bucket_encryption()
                        .bucket(name)
                        .server_side_encryption_configuration(
                            ServerSideEncryptionConfiguration::builder()
                                .rules(rule)
                                .build()
                                .map_err(built)?,
                        )
                        .send()
                        .await
                        .map_err(classify)?;
                }
                "enforce_tls" => {
                    if p.enforce_tls {
                        let arn = self.arn(name);
                        let doc = policy::document(vec![policy::deny_insecure_transport(json!([
                            arn,
                            format!("{arn}/*")
                        ]))]);
                        s3.put_bucket_policy()
                            .bucket(name)
                            .policy(doc.to_string())
                            .send()
                            .await
                            .map_err(classify)?;
                    } else {
                        s3.delete_bucket_policy()
                            .bucket(name)
                            .send()
                            .await
                            .map_err(classify)?;
                    }
                }
                "tags" => {
                    let set = tags::pairs(props)
                        .into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
                        .collect::<Result<Vec<_>, _>>()?;
                    s3.put_bucket_tagging()
                        .bucket(name)
                        .tagging(
                            Tagging::builder()
                                .set_tag_set(Some(set))
                                .build()
                                .map_err(built)?,
                        )
                        .send()
                        .await
                        .map_err(classify)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn tags(&self, name: &str) -> Result<Value, ProviderError> {
        match self.0.s3.get_bucket_tagging().bucket(name).send().await {
            Ok(o) => Ok(tags::from_pairs(
                o.tag_set().iter().map(|t| (t.key(), t.value())),
            )),
            Err(e) if code(&e) == Some("NoSuchTagSet") || is_404(&e) => Ok(json!({})),
            Err(e) => Err(classify(e)),
        }
    }

    /// Deletes every object version and delete marker, page by page (bounded).
    async fn empty(&self, name: &str) -> Result<(), ProviderError> {
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        for _ in 0..MAX_PAGES {
            let page = self
                .0
                .s3
                .list_object_versions()
                .bucket(name)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(classify)?;
            let ids = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(k, v)| {
                    Some(
                        ObjectIdentifier::builder()
                            .key(k?)
                            .set_version_id(v.filter(|v| *v != "null").map(str::to_string))
                            .build()
                            .map_err(built),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            if !ids.is_empty() {
                let out = self
                    .0
                    .s3
                    .delete_objects()
                    .bucket(name)
                    .delete(
                        Delete::builder()
                            .set_objects(Some(ids))
                            .quiet(true)
                            .build()
                            .map_err(built)?,
                    )
                    .send()
                    .await
                    .map_err(classify)?;
                if let Some(e) = out.errors().first() {
                    return Err(ProviderError::Api(format!(
                        "emptying bucket {name}: {} {}: {}",
                        e.key().unwrap_or_default(),
                        e.code().unwrap_or_default(),
                        e.message().unwrap_or_default()
                    )));
                }
            }
            if !page.is_truncated().unwrap_or(false) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        Err(ProviderError::Api(format!(
            "bucket {name} still holds objects after {MAX_PAGES} pages of deletes"
        )))
    }
}

const FIELDS: &[&str] = &["block_public_access", "encryption", "enforce_tls", "tags"];

#[async_trait]
impl Resource for S3Bucket {
    fn kind(&self) -> &'static str {
        S3BucketProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        // The name is derived, not a property; everything else is bucket configuration.
        false
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        if !self.exists(id).await? {
            return Ok(None);
        }
        let s3 = &self.0.s3;
        // Four independent reads, sent together: a no-change plan waits on the slowest
        // resource's round trips, and one after the other these were four.
        let block = async {
            match s3.get_public_access_block().bucket(id).send().await {
                Ok(o) => Ok(o.public_access_block_configuration().is_some_and(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                })),
                Err(e)
                    if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") || is_404(&e) =>
                {
                    Ok(false)
                }
                Err(e) => Err(classify(e)),
            }
        };
        let encryption = async {
            match s3.get_bucket_encryption().bucket(id).send().await {
                Ok(o) => Ok(o
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())),
                Err(e)
                    if code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError")
                        || is_404(&e) =>
                {
                    Ok(None)
                }
                Err(e) => Err(classify(e)),
            }
        };
        let enforce_tls = async {
            match s3.get_bucket_policy().bucket(id).send().await {
                Ok(o) => Ok(policy::denies_insecure_transport(&policy::parse(
                    o.policy().unwrap_or("{}"),
                )?)),
                Err(e) if code(&e) == Some("NoSuchBucketPolicy") || is_404(&e) => Ok(false),
                Err(e) => Err(classify(e)),
            }
        };
        let (block, encryption, enforce_tls, tags) =
            tokio::try_join!(block, encryption, enforce_tls, self.tags(id))?;
        let props = json!({
            "block_public_access": block,
            "encryption": encryption,
            "enforce_tls": enforce_tls,
            "tags": tags,
        });
        Ok(Some(Live {
            props,
            outputs: self.outputs(id),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let name = self.name_for(req.stack).await?;
        let mut call = self.0.s3.create_bucket().bucket(&name);
        // us-east-1 is the one region that takes no location constraint.
        if self.0.region != "us-east-1" {
            call = call.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.0.region.as_str()))
                    .build(),
            );
        }
        // Ours from an earlier attempt (names embed the account); configured below.
        found(call.send().await, |s| s.is_bucket_already_owned_by_you())?;
        // Public access is blocked before anything else can be set.
        self.configure(&name, req.props, FIELDS).await?;
        Ok(Created {
            outputs: self.outputs(&name),
            id: name,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, _, new, changed) = req.parts();
        let fields: Vec<&str> = FIELDS
            .iter()
            .copied()
            .filter(|f| changed.iter().any(|c| c == f))
            .collect();
        self.configure(id, new, &fields).await?;
        Ok(self.outputs(id))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        if !self.exists(id).await? {
            return Ok(());
        }
        self.empty(id).await?;
        found(
            self.0.s3.delete_bucket().bucket(id).send().await,
            no_such_bucket,
        )?;
        Ok(())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let name = self.name_for(stack).await?;
        if !self.exists(&name).await? {
            return Ok(None);
        }
        let t = self.tags(&name).await?;
        // A bucket created but not yet tagged is ours too: the name embeds stack and account.
        let ours =
            t.as_object().is_some_and(|m| m.is_empty()) || tags::is_address(&t, stack, address);
        Ok(ours.then(|| Created {
            outputs: self.outputs(&name),
            id: name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_are_dns_safe() {
        let longest_stack = "a".repeat(crate::stack::validate::MAX_NAME_LEN);
        for region in [
            "us-east-1",
            "ap-southeast-3",
            "us-gov-west-1",
            "eu-central-2",
        ] {
            let n = bucket_name(&longest_stack, "123456789012", region);
            assert!(n.len() <= MAX_NAME, "{n}");
            assert!(valid_name(&n), "{n}");
        }
        assert_eq!(
            bucket_name("demo", "123456789012", "us-east-1"),
            "demo-artifacts-123456789012-us-east-1"
        );
        // A stack part that must be cut never leaves `--`.
        let n = bucket_name(&"ab-".repeat(30), "123456789012", "us-east-1");
        assert!(n.len() <= MAX_NAME && valid_name(&n), "{n}");
    }

    #[test]
    fn invalid_names_are_refused() {
        assert!(!valid_name("Upper-case"));
        assert!(!valid_name("ends-with-"));
        assert!(!valid_name(&"a".repeat(64)));
        assert!(!valid_name("a..b"));
        assert!(valid_name("demo-artifacts-1-us-east-1"));
    }
}
