//! Packing: one gzip layer holding `/wxrun` (0755, root-owned), an empty `/tmp` (1777) and
//! the CA roots wxrun's HTTPS clients trust (Mozilla's, from `webpki-root-certs`, as a PEM
//! bundle at [`CA_BUNDLE`]: rustls-native-certs reads the system roots there), an OCI config (`User`, `Entrypoint: ["/wxrun"]`, `Cmd`, architecture) and the manifest.
//! Timestamps and owners are fixed, so the digests depend only on the binary and the spec.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// Where the image holds its CA roots: Debian's bundle path, the first place
/// rustls-native-certs (through openssl-probe) looks on Linux.
pub const CA_BUNDLE: &str = "etc/ssl/certs/ca-certificates.crt";

/// The unprivileged uid every runtime image, container and the EC2 service user run as
/// (distroless `nonroot`).
pub const RUNTIME_UID: u32 = 65532;

/// What goes into the image besides the binary.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSpec {
    /// `arm64` or `x86_64` (the stack's names); must match the binary's ELF machine.
    pub arch: String,
    /// Numeric uid the container runs as.
    pub user: String,
    pub cmd: Vec<String>,
}

/// A packed image: its blobs and their digests (`sha256:<hex>`).
#[derive(Debug, Clone)]
pub struct Image {
    pub layer: Vec<u8>,
    pub layer_digest: String,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    pub config: Vec<u8>,
    pub config_digest: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
}

impl Image {
    /// The blobs and manifest to push.
    pub fn artifact(&self) -> super::registry::Artifact {
        super::registry::Artifact {
            blobs: vec![
                super::registry::Blob {
                    data: self.layer.clone(),
                    digest: self.layer_digest.clone(),
                },
                super::registry::Blob {
                    data: self.config.clone(),
                    digest: self.config_digest.clone(),
                },
            ],
            manifest: self.manifest.clone(),
            digest: self.manifest_digest.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a Linux ELF executable")]
    NotElf { path: String },
    #[error("{path} is built for {found}, but the image is for {wanted}")]
    WrongArch {
        path: String,
        found: String,
        wanted: String,
    },
    #[error("unknown architecture `{0}` (use arm64 or x86_64)")]
    UnknownArch(String),
    #[error("writing the layer")]
    Layer(#[from] std::io::Error),
}

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The OCI (Go) name of an architecture.
fn oci_arch(arch: &str) -> Result<&'static str, PackError> {
    match arch {
        "arm64" => Ok("arm64"),
        "x86_64" => Ok("amd64"),
        other => Err(PackError::UnknownArch(other.into())),
    }
}

/// The architecture an ELF binary is built for, from its header's `e_machine`.
pub fn elf_arch(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => Some("x86_64"),
        0xb7 => Some("arm64"),
        _ => None,
    }
}

fn header(path: &str, mode: u32, size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("static path");
    h.set_mode(mode);
    h.set_size(size);
    h.set_entry_type(kind);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

/// Mozilla's root certificates as a PEM bundle.
pub fn ca_bundle() -> String {
    use base64::Engine;
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// The uncompressed layer tar: `etc/ssl/certs/` with the CA bundle, `tmp/` and `wxrun`.
fn layer_tar(binary: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut b = tar::Builder::new(Vec::new());
    for dir in ["etc/", "etc/ssl/", "etc/ssl/certs/"] {
        b.append(&header(dir, 0o755, 0, tar::EntryType::Directory), &[][..])?;
    }
    let roots = ca_bundle();
    b.append(
        &header(
            CA_BUNDLE,
            0o644,
            roots.len() as u64,
            tar::EntryType::Regular,
        ),
        roots.as_bytes(),
    )?;
    b.append(
        &header("tmp/", 0o1777, 0, tar::EntryType::Directory),
        &[][..],
    )?;
    b.append(
        &header("wxrun", 0o755, binary.len() as u64, tar::EntryType::Regular),
        binary,
    )?;
    b.into_inner()
}

/// The image's one layer: the expensive part of packing (gzip of tens of MiB), and the same
/// for every spec of one binary, so callers may keep it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Gzipped tar.
    pub bytes: Vec<u8>,
    pub digest: String,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
}

/// How [`layer`] compresses, named in the file names of kept layers: another level or
/// compressor makes other bytes from the same binary.
pub const LAYER_COMPRESSION: &str = "gzip6";

/// The layer of `binary`, which must be an ELF for `arch` (the stack's name).
pub fn layer(binary: &[u8], path: &str, arch: &str) -> Result<Layer, PackError> {
    oci_arch(arch)?;
    let found = elf_arch(binary).ok_or_else(|| PackError::NotElf { path: path.into() })?;
    if found != arch {
        return Err(PackError::WrongArch {
            path: path.into(),
            found: found.into(),
            wanted: arch.into(),
        });
    }
    let tar = layer_tar(binary)?;
    let diff_id = digest(&tar);
    // mtime 0 in the gzip header keeps the compressed bytes reproducible too. Level 6, as
    // docker and buildkit use: level 9 makes the layer 3 % smaller in 2.4 times the CPU.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&tar)?;
    let bytes = gz.finish()?;
    Ok(Layer {
        digest: digest(&bytes),
        bytes,
        diff_id,
    })
}

/// The image of `layer` per `spec`: config and manifest (cheap).
pub fn assemble(layer: &Layer, spec: &ImageSpec) -> Result<Image, PackError> {
    let arch = oci_arch(&spec.arch)?;
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "config": {
            "User": spec.user,
            "Entrypoint": ["/wxrun"],
            "Cmd": spec.cmd,
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    }))
    .expect("serialisable");
    let config_digest = digest(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.bytes.len()}],
    }))
    .expect("serialisable");
    let manifest_digest = digest(&manifest);
    Ok(Image {
        layer: layer.bytes.clone(),
        layer_digest: layer.digest.clone(),
        diff_id: layer.diff_id.clone(),
        config,
        config_digest,
        manifest,
        manifest_digest,
    })
}

/// Packs `binary` (the static `wxrun`) into an image per `spec`.
pub fn pack(binary_path: &Path, spec: &ImageSpec) -> Result<Image, PackError> {
    let path = binary_path.display().to_string();
    let binary = std::fs::read(binary_path).map_err(|source| PackError::Read {
        path: path.clone(),
        source,
    })?;
    assemble(&layer(&binary, &path, &spec.arch)?, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest thing with an x86-64 ELF header.
    fn fake_elf(machine: u16) -> Vec<u8> {
        let mut b = b"\x7fELF\x02\x01\x01".to_vec();
        b.resize(18, 0);
        b.extend_from_slice(&machine.to_le_bytes());
        b.resize(64, 0);
        b
    }

    fn spec(arch: &str) -> ImageSpec {
        ImageSpec {
            arch: arch.into(),
            user: "65532".into(),
            cmd: vec!["serve".into()],
        }
    }

    #[test]
    fn packing_is_reproducible_and_configures_entrypoint_user_arch() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("wxrun");
        std::fs::write(&bin, fake_elf(0x3e)).unwrap();
        let a = pack(&bin, &spec("x86_64")).unwrap();
        let b = pack(&bin, &spec("x86_64")).unwrap();
        assert_eq!(a.manifest_digest, b.manifest_digest);
        let config: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["config"]["User"], "65532");
        assert_eq!(config["config"]["Entrypoint"], json!(["/wxrun"]));
        assert_eq!(config["rootfs"]["diff_ids"][0], a.diff_id.as_str());
    }

    #[test]
    fn layer_holds_the_ca_bundle_tmp_and_wxrun_0755() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("wxrun");
        std::fs::write(&bin, fake_elf(0x3e)).unwrap();
        let img = pack(&bin, &spec("x86_64")).unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&img.layer[..]));
        let mut roots = String::new();
        let entries: Vec<(String, u32)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().display().to_string();
                if path == CA_BUNDLE {
                    e.read_to_string(&mut roots).unwrap();
                }
                (path, e.header().mode().unwrap())
            })
            .collect();
        let entries: Vec<(&str, u32)> = entries.iter().map(|(p, m)| (p.as_str(), *m)).collect();
        assert_eq!(
            entries,
            [
                ("etc/", 0o755),
                ("etc/ssl/", 0o755),
                ("etc/ssl/certs/", 0o755),
                ("etc/ssl/certs/ca-certificates.crt", 0o644),
                ("tmp/", 0o1777),
                ("wxrun", 0o755)
            ]
        );
        // Every block decodes back to the DER of Mozilla's list, in order.
        use base64::Engine;
        let parsed: Vec<Vec<u8>> = roots
            .split("-----END CERTIFICATE-----\n")
            .filter(|b| !b.is_empty())
            .map(|b| {
                let body = b.strip_prefix("-----BEGIN CERTIFICATE-----\n").unwrap();
                assert!(body.lines().all(|l| l.len() <= 64));
                base64::engine::general_purpose::STANDARD
                    .decode(body.replace('\n', ""))
                    .unwrap()
            })
            .collect();
        assert!(parsed.len() > 100, "{} roots", parsed.len());
        let want: Vec<Vec<u8>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| c.to_vec())
            .collect();
        assert_eq!(parsed, want);
    }

    #[test]
    fn refuses_a_binary_of_another_architecture() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("wxrun");
        std::fs::write(&bin, fake_elf(0x3e)).unwrap();
        let e = pack(&bin, &spec("arm64")).unwrap_err().to_string();
        assert!(
            e.contains("built for x86_64, but the image is for arm64"),
            "{e}"
        );
    }
}
