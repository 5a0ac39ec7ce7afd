//! `oci://HOST/REPO:TAG` (or `@sha256:…`) release sources: the app as Spin's registry
//! artifact (what `spin registry push` and `wxinfra publish` push). The release id is the
//! manifest's sha256, so a moved tag is a new release; a pull verifies the manifest against
//! that id and every blob against its descriptor's digest before anything is installed.
//!
//! The artifact holds no `spin.toml`: its locked app (the layer of type
//! `application/vnd.fermyon.spin.application.v1+config`) names each component source and
//! file by digest (or inline, for small content). [`release_files`] turns it back into an app
//! directory that the loader reads like any other release: `spin.toml`, `wasm/<sha256>.wasm`
//! and each component's files under `files/<component>/`, mounted at the guest's `/`.
//! Credentials: the Docker config (`DOCKER_CONFIG`, e.g. a mounted dockerconfigjson Secret).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

use crate::release::ReleaseError;

const LOCKED_APP_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";

/// A registry repository and the tag (or pinned digest) to follow.
#[derive(Clone)]
pub struct OciSource {
    client: Client,
    reference: Reference,
    auth: RegistryAuth,
    url: String,
}

impl std::fmt::Debug for OciSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// HTTP when asked or for a loopback registry (as Docker treats those), else HTTPS.
fn protocol(host: String, plain_http: bool) -> ClientProtocol {
    if plain_http {
        ClientProtocol::Http
    } else if registry_auth::is_loopback(&host) {
        ClientProtocol::HttpsExcept(vec![host])
    } else {
        ClientProtocol::Https
    }
}

impl OciSource {
    /// Parses `oci://HOST/REPO:TAG` and finds the registry's credentials; `plain_http`
    /// speaks HTTP to the registry, as loopback registries always are spoken to.
    pub fn new(url: &str, plain_http: bool) -> Result<Self, ReleaseError> {
        let bad = || ReleaseError::BadSource(url.to_string());
        let rest = url.strip_prefix("oci://").ok_or_else(bad)?;
        let reference: Reference = rest.parse().map_err(|_| bad())?;
        let host = reference.registry().to_string();
        let auth = match registry_auth::credentials(&host) {
            Ok(Some(c)) => RegistryAuth::Basic(c.username, c.password),
            Ok(None) => RegistryAuth::Anonymous,
            Err(e) => {
                return Err(ReleaseError::Registry {
                    url: url.to_string(),
                    message: e.to_string(),
                });
            }
        };
        let protocol = protocol(host, plain_http);
        Ok(OciSource {
            client: Client::new(ClientConfig {
                protocol,
                ..Default::default()
            }),
            reference,
            auth,
            url: url.to_string(),
        })
    }

    fn err(&self, message: impl std::fmt::Display) -> ReleaseError {
        ReleaseError::Registry {
            url: self.url.clone(),
            message: message.to_string(),
        }
    }

    /// The release the reference names now: its manifest digest (a HEAD for a tag).
    pub async fn current(&self) -> Result<Option<String>, ReleaseError> {
        let digest = match self.reference.digest() {
            Some(d) => d.to_string(),
            None => self
                .client
                .fetch_manifest_digest(&self.reference, &self.auth)
                .await
                .map_err(|e| self.err(e))?,
        };
        let id = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| self.err(format!("manifest digest {digest} is not sha256")))?;
        crate::release::check_id(id)?;
        Ok(Some(id.to_string()))
    }

    /// Pulls release `id` (a manifest digest) and returns its app directory's files,
    /// everything verified.
    pub async fn fetch(&self, id: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, ReleaseError> {
        let pinned = Reference::with_digest(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            format!("sha256:{id}"),
        );
        let (raw, _) = self
            .client
            .pull_manifest_raw(&pinned, &self.auth, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .map_err(|e| self.err(e))?;
        let actual = crate::digest::sha256_hex(&raw);
        if actual != id {
            return Err(ReleaseError::Digest {
                id: id.to_string(),
                actual,
            });
        }
        let manifest: OciImageManifest =
            serde_json::from_slice(&raw).map_err(|e| self.err(format!("manifest: {e}")))?;
        let mut blobs = BTreeMap::new();
        for layer in &manifest.layers {
            let mut data = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0));
            self.client
                .pull_blob(&pinned, layer.digest.as_str(), &mut data)
                .await
                .map_err(|e| self.err(e))?;
            let actual = format!("sha256:{}", crate::digest::sha256_hex(&data));
            if actual != layer.digest {
                return Err(self.err(format!("blob {} hashes to {actual}", layer.digest)));
            }
            blobs.insert(layer.digest.clone(), (layer.media_type.clone(), data));
        }
        let locked = blobs
            .values()
            .find(|(t, _)| t == LOCKED_APP_MEDIA_TYPE)
            .ok_or_else(|| self.err("the artifact has no Spin locked-app layer"))?;
        let locked: Value =
            serde_json::from_slice(&locked.1).map_err(|e| self.err(format!("locked app: {e}")))?;
        release_files(&locked, &|digest| blobs.get(digest).map(|(_, d)| d.clone()))
            .map_err(|e| self.err(e))
    }
}

/// A path inside the release directory from an artifact's relative path, refused when it
/// would leave it.
fn contained(p: &str) -> Result<PathBuf, String> {
    let path = Path::new(p.trim_start_matches('/'));
    if path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        Ok(path.to_path_buf())
    } else {
        Err(format!("file path {p:?} leaves the app directory"))
    }
}

/// The bytes a locked app's content reference names: inline, else the blob of its digest.
fn content(r: &Value, blob: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    if let Some(inline) = r["inline"].as_str() {
        return base64::engine::general_purpose::STANDARD
            .decode(inline)
            .map_err(|e| format!("inline content: {e}"));
    }
    let digest = r["digest"]
        .as_str()
        .ok_or("content with neither inline bytes nor a digest")?;
    blob(digest).ok_or_else(|| format!("no layer {digest} in the artifact"))
}

fn toml(v: &Value) -> Result<toml::Value, String> {
    toml::Value::try_from(v).map_err(|e| e.to_string())
}

/// The app directory of a locked app: `spin.toml` plus the sources and files it names.
pub fn release_files(
    locked: &Value,
    blob: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut manifest = toml::Table::new();
    manifest.insert("spin_manifest_version".into(), 2.into());
    let meta = &locked["metadata"];
    let mut app = toml::Table::new();
    for k in ["name", "version", "description"] {
        if let Some(s) = meta[k].as_str() {
            app.insert(k.into(), s.into());
        }
    }
    manifest.insert("application".into(), app.into());
    if let Some(vars) = locked["variables"].as_object() {
        let mut t = toml::Table::new();
        for (name, v) in vars {
            let mut decl = toml(v)?;
            if let Some(d) = decl.as_table_mut()
                && !d.contains_key("default")
            {
                d.insert("required".into(), true.into());
            }
            t.insert(name.clone(), decl);
        }
        manifest.insert("variables".into(), t.into());
    }
    let mut triggers = toml::Table::new();
    for t in locked["triggers"].as_array().into_iter().flatten() {
        let kind = t["trigger_type"].as_str().ok_or("trigger without a type")?;
        let entry = triggers
            .entry(kind)
            .or_insert_with(|| toml::Value::Array(Vec::new()));
        if let toml::Value::Array(a) = entry {
            a.push(toml(&t["trigger_config"])?);
        }
    }
    manifest.insert("trigger".into(), triggers.into());
    let mut components = toml::Table::new();
    for c in locked["components"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().ok_or("component without an id")?;
        // Component ids are kebab-case in Spin; anything else must not name a directory.
        contained(id)?;
        let wasm = content(&c["source"], blob)?;
        let source = format!("wasm/{}.wasm", crate::digest::sha256_hex(&wasm));
        out.push((PathBuf::from(&source), wasm));
        let mut decl = toml::Table::new();
        decl.insert("source".into(), source.into());
        let files = c["files"].as_array().map(Vec::as_slice).unwrap_or_default();
        if !files.is_empty() {
            let root = format!("files/{id}");
            for f in files {
                let path = contained(f["path"].as_str().ok_or("file without a path")?)?;
                out.push((Path::new(&root).join(path), content(f, blob)?));
            }
            let mut mount = toml::Table::new();
            mount.insert("source".into(), root.into());
            mount.insert("destination".into(), "/".into());
            decl.insert("files".into(), vec![toml::Value::from(mount)].into());
        }
        for (key, value) in [
            ("environment", &c["env"]),
            ("variables", &c["config"]),
            (
                "allowed_outbound_hosts",
                &c["metadata"]["allowed_outbound_hosts"],
            ),
            ("key_value_stores", &c["metadata"]["key_value_stores"]),
            ("sqlite_databases", &c["metadata"]["databases"]),
        ] {
            if !value.is_null() {
                decl.insert(key.into(), toml(value)?);
            }
        }
        components.insert(id.into(), decl.into());
    }
    manifest.insert("component".into(), components.into());
    let text = toml::to_string(&manifest).map_err(|e| e.to_string())?;
    out.push((PathBuf::from("spin.toml"), text.into_bytes()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_http_is_spoken_when_asked_or_to_loopback_only() {
        let kind = || "kind-registry:5000".to_string();
        assert_eq!(protocol(kind(), true), ClientProtocol::Http);
        assert_eq!(protocol(kind(), false), ClientProtocol::Https);
        assert_eq!(
            protocol("localhost:5001".into(), false),
            ClientProtocol::HttpsExcept(vec!["localhost:5001".into()])
        );
    }

    #[test]
    fn a_locked_app_becomes_a_loadable_app_directory() {
        let wasm = b"\0asm-ish".to_vec();
        let digest = format!("sha256:{}", crate::digest::sha256_hex(&wasm));
        let locked = json!({
            "spin_lock_version": 0,
            "metadata": {"name": "hello", "trigger": {"type": "http"}},
            "variables": {"greeting": {"default": "hi"}, "token": {"secret": true}},
            "triggers": [{"id": "a-http-trigger", "trigger_type": "http",
                          "trigger_config": {"route": "/...", "component": "a"}}],
            "components": [{
                "id": "a",
                "metadata": {"allowed_outbound_hosts": ["https://example.com"]},
                "source": {"content_type": "application/wasm", "digest": digest},
                "env": {"E": "1"},
                "config": {"greeting": "{{ greeting }}"},
                "files": [{"inline": "aGk=", "digest": "sha256:x", "path": "static/hi.txt"}]
            }]
        });
        let blobs = BTreeMap::from([(digest.clone(), wasm.clone())]);
        let files = release_files(&locked, &|d| blobs.get(d).cloned()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (p, data) in &files {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        let m = crate::manifest::Manifest::load(&dir.path().join("spin.toml")).unwrap();
        let a = &m.components["a"];
        assert_eq!(std::fs::read(&a.source).unwrap(), wasm);
        assert_eq!(a.environment["E"], "1");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("files/a/static/hi.txt")).unwrap(),
            "hi"
        );

        let escaping = json!({"triggers": [], "components": [{
            "id": "a", "source": {"inline": "AA=="},
            "files": [{"inline": "AA==", "path": "../../etc/passwd"}]}]});
        let e = release_files(&escaping, &|_| None).unwrap_err();
        assert!(e.contains("leaves the app directory"), "{e}");
        let missing =
            json!({"triggers": [], "components": [{"id": "a", "source": {"digest": "sha256:0"}}]});
        let e = release_files(&missing, &|_| None).unwrap_err();
        assert!(e.contains("no layer sha256:0"), "{e}");
    }
}
