//! Pushing over the OCI distribution protocol (`oci-client`): blobs the registry already has
//! are skipped (HEAD first), so pushing an unchanged artifact (the runtime image, or the app
//! in Spin's layout) uploads nothing; the others go up in one request each.

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
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
    #[error("registry {registry}")]
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

/// The certificates of a PEM bundle, one each (the client takes one certificate per entry).
pub fn pem_roots(pem: &str) -> Vec<Certificate> {
    const END: &str = "-----END CERTIFICATE-----";
    pem.split_inclusive(END)
        .filter_map(|block| {
            let start = block.find("-----BEGIN CERTIFICATE-----")?;
            block.ends_with(END).then(|| Certificate {
                encoding: CertificateEncoding::Pem,
                data: block.as_bytes()[start..].to_vec(),
            })
        })
        .collect()
}

/// Extra roots to trust beside the built-in ones: the PEM bundle `SSL_CERT_FILE` names (the
/// variable OpenSSL, curl and Docker's tooling read), for registries behind a private CA.
fn roots_from_env() -> Vec<Certificate> {
    std::env::var_os("SSL_CERT_FILE")
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|pem| pem_roots(&pem))
        .unwrap_or_default()
}

impl Registry {
    /// A client for `host` (`https://` or `http://` may say how to speak to it): loopback
    /// hosts are spoken to over HTTP, everything else over HTTPS, trusting the built-in roots
    /// and those of `SSL_CERT_FILE`.
    pub fn new(host: &str, auth: RegistryAuth) -> Self {
        Self::with_roots(host, auth, roots_from_env())
    }

    /// [`Registry::new`] trusting `roots` beside the built-in ones.
    pub fn with_roots(host: &str, auth: RegistryAuth, roots: Vec<Certificate>) -> Self {
        let (scheme, host) = match host.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest),
            None => (None, host),
        };
        let protocol = match scheme {
            Some("https") => ClientProtocol::Https,
            Some(_) => ClientProtocol::Http,
            None if registry_auth::is_loopback(host) => {
                ClientProtocol::HttpsExcept(vec![host.to_string()])
            }
            None => ClientProtocol::Https,
        };
        Self {
            host: host.to_string(),
            client: Client::new(ClientConfig {
                protocol,
                extra_root_certificates: roots,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_bundle_gives_one_root_per_certificate() {
        let cert =
            |n: u8| format!("-----BEGIN CERTIFICATE-----\nAAA{n}\n-----END CERTIFICATE-----\n");
        let bundle = format!("# comment\n{}\n{}garbage", cert(1), cert(2));
        let roots = pem_roots(&bundle);
        assert_eq!(roots.len(), 2);
        assert_eq!(
            String::from_utf8(roots[1].data.clone()).unwrap(),
            cert(2).trim_end()
        );
        assert!(pem_roots("no certificate here").is_empty());
    }
}
