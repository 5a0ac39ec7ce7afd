//! `wxrun check`: loads an app as `serve` would (manifest, variables,
//! compile, link) and reports each component's WASI generation and the
//! imports that will trap. Owns the report's shape, which `wxinfra validate`
//! reads as JSON: `{"app", "components": [{"id", "generation",
//! "unsupported": [{"import", "functions"}]}]}`.

use crate::app::{App, AppError, LoadOptions};
use crate::component::Generation;
use crate::traps::Unsupported;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// The result of checking one app.
#[derive(Debug, Serialize)]
pub struct Report {
    pub app: String,
    pub components: Vec<ComponentReport>,
}

#[derive(Debug, Serialize)]
pub struct ComponentReport {
    pub id: String,
    pub generation: Generation,
    pub unsupported: Vec<Unsupported>,
}

/// Checks the app at `manifest`, compiling through `cache_root` if given.
pub fn check(
    manifest: &Path,
    cache_root: Option<&Path>,
    resources: &crate::hosts::Resources,
) -> Result<Report, CheckError> {
    let limits = crate::engine::Limits::default();
    let engine =
        crate::engine::new_engine(&limits).map_err(|e| CheckError::Engine(format!("{e:#}")))?;
    let cache_dir = cache_root.map(|r| crate::aot::engine_dir(&engine, r));
    // Variables are not required to be set at check time: only their
    // templates are checked, with every env-only variable given a value.
    let env: HashMap<String, String> = std::env::vars().collect();
    let app = App::load(
        &engine,
        manifest,
        &LoadOptions {
            limits,
            cache_dir: cache_dir.as_deref(),
            env: &placeholder_env(manifest, env)?,
            release: None,
            resources,
        },
    )?;
    let generations = app.generations();
    let mut components: Vec<ComponentReport> = app
        .unsupported()
        .into_iter()
        .map(|(id, list)| ComponentReport {
            id: id.to_string(),
            generation: generations[id],
            unsupported: list.to_vec(),
        })
        .collect();
    components.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Report {
        app: app.name.clone(),
        components,
    })
}

fn placeholder_env(
    manifest: &Path,
    mut env: HashMap<String, String>,
) -> Result<HashMap<String, String>, CheckError> {
    let m = crate::manifest::Manifest::load(manifest).map_err(AppError::from)?;
    for (name, decl) in &m.variables {
        if decl.required {
            env.entry(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
                .or_insert_with(|| "set-at-deploy-time".into());
        }
    }
    Ok(env)
}

/// Why `check` failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("cannot start wasmtime: {0}")]
    Engine(String),
}

impl Report {
    /// The human form: one line per component, then its trapping imports.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for c in &self.components {
            let generation = match c.generation {
                Generation::P2 => "wasi-0.2",
                Generation::P3 => "wasi-0.3",
            };
            if c.unsupported.is_empty() {
                out.push_str(&format!("{} ({generation}): all imports supported\n", c.id));
                continue;
            }
            out.push_str(&format!(
                "{} ({generation}): {} unsupported import(s) will trap when called:\n",
                c.id,
                c.unsupported.len()
            ));
            for u in &c.unsupported {
                out.push_str(&format!("  {}\n", u.import));
            }
        }
        out
    }
}
