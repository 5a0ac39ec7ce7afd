//! `aws.oci_image`: the runtime image in the stack's ECR repository — the same static `wxrun`
//! binary EC2 and Lambda get, packed by [`crate::oci`] and tagged with the binary's sha256.
//! Read is a manifest HEAD (plus the config, to compare arch/user/cmd); create pushes only
//! what the registry lacks; delete removes the tag from ECR. Any change but the local path of
//! the binary forces a new image (tags are immutable).
//!
//! `WXINFRA_OCI_REGISTRY` (see [`super::context::OCI_REGISTRY_ENV`]) sends the image to another
//! registry host, anonymously (a local registry in tests); images there are left in place on
//! delete, since the registry API's manifest delete is optional and often disabled.

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageIdentifier;
use oci_client::secrets::RegistryAuth;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found};
use super::props::{Typed, typed};
use crate::artifacts::image_layer::{self, LayerInput};
use crate::error_text::with_causes;
use crate::oci::image::{Layer, assemble};
use crate::oci::{ImageSpec, Registry};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The image's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OciImageProps {
    /// The repository the image is pushed to (`<registry host>/<repository>`).
    pub repository_uri: String,
    /// The image's tag in the repository: the binary's sha256.
    pub tag: String,
    /// Local path of the runtime binary the image's one layer is packed from.
    pub binary: String,
    /// The binary's sha256, which names the packed layer.
    pub binary_sha256: String,
    /// The stack's architecture name (`arm64`, `x86_64`) of the image's platform.
    pub arch: String,
    /// The user the container runs as (a numeric uid, as a string).
    pub user: String,
    /// The container's command: the arguments after the `/wxrun` entrypoint.
    pub cmd: Vec<String>,
}

typed!(OciImageProps, "aws.oci_image", "OCI image");

pub struct OciImage(pub std::sync::Arc<AwsContext>);

/// `<host>/<repository>` split in two.
fn split_uri(uri: &str) -> Result<(&str, &str), ProviderError> {
    uri.split_once('/')
        .ok_or_else(|| ProviderError::Validation(format!("`{uri}` is not <registry>/<repository>")))
}

/// Stack architecture names from OCI's.
fn stack_arch(oci: &str) -> &str {
    match oci {
        "amd64" => "x86_64",
        other => other,
    }
}

impl OciImage {
    /// The registry to talk to for `repository_uri`, and the repository path in it.
    async fn registry(&self, uri: &str) -> Result<(Registry, String), ProviderError> {
        let (host, repo) = split_uri(uri)?;
        if let Some(other) = &self.0.oci_registry {
            return Ok((
                Registry::new(other, RegistryAuth::Anonymous),
                repo.to_string(),
            ));
        }
        // ECR: a 12-hour token from GetAuthorizationToken, `AWS:<password>` in base64.
        let out = self
            .0
            .ecr
            .get_authorization_token()
            .send()
            .await
            .map_err(classify)?;
        let token = out
            .authorization_data()
            .first()
            .and_then(|a| a.authorization_token())
            .and_then(|t| aws_smithy_types::base64::decode(t).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ProviderError::Api("ECR returned no authorization token".into()))?;
        let (user, password) = token.split_once(':').ok_or_else(|| {
            ProviderError::Api("ECR authorization token is not user:password".into())
        })?;
        Ok((
            Registry::new(host, RegistryAuth::Basic(user.into(), password.into())),
            repo.to_string(),
        ))
    }

    fn outputs(uri: &str, digest: &str) -> Outputs {
        let mut o = Outputs::new();
        o.insert("digest".into(), json!(digest));
        o.insert("uri".into(), json!(format!("{uri}@{digest}")));
        o
    }
}

/// What makes the layer of `binary` for `stack`'s image: see [`image_layer`].
pub fn layer_input(stack: &str, binary: &str, arch: &str, sha256: &str) -> LayerInput {
    LayerInput {
        dir: std::path::Path::new(crate::artifacts::DIR).join(stack),
        binary: binary.into(),
        arch: arch.into(),
        sha256: sha256.into(),
    }
}

async fn layer_for(
    stack: &str,
    binary: &str,
    arch: &str,
    sha256: &str,
) -> Result<std::sync::Arc<Layer>, crate::artifacts::ArtifactError> {
    image_layer::get(&layer_input(stack, binary, arch, sha256)).await
}

fn registry_err(e: crate::oci::RegistryError) -> ProviderError {
    ProviderError::Api(with_causes(&e))
}

#[async_trait]
impl Resource for OciImage {
    fn kind(&self) -> &'static str {
        OciImageProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field != "binary"
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (uri, tag) = id.rsplit_once(':').ok_or_else(|| {
            ProviderError::Validation(format!("`{id}` is not <repository uri>:<tag>"))
        })?;
        let (registry, repo) = self.registry(uri).await?;
        let reference = registry.reference(&repo, tag);
        let Some(config) = registry.config(&reference).await.map_err(registry_err)? else {
            return Ok(None);
        };
        let Some(digest) = registry
            .manifest_digest(&reference)
            .await
            .map_err(registry_err)?
        else {
            return Ok(None);
        };
        let props = json!({
            "repository_uri": uri,
            "tag": tag,
            // The local path is not in the image; the tag is the binary's sha256.
            "binary": applied["binary"],
            "binary_sha256": tag,
            "arch": config["architecture"].as_str().map(stack_arch),
            "user": config["config"]["User"],
            "cmd": config["config"]["Cmd"],
        });
        Ok(Some(Live {
            props,
            outputs: Self::outputs(uri, &digest),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = OciImageProps::from_value(req.props)?;
        let (uri, tag) = (p.repository_uri.as_str(), p.tag.as_str());
        let spec = ImageSpec {
            arch: p.arch,
            user: p.user,
            cmd: p.cmd,
        };
        // The layer (gzip of the binary: seconds of CPU) is made once per binary, off the
        // async workers, and usually already made: `apply` starts it beside the plan.
        let layer = layer_for(req.stack, &p.binary, &spec.arch, &p.binary_sha256)
            .await
            .map_err(|e| ProviderError::Validation(with_causes(&e)))?;
        let image =
            assemble(&layer, &spec).map_err(|e| ProviderError::Validation(with_causes(&e)))?;
        let (registry, repo) = self.registry(uri).await?;
        let pushed = registry
            .push(&registry.reference(&repo, tag), &image.artifact())
            .await
            .map_err(registry_err)?;
        Ok(Created {
            id: format!("{uri}:{tag}"),
            outputs: Self::outputs(uri, &pushed.digest),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, _, new, _) = req.parts();
        // Only the binary's local path can change in place, and it changes nothing remote.
        self.read(id, new)
            .await?
            .map(|l| l.outputs)
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        if self.0.oci_registry.is_some() {
            return Ok(());
        }
        let (uri, tag) = id.rsplit_once(':').ok_or_else(|| {
            ProviderError::Validation(format!("`{id}` is not <repository uri>:<tag>"))
        })?;
        let (_, repo) = split_uri(uri)?;
        found(
            self.0
                .ecr
                .batch_delete_image()
                .repository_name(repo)
                .image_ids(ImageIdentifier::builder().image_tag(tag).build())
                .send()
                .await,
            |e| e.is_repository_not_found_exception(),
        )
        .map(drop)
    }

    // No orphan search (the default): a push is idempotent (blobs and manifest are
    // content-addressed and checked first), so a resumed create pushes again.
}
