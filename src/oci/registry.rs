//! Pushing over the OCI distribution protocol (`oci-client`): blobs the registry already has
//! are skipped (HEAD first), so pushing an unchanged image uploads nothing; the others go up
//! in one request each.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::image::{CONFIG_MEDIA_TYPE, Image, LAYER_MEDIA_TYPE};

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

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

/// Whether `host` is this machine (a test or local registry spoken to over plain HTTP).
fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
        let protocol = if is_loopback(host) {
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

    /// Pushes `image` as `reference` (a tag): missing blobs, then the manifest — nothing at all
    /// when the tag already names this manifest.
    pub async fn push(
        &self,
        reference: &Reference,
        image: &Image,
    ) -> Result<Pushed, RegistryError> {
        if self.manifest_digest(reference).await?.as_deref() == Some(&image.manifest_digest) {
            return Ok(Pushed {
                digest: image.manifest_digest.clone(),
                uploaded: Vec::new(),
            });
        }
        self.client
            .auth(reference, &self.auth, RegistryOperation::Push)
            .await
            .map_err(|e| self.err(e))?;
        let mut uploaded = Vec::new();
        for (data, digest, _media) in [
            (&image.layer, &image.layer_digest, LAYER_MEDIA_TYPE),
            (&image.config, &image.config_digest, CONFIG_MEDIA_TYPE),
        ] {
            let have = self
                .client
                .blob_exists(reference, digest)
                .await
                .map_err(|e| self.err(e))?;
            if !have {
                self.client
                    .push_blob(reference, data.clone(), digest)
                    .await
                    .map_err(|e| self.err(e))?;
                uploaded.push(digest.clone());
            }
        }
        self.client
            .push_manifest_raw(
                reference,
                image.manifest.clone(),
                http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
            )
            .await
            .map_err(|e| self.err(e))?;
        let got = self.manifest_digest(reference).await?.unwrap_or_default();
        if got != image.manifest_digest {
            return Err(RegistryError::DigestMismatch {
                registry: self.host.clone(),
                want: image.manifest_digest.clone(),
                got,
            });
        }
        uploaded.push(image.manifest_digest.clone());
        Ok(Pushed {
            digest: got,
            uploaded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_use_plain_http() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(!is_loopback("123456789012.dkr.ecr.us-east-1.amazonaws.com"));
    }
}
