//! A loaded Spin app: its route table and prepared components, built from a
//! manifest. Owns turning `spin.toml` into something that can serve; an
//! `App` is immutable, and a hot swap replaces it whole.

use crate::aot::{self, Origin};
use crate::component::{self, Generation, Prepared, Settings};
use crate::engine::Limits;
use crate::manifest::{Manifest, ManifestError};
use crate::outbound::AllowedHosts;
use crate::routing::{RouteError, Router};
use crate::traps::Unsupported;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
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
    #[error(transparent)]
    Prepare(#[from] component::PrepareError),
    #[error("component {component:?}: {source}")]
    Outbound {
        component: String,
        #[source]
        source: crate::outbound::PatternError,
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
}

/// An app ready to serve.
pub struct App {
    pub name: String,
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
        let mut variables = crate::variables::resolve(&manifest, opts.env)?;
        let mut components = HashMap::new();
        let mut origins = BTreeMap::new();
        for (id, decl) in &manifest.components {
            let (compiled, origin) = aot::load(engine, opts.cache_dir, &decl.source)?;
            let allowed = AllowedHosts::parse(&decl.allowed_outbound_hosts).map_err(|source| {
                AppError::Outbound {
                    component: id.clone(),
                    source,
                }
            })?;
            let settings = Settings {
                env: decl
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                mounts: decl.files.clone(),
                allowed,
                variables: variables.remove(id).unwrap_or_default(),
                limits: opts.limits,
            };
            let prepared = component::prepare(engine, id, &compiled, settings)?;
            tracing::info!(
                component = %id,
                generation = ?prepared.generation,
                origin = ?origin,
                unsupported = prepared.unsupported.len(),
                "component ready"
            );
            origins.insert(id.clone(), origin);
            components.insert(id.clone(), prepared);
        }
        Ok(App {
            name: manifest.application.name,
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
