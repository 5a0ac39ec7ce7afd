//! `wxinfra publish`: what a Kubernetes stack's pods pull, pushed with Docker-config
//! credentials: the app as a Spin registry artifact (`oci::spin_app`), to `--registry` or
//! where the stack names (`release.publish_to`, the `oci://` source, or
//! `spinkube.app_image`), and the `wxrun` image wxinfra builds for `runtime_image`, or that
//! image as an OCI archive (`--image-archive`, for `kind load image-archive`).
//! `apply --target k8s` runs the same pushes before it applies.

use std::process::ExitCode;

use anyhow::Context as _;
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;

use super::{Global, StackArg, context, ui::Ui};
use crate::artifacts::runtime_image::RuntimeImage;
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
    /// Write the runtime image (`kubernetes.runtime_image`) to FILE as an OCI archive
    /// instead of pushing it (`kind load image-archive FILE`, `k3d image import FILE`).
    #[arg(long, value_name = "FILE")]
    pub image_archive: Option<std::path::PathBuf>,
}

/// Where the stack publishes its app, if it names a place.
pub fn stack_target(loaded: &LoadedStack) -> Option<String> {
    let k = loaded.stack.kubernetes.as_ref()?;
    if let Some(r) = &k.release
        && let Some(rest) = r.source.value.strip_prefix("oci://")
    {
        return Some(
            r.publish_to
                .as_ref()
                .map_or(rest, |p| p.value.as_str())
                .to_string(),
        );
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

/// A registry client for `host` with the Docker config's credentials for it.
fn registry_for(host: &str) -> anyhow::Result<Registry> {
    let auth = match registry_auth::credentials(host)? {
        Some(c) => RegistryAuth::Basic(c.username, c.password),
        None => RegistryAuth::Anonymous,
    };
    Ok(Registry::new(host, auth))
}

/// Pushes the app to `target` (HOST/REPO[:TAG]); prints and returns `HOST/REPO@digest`.
async fn push_app(loaded: &LoadedStack, target: &str, ui: &Ui) -> anyhow::Result<String> {
    let manifest = loaded.resolve(&loaded.stack.app.manifest.value);
    let packed = tokio::task::spawn_blocking(move || spin_app::pack(&manifest)).await??;
    let version = packed.locked["metadata"]["version"]
        .as_str()
        .unwrap_or("latest");
    let reference = tagged(target, version)?;
    let pushed = registry_for(reference.registry())?
        .push(&reference, &packed.artifact)
        .await?;
    report(ui, &reference, &pushed, packed.artifact.blobs.len());
    Ok(format!(
        "{}/{}@{}",
        reference.registry(),
        reference.repository(),
        pushed.digest
    ))
}

/// Pushes the built runtime image under its tag; returns `HOST/REPO@digest`.
async fn push_runtime(image: &RuntimeImage, ui: &Ui) -> anyhow::Result<String> {
    let artifact = image.artifact()?;
    let reference = tagged(&image.tagged(), &image.tag)?;
    let pushed = registry_for(reference.registry())?
        .push(&reference, &artifact)
        .await?;
    report(ui, &reference, &pushed, artifact.blobs.len());
    Ok(image.pinned())
}

fn report(ui: &Ui, reference: &Reference, pushed: &crate::oci::registry::Pushed, blobs: usize) {
    if pushed.uploaded.is_empty() {
        ui.note(&format!(
            "{reference} is already this artifact: nothing pushed"
        ));
    } else {
        ui.note(&format!(
            "pushed {reference}: {} of {blobs} blobs and the manifest",
            pushed.uploaded.len() - 1,
        ));
    }
}

/// What `apply --target k8s` pushes before applying: the runtime image wxinfra built, and
/// the app when the stack names a registry for it.
pub async fn push_stack(
    loaded: &LoadedStack,
    runtime: Option<&RuntimeImage>,
    ui: &Ui,
) -> anyhow::Result<()> {
    if let Some(image) = runtime {
        push_runtime(image, ui).await?;
    }
    if let Some(target) = stack_target(loaded) {
        push_app(loaded, &target, ui).await?;
    }
    Ok(())
}

pub async fn run(a: Args, _g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let runtime = crate::artifacts::runtime_image::k8s_runtime_image(
        &loaded,
        std::path::Path::new(crate::artifacts::DIR),
    )?;
    let app_target = a.registry.or_else(|| stack_target(&loaded));
    if app_target.is_none() && runtime.is_none() {
        anyhow::bail!(
            "{} names no registry: pass --registry HOST/REPO[:TAG], or set \
             kubernetes.release.source to oci://HOST/REPO:TAG",
            a.stack.file.display()
        );
    }
    match (&runtime, &a.image_archive) {
        (Some(image), Some(file)) => {
            std::fs::copy(&image.archive, file)
                .with_context(|| format!("writing {}", file.display()))?;
            ui.note(&format!("wrote {} ({})", file.display(), image.tagged()));
            ui.out(&image.pinned());
        }
        (None, Some(_)) => anyhow::bail!(
            "--image-archive writes the runtime image wxinfra builds: set \
             `kubernetes.runtime_image: HOST/REPO` in {}",
            a.stack.file.display()
        ),
        (Some(image), None) => ui.out(&push_runtime(image, ui).await?),
        (None, None) => {}
    }
    if let Some(target) = app_target {
        ui.out(&push_app(&loaded, &target, ui).await?);
    }
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
