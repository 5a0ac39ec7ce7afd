//! Releases on the shared volume: `DIR/releases/<sha256>/` (an unpacked
//! bundle with `spin.toml` at its root) and the `DIR/current` pointer file.
//! A missing release is fetched from its [`Source`]: `s3://bucket/prefix/<sha256>.tar`
//! (verified: sha256 of the bundle bytes = release id) or an `oci://` registry
//! (`oci_source`: the manifest digest is the release id). Either is written into
//! a temp dir and renamed into place, so racing processes are safe. Owns the volume
//! layout and the bundle format (see `runtime-image/README.md`).

use std::path::{Path, PathBuf};

/// Why a release could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("release id {0:?} is not a sha256 (64 lowercase hex digits)")]
    BadId(String),
    #[error("release {id} is not in {dir} and no --source was given")]
    Missing { id: String, dir: PathBuf },
    #[error("bundle for release {id} hashes to {actual}")]
    Digest { id: String, actual: String },
    #[error("bundle for release {id} has no spin.toml at its root")]
    NoManifest { id: String },
    #[error("invalid source {0:?}: expected s3://bucket[/prefix] or oci://HOST/REPO:TAG")]
    BadSource(String),
    #[error("{url}: {message}")]
    Registry { url: String, message: String },
    #[error("s3://{bucket}/{key}: {message}")]
    S3 {
        bucket: String,
        key: String,
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |source| ReleaseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `id` can name a release directory.
pub fn check_id(id: &str) -> Result<(), ReleaseError> {
    if id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ReleaseError::BadId(id.to_string()))
    }
}

/// The app directory (`/mnt/app` on EFS).
#[derive(Debug, Clone)]
pub struct AppDir {
    pub root: PathBuf,
}

impl AppDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        AppDir { root: root.into() }
    }

    /// `DIR/cache`, the root of the AOT cache.
    pub fn cache_root(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// `DIR/releases/<id>`.
    pub fn release_dir(&self, id: &str) -> PathBuf {
        self.root.join("releases").join(id)
    }

    /// The manifest of release `id`.
    pub fn manifest(&self, id: &str) -> PathBuf {
        self.release_dir(id).join("spin.toml")
    }

    /// The release `DIR/current` points at, if any.
    pub fn current(&self) -> Result<Option<String>, ReleaseError> {
        let path = self.root.join("current");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let id = s.trim().to_string();
                check_id(&id)?;
                Ok(Some(id))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Points `DIR/current` at `id` (temp file + rename).
    pub fn set_current(&self, id: &str) -> Result<(), ReleaseError> {
        check_id(id)?;
        let path = self.root.join("current");
        crate::aot::write_atomic(&path, format!("{id}\n").as_bytes()).map_err(io(&path))
    }

    /// Verifies `bundle` against `id` and unpacks it as release `id`.
    pub fn install(&self, id: &str, bundle: &[u8]) -> Result<PathBuf, ReleaseError> {
        check_id(id)?;
        let actual = crate::digest::sha256_hex(bundle);
        if actual != id {
            return Err(ReleaseError::Digest {
                id: id.to_string(),
                actual,
            });
        }
        self.install_with(id, |dir| tar::Archive::new(bundle).unpack(dir))
    }

    /// Installs release `id` (already verified by the caller) from `files`
    /// (paths relative to the release directory).
    pub fn install_files(
        &self,
        id: &str,
        files: &[(PathBuf, Vec<u8>)],
    ) -> Result<PathBuf, ReleaseError> {
        self.install_with(id, |dir| {
            for (rel, data) in files {
                let path = dir.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, data)?;
            }
            Ok(())
        })
    }

    /// Fills a temp dir next to the releases with `fill` and renames it into
    /// place as release `id`; another process's identical install wins a race.
    fn install_with(
        &self,
        id: &str,
        fill: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<PathBuf, ReleaseError> {
        check_id(id)?;
        let releases = self.root.join("releases");
        std::fs::create_dir_all(&releases).map_err(io(&releases))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{id}."))
            .tempdir_in(&releases)
            .map_err(io(&releases))?;
        fill(tmp.path()).map_err(io(tmp.path()))?;
        if !tmp.path().join("spin.toml").is_file() {
            return Err(ReleaseError::NoManifest { id: id.to_string() });
        }
        let target = self.release_dir(id);
        let staged = tmp.keep();
        match std::fs::rename(&staged, &target) {
            Ok(()) => {}
            // Another process installed it first: theirs is identical.
            Err(_) if target.join("spin.toml").is_file() => {
                let _ = std::fs::remove_dir_all(&staged);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(io(&target)(e));
            }
        }
        Ok(target)
    }

    /// Makes release `id` present, fetching it from `source` if needed.
    pub async fn ensure(&self, id: &str, source: Option<&Source>) -> Result<PathBuf, ReleaseError> {
        check_id(id)?;
        if self.manifest(id).is_file() {
            return Ok(self.release_dir(id));
        }
        let Some(source) = source else {
            return Err(ReleaseError::Missing {
                id: id.to_string(),
                dir: self.root.clone(),
            });
        };
        let me = self.clone();
        let id = id.to_string();
        let install = match source {
            Source::S3(s3) => {
                let bundle = s3.bundle(&id).await?;
                tracing::info!(release = %id, bytes = bundle.len(), "fetched release bundle");
                tokio::task::spawn_blocking(move || me.install(&id, &bundle))
            }
            Source::Oci(oci) => {
                let files = oci.fetch(&id).await?;
                tracing::info!(release = %id, files = files.len(), "pulled release artifact");
                tokio::task::spawn_blocking(move || me.install_files(&id, &files))
            }
        };
        install.await.map_err(|e| ReleaseError::Io {
            path: self.root.clone(),
            source: std::io::Error::other(e),
        })?
    }
}

/// Where missing releases and the current release id come from.
#[derive(Debug, Clone)]
pub enum Source {
    S3(S3Source),
    Oci(crate::oci_source::OciSource),
}

impl Source {
    /// `s3://bucket/prefix` or `oci://HOST/REPO:TAG` (`@sha256:…`); `plain_http` speaks
    /// HTTP to an oci:// registry.
    pub async fn new(url: &str, plain_http: bool) -> Result<Self, ReleaseError> {
        if url.starts_with("oci://") {
            Ok(Source::Oci(crate::oci_source::OciSource::new(
                url, plain_http,
            )?))
        } else if plain_http {
            Err(ReleaseError::BadSource(format!(
                "{url} (plain HTTP is for oci:// registries)"
            )))
        } else {
            Ok(Source::S3(S3Source::new(url).await?))
        }
    }

    /// The release the source names as current, if any.
    pub async fn current(&self) -> Result<Option<String>, ReleaseError> {
        match self {
            Source::S3(s) => s.current().await,
            Source::Oci(o) => o.current().await,
        }
    }
}

/// `s3://bucket/prefix`: `<prefix>/<id>.tar` bundles and `<prefix>/current`.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: String,
}

impl S3Source {
    /// Parses `url` and builds a client from the standard AWS environment
    /// (`AWS_ENDPOINT_URL` selects path-style addressing, e.g. for tests).
    pub async fn new(url: &str) -> Result<Self, ReleaseError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| ReleaseError::BadSource(url.to_string()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(ReleaseError::BadSource(url.to_string()));
        }
        let shared = aws_config::load_from_env().await;
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(custom_endpoint)
            .build();
        Ok(S3Source {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, ReleaseError> {
        let key = self.key(name);
        let err = |message: String| ReleaseError::S3 {
            bucket: self.bucket.clone(),
            key: key.clone(),
            message,
        };
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(err(format!(
                    "{}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )));
            }
        };
        let bytes = out.body.collect().await.map_err(|e| err(e.to_string()))?;
        Ok(Some(bytes.to_vec()))
    }

    /// The bundle of release `id`.
    pub async fn bundle(&self, id: &str) -> Result<Vec<u8>, ReleaseError> {
        self.get(&format!("{id}.tar"))
            .await?
            .ok_or_else(|| ReleaseError::S3 {
                bucket: self.bucket.clone(),
                key: self.key(&format!("{id}.tar")),
                message: "no such bundle".into(),
            })
    }

    /// The release `<prefix>/current` names, if the object exists.
    pub async fn current(&self) -> Result<Option<String>, ReleaseError> {
        let Some(bytes) = self.get("current").await? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&bytes).trim().to_string();
        check_id(&id)?;
        Ok(Some(id))
    }
}

/// Writes a bundle of the app at `manifest`: a tar with `spin.toml` at its
/// root plus every component source and `files` directory, in sorted order
/// with zeroed times and owners, so equal apps give equal ids. Returns the
/// bundle bytes; their sha256 is the release id.
pub fn bundle(manifest_path: &Path) -> Result<Vec<u8>, crate::app::AppError> {
    let manifest = crate::manifest::Manifest::load(manifest_path)?;
    let mut paths = std::collections::BTreeSet::new();
    let io_err = |path: &Path, e: std::io::Error| {
        crate::app::AppError::Load(crate::aot::LoadError::Read {
            path: path.to_path_buf(),
            source: e,
        })
    };
    for c in manifest.components.values() {
        paths.insert(c.source.clone());
        for m in &c.files {
            collect_files(&m.host, &mut paths).map_err(|e| io_err(&m.host, e))?;
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let text = std::fs::read(manifest_path).map_err(|e| io_err(manifest_path, e))?;
    append(&mut builder, "spin.toml", &text).map_err(|e| io_err(manifest_path, e))?;
    for p in paths {
        let rel = p.strip_prefix(&manifest.dir).unwrap_or(&p);
        let data = std::fs::read(&p).map_err(|e| io_err(&p, e))?;
        append(&mut builder, &rel.to_string_lossy(), &data).map_err(|e| io_err(&p, e))?;
    }
    builder.into_inner().map_err(|e| io_err(manifest_path, e))
}

fn append(builder: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, name, data)
}

fn collect_files(dir: &Path, out: &mut std::collections::BTreeSet<PathBuf>) -> std::io::Result<()> {
    if dir.is_file() {
        out.insert(dir.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.insert(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_app(dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir.join("static/sub")).unwrap();
        std::fs::write(dir.join("static/sub/a.txt"), "a").unwrap();
        std::fs::write(dir.join("app.wasm"), "not really wasm").unwrap();
        let m = dir.join("spin.toml");
        std::fs::write(
            &m,
            "spin_manifest_version = 2\n[component.a]\nsource = \"app.wasm\"\nfiles = [\"static/**/*\"]\n",
        )
        .unwrap();
        m
    }

    #[test]
    fn bundle_is_deterministic_and_installs_verified() {
        let src = tempfile::tempdir().unwrap();
        let m = sample_app(src.path());
        let b1 = bundle(&m).unwrap();
        let b2 = bundle(&m).unwrap();
        assert_eq!(b1, b2);
        let id = crate::digest::sha256_hex(&b1);
        let vol = tempfile::tempdir().unwrap();
        let dir = AppDir::new(vol.path());
        let wrong = "0".repeat(64);
        assert!(matches!(
            dir.install(&wrong, &b1),
            Err(ReleaseError::Digest { .. })
        ));
        let installed = dir.install(&id, &b1).unwrap();
        assert_eq!(
            std::fs::read_to_string(installed.join("static/sub/a.txt")).unwrap(),
            "a"
        );
        // A second install of the same release (another process) is fine.
        dir.install(&id, &b1).unwrap();
        dir.set_current(&id).unwrap();
        assert_eq!(dir.current().unwrap().as_deref(), Some(id.as_str()));
        let leftovers: Vec<_> = std::fs::read_dir(vol.path().join("releases"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from(&id)]);
    }

    #[test]
    fn ids_must_be_sha256_hex() {
        assert!(check_id("../../etc").is_err());
        assert!(check_id(&"A".repeat(64)).is_err());
        assert!(check_id(&"a".repeat(64)).is_ok());
    }
}
