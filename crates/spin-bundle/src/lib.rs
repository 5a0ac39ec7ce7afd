//! The release bundle of a Spin app, shared by `wxinfra` (which builds and uploads it) and
//! `wxrun` (which fetches, verifies and unpacks it): a tar with `spin.toml` at its root plus
//! every component's `source` and every file its `files` entries select, at their paths
//! relative to the manifest. Entries are sorted, with zeroed times and owners and fixed
//! modes, so equal apps give byte-equal bundles; the sha256 of the bytes is the release id.
//! Owns only the format: no I/O beyond reading the app's files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Why an app could not be bundled.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a Spin manifest: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: spin_manifest_version {version} is not supported (only 2)")]
    Version { path: PathBuf, version: i64 },
    #[error("component `{component}`: {message}")]
    Component { component: String, message: String },
}

/// A built bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The tar bytes.
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, lowercase hex: the release id.
    pub id: String,
    /// Paths inside the bundle, in order (`spin.toml` first).
    pub entries: Vec<String>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: i64,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    source: RawSource,
    #[serde(default)]
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSource {
    Path(String),
    Remote { url: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFile {
    Pattern(String),
    Mapped { source: String, destination: String },
}

/// What an app is made of, as `spin.toml` selects it: the manifest text and, per component,
/// its source and the files it mounts. Shared by the bundle and by Spin's OCI layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppContent {
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// The directory the manifest-relative paths start from.
    pub dir: PathBuf,
    /// Component id → what it consists of, sorted by id.
    pub components: BTreeMap<String, ComponentContent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentContent {
    /// The `.wasm`, manifest-relative with `/` separators.
    pub source: String,
    /// Guest path (relative to the guest's `/`) → manifest-relative host path. A pattern
    /// mounts a file at its own relative path; `{ source, destination }` at `destination`
    /// (plus the path under `source` when it is a directory), as Spin copies them.
    pub files: BTreeMap<String, String>,
}

/// The release id of bundle bytes.
pub fn release_id(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads the manifest at `manifest_path` and resolves every component's source and files.
pub fn content(manifest_path: &Path) -> Result<AppContent, BundleError> {
    let text = read(manifest_path)?;
    let raw: RawManifest =
        toml::from_str(&String::from_utf8_lossy(&text)).map_err(|e| BundleError::Parse {
            path: manifest_path.to_path_buf(),
            message: e.to_string(),
        })?;
    if raw.spin_manifest_version != 2 {
        return Err(BundleError::Version {
            path: manifest_path.to_path_buf(),
            version: raw.spin_manifest_version,
        });
    }
    let dir = manifest_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut components = BTreeMap::new();
    for (id, c) in &raw.component {
        let err = |message: String| BundleError::Component {
            component: id.clone(),
            message,
        };
        let source = match &c.source {
            RawSource::Path(p) => {
                let rel = inside(p).map_err(err)?;
                if !dir.join(&rel).is_file() {
                    return Err(err(format!(
                        "source {p:?} does not exist in {}; build the component first",
                        dir.display()
                    )));
                }
                rel
            }
            RawSource::Remote { url } => {
                return Err(err(format!(
                    "remote source {url:?} cannot be bundled; download the .wasm next to spin.toml"
                )));
            }
        };
        let mut files = BTreeMap::new();
        for f in &c.files {
            match f {
                RawFile::Pattern(p) => {
                    let mut found = BTreeSet::new();
                    matching(dir, p, &mut found).map_err(err)?;
                    files.extend(found.into_iter().map(|f| (f.clone(), f)));
                }
                RawFile::Mapped {
                    source,
                    destination,
                } => {
                    let rel = inside(source).map_err(err)?;
                    let dest = destination.trim_matches('/').to_string();
                    walk(dir, &rel, &mut |p| {
                        let under = p.strip_prefix(&rel).unwrap_or("").trim_start_matches('/');
                        let guest = match (dest.is_empty(), under.is_empty()) {
                            (_, true) => dest.clone(),
                            (true, false) => under.to_string(),
                            (false, false) => format!("{dest}/{under}"),
                        };
                        files.insert(guest, p);
                    })
                    .map_err(|e| err(e.to_string()))?;
                }
            }
        }
        components.insert(id.clone(), ComponentContent { source, files });
    }
    Ok(AppContent {
        manifest: text,
        dir: dir.to_path_buf(),
        components,
    })
}

/// Bundles the app whose manifest is at `manifest_path`.
pub fn bundle(manifest_path: &Path) -> Result<Bundle, BundleError> {
    let app = content(manifest_path)?;
    let mut paths = BTreeSet::new();
    for c in app.components.values() {
        paths.insert(c.source.clone());
        paths.extend(c.files.values().cloned());
    }
    paths.remove("spin.toml");

    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut entries = vec!["spin.toml".to_string()];
    append(&mut builder, "spin.toml", &app.manifest).map_err(io(manifest_path))?;
    for rel in paths {
        let path = app.dir.join(&rel);
        append(&mut builder, &rel, &read(&path)?).map_err(io(&path))?;
        entries.push(rel);
    }
    let bytes = builder.into_inner().map_err(io(manifest_path))?;
    Ok(Bundle {
        id: release_id(&bytes),
        bytes,
        entries,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BundleError> {
    std::fs::read(path).map_err(io(path))
}

fn append(builder: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    builder.append_data(&mut header, name, data)
}

/// A manifest-relative path with `/` separators, refused when it leaves the app directory:
/// the bundle must hold everything the app needs.
fn inside(p: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err(format!("path {p:?} must stay inside the app directory")),
        }
    }
    if parts.is_empty() {
        return Err(format!("path {p:?} names no file"));
    }
    Ok(parts.join("/"))
}

/// Adds every file under `dir/rel` (or `rel` itself when it is a file), as relative paths.
fn walk(dir: &Path, rel: &str, add: &mut dyn FnMut(String)) -> std::io::Result<()> {
    let path = dir.join(rel);
    if path.is_file() {
        add(rel.to_string());
        return Ok(());
    }
    for entry in std::fs::read_dir(&path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if entry.file_type()?.is_dir() {
            walk(dir, &child, add)?;
        } else {
            add(child);
        }
    }
    Ok(())
}

/// Adds the files matching a Spin `files` glob (`static/**/*`, `*.txt`). The walk starts at
/// the pattern's literal leading directories, so `target/` and friends are never visited
/// unless a pattern names them.
fn matching(dir: &Path, pattern: &str, out: &mut BTreeSet<String>) -> Result<(), String> {
    let clean = inside(pattern)?;
    let glob = glob::Pattern::new(&clean).map_err(|e| format!("files pattern {pattern:?}: {e}"))?;
    let literal: Vec<&str> = clean
        .split('/')
        .take_while(|s| !s.contains(['*', '?', '[', '{']))
        .collect();
    let start = if literal.len() == clean.split('/').count() {
        // No wildcard at all: a file, or a directory taken whole.
        clean.clone()
    } else {
        literal.join("/")
    };
    if !dir.join(&start).exists() {
        return Err(format!(
            "files pattern {pattern:?}: {} does not exist",
            dir.join(&start).display()
        ));
    }
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let whole = start == clean;
    walk(dir, &start, &mut |p| {
        if whole || glob.matches_with(&p, opts) {
            out.insert(p);
        }
    })
    .map_err(|e| format!("files pattern {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &Path, files: &str) -> PathBuf {
        std::fs::create_dir_all(dir.join("static/sub")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("static/sub/a.txt"), "a").unwrap();
        std::fs::write(dir.join("static/b.css"), "b").unwrap();
        std::fs::write(dir.join("target/junk"), "junk").unwrap();
        std::fs::write(dir.join("app.wasm"), "\0asm").unwrap();
        let m = dir.join("spin.toml");
        std::fs::write(
            &m,
            format!(
                "spin_manifest_version = 2\n[component.a]\nsource = \"app.wasm\"\nfiles = {files}\n"
            ),
        )
        .unwrap();
        m
    }

    fn entries(files: &str) -> Vec<String> {
        let d = tempfile::tempdir().unwrap();
        bundle(&app(d.path(), files)).unwrap().entries
    }

    #[test]
    fn equal_apps_give_equal_bytes_and_ids() {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let b1 = bundle(&app(d1.path(), "[\"static/**/*\"]")).unwrap();
        let b2 = bundle(&app(d2.path(), "[\"static/**/*\"]")).unwrap();
        assert_eq!(b1, b2);
        assert_eq!(b1.id, release_id(&b1.bytes));
        std::fs::write(d2.path().join("app.wasm"), "\0asn").unwrap();
        let b3 = bundle(&d2.path().join("spin.toml")).unwrap();
        assert_ne!(b1.id, b3.id, "a changed byte must change the release id");
    }

    #[test]
    fn globs_select_only_matching_files() {
        assert_eq!(
            entries("[\"static/**/*\"]"),
            ["spin.toml", "app.wasm", "static/b.css", "static/sub/a.txt"]
        );
        assert_eq!(
            entries("[\"static/*.css\"]"),
            ["spin.toml", "app.wasm", "static/b.css"]
        );
        assert_eq!(
            entries("[{ source = \"static/sub\", destination = \"/s\" }]"),
            ["spin.toml", "app.wasm", "static/sub/a.txt"]
        );
        assert_eq!(entries("[]"), ["spin.toml", "app.wasm"]);
    }

    #[test]
    fn files_are_mounted_where_spin_copies_them() {
        let d = tempfile::tempdir().unwrap();
        let m = app(
            d.path(),
            "[\"static/*.css\", { source = \"static/sub\", destination = \"/s\" }, \
             { source = \"static/b.css\", destination = \"/c/b.css\" }]",
        );
        let c = &content(&m).unwrap().components["a"];
        assert_eq!(c.source, "app.wasm");
        let files: Vec<_> = c
            .files
            .iter()
            .map(|(g, h)| (g.as_str(), h.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("c/b.css", "static/b.css"),
                ("s/a.txt", "static/sub/a.txt"),
                ("static/b.css", "static/b.css")
            ]
        );
    }

    #[test]
    fn tar_entries_are_normalised() {
        let d = tempfile::tempdir().unwrap();
        let b = bundle(&app(d.path(), "[\"static/**/*\"]")).unwrap();
        let mut ar = tar::Archive::new(b.bytes.as_slice());
        for e in ar.entries().unwrap() {
            let h = e.unwrap().header().clone();
            assert_eq!(h.mtime().unwrap(), 0);
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!(h.uid().unwrap(), 0);
        }
    }

    #[test]
    fn paths_leaving_the_app_and_missing_sources_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let m = app(d.path(), "[\"../etc/*\"]");
        let e = bundle(&m).unwrap_err().to_string();
        assert!(e.contains("must stay inside the app directory"), "{e}");
        std::fs::write(
            &m,
            "spin_manifest_version = 2\n[component.a]\nsource = \"missing.wasm\"\n",
        )
        .unwrap();
        let e = bundle(&m).unwrap_err().to_string();
        assert!(e.contains("build the component first"), "{e}");
        std::fs::write(&m, "spin_manifest_version = 1\n").unwrap();
        assert!(matches!(bundle(&m), Err(BundleError::Version { .. })));
    }
}
