//! The `kubernetes:` section of a stack file: how `render k8s` lays the app out on a cluster.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// How the app runs on Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum K8sMode {
    /// A plain Deployment of the `wxrun` image.
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
    /// The `wxrun` runtime image (`registry/repo:tag` or `@sha256:` digest).
    pub image: Spanned<String>,
    #[serde(default)]
    pub replicas: Option<Spanned<i64>>,
    /// Resource requests/limits as Kubernetes quantities (`250m`, `256Mi`).
    #[serde(default)]
    pub resources: Option<ResourcesSpec>,
    #[serde(default)]
    pub ingress: Option<IngressSpec>,
    #[serde(default)]
    pub flux: Option<FluxSpec>,
    /// Extra labels on every object.
    #[serde(default)]
    pub labels: BTreeMap<String, Spanned<String>>,
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
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
}
