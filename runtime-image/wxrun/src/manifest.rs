//! Spin manifest v2 (`spin.toml`): the typed model and its loading rules.
//! Owns parsing and validation only; routing lives in `routing`, variable
//! values in `variables`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid manifest {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unsupported spin_manifest_version {0} (wxrun reads version 2)")]
    Version(i64),
    #[error("trigger route {route:?} names component {component:?}, which is not defined")]
    UnknownComponent { route: String, component: String },
    #[error("component {component:?}: {message}")]
    Component { component: String, message: String },
    #[error("component {component:?}: route {route:?} must start with '/'")]
    BadRoute { route: String, component: String },
}

/// A parsed `spin.toml` plus the directory its relative paths start from.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub dir: PathBuf,
    pub application: Application,
    pub variables: BTreeMap<String, VariableDecl>,
    pub triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Application {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

/// An entry of `[variables]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub route: Route,
    pub component: String,
}

/// A trigger's `route`: a path (maybe ending in `/...`) or `{ private = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Path(String),
    Private,
}

/// A `[component.<id>]` table.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    pub source: PathBuf,
    pub files: Vec<FileMount>,
    pub environment: BTreeMap<String, String>,
    pub allowed_outbound_hosts: Vec<String>,
    pub variables: BTreeMap<String, String>,
    /// Labels of the key-value stores the component may open.
    pub key_value_stores: Vec<String>,
    /// Labels of the SQLite databases the component may open.
    pub sqlite_databases: Vec<String>,
    /// Models the component may use through Spin's LLM interface.
    pub ai_models: Vec<String>,
}

/// A directory of the app exposed read-only to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    pub host: PathBuf,
    pub guest: String,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: i64,
    #[serde(default)]
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: RawRoute,
    component: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
struct RawComponent {
    source: RawSource,
    #[serde(default)]
    files: Vec<RawFile>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    ai_models: Vec<String>,
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

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, &dir).map_err(|e| match e {
            ManifestError::Parse { message, .. } => ManifestError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses manifest text whose relative paths start at `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let component = e.span().and_then(|span| component_at(text, span.start));
            ManifestError::Parse {
                path: dir.join("spin.toml"),
                message: match component {
                    Some(id) => format!("component {id:?}: {e}"),
                    None => e.to_string(),
                },
            }
        })?;
        if raw.spin_manifest_version != 2 {
            return Err(ManifestError::Version(raw.spin_manifest_version));
        }
        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            let decl = component(&id, c, dir)?;
            components.insert(id, decl);
        }
        let mut triggers = Vec::new();
        for t in raw.trigger.http {
            let route = match t.route {
                RawRoute::Path(p) if p.starts_with('/') => Route::Path(p),
                RawRoute::Path(route) => {
                    return Err(ManifestError::BadRoute {
                        route,
                        component: t.component,
                    });
                }
                RawRoute::Private { private: true } => Route::Private,
                RawRoute::Private { private: false } => {
                    return Err(ManifestError::BadRoute {
                        route: "{ private = false }".into(),
                        component: t.component,
                    });
                }
            };
            if !components.contains_key(&t.component) {
                let route = match &route {
                    Route::Path(p) => p.clone(),
                    Route::Private => "{ private = true }".into(),
                };
                return Err(ManifestError::UnknownComponent {
                    route,
                    component: t.component,
                });
            }
            triggers.push(HttpTrigger {
                route,
                component: t.component,
            });
        }
        Ok(Manifest {
            dir: dir.to_path_buf(),
            application: raw.application,
            variables: raw.variables,
            triggers,
            components,
        })
    }
}

fn component(id: &str, c: RawComponent, dir: &Path) -> Result<ComponentDecl, ManifestError> {
    let err = |message: String| ManifestError::Component {
        component: id.to_string(),
        message,
    };
    let source = match c.source {
        RawSource::Path(p) => dir.join(p),
        RawSource::Remote { url } => {
            return Err(err(format!(
                "remote source {url:?} is not supported; bundle the .wasm with the app"
            )));
        }
    };
    let mut files = Vec::new();
    for f in c.files {
        files.push(match f {
            RawFile::Mapped {
                source,
                destination,
            } => {
                if !destination.starts_with('/') {
                    return Err(err(format!(
                        "files destination {destination:?} must be absolute"
                    )));
                }
                FileMount {
                    host: dir.join(source),
                    guest: destination,
                }
            }
            RawFile::Pattern(pattern) => pattern_mount(&pattern, dir).map_err(err)?,
        });
    }
    Ok(ComponentDecl {
        source,
        files,
        environment: c.environment,
        allowed_outbound_hosts: c.allowed_outbound_hosts,
        variables: c.variables,
        key_value_stores: c.key_value_stores,
        sqlite_databases: c.sqlite_databases,
        ai_models: c.ai_models,
    })
}

/// The component whose table holds byte `offset` of `text`: the id of the
/// last `[component.<id>…]` header before it, unless another table started
/// since.
fn component_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    let header = before
        .lines()
        .map(str::trim_start)
        .rfind(|l| l.starts_with('['))?;
    let rest = header.strip_prefix("[component.")?;
    let id = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split(['.', ']']).next()?,
    };
    Some(id.trim().to_string())
}

/// Maps a `files` glob to the directory holding everything it can match: the
/// pattern's literal leading segments (`static/**/*` → `static`, at `/static`).
fn pattern_mount(pattern: &str, dir: &Path) -> Result<FileMount, String> {
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|s| !s.contains(['*', '?', '[', '{']))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if literal.contains(&"..") || pattern.starts_with('/') {
        return Err(format!(
            "files pattern {pattern:?} must stay inside the app"
        ));
    }
    let literal = literal.join("/");
    let host = dir.join(&literal);
    let (host, guest) = if host.is_file() {
        let parent = Path::new(&literal)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        (dir.join(&parent), format!("/{parent}"))
    } else {
        (host, format!("/{literal}"))
    };
    Ok(FileMount {
        host,
        guest: if guest == "/" { "/".into() } else { guest },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("/app"))
    }

    #[test]
    fn parses_routes_components_and_variables() {
        let m = parse(
            r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
greeting = { default = "hi" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = { private = true }
component = "api"
[component.api]
source = "target/api.wasm"
files = ["static/**/*", { source = "assets", destination = "/assets" }]
environment = { A = "1" }
allowed_outbound_hosts = ["https://example.com"]
[component.api.variables]
greeting = "{{ greeting }}!"
"#,
        )
        .unwrap();
        assert_eq!(m.application.name, "demo");
        assert_eq!(m.triggers.len(), 2);
        assert_eq!(m.triggers[0].route, Route::Path("/api/...".into()));
        assert_eq!(m.triggers[1].route, Route::Private);
        let api = &m.components["api"];
        assert_eq!(api.source, PathBuf::from("/app/target/api.wasm"));
        assert_eq!(
            api.files,
            vec![
                FileMount {
                    host: "/app/static".into(),
                    guest: "/static".into()
                },
                FileMount {
                    host: "/app/assets".into(),
                    guest: "/assets".into()
                }
            ]
        );
        assert!(m.variables["token"].required);
        assert_eq!(api.variables["greeting"], "{{ greeting }}!");
    }

    #[test]
    fn unknown_component_is_named() {
        let e = parse(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
    }

    #[test]
    fn syntax_errors_carry_the_position() {
        let e = parse("spin_manifest_version = 2\n[[trigger.http]\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn errors_inside_a_component_table_name_it() {
        let e = parse(
            "spin_manifest_version = 2\n[component.good]\nsource = \"g.wasm\"\n[component.bad]\nsource = \"b.wasm\"\nenvironment = { A = 1 }\n",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(r#"component "bad": "#), "{msg}");
        assert!(msg.contains("line 6"), "{msg}");
        let e = parse(
            "spin_manifest_version = 2\n[component.a]\nsource = \"a.wasm\"\n[[trigger.http]]\nroute = 1\ncomponent = \"a\"\n",
        )
        .unwrap_err();
        assert!(!e.to_string().contains("component \"a\": "), "{e}");
    }

    #[test]
    fn version_one_is_refused() {
        let e = parse("spin_manifest_version = 1\n").unwrap_err();
        assert!(matches!(e, ManifestError::Version(1)));
    }

    #[test]
    fn relative_routes_and_remote_sources_are_refused() {
        let e = parse(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"x\"\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"component "a": route "x" must start with '/'"#
        );
        let e = parse(
            "spin_manifest_version = 2\n[component.a]\nsource = { url = \"https://x/a.wasm\", digest = \"sha256:0\" }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("remote source"), "{e}");
    }

    #[test]
    fn file_patterns_may_not_escape_the_app() {
        let e = parse(
            "spin_manifest_version = 2\n[component.a]\nsource = \"a.wasm\"\nfiles = [\"../etc/*\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("inside the app"), "{e}");
    }
}
