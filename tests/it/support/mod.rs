//! Test helpers: a temp workspace per test, the wxinfra command runner, the moto server
//! fixture and boto3 assertions.

pub mod apiserver;
pub mod moto;
pub mod proxy;
pub mod registry;
pub mod workspace;

pub use moto::Moto;
pub use proxy::AwsProxy;
pub use registry::{LocalRegistry, skopeo, static_wxrun};
pub use workspace::{Run, Workspace};

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test venv made by scripts/setup-venv.sh (run it once before `cargo test`).
pub fn venv() -> PathBuf {
    std::env::var_os("WXINFRA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
}

/// A tool from the venv; panics with the fix when the venv is missing, so a test fails
/// loudly instead of skipping.
pub fn venv_bin(name: &str) -> PathBuf {
    let p = venv().join("bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-venv.sh first",
        p.display()
    );
    p
}
