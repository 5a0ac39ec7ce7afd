//! The runtime image of a Kubernetes stack with `runtime_image: HOST/REPO`: the static
//! `wxrun` packed by [`crate::oci::image`] (non-root, CA roots, entrypoint `/wxrun` serving
//! from its `WXRUN_*` environment), tagged `k8s-<binary sha256>` and named by digest in the
//! manifests. Packing gzips tens of MiB, so the image is kept as an OCI archive under
//! `.wxinfra/artifacts/<stack>/`, with a key of the binary's size, mtime and the target:
//! while those hold, a render reads the archive back instead of packing again.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::image_layer::{self, LayerInput};
use super::{ArtifactError, io, runtime_path, sha256_hex, write_once};
use crate::error_text::with_causes;
use crate::oci::image::assemble;
use crate::oci::{Artifact, ImageSpec, layout};
use crate::stack::LoadedStack;

/// The built image and where it goes.
#[derive(Debug, Clone)]
pub struct RuntimeImage {
    /// `HOST/REPO`, as the stack names it.
    pub repository: String,
    /// `k8s-<sha256 of the binary>`.
    pub tag: String,
    /// The manifest's digest.
    pub digest: String,
    /// The OCI archive holding it (for `kind load image-archive`).
    pub archive: PathBuf,
}

impl RuntimeImage {
    /// `HOST/REPO@sha256:…`: what the manifests run.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    /// The image's blobs and manifest, read back from the archive and checked.
    pub fn artifact(&self) -> anyhow::Result<Artifact> {
        let bytes = std::fs::read(&self.archive)
            .with_context(|| format!("reading {}", self.archive.display()))?;
        let artifact = layout::read(&bytes).with_context(|| self.archive.display().to_string())?;
        anyhow::ensure!(
            artifact.digest == self.digest,
            "{} holds {}, not {}: remove it and run again",
            self.archive.display(),
            artifact.digest,
            self.digest
        );
        Ok(artifact)
    }

    /// `HOST/REPO:TAG`: what a push writes.
    pub fn tagged(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// The stack's built runtime image, or `None` when it names its own (`image:`) or runs on
/// SpinKube. Fails when the static binary is missing or not for `kubernetes.arch`.
pub fn k8s_runtime_image(
    loaded: &LoadedStack,
    dir: &Path,
) -> Result<Option<RuntimeImage>, ArtifactError> {
    let Some(k) = &loaded.stack.kubernetes else {
        return Ok(None);
    };
    let Some(repository) = &k.runtime_image else {
        return Ok(None);
    };
    let repository = repository.value.clone();
    let arch = k.arch();
    let binary = runtime_path(loaded, arch);
    let meta = match std::fs::metadata(&binary) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ArtifactError::MissingRuntime {
                arch: arch.as_str(),
                path: binary,
            });
        }
        Err(e) => return Err(io(&binary)(e)),
    };
    let out = dir.join(&loaded.stack.name.value);
    let archive = out.join(format!("k8s-image-{}.tar", arch.as_str()));
    let key_path = out.join(format!("k8s-image-{}.key", arch.as_str()));
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let stat_key = format!("{} {mtime} {repository}", meta.len());
    if let Some(image) = cached(&key_path, &stat_key, &archive, &repository) {
        return Ok(Some(image));
    }
    let sha = sha256_hex(&std::fs::read(&binary).map_err(io(&binary))?);
    let tag = format!("k8s-{sha}");
    let spec = ImageSpec {
        arch: arch.as_str().into(),
        user: crate::oci::image::RUNTIME_UID.to_string(),
        cmd: Vec::new(),
    };
    // The same layer as the stack's ECR image of this binary: made once for both.
    let layer = image_layer::blocking(&LayerInput {
        dir: out.clone(),
        binary: binary.clone(),
        arch: spec.arch.clone(),
        sha256: sha,
    })?;
    let image = assemble(&layer, &spec).map_err(|e| ArtifactError::Pack {
        path: binary.clone(),
        message: with_causes(&e),
    })?;
    let artifact = image.artifact();
    let bytes = layout::archive(&artifact, &format!("{repository}:{tag}"));
    write_once(&archive, &bytes)?;
    let digest = artifact.digest;
    write_once(
        &key_path,
        format!("{stat_key}\n{tag}\n{digest}\n").as_bytes(),
    )?;
    Ok(Some(RuntimeImage {
        repository,
        tag,
        digest,
        archive,
    }))
}

/// The archived image, if its key still matches the binary and the target (the archive
/// itself is read only when pushed or exported, and checked then).
fn cached(
    key_path: &Path,
    stat_key: &str,
    archive: &Path,
    repository: &str,
) -> Option<RuntimeImage> {
    let key = std::fs::read_to_string(key_path).ok()?;
    let mut lines = key.lines();
    if lines.next()? != stat_key || !archive.is_file() {
        return None;
    }
    Some(RuntimeImage {
        repository: repository.into(),
        tag: lines.next()?.into(),
        digest: lines.next()?.into(),
        archive: archive.into(),
    })
}
