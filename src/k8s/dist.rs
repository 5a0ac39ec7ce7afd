//! The output directory of `render k8s`: writing it (only what changed, removing manifests
//! that are no longer rendered) and checking that a committed copy is current.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Why a file in the output directory does not match the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Staleness {
    /// Rendered, but not on disk.
    Missing,
    /// On disk with other content.
    Differs,
    /// A manifest on disk that the stack no longer renders.
    Extra,
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Staleness::Missing => "missing",
            Staleness::Differs => "differs",
            Staleness::Extra => "no longer rendered",
        })
    }
}

/// The directory of one stack's manifests under `out` (`k8s/dist/<stack>`).
pub fn stack_dir(out: &Path, stack: &str) -> PathBuf {
    out.join(stack)
}

/// Files under `dir` whose content is not `files`, sorted by path. Only `.yaml` files count
/// as manifests: a README next to them is left alone.
pub fn check(
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<(String, Staleness)>> {
    let on_disk = manifests(dir)?;
    let mut stale = Vec::new();
    for (path, text) in files {
        match std::fs::read(dir.join(path)) {
            Ok(bytes) if bytes == text.as_bytes() => {}
            Ok(_) => stale.push((path.clone(), Staleness::Differs)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                stale.push((path.clone(), Staleness::Missing))
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", dir.join(path).display()));
            }
        }
    }
    for path in on_disk {
        if !files.contains_key(&path) {
            stale.push((path, Staleness::Extra));
        }
    }
    stale.sort();
    Ok(stale)
}

/// Makes `dir` hold exactly `files`: writes missing or different ones, removes manifests that
/// are no longer rendered, leaves identical files untouched. Returns what it changed.
pub fn write(
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<(String, Staleness)>> {
    let changes = check(dir, files)?;
    for (path, why) in &changes {
        let p = dir.join(path);
        match why {
            Staleness::Extra => {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?
            }
            Staleness::Missing | Staleness::Differs => {
                let parent = p.parent().unwrap_or(dir);
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
                std::fs::write(&p, &files[path])
                    .with_context(|| format!("writing {}", p.display()))?;
            }
        }
    }
    Ok(changes)
}

/// Relative paths of the `.yaml` files under `dir` (none when it does not exist).
fn manifests(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", d.display())),
        };
        for entry in entries {
            let path = entry
                .with_context(|| format!("listing {}", d.display()))?
                .path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_check_is_clean_and_extra_files_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("old.yaml"), "x").unwrap();
        std::fs::write(dir.join("README.md"), "kept").unwrap();
        let files = BTreeMap::from([
            ("a.yaml".to_string(), "a\n".to_string()),
            ("flux/b.yaml".to_string(), "b\n".to_string()),
        ]);
        let changes = write(dir, &files).unwrap();
        assert_eq!(
            changes,
            vec![
                ("a.yaml".into(), Staleness::Missing),
                ("flux/b.yaml".into(), Staleness::Missing),
                ("old.yaml".into(), Staleness::Extra),
            ]
        );
        assert!(check(dir, &files).unwrap().is_empty());
        assert!(dir.join("README.md").exists());
        std::fs::write(dir.join("a.yaml"), "edited\n").unwrap();
        assert_eq!(
            check(dir, &files).unwrap(),
            vec![("a.yaml".into(), Staleness::Differs)]
        );
    }
}
