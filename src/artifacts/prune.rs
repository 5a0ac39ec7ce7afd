//! Removes kept artifacts an apply no longer uses. Every runtime binary deployed from a
//! checkout left its image layer and Lambda zip (some 50 MB) and every release its bundle
//! (tens of MB for a Python app) under `.wxinfra/artifacts/<stack>/`, for good. What stays
//! is what the bucket holds after this apply: the current release and the ones kept for
//! rollback, and the layers and zip of the current binaries. Files of other names are left.

use std::collections::BTreeSet;
use std::path::Path;

use super::Artifacts;

/// What [`prune`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub files: usize,
    pub bytes: u64,
}

/// Removes from `out` (`.wxinfra/artifacts/<stack>`) the bundles, image layers and Lambda
/// zips `a` does not use. A file that cannot be removed is left for the next apply.
pub fn prune(out: &Path, a: &Artifacts) -> Pruned {
    let releases: BTreeSet<String> = std::iter::once(&a.release_id)
        .chain(&a.retained)
        .map(|id| format!("{id}.tar"))
        .collect();
    let binaries: Vec<&str> = a.runtime.values().map(|r| r.sha256.as_str()).collect();
    let zip = a
        .lambda_zip
        .as_ref()
        .and_then(|z| z.path.file_name())
        .and_then(|n| n.to_str());
    let stale_bundle = |name: &str| name.ends_with(".tar") && !releases.contains(name);
    let stale_kept = |name: &str| {
        let of_current = |sha: &&str| {
            name.contains(&format!("-{sha}-")) || name.ends_with(&format!("-of-{sha}"))
        };
        let ours = name.starts_with("image-layer-")
            || (name.starts_with("lambda-") && (name.ends_with(".zip") || name.contains("-of-")));
        ours && !binaries.iter().any(of_current) && Some(name) != zip
    };
    let mut pruned = remove_where(&out.join("releases"), stale_bundle);
    let more = remove_where(out, stale_kept);
    pruned.files += more.files;
    pruned.bytes += more.bytes;
    pruned
}

fn remove_where(dir: &Path, stale: impl Fn(&str) -> bool) -> Pruned {
    let mut pruned = Pruned::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return pruned;
    };
    for e in entries.flatten() {
        let (Some(name), Ok(meta)) = (e.file_name().to_str().map(str::to_string), e.metadata())
        else {
            continue;
        };
        if meta.is_file() && stale(&name) && std::fs::remove_file(e.path()).is_ok() {
            pruned.files += 1;
            pruned.bytes += meta.len();
        }
    }
    pruned
}
