//! Asks the runtime about an app before anything is deployed: `wxrun check --json` lists the
//! imports each component has that wxrun does not implement (they trap when called).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// `wxrun check --json` output (the runtime owns this shape).
#[derive(Debug, Deserialize)]
pub struct Report {
    pub components: Vec<ComponentReport>,
}

#[derive(Debug, Deserialize)]
pub struct ComponentReport {
    pub id: String,
    pub generation: serde_json::Value,
    pub unsupported: Vec<Unsupported>,
}

#[derive(Debug, Deserialize)]
pub struct Unsupported {
    pub import: String,
    pub functions: Vec<String>,
}

/// The `wxrun` to ask: `$WXRUN`, else the one next to this executable, else `wxrun` on PATH.
/// `WXRUN=` (empty) turns the check off.
pub fn locate() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WXRUN") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let sibling = std::env::current_exe().ok()?.with_file_name("wxrun");
    if sibling.is_file() {
        return Some(sibling);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("wxrun"))
        .find(|p| p.is_file())
}

/// Runs `wxrun check --json` on a manifest, compiling through an AOT cache under `.wxinfra/`
/// so that only the first check of a component pays for its compilation.
pub fn check(wxrun: &Path, manifest: &Path) -> anyhow::Result<Report> {
    let out = Command::new(wxrun)
        .args(["check", "--json", "--cache-dir", ".wxinfra/aot-cache"])
        .arg(manifest)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "{} cannot load the app: {}",
            wxrun.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}
