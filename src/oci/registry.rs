//! Pushing over the OCI distribution protocol (`oci-client`): blobs the registry already has
//! are skipped (HEAD first), so pushing an unchanged artifact (the runtime image, or the app
//! in Spin's layout) uploads nothing; the others go up in one request each.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::image::digest;

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// One blob (a layer or a config) and its digest (`sha256:<hex>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub data: Vec<u8>,
    pub digest: String,
}

impl Blob {
    pub fn new(data: Vec<u8>) -> Self {
        Blob {
            digest: digest(&data),
            data,
        }
    }
}

/// What a push sends: the blobs an OCI image manifest names, and that manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub blobs: Vec<Blob>,
    pub manifest: Vec<u8>,
    /// The manifest's digest: what a pull by digest verifies.
    pub digest: String,
}

impl Artifact {
    pub fn new(blobs: Vec<Blob>, manifest: Vec<u8>) -> Self {
        Artifact {
            digest: digest(&manifest),
            blobs,
            manifest,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry {registry}: {source}")]
    Protocol {
        registry: String,
        #[source]
        source: OciDistributionError,
    },
    #[error("registry {registry} stored manifest {got}, expected {want}")]
    DigestMismatch {
        registry: String,
        want: String,
        got: String,
    },
}

/// What a push did.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub digest: String,
    /// Digests of the blobs actually uploaded (empty when the registry had them all).
    pub uploaded: Vec<String>,
}

/// One registry host and the credentials for it.
pub struct Registry {
    host: String,
    client: Client,
    auth: RegistryAuth,
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

impl Registry {
    /// A client for `host`; loopback hosts are spoken to over HTTP, everything else HTTPS.
    pub fn new(host: &str, auth: RegistryAuth) -> Self {
        let protocol = if registry_auth::is_loopback(host) {
            ClientProtocol::HttpsExcept(vec![host.to_string()])
        } else {
            ClientProtocol::Https
        };
        Self {
            host: host.to_string(),
            client: Client::new(ClientConfig {
                protocol,
                // One PUT per blob (as containerd pushes): the chunked upload sends 4 MiB
                // PATCH parts, and ECR refuses every part but the last below 5 MiB
                // (LayerPartTooSmallException).
                use_monolithic_push: true,
                ..Default::default()
            }),
            auth,
        }
    }

    pub fn reference(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.host.clone(), repository.to_string(), tag.to_string())
    }

    fn err(&self, source: OciDistributionError) -> RegistryError {
        RegistryError::Protocol {
            registry: self.host.clone(),
            source,
        }
    }

    /// The manifest digest `reference` points at (a HEAD), `None` when there is none.
    pub async fn manifest_digest(
        &self,
        reference: &Reference,
    ) -> Result<Option<String>, RegistryError> {
        match self
            .client
            .fetch_manifest_digest(reference, &self.auth)
            .await
        {
            Ok(d) => Ok(Some(d)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The image config `reference` points at, `None` when there is no such manifest.
    pub async fn config(
        &self,
        reference: &Reference,
    ) -> Result<Option<serde_json::Value>, RegistryError> {
        match self
            .client
            .pull_manifest_and_config(reference, &self.auth)
            .await
        {
            Ok((_, _, config)) => Ok(serde_json::from_str(&config).ok()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Pushes `artifact` as `reference` (a tag): missing blobs, then the manifest — nothing
    /// at all when the tag already names this manifest.
    pub async fn push(
        &self,
        reference: &Reference,
        artifact: &Artifact,
    ) -> Result<Pushed, RegistryError> {
        if self.manifest_digest(reference).await?.as_deref() == Some(&artifact.digest) {
            return Ok(Pushed {
                digest: artifact.digest.clone(),
                uploaded: Vec::new(),
            });
        }
        self.client
            .auth(reference, &self.auth, RegistryOperation::Push)
            .await
            .map_err(|e| self.err(e))?;
        let mut uploaded = Vec::new();
        for blob in &artifact.blobs {
            if uploaded.contains(&blob.digest) {
                continue;
            }
            let have = self
                .client
                .blob_exists(reference, &blob.digest)
                .await
                .map_err(|e| self.err(e))?;
            if !have {
                self.client
                    .push_blob(reference, blob.data.clone(), &blob.digest)
                    .await
                    .map_err(|e| self.err(e))?;
                uploaded.push(blob.digest.clone());
            }
        }
        self.client
            .push_manifest_raw(
                reference,
                artifact.manifest.clone(),
                http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
            )
            .await
            .map_err(|e| self.err(e))?;
        let got = self.manifest_digest(reference).await?.unwrap_or_default();
        if got != artifact.digest {
            return Err(RegistryError::DigestMismatch {
                registry: self.host.clone(),
                want: artifact.digest.clone(),
                got,
            });
        }
        uploaded.push(artifact.digest.clone());
        Ok(Pushed {
            digest: got,
            uploaded,
        })
    }
}
