//! An artifact as an OCI image layout in one tar (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` and `blobs/sha256/<hex>`. It is what `kind load image-archive`,
//! `k3d image import`, `ctr images import` and `skopeo copy oci-archive:` read. The index
//! names the image twice: `org.opencontainers.image.ref.name` is the tag (as the spec
//! says), `io.containerd.image.name` the full name containerd imports it as.
//! Entries have fixed owners and times, so the same artifact always gives the same bytes.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::json;

use super::image::digest;
use super::registry::{Artifact, Blob};

const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("reading the archive")]
    Io(#[from] std::io::Error),
    #[error("the archive's {0} is missing or malformed")]
    Malformed(&'static str),
    #[error("blob {name} does not match its digest (it holds {got})")]
    Corrupt { name: String, got: String },
}

fn entry(path: &str, size: usize) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("short relative path");
    h.set_mode(0o644);
    h.set_size(size as u64);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// `artifact` as an image-layout tar naming it `name` (`HOST/REPO:TAG`).
pub fn archive(artifact: &Artifact, name: &str) -> Vec<u8> {
    let tag = name
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or("latest", |(_, t)| t);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": artifact.digest,
            "size": artifact.manifest.len(),
            "annotations": {
                "io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    }))
    .expect("serialisable");
    let mut files: BTreeMap<String, &[u8]> = BTreeMap::new();
    files.insert("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    files.insert("index.json".into(), &index);
    files.insert(blob_path(&artifact.digest), &artifact.manifest);
    for b in &artifact.blobs {
        files.insert(blob_path(&b.digest), &b.data);
    }
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        tar.append(&entry(&path, data.len()), data)
            .expect("writing to memory");
    }
    tar.into_inner().expect("writing to memory")
}

/// The artifact an [`archive`] holds, every blob checked against its digest.
pub fn read(bytes: &[u8]) -> Result<Artifact, LayoutError> {
    let mut files = BTreeMap::new();
    for e in tar::Archive::new(bytes).entries()? {
        let mut e = e?;
        let path = e.path()?.display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data)?;
        files.insert(path, data);
    }
    let index: serde_json::Value = files
        .get("index.json")
        .and_then(|i| serde_json::from_slice(i).ok())
        .ok_or(LayoutError::Malformed("index.json"))?;
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or(LayoutError::Malformed("index.json"))?;
    let mut blob = |d: &str| -> Result<Vec<u8>, LayoutError> {
        let name = blob_path(d);
        let data = files
            .remove(&name)
            .ok_or(LayoutError::Malformed("blob list"))?;
        let got = digest(&data);
        if got != d {
            return Err(LayoutError::Corrupt { name, got });
        }
        Ok(data)
    };
    let manifest = blob(manifest_digest)?;
    let m: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|_| LayoutError::Malformed("manifest"))?;
    let mut blobs = Vec::new();
    for d in m["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&m["config"]))
        .map(|d| {
            d["digest"]
                .as_str()
                .ok_or(LayoutError::Malformed("manifest"))
        })
    {
        let d = d?;
        blobs.push(Blob {
            data: blob(d)?,
            digest: d.into(),
        });
    }
    Ok(Artifact::new(blobs, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact() -> Artifact {
        let layer = Blob::new(b"layer".to_vec());
        let config = Blob::new(b"{}".to_vec());
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "config": {"digest": config.digest, "size": 2},
            "layers": [{"digest": layer.digest, "size": 5}],
        }))
        .unwrap();
        Artifact::new(vec![layer, config], manifest)
    }

    #[test]
    fn an_archive_reads_back_as_its_artifact_and_is_reproducible() {
        let a = artifact();
        let tar = archive(&a, "localhost:5001/wxrun:k8s-1");
        assert_eq!(tar, archive(&a, "localhost:5001/wxrun:k8s-1"));
        assert_eq!(read(&tar).unwrap(), a);
        let index: serde_json::Value = serde_json::from_slice(
            &read_entry(&tar, "index.json").expect("index.json in the archive"),
        )
        .unwrap();
        let annotations = &index["manifests"][0]["annotations"];
        assert_eq!(annotations["org.opencontainers.image.ref.name"], "k8s-1");
        assert_eq!(
            annotations["io.containerd.image.name"],
            "localhost:5001/wxrun:k8s-1"
        );
    }

    #[test]
    fn a_blob_that_does_not_match_its_digest_is_refused() {
        let a = artifact();
        let mut tampered = a.clone();
        tampered.blobs[0].data = b"other".to_vec();
        let tar = archive(&tampered, "r.example/x:1");
        let e = read(&tar).unwrap_err().to_string();
        assert!(e.contains("does not match its digest"), "{e}");
    }

    fn read_entry(tar: &[u8], want: &str) -> Option<Vec<u8>> {
        tar::Archive::new(tar).entries().ok()?.find_map(|e| {
            let mut e = e.ok()?;
            (e.path().ok()?.to_str()? == want).then(|| {
                let mut d = Vec::new();
                e.read_to_end(&mut d).ok()?;
                Some(d)
            })?
        })
    }
}
