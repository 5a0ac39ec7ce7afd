//! The runtime image's layer (the static `wxrun`, CA roots, `/tmp`; gzipped), made once per
//! binary: gzip of tens of MiB is seconds of CPU, the slowest step of a deploy when it sits
//! on the apply's critical path. It is kept under `.wxinfra/artifacts/<stack>/`, keyed by the
//! binary's sha256, the CA bundle's and the compression, and made at most once per process:
//! `apply` starts it beside the plan ([`prefetch`]) and `aws.oci_image` awaits the same
//! result; the Kubernetes runtime image of the same binary takes the same layer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::OnceCell;

use super::{ArtifactError, io, sha256_hex, write_once};
use crate::oci::image::{LAYER_COMPRESSION, Layer, ca_bundle, digest, layer};

type Slot = Arc<OnceCell<Arc<Layer>>>;

/// Layers made or read by this process, by cache file.
static MADE: LazyLock<Mutex<HashMap<PathBuf, Slot>>> = LazyLock::new(Mutex::default);

/// What one layer needs: where it is kept and what it is made of.
#[derive(Debug, Clone)]
pub struct LayerInput {
    /// `.wxinfra/artifacts/<stack>`.
    pub dir: PathBuf,
    pub binary: PathBuf,
    /// The stack's architecture name, `x86_64` or `arm64`.
    pub arch: String,
    /// The binary's sha256 as planned: a binary changed since is refused.
    pub sha256: String,
}

impl LayerInput {
    fn cache(&self) -> PathBuf {
        // The roots are compiled in: a new bundle is a new layer.
        let roots = &sha256_hex(ca_bundle().as_bytes())[..16];
        self.dir.join(format!(
            "image-layer-{}-{}-{roots}-{LAYER_COMPRESSION}.tar.gz",
            self.arch, self.sha256
        ))
    }
}

/// The layer for `input`: this process's, else the kept one, else made (and kept).
pub async fn get(input: &LayerInput) -> Result<Arc<Layer>, ArtifactError> {
    let path = input.cache();
    let slot = MADE
        .lock()
        .expect("no panic while holding the lock")
        .entry(path.clone())
        .or_default()
        .clone();
    let input = input.clone();
    slot.get_or_try_init(|| async move {
        tokio::task::spawn_blocking(move || kept_or_made(&input, &path))
            .await
            .map_err(|e| ArtifactError::Pack {
                path: PathBuf::new(),
                message: e.to_string(),
            })?
            .map(Arc::new)
    })
    .await
    .cloned()
}

/// [`get`] for synchronous callers (`render k8s`), sharing the kept layers but not the
/// in-process ones.
pub fn blocking(input: &LayerInput) -> Result<Layer, ArtifactError> {
    kept_or_made(input, &input.cache())
}

/// Starts making the layer in the background; [`get`] then waits for that run.
pub fn prefetch(input: LayerInput) {
    tokio::spawn(async move {
        // A failure is reported by the create that needs the layer.
        let _ = get(&input).await;
    });
}

fn kept_or_made(input: &LayerInput, path: &Path) -> Result<Layer, ArtifactError> {
    let diff_path = path.with_extension("diff_id");
    if let (Ok(bytes), Ok(diff_id)) = (std::fs::read(path), std::fs::read_to_string(&diff_path)) {
        let d = digest(&bytes);
        // The name says which binary; the content must still be what was written.
        if std::fs::read_to_string(path.with_extension("digest")).is_ok_and(|k| k == d) {
            return Ok(Layer {
                bytes,
                digest: d,
                diff_id,
            });
        }
    }
    let binary = std::fs::read(&input.binary).map_err(io(&input.binary))?;
    let sha = sha256_hex(&binary);
    if sha != input.sha256 {
        return Err(ArtifactError::Pack {
            path: input.binary.clone(),
            message: format!(
                "changed since the plan: sha256 {sha}, planned {}",
                input.sha256
            ),
        });
    }
    let made = layer(&binary, &input.binary.display().to_string(), &input.arch).map_err(|e| {
        ArtifactError::Pack {
            path: input.binary.clone(),
            message: e.to_string(),
        }
    })?;
    write_once(path, &made.bytes)?;
    write_once(&diff_path, made.diff_id.as_bytes())?;
    write_once(&path.with_extension("digest"), made.digest.as_bytes())?;
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with an x86-64 ELF header and `body`, with its sha256.
    fn binary(dir: &Path, body: &[u8]) -> (PathBuf, String) {
        let mut b = b"\x7fELF\x02\x01\x01".to_vec();
        b.resize(18, 0);
        b.extend_from_slice(&0x3eu16.to_le_bytes());
        b.resize(64, 0);
        b.extend_from_slice(body);
        let p = dir.join("wxrun");
        std::fs::write(&p, &b).unwrap();
        (p, sha256_hex(&b))
    }

    fn input(dir: &Path, binary: PathBuf, sha256: String) -> LayerInput {
        LayerInput {
            dir: dir.join("artifacts"),
            binary,
            arch: "x86_64".into(),
            sha256,
        }
    }

    #[test]
    fn a_kept_layer_is_reused_without_the_binary_and_a_damaged_one_is_made_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, sha) = binary(tmp.path(), b"v1");
        let i = input(tmp.path(), bin.clone(), sha);
        let made = kept_or_made(&i, &i.cache()).unwrap();
        assert_eq!(made.digest, digest(&made.bytes));
        // Kept: the binary is not even read again.
        std::fs::remove_file(&bin).unwrap();
        let kept = kept_or_made(&i, &i.cache()).unwrap();
        assert_eq!(
            (kept.digest.clone(), kept.diff_id.clone()),
            (made.digest.clone(), made.diff_id.clone())
        );
        // A damaged copy is not trusted: made again from the binary (gone here, so an error).
        std::fs::write(i.cache(), b"damaged").unwrap();
        assert!(kept_or_made(&i, &i.cache()).is_err());
        binary(tmp.path(), b"v1");
        assert_eq!(kept_or_made(&i, &i.cache()).unwrap().digest, made.digest);
    }

    #[test]
    fn a_binary_changed_since_the_plan_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, sha) = binary(tmp.path(), b"v1");
        binary(tmp.path(), b"v2");
        let i = input(tmp.path(), bin, sha);
        let e = kept_or_made(&i, &i.cache()).unwrap_err().to_string();
        assert!(e.contains("changed since the plan"), "{e}");
    }

    #[tokio::test]
    async fn one_process_makes_a_layer_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (bin, sha) = binary(tmp.path(), b"once");
        let i = input(tmp.path(), bin, sha);
        let (a, b) = tokio::join!(get(&i), get(&i));
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
    }
}
