//! `aws.ecr_repository`: the stack's private repository for the runtime image
//! (`<stack>-runtime`), scanned on push, with immutable tags (an image is tagged by the
//! binary's sha256, so a tag never moves). The name forces a new repository; scanning, tag
//! mutability and tags change in place. Delete removes the images with it.

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The repository's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcrRepositoryProps {
    /// The repository's name in the account's private registry (`<stack>-runtime`).
    pub repository_name: String,
    /// Whether ECR scans every image for vulnerabilities as it is pushed.
    pub scan_on_push: bool,
    /// `IMMUTABLE` (a tag, once pushed, never points elsewhere) or `MUTABLE`.
    pub image_tag_mutability: String,
}

typed!(EcrRepositoryProps, "aws.ecr_repository", "ECR repository");

impl EcrRepositoryProps {
    fn scanning(&self) -> ImageScanningConfiguration {
        ImageScanningConfiguration::builder()
            .scan_on_push(self.scan_on_push)
            .build()
    }

    fn mutability(&self) -> ImageTagMutability {
        ImageTagMutability::from(self.image_tag_mutability.as_str())
    }
}

pub struct EcrRepository(pub std::sync::Arc<AwsContext>);

fn outputs(r: &Repository) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(r.repository_arn()));
    o.insert("uri".into(), json!(r.repository_uri()));
    o.insert("name".into(), json!(r.repository_name()));
    o.insert("registry_id".into(), json!(r.registry_id()));
    o
}

fn ecr_tags(p: &Value) -> Result<Vec<Tag>, ProviderError> {
    tags::pairs(p)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::Validation(e.to_string()))
        })
        .collect()
}

impl EcrRepository {
    async fn describe(&self, name: &str) -> Result<Option<Repository>, ProviderError> {
        Ok(found(
            self.0
                .ecr
                .describe_repositories()
                .repository_names(name)
                .send()
                .await,
            |e| e.is_repository_not_found_exception(),
        )?
        .and_then(|o| o.repositories().first().cloned()))
    }
}

#[async_trait]
impl Resource for EcrRepository {
    fn kind(&self) -> &'static str {
        EcrRepositoryProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "repository_name"
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(r) = self.describe(id).await? else {
            return Ok(None);
        };
        let tag_map = repository_tags(&self.0, &r).await?;
        let props = json!({
            "repository_name": r.repository_name(),
            "scan_on_push": r.image_scanning_configuration().map(|c| c.scan_on_push()),
            "image_tag_mutability": r.image_tag_mutability().map(|m| m.as_str()),
            "tags": tag_map,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&r),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EcrRepositoryProps::from_value(req.props)?;
        let name = p.repository_name.as_str();
        let out = self
            .0
            .ecr
            .create_repository()
            .repository_name(name)
            .image_scanning_configuration(p.scanning())
            .image_tag_mutability(p.mutability())
            .set_tags(Some(ecr_tags(req.props)?))
            .send()
            .await;
        // Names are unique per registry: one taken already is ProviderError::Exists, and the
        // engine adopts the repository when it is this address's earlier attempt.
        let repo = out
            .map_err(classify)?
            .repository
            .ok_or_else(|| ProviderError::Api("CreateRepository returned nothing".into()))?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(&repo),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = EcrRepositoryProps::from_value(new)?;
        if changed.iter().any(|f| f == "scan_on_push") {
            self.0
                .ecr
                .put_image_scanning_configuration()
                .repository_name(id)
                .image_scanning_configuration(p.scanning())
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "image_tag_mutability") {
            self.0
                .ecr
                .put_image_tag_mutability()
                .repository_name(id)
                .image_tag_mutability(p.mutability())
                .send()
                .await
                .map_err(classify)?;
        }
        let repo = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })?;
        if changed.iter().any(|f| f == "tags") {
            let arn = repo.repository_arn().unwrap_or_default();
            let keep: std::collections::BTreeSet<String> =
                tags::pairs(new).into_iter().map(|(k, _)| k).collect();
            let gone: Vec<String> = tags::pairs(old)
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !keep.contains(k))
                .collect();
            if !gone.is_empty() {
                self.0
                    .ecr
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(gone))
                    .send()
                    .await
                    .map_err(classify)?;
            }
            self.0
                .ecr
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(ecr_tags(new)?))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(outputs(&repo))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        accepted(
            self.0
                .ecr
                .delete_repository()
                .repository_name(id)
                .force(true)
                .send()
                .await,
            |e| e.is_repository_not_found_exception(),
        )?;
        Ok(())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tagged_repositories(&self.0)
            .await?
            .into_iter()
            .find_map(|(r, t)| {
                tags::is_address(&t, stack, address).then(|| Created {
                    id: r.repository_name().unwrap_or_default().to_string(),
                    outputs: outputs(&r),
                })
            });
        Ok(found)
    }
}

/// Every repository of the account with its tags. Repositories are few, and not every tagging
/// API lists them: their own tags say which are a stack's.
pub async fn tagged_repositories(
    ctx: &AwsContext,
) -> Result<Vec<(aws_sdk_ecr::types::Repository, Value)>, ProviderError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .ecr
        .describe_repositories()
        .into_paginator()
        .items()
        .send();
    while let Some(r) = pages.next().await {
        let r = r.map_err(classify)?;
        let t = repository_tags(ctx, &r).await?;
        out.push((r, t));
    }
    Ok(out)
}

/// A repository's tags as the `tags` property.
async fn repository_tags(
    ctx: &AwsContext,
    r: &aws_sdk_ecr::types::Repository,
) -> Result<Value, ProviderError> {
    let t = ctx
        .ecr
        .list_tags_for_resource()
        .resource_arn(r.repository_arn().unwrap_or_default())
        .send()
        .await
        .map_err(classify)?;
    Ok(tags::from_pairs(
        t.tags().iter().map(|t| (t.key(), t.value())),
    ))
}
