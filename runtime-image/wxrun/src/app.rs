//! A loaded Spin app: its route table and prepared components, built from a
//! manifest. Owns turning `spin.toml` into something that can serve; an
//! `App` is immutable, and a hot swap replaces it whole.

use crate::allowed_hosts::AllowedHosts;
use crate::aot::{self, Origin};
use crate::component::{self, Generation, Prepared, Settings};
use crate::engine::Limits;
use crate::manifest::{Manifest, ManifestError};
use crate::routing::{RouteError, Router};
use crate::traps::Unsupported;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;
use wasmtime::Engine;

/// Why an app could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Variables(#[from] crate::variables::VariableError),
    #[error(transparent)]
    Load(#[from] aot::LoadError),
    #[error("component {component:?}")]
    Component {
        component: String,
        #[source]
        source: aot::LoadError,
    },
    #[error(transparent)]
    Prepare(#[from] component::PrepareError),
    #[error("component {component:?}: unknown key_value_stores label {label:?}")]
    UnknownStore { component: String, label: String },
    #[error(
        "component {component:?} uses SQLite database {label:?}, which is not defined: check the spelling, or pass a runtime config file that defines it"
    )]
    UnknownDatabase { component: String, label: String },
    #[error("component {component:?}")]
    Outbound {
        component: String,
        #[source]
        source: crate::allowed_hosts::AllowedHostError,
    },
}

/// Where the app's files and compiled code come from.
pub struct LoadOptions<'a> {
    pub limits: Limits,
    /// `DIR/cache/<fingerprint>`; `None` compiles without caching.
    pub cache_dir: Option<&'a Path>,
    /// Environment read for `SPIN_VARIABLE_*`.
    pub env: &'a HashMap<String, String>,
    /// The release id, when served from an app dir.
    pub release: Option<String>,
    /// The stores and databases of the runtime config.
    pub resources: &'a crate::hosts::Resources,
}

/// An app ready to serve.
pub struct App {
    pub name: String,
    /// `[application] version`, for `/.well-known/spin/info`.
    pub version: Option<String>,
    pub release: Option<String>,
    pub router: Router,
    pub components: HashMap<String, Prepared>,
    /// How each component was obtained (cache hit or compiled).
    pub origins: BTreeMap<String, Origin>,
}

impl App {
    /// Loads the app described by the manifest at `path`.
    pub fn load(engine: &Engine, path: &Path, opts: &LoadOptions<'_>) -> Result<App, AppError> {
        let manifest = Manifest::load(path)?;
        let router = Router::from_manifest(&manifest)?;
        let app_values = crate::variables::app_values(&manifest, opts.env)?;
        let mut variables = crate::variables::resolve(&manifest, &app_values)?;
        let mut components = HashMap::new();
        let mut origins = BTreeMap::new();
        let mut loader = aot::Loader::new(engine, opts.cache_dir);
        for (id, decl) in &manifest.components {
            let started = Instant::now();
            let (compiled, origin) =
                loader
                    .load(&decl.source)
                    .map_err(|source| AppError::Component {
                        component: id.clone(),
                        source,
                    })?;
            let allowed = AllowedHosts::parse(&decl.allowed_outbound_hosts, &app_values).map_err(
                |source| AppError::Outbound {
                    component: id.clone(),
                    source,
                },
            )?;
            let res = opts.resources;
            if let Some(label) = decl
                .key_value_stores
                .iter()
                .find(|l| !res.stores.contains(l))
            {
                return Err(AppError::UnknownStore {
                    component: id.clone(),
                    label: label.clone(),
                });
            }
            if let Some(label) = decl
                .sqlite_databases
                .iter()
                .find(|l| !res.databases.contains(l))
            {
                return Err(AppError::UnknownDatabase {
                    component: id.clone(),
                    label: label.clone(),
                });
            }
            let allowed = std::sync::Arc::new(allowed);
            let settings = Settings {
                env: decl
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                mounts: decl.files.clone(),
                allowed: allowed.clone(),
                variables: std::sync::Arc::new(variables.remove(id).unwrap_or_default()),
                hosts: crate::hosts::Grants {
                    key_value: std::sync::Arc::new(decl.key_value_stores.iter().cloned().collect()),
                    sqlite: std::sync::Arc::new(decl.sqlite_databases.iter().cloned().collect()),
                    stores: res.stores.clone(),
                    databases: res.databases.clone(),
                    postgres: res.postgres.clone(),
                    mysql: res.mysql.clone(),
                    ai_models: std::sync::Arc::new(decl.ai_models.iter().cloned().collect()),
                    llm: res.llm.clone(),
                    allowed,
                },
                limits: opts.limits,
            };
            let loaded = started.elapsed();
            let prepared = component::prepare(engine, id, &compiled, settings)?;
            // The two parts of a component's start-up: its code (a cache hit is an mmap, a
            // miss a compile) and its linking against WASI and Spin's interfaces.
            tracing::info!(
                component = %id,
                generation = ?prepared.generation,
                origin = ?origin,
                unsupported = prepared.unsupported.len(),
                load_ms = %format_args!("{:.3}", loaded.as_secs_f64() * 1e3),
                link_ms = %format_args!("{:.3}", (started.elapsed() - loaded).as_secs_f64() * 1e3),
                "component ready"
            );
            origins.insert(id.clone(), origin);
            components.insert(id.clone(), prepared);
        }
        Ok(App {
            name: manifest.application.name,
            version: manifest.application.version,
            release: opts.release.clone(),
            router,
            components,
            origins,
        })
    }

    /// The unsupported imports of every component, by component id.
    pub fn unsupported(&self) -> BTreeMap<&str, &[Unsupported]> {
        self.components
            .iter()
            .map(|(id, p)| (id.as_str(), p.unsupported.as_slice()))
            .collect()
    }

    /// Each component's WASI generation.
    pub fn generations(&self) -> BTreeMap<&str, Generation> {
        self.components
            .iter()
            .map(|(id, p)| (id.as_str(), p.generation))
            .collect()
    }
}
