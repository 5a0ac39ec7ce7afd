//! The app as Spin's registry artifact, laid out as `spin registry push` (Spin 3.x) lays it
//! out, so a SpinKube `SpinApp` (and `spin up --from`) runs what `wxinfra publish` pushes:
//!
//! - one `application/vnd.wasm.content.layer.v1+wasm` layer per component source;
//! - one `application/vnd.wasm.content.layer.v1+data` layer per mounted file, except files
//!   of at most 128 bytes, which the locked app carries inline (Spin skips those layers
//!   because some registries refuse very small blobs);
//! - layers deduplicated by content, the locked app (Spin's `LockedApp` JSON, with every
//!   source and file as a content digest) last, as `application/vnd.fermyon.spin.application.v1+config`;
//! - an OCI image config (`architecture: wasm`, `os: Wasip1`) labelled
//!   `com.fermyon.spin.lockedAppDigest`, so different apps never share an image id.
//!
//! Spin also annotates the manifest with `org.opencontainers.image.created` (now); this
//! module leaves it out, so an unchanged app keeps its digest and a second publish uploads
//! nothing. Owns the format only: pushing is `registry`'s.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use base64::Engine;
use oci_client::client::{Config, ImageLayer};
use oci_client::config::{Architecture, ConfigFile, Os};
use oci_client::manifest::OciImageManifest;
use serde_json::{Map, Value, json};

use super::image::digest;
use super::registry::{Artifact, Blob};

pub const LOCKED_APP_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";
pub const WASM_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
pub const DATA_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+data";
const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
/// Content up to this size is inlined into the locked app (Spin's default).
const INLINE_MAX: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum SpinAppError {
    #[error(transparent)]
    Content(#[from] spin_bundle::BundleError),
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
    #[error("{path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The packed artifact plus the locked app it carries (for reports and tests).
#[derive(Debug, Clone)]
pub struct SpinApp {
    pub artifact: Artifact,
    pub locked: Value,
}

/// Layers in push order, deduplicated by content and media type as Spin does.
#[derive(Default)]
struct Layers {
    list: Vec<ImageLayer>,
    seen: HashSet<(String, String)>,
}

impl Layers {
    /// Adds `data` as a layer (unless `skip_inline` and it is small enough to inline) and
    /// returns its content reference for the locked app.
    fn add(&mut self, data: Vec<u8>, media_type: &str, skip_inline: bool) -> Map<String, Value> {
        let d = digest(&data);
        let mut content = Map::new();
        let inline = data.len() <= INLINE_MAX;
        if inline {
            content.insert(
                "inline".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(&data)
                    .into(),
            );
        }
        content.insert("digest".into(), d.clone().into());
        if !(inline && skip_inline) && self.seen.insert((d, media_type.to_string())) {
            self.list
                .push(ImageLayer::new(data, media_type.to_string(), None));
        }
        content
    }
}

/// Packs the app whose manifest is at `manifest_path`.
pub fn pack(manifest_path: &Path) -> Result<SpinApp, SpinAppError> {
    let content = spin_bundle::content(manifest_path)?;
    let path = manifest_path.display().to_string();
    let bad = |message: String| SpinAppError::Manifest {
        path: path.clone(),
        message,
    };
    let table: toml::Table = String::from_utf8_lossy(&content.manifest)
        .parse()
        .map_err(|e: toml::de::Error| bad(e.to_string()))?;
    let read = |rel: &str| {
        let p = content.dir.join(rel);
        std::fs::read(&p).map_err(|source| SpinAppError::Read {
            path: p.display().to_string(),
            source,
        })
    };

    let mut layers = Layers::default();
    let mut components = Vec::new();
    let declared = table.get("component").and_then(|c| c.as_table());
    for (id, c) in &content.components {
        let decl = declared.and_then(|d| d.get(id)).and_then(|c| c.as_table());
        let field = |k: &str| decl.and_then(|d| d.get(k));
        // Spin composes dependencies into the component before pushing, and applies
        // `exclude_files` while copying; neither is done here, so refuse rather than push
        // a different app.
        for unsupported in ["dependencies", "exclude_files"] {
            if field(unsupported).is_some() {
                return Err(bad(format!(
                    "component `{id}`: `{unsupported}` cannot be published yet"
                )));
            }
        }
        let mut source = Map::new();
        source.insert("content_type".into(), "application/wasm".into());
        source.extend(layers.add(read(&c.source)?, WASM_MEDIA_TYPE, false));
        let mut files = Vec::new();
        for (guest, host) in &c.files {
            let mut f = layers.add(read(host)?, DATA_MEDIA_TYPE, true);
            f.insert("path".into(), guest.clone().into());
            files.push(Value::Object(f));
        }
        let mut comp = Map::new();
        comp.insert("id".into(), id.clone().into());
        comp.insert("metadata".into(), component_metadata(decl).into());
        comp.insert("source".into(), source.into());
        let env = field("environment").map(to_json);
        let config = field("variables").map(to_json);
        for (key, value) in [
            ("env", env),
            ("files", Some(files.into())),
            ("config", config),
        ] {
            if let Some(v) = value.filter(|v| !is_empty(v)) {
                comp.insert(key.into(), v);
            }
        }
        components.push(Value::Object(comp));
    }

    let mut locked = Map::new();
    locked.insert("spin_lock_version".into(), 0.into());
    locked.insert("metadata".into(), app_metadata(&table).into());
    let variables = table.get("variables").map(locked_variables);
    if let Some(v) = variables.filter(|v| !is_empty(v)) {
        locked.insert("variables".into(), v);
    }
    locked.insert("triggers".into(), triggers(&table).map_err(bad)?.into());
    locked.insert("components".into(), components.into());
    let locked = Value::Object(locked);

    let locked_bytes = serde_json::to_vec(&locked).expect("JSON values serialize");
    let locked_layer = ImageLayer::new(locked_bytes, LOCKED_APP_MEDIA_TYPE.into(), None);
    let locked_digest = digest(&locked_layer.data);
    layers.list.push(locked_layer);

    let config_file = ConfigFile {
        architecture: Architecture::Wasm,
        os: Os::Other("Wasip1".into()),
        config: Some(oci_client::config::Config {
            labels: Some(HashMap::from([(
                LOCKED_APP_DIGEST_LABEL.to_string(),
                locked_digest,
            )])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let config =
        Config::oci_v1_from_config_file(config_file, None).expect("an image config serializes");
    let manifest = OciImageManifest::build(&layers.list, &config, annotations(&table));
    let manifest = serde_json::to_vec(&manifest).expect("a manifest serializes");

    let mut blobs: Vec<Blob> = layers
        .list
        .into_iter()
        .map(|l| Blob::new(l.data.to_vec()))
        .collect();
    blobs.push(Blob::new(config.data.to_vec()));
    Ok(SpinApp {
        artifact: Artifact::new(blobs, manifest),
        locked,
    })
}

fn to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Sets `key` unless the value is empty (Spin's `ValuesMapBuilder` skips empty strings and
/// arrays).
fn put(map: &mut BTreeMap<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !is_empty(v)) {
        map.insert(key.to_string(), v);
    }
}

/// The locked app's `metadata`: name, version, description, authors, the global trigger
/// settings under `triggers`, and — when there is one trigger type — the same under
/// `trigger` with its `type`, as Spin writes both.
fn app_metadata(table: &toml::Table) -> Map<String, Value> {
    let app = table.get("application").and_then(|a| a.as_table());
    let get = |k: &str| app.and_then(|a| a.get(k)).map(to_json);
    let mut m = BTreeMap::new();
    for k in ["name", "version", "description", "authors"] {
        put(&mut m, k, get(k));
    }
    let globals = get("trigger").unwrap_or_else(|| json!({}));
    let types: Vec<&String> = table
        .get("trigger")
        .and_then(|t| t.as_table())
        .map(|t| t.keys().collect())
        .unwrap_or_default();
    if let [only] = types.as_slice() {
        let mut single = globals.get(only.as_str()).cloned().unwrap_or(json!({}));
        if let Some(o) = single.as_object_mut() {
            o.insert("type".into(), (*only).clone().into());
        }
        m.insert("trigger".into(), single);
    }
    m.insert("triggers".into(), globals);
    m.into_iter().collect()
}

fn component_metadata(decl: Option<&toml::Table>) -> Map<String, Value> {
    let get = |k: &str| decl.and_then(|d| d.get(k)).map(to_json);
    let mut m = BTreeMap::new();
    for (key, from) in [
        ("description", "description"),
        ("allowed_outbound_hosts", "allowed_outbound_hosts"),
        ("key_value_stores", "key_value_stores"),
        ("databases", "sqlite_databases"),
        ("ai_models", "ai_models"),
        ("build", "build"),
    ] {
        put(&mut m, key, get(from));
    }
    m.into_iter().collect()
}

fn locked_variables(vars: &toml::Value) -> Value {
    let Some(vars) = vars.as_table() else {
        return Value::Null;
    };
    let mut out = BTreeMap::new();
    for (name, v) in vars {
        let mut locked = Map::new();
        for k in ["description", "default"] {
            if let Some(s) = v.get(k).and_then(|s| s.as_str()) {
                locked.insert(k.into(), s.into());
            }
        }
        if v.get("secret").and_then(|s| s.as_bool()) == Some(true) {
            locked.insert("secret".into(), true.into());
        }
        out.insert(name.clone(), Value::Object(locked));
    }
    out.into_iter().collect::<Map<_, _>>().into()
}

/// `[[trigger.TYPE]]` entries as locked triggers, with the ids Spin gives unnamed ones
/// (`<component>-<type>-trigger`, else `<type>-trigger<n>`).
fn triggers(table: &toml::Table) -> Result<Vec<Value>, String> {
    let Some(types) = table.get("trigger").and_then(|t| t.as_table()) else {
        return Ok(Vec::new());
    };
    let entries = |v: &toml::Value| -> Vec<toml::Table> {
        v.as_array()
            .map(|a| a.iter().filter_map(|t| t.as_table().cloned()).collect())
            .unwrap_or_default()
    };
    let mut taken: HashSet<String> = types
        .values()
        .flat_map(entries)
        .filter_map(|t| t.get("id").and_then(|i| i.as_str()).map(str::to_string))
        .collect();
    let mut out = Vec::new();
    for (kind, list) in types {
        let mut counter = 1;
        for mut t in entries(list) {
            if let Some(toml::Value::Table(_)) = t.get("component") {
                return Err(format!(
                    "trigger.{kind}: an inline component table cannot be published; declare it as [component.<id>] and refer to it by id"
                ));
            }
            let component = t
                .get("component")
                .and_then(|c| c.as_str())
                .map(str::to_string);
            let id = match t.remove("id").and_then(|i| i.as_str().map(str::to_string)) {
                Some(id) => id,
                None => {
                    let natural = component.as_ref().map(|c| format!("{c}-{kind}-trigger"));
                    match natural.filter(|n| !taken.contains(n)) {
                        Some(n) => n,
                        None => loop {
                            let n = format!("{kind}-trigger{counter}");
                            counter += 1;
                            if !taken.contains(&n) {
                                break n;
                            }
                        },
                    }
                }
            };
            taken.insert(id.clone());
            out.push(json!({
                "id": id,
                "trigger_type": kind,
                "trigger_config": to_json(&toml::Value::Table(t)),
            }));
        }
    }
    Ok(out)
}

/// The manifest annotations Spin infers (title, version, description, authors), without
/// `created` (see the module comment).
fn annotations(table: &toml::Table) -> Option<BTreeMap<String, String>> {
    let app = table.get("application").and_then(|a| a.as_table())?;
    let s = |k: &str| {
        app.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let mut a = BTreeMap::new();
    let authors: Vec<&str> = app
        .get("authors")
        .and_then(|v| v.as_array())
        .map(|v| v.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    if !authors.is_empty() {
        a.insert(
            "org.opencontainers.image.authors".to_string(),
            authors.join(", "),
        );
    }
    for (key, field) in [
        ("org.opencontainers.image.title", "name"),
        ("org.opencontainers.image.description", "description"),
        ("org.opencontainers.image.version", "version"),
    ] {
        if let Some(v) = s(field) {
            a.insert(key.to_string(), v.to_string());
        }
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &Path) -> std::path::PathBuf {
        std::fs::create_dir_all(dir.join("static")).unwrap();
        std::fs::write(dir.join("static/small.txt"), "hi").unwrap();
        std::fs::write(dir.join("static/big.txt"), "x".repeat(500)).unwrap();
        std::fs::write(dir.join("static/big-copy.txt"), "x".repeat(500)).unwrap();
        std::fs::write(dir.join("a.wasm"), vec![1u8; 300]).unwrap();
        std::fs::write(dir.join("b.wasm"), vec![2u8; 300]).unwrap();
        let m = dir.join("spin.toml");
        std::fs::write(
            &m,
            r#"spin_manifest_version = 2
[application]
name = "hello"
version = "1.2.0"
[variables]
greeting = { default = "hi" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
id = "named"
route = "/b"
component = "b"
[component.a]
source = "a.wasm"
files = ["static/*"]
allowed_outbound_hosts = ["https://example.com"]
key_value_stores = ["default"]
environment = { E = "1" }
[component.a.variables]
greeting = "{{ greeting }}"
[component.b]
source = "b.wasm"
"#,
        )
        .unwrap();
        m
    }

    #[test]
    fn layers_and_locked_app_follow_spins_layout() {
        let d = tempfile::tempdir().unwrap();
        let packed = pack(&app(d.path())).unwrap();
        let manifest: Value = serde_json::from_slice(&packed.artifact.manifest).unwrap();
        let types: Vec<&str> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["mediaType"].as_str().unwrap())
            .collect();
        // a.wasm, one layer for both identical big files, the small file inlined, b.wasm,
        // the locked app last.
        assert_eq!(
            types,
            [
                WASM_MEDIA_TYPE,
                DATA_MEDIA_TYPE,
                WASM_MEDIA_TYPE,
                LOCKED_APP_MEDIA_TYPE
            ]
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        let locked = &packed.locked;
        assert_eq!(locked["metadata"]["trigger"]["type"], "http");
        let ids: Vec<&str> = locked["triggers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a-http-trigger", "named"]);
        assert_eq!(locked["triggers"][0]["trigger_config"]["route"], "/a/...");
        let a = &locked["components"][0];
        assert_eq!(a["metadata"]["databases"], Value::Null);
        assert_eq!(a["metadata"]["key_value_stores"], json!(["default"]));
        assert_eq!(a["env"], json!({"E": "1"}));
        assert_eq!(a["config"], json!({"greeting": "{{ greeting }}"}));
        assert_eq!(a["source"]["digest"], digest(&[1u8; 300]));
        let small = a["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "static/small.txt")
            .unwrap();
        assert_eq!(small["inline"], "aGk=");
        assert_eq!(locked["variables"]["token"], json!({"secret": true}));
        // The config names the locked app, and the digest is stable.
        let config = &packed.artifact.blobs.last().unwrap().data;
        let config: Value = serde_json::from_slice(config).unwrap();
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(config["os"], "Wasip1");
        let locked_layer = manifest["layers"][3]["digest"].clone();
        assert_eq!(
            config["config"]["Labels"][LOCKED_APP_DIGEST_LABEL],
            locked_layer
        );
        let again = pack(&d.path().join("spin.toml")).unwrap();
        assert_eq!(again.artifact.digest, packed.artifact.digest);
    }

    #[test]
    fn what_would_change_the_app_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let m = app(d.path());
        let text = std::fs::read_to_string(&m).unwrap();
        std::fs::write(&m, format!("{text}exclude_files = [\"static/big.txt\"]\n")).unwrap();
        let e = pack(&m).unwrap_err().to_string();
        assert!(
            e.contains("component `b`: `exclude_files` cannot be published yet"),
            "{e}"
        );
    }
}
