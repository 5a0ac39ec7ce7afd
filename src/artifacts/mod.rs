//! Local build inputs, computed before synth so synth stays pure: the app's release bundle
//! (its sha256 is the release id), the `wxrun` runtime binary per architecture, and the
//! Lambda zip whose `bootstrap` is that same binary. Each is content-addressed: its S3 key
//! contains its sha256, so a new build is a new object and nothing else changes.
//! Owns the local files under `.wxinfra/artifacts/`; uploading is `aws::s3_object`'s job.

pub mod image_layer;
mod lambda_zip;
mod prune;
pub mod runtime_image;

pub use prune::{Pruned, prune};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::stack::{Arch, LoadedStack};
use crate::state::State;

/// Where artifacts are written, next to the default state directory (`.wxinfra/`).
pub const DIR: &str = ".wxinfra/artifacts";
/// Default runtime binary, relative to the current directory; `{arch}` is substituted.
pub const DEFAULT_RUNTIME: &str = "runtime-image/dist/wxrun-{arch}";
/// Address of the release pointer node, whose props carry the release history that
/// [`retained`] reads back from the state.
pub const RELEASE: &str = "aws.release.app";
/// Object key of the stack's current-release pointer (read by `wxrun --source s3://bucket/releases`).
pub const CURRENT_KEY: &str = "releases/current";
/// Releases kept in the bucket: the current one plus this many minus one before it, so a
/// rollback is a pointer move. Older bundles are deleted when they fall out of the window.
pub const KEEP_RELEASES: usize = 3;
/// Stand-in digest for a runtime binary that is not built yet; only `validate` accepts it,
/// and nothing is uploaded from a validate run.
pub const UNBUILT: &str = "unbuilt";

/// One local file and where it goes in the artifact bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: PathBuf,
    pub sha256: String,
    pub key: String,
}

/// Everything synth needs from the local build.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The app bundle, key `releases/<id>.tar`.
    pub bundle: Artifact,
    /// = `bundle.sha256`.
    pub release_id: String,
    /// Earlier releases still kept (newest first), at most `KEEP_RELEASES - 1`.
    pub retained: Vec<String>,
    /// The runtime binary for every architecture a configured primitive uses, key
    /// `runtime/wxrun-<arch>-<sha256>`.
    pub runtime: BTreeMap<&'static str, Artifact>,
    /// The Lambda deployment package when Lambda is configured, key
    /// `lambda/wxrun-<arch>-<sha256 of the zip>.zip`.
    pub lambda_zip: Option<Artifact>,
    /// The key-value store labels the app's components use (`key_value_stores`), sorted.
    pub kv_labels: Vec<String>,
}

/// What the artifacts are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `validate`: check that the app bundles; write nothing, do not require the binary.
    Validate,
    /// `plan` / `apply`: everything must exist; bundle and zip are written to `dir`.
    Deploy,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("bundling the app")]
    Bundle(#[from] spin_bundle::BundleError),
    #[error(
        "the {arch} runtime binary {path} does not exist; build it with `runtime-image/build-static.sh` and copy the binary there, or set `runtime.binary` in the stack (`{{arch}}` is replaced by arm64/x86_64)"
    )]
    MissingRuntime { arch: &'static str, path: PathBuf },
    #[error("packing the runtime image from {path}: {message}")]
    Pack { path: PathBuf, message: String },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Architectures the configured primitives run on.
pub fn archs(stack: &LoadedStack) -> Vec<Arch> {
    let c = &stack.stack.compute;
    let mut v: Vec<Arch> = [
        c.ec2.as_ref().map(|e| e.value.arch.value),
        c.fargate.as_ref().map(|f| f.value.arch.value),
        c.lambda.as_ref().map(|l| l.value.arch.value),
    ]
    .into_iter()
    .flatten()
    .collect();
    v.sort_by_key(|a| a.as_str());
    v.dedup();
    v
}

/// The runtime binary path for `arch`: `runtime.binary` (relative to the stack file) or the
/// default (relative to the current directory), with `{arch}` substituted.
pub fn runtime_path(stack: &LoadedStack, arch: Arch) -> PathBuf {
    match &stack.stack.runtime.binary {
        Some(b) => stack.resolve(&b.value.replace("{arch}", arch.as_str())),
        None => PathBuf::from(DEFAULT_RUNTIME.replace("{arch}", arch.as_str())),
    }
}

/// Builds the bundle and the Lambda zip into `dir/<stack>/` and hashes the runtime binaries.
/// `state` supplies the release history (which earlier bundles are kept).
pub fn prepare(
    stack: &LoadedStack,
    state: Option<&State>,
    dir: &Path,
    purpose: Purpose,
) -> Result<Artifacts, ArtifactError> {
    let manifest = stack.resolve(&stack.stack.app.manifest.value);
    let bundle = spin_bundle::bundle(&manifest)?;
    let out = dir.join(&stack.stack.name.value);
    let bundle_path = out.join("releases").join(format!("{}.tar", bundle.id));
    let release_id = bundle.id.clone();

    let mut runtime = BTreeMap::new();
    let mut binaries = BTreeMap::new();
    for arch in archs(stack) {
        let path = runtime_path(stack, arch);
        let (sha, bytes) = match std::fs::read(&path) {
            Ok(b) => (sha256_hex(&b), Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if purpose == Purpose::Deploy {
                    return Err(ArtifactError::MissingRuntime {
                        arch: arch.as_str(),
                        path,
                    });
                }
                (UNBUILT.to_string(), None)
            }
            Err(e) => return Err(io(&path)(e)),
        };
        runtime.insert(
            arch.as_str(),
            Artifact {
                key: format!("runtime/wxrun-{}-{sha}", arch.as_str()),
                path,
                sha256: sha,
            },
        );
        binaries.insert(arch.as_str(), bytes);
    }

    // Written only once every input is known to exist.
    if purpose == Purpose::Deploy {
        write_once(&bundle_path, &bundle.bytes)?;
    }
    let lambda_zip = match &stack.stack.compute.lambda {
        None => None,
        Some(l) => {
            let arch = l.value.arch.value;
            let (sha, path) = match binaries.get(arch.as_str()).and_then(|b| b.as_ref()) {
                Some(bin) => lambda_package(&out, arch, &runtime[arch.as_str()], bin, purpose)?,
                None => (UNBUILT.to_string(), out.join("lambda-unbuilt.zip")),
            };
            Some(Artifact {
                key: format!("lambda/wxrun-{}-{sha}.zip", arch.as_str()),
                path,
                sha256: sha,
            })
        }
    };

    Ok(Artifacts {
        kv_labels: kv_labels(&manifest)?,
        retained: state.map(|s| retained(s, &release_id)).unwrap_or_default(),
        bundle: Artifact {
            key: bundle_key(&release_id),
            path: bundle_path,
            sha256: release_id.clone(),
        },
        release_id,
        runtime,
        lambda_zip,
    })
}

/// Every `key_value_stores` label of the manifest at `path`'s components (declared, or inline
/// in a trigger), sorted, once.
fn kv_labels(path: &Path) -> Result<Vec<String>, ArtifactError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    // The bundle step above parsed the same file, so it is well-formed TOML here.
    let doc: toml::Table = toml::from_str(&text).unwrap_or_default();
    let declared = doc
        .get("component")
        .and_then(|c| c.as_table())
        .into_iter()
        .flat_map(|c| c.values());
    let inline = doc
        .get("trigger")
        .and_then(|t| t.as_table())
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(|kind| kind.as_array())
        .flatten()
        .filter_map(|t| t.get("component").filter(|c| c.is_table()));
    let mut labels: Vec<String> = declared
        .chain(inline)
        .filter_map(|c| c.get("key_value_stores")?.as_array())
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    labels.sort();
    labels.dedup();
    Ok(labels)
}

/// The S3 key of release `id`'s bundle (`wxrun --source s3://<bucket>/releases` reads it).
pub fn bundle_key(id: &str) -> String {
    format!("releases/{id}.tar")
}

/// Earlier releases to keep, newest first: the one `aws.release.app` points at now and the
/// ones it kept, minus `current`, cut to `KEEP_RELEASES - 1`.
pub fn retained(state: &State, current: &str) -> Vec<String> {
    let Some(r) = state.resources.get(RELEASE) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = Vec::new();
    let head = r.props.get("release_id").and_then(|v| v.as_str());
    let kept = r
        .props
        .get("retained")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str());
    for id in head.into_iter().chain(kept) {
        if id != current && !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    ids.truncate(KEEP_RELEASES - 1);
    ids
}

/// The Lambda zip of `runtime` (read as `bin`): its sha256 and path. Compressing the binary is
/// most of what a command does before its first API call, and the zip depends only on the
/// binary, so a deploy notes which zip a binary made (`lambda-<arch>-of-<binary sha>`) and
/// later runs take that zip while it is there.
fn lambda_package(
    out: &Path,
    arch: Arch,
    runtime: &Artifact,
    bin: &[u8],
    purpose: Purpose,
) -> Result<(String, PathBuf), ArtifactError> {
    let zip_path = |sha: &str| out.join(format!("lambda-{}-{sha}.zip", arch.as_str()));
    let index = out.join(format!("lambda-{}-of-{}", arch.as_str(), runtime.sha256));
    if let Ok(sha) = std::fs::read_to_string(&index) {
        let sha = sha.trim().to_string();
        if zip_path(&sha).is_file() {
            let path = zip_path(&sha);
            return Ok((sha, path));
        }
    }
    let zip = lambda_zip::build(bin).map_err(io(&runtime.path))?;
    let sha = sha256_hex(&zip);
    if purpose == Purpose::Deploy {
        write_once(&zip_path(&sha), &zip)?;
        write_once(&index, sha.as_bytes())?;
    }
    Ok((sha.clone(), zip_path(&sha)))
}

/// Writes `bytes` to `path` unless an identical file is there (content-addressed names make
/// an existing file with the right name the right file; a temp file + rename keeps a crash
/// from leaving half a file under that name).
fn write_once(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    if std::fs::read(path).is_ok_and(|have| have == bytes) {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io(parent))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io(path))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests;
