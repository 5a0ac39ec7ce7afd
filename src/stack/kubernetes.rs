//! The `kubernetes:` section of a stack file: how `render k8s` lays the app out on a cluster.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// How the app runs on Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum K8sMode {
    /// A plain Deployment of the `wxrun` image that fetches the app's release itself.
    #[default]
    Deployment,
    /// A SpinKube `SpinApp` (needs the spin-operator on the cluster).
    Spinkube,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSpec {
    /// Namespace the objects live in (RFC 1123 label).
    pub namespace: Spanned<String>,
    #[serde(default)]
    pub mode: Option<Spanned<K8sMode>>,
    /// `mode: deployment`: a `wxrun` image the user provides (`registry/repo:tag` or
    /// `@sha256:` digest), used as named. Exclusive with `runtime_image`.
    #[serde(default)]
    pub image: Option<Spanned<String>>,
    /// `mode: deployment`: `HOST/REPO` to which wxinfra pushes the `wxrun` image it builds
    /// from the static binary (`runtime.binary`); manifests name it by digest.
    #[serde(default)]
    pub runtime_image: Option<Spanned<String>>,
    /// The nodes' architecture, for the built runtime image; default x86_64.
    #[serde(default)]
    pub arch: Option<Spanned<super::Arch>>,
    #[serde(default)]
    pub replicas: Option<Spanned<i64>>,
    /// Resource requests/limits as Kubernetes quantities (`250m`, `256Mi`).
    #[serde(default)]
    pub resources: Option<ResourcesSpec>,
    #[serde(default)]
    pub ingress: Option<IngressSpec>,
    #[serde(default)]
    pub flux: Option<FluxSpec>,
    /// A Secret in the namespace whose `runtime-config.toml` is Spin's runtime config (the
    /// app's key-value stores, SQLite databases; as SpinKube's `loadFromSecret` reads it).
    #[serde(default)]
    pub runtime_config_secret: Option<Spanned<String>>,
    /// Extra labels on every object.
    #[serde(default)]
    pub labels: BTreeMap<String, Spanned<String>>,
    /// `mode: deployment`: where the pods fetch the app's releases from.
    #[serde(default)]
    pub release: Option<ReleaseSpec>,
    /// `mode: spinkube`: the SpinApp's OCI image and executor.
    #[serde(default)]
    pub spinkube: Option<SpinKubeSpec>,
}

impl KubernetesSpec {
    pub fn mode(&self) -> K8sMode {
        self.mode.as_ref().map(|m| m.value).unwrap_or_default()
    }

    pub fn arch(&self) -> super::Arch {
        self.arch
            .as_ref()
            .map(|a| a.value)
            .unwrap_or(super::Arch::X86_64)
    }

    pub fn replicas(&self) -> i32 {
        self.replicas
            .as_ref()
            .map(|r| i32::try_from(r.value).unwrap_or(1))
            .unwrap_or(1)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    #[serde(default)]
    pub requests: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub limits: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSpec {
    pub host: Spanned<String>,
    #[serde(default)]
    pub class: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FluxSpec {
    /// Git repository Flux watches.
    pub url: Spanned<String>,
    #[serde(default)]
    pub branch: Option<Spanned<String>>,
    /// Path of the rendered manifests inside that repository.
    pub path: Spanned<String>,
    /// How often Flux reconciles (`1m`, `10m30s`); default 5m.
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
}

/// Where `wxrun` fetches the app from: an S3 store in the layout `apply` uploads to the AWS
/// artifact bucket (`<prefix>/<sha256>.tar`, `<prefix>/current`), or an OCI registry holding
/// the app in Spin's format (`wxinfra publish`), followed by tag.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// `s3://bucket/prefix`, or `oci://HOST/REPO:TAG` (`@sha256:…` pins one artifact).
    pub source: Spanned<String>,
    /// `oci://` only: a `kubernetes.io/dockerconfigjson` Secret in the namespace with the
    /// registry's credentials (as for `imagePullSecrets`).
    #[serde(default)]
    pub pull_secret: Option<Spanned<String>>,
    /// `oci://` only: `HOST/REPO:TAG` where this machine pushes the app, when it reaches the
    /// registry under another name than the pods do (kind's local registry is
    /// `localhost:5001` here and `kind-registry:5000` in the cluster); default the source.
    #[serde(default)]
    pub publish_to: Option<Spanned<String>>,
    /// `oci://` only: the pods speak plain HTTP to the source's registry (a local registry
    /// without TLS). Loopback registries always are.
    #[serde(default)]
    pub plain_http: Option<Spanned<bool>>,
    /// An S3-compatible endpoint (MinIO, Ceph, R2), e.g. `http://minio.minio.svc:9000`.
    #[serde(default)]
    pub endpoint: Option<Spanned<String>>,
    /// Region for the S3 client; default the stack's `region`, else us-east-1.
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// A Secret in the namespace with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    #[serde(default)]
    pub credentials_secret: Option<Spanned<String>>,
    /// Size limit of the pod's app volume (releases + AOT cache); default 1Gi.
    #[serde(default)]
    pub volume_size: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpinKubeSpec {
    /// The app as an OCI artifact (`spin registry push`), e.g. `ghcr.io/acme/hello:0.1.0`.
    pub app_image: Spanned<String>,
    /// The SpinAppExecutor to run it with; default `containerd-shim-spin`.
    #[serde(default)]
    pub executor: Option<Spanned<String>>,
    /// Also render that SpinAppExecutor (with `runtime_class`), instead of using one the
    /// cluster already has.
    #[serde(default)]
    pub create_executor: Option<Spanned<bool>>,
    /// RuntimeClass of the created executor; default `wasmtime-spin-v2`.
    #[serde(default)]
    pub runtime_class: Option<Spanned<String>>,
}

impl SpinKubeSpec {
    pub fn executor(&self) -> &str {
        self.executor
            .as_ref()
            .map(|e| e.value.as_str())
            .unwrap_or("containerd-shim-spin")
    }

    pub fn runtime_class(&self) -> &str {
        self.runtime_class
            .as_ref()
            .map(|e| e.value.as_str())
            .unwrap_or("wasmtime-spin-v2")
    }

    pub fn create_executor(&self) -> bool {
        self.create_executor.as_ref().is_some_and(|c| c.value)
    }
}
