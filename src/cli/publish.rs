//! `wxinfra publish`: the stack's app as a Spin registry artifact (`oci::spin_app`), pushed
//! to the registry the stack names (`kubernetes.release.source: oci://…` or
//! `kubernetes.spinkube.app_image`) or to `--registry`, with Docker-config credentials.

use std::process::ExitCode;

use oci_client::Reference;
use oci_client::secrets::RegistryAuth;

use super::{Global, StackArg, context, ui::Ui};
use crate::oci::{Registry, spin_app};
use crate::stack::LoadedStack;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    /// Where to push, HOST/REPO[:TAG] (default tag: the app's version, else `latest`);
    /// default: the stack's `oci://` release source or `spinkube.app_image`.
    #[arg(long, value_name = "HOST/REPO[:TAG]")]
    pub registry: Option<String>,
}

/// Where the stack publishes its app, if it names a place.
pub fn stack_target(loaded: &LoadedStack) -> Option<String> {
    let k = loaded.stack.kubernetes.as_ref()?;
    if let Some(r) = &k.release
        && let Some(rest) = r.source.value.strip_prefix("oci://")
    {
        return Some(rest.to_string());
    }
    k.spinkube.as_ref().map(|s| s.app_image.value.clone())
}

/// `target` as a tagged reference; an untagged one gets `default_tag`.
fn tagged(target: &str, default_tag: &str) -> anyhow::Result<Reference> {
    let r: Reference = target
        .parse()
        .map_err(|e| anyhow::anyhow!("`{target}` is not a registry reference: {e}"))?;
    if r.digest().is_some() {
        anyhow::bail!("`{target}` names a digest; publish needs a tag to push to");
    }
    let has_tag = target
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    let tag = if has_tag {
        r.tag().unwrap_or(default_tag)
    } else {
        default_tag
    };
    Ok(Reference::with_tag(
        r.registry().to_string(),
        r.repository().to_string(),
        tag.to_string(),
    ))
}

pub async fn run(a: Args, _g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let manifest = loaded.resolve(&loaded.stack.app.manifest.value);
    let packed = tokio::task::spawn_blocking(move || spin_app::pack(&manifest)).await??;
    let target = a
        .registry
        .or_else(|| stack_target(&loaded))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} names no registry: pass --registry HOST/REPO[:TAG], or set \
             kubernetes.release.source to oci://HOST/REPO:TAG",
                a.stack.file.display()
            )
        })?;
    let version = packed.locked["metadata"]["version"]
        .as_str()
        .unwrap_or("latest");
    let reference = tagged(&target, version)?;
    let host = reference.registry();
    let auth = match registry_auth::credentials(host)? {
        Some(c) => RegistryAuth::Basic(c.username, c.password),
        None => RegistryAuth::Anonymous,
    };
    let registry = Registry::new(host, auth);
    let pushed = registry.push(&reference, &packed.artifact).await?;
    if pushed.uploaded.is_empty() {
        ui.note(&format!(
            "{reference} is already this artifact: nothing pushed"
        ));
    } else {
        ui.note(&format!(
            "pushed {reference}: {} of {} blobs and the manifest",
            pushed.uploaded.len() - 1,
            packed.artifact.blobs.len()
        ));
    }
    ui.out(&format!(
        "{}/{}@{}",
        reference.registry(),
        reference.repository(),
        pushed.digest
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_targets_take_the_app_version() {
        let r = tagged("127.0.0.1:5000/acme/hello", "1.0.0").unwrap();
        assert_eq!(r.whole(), "127.0.0.1:5000/acme/hello:1.0.0");
        let r = tagged("127.0.0.1:5000/acme/hello:v2", "1.0.0").unwrap();
        assert_eq!(r.whole(), "127.0.0.1:5000/acme/hello:v2");
        assert!(tagged(&format!("r.example/a@sha256:{}", "0".repeat(64)), "x").is_err());
    }
}
