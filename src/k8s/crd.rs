//! Custom-resource kinds, as serde structs of the fields wxinfra sets: SpinKube's `SpinApp`
//! and `SpinAppExecutor` (core.spinkube.dev/v1alpha1) and Flux's `GitRepository`
//! (source.toolkit.fluxcd.io/v1) and `Kustomization` (kustomize.toolkit.fluxcd.io/v1).
//! Tests validate them against the upstream CRD schemas.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use super::objects::HEALTH_PATH;
use super::{Ctx, FLUX_NAMESPACE, to_value};
use crate::stack::kubernetes::{FluxSpec, SpinKubeSpec};

const DEFAULT_FLUX_INTERVAL: &str = "5m";

/// A custom object: the usual envelope around a kind-specific spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: S,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppSpec {
    image: String,
    executor: String,
    replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<SpinAppResources>,
    checks: SpinAppChecks,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pod_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_config: Option<SpinAppRuntimeConfig>,
}

/// The app's stores from a Secret's `runtime-config.toml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppRuntimeConfig {
    load_from_secret: String,
}

/// SpinApp's `resources` has only `limits` and `requests` (no `claims`).
#[derive(Serialize)]
struct SpinAppResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct SpinAppChecks {
    liveness: SpinAppProbe,
    readiness: SpinAppProbe,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppProbe {
    http_get: HttpGet,
    period_seconds: i32,
    failure_threshold: i32,
}

#[derive(Serialize)]
struct HttpGet {
    path: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppExecutorSpec {
    create_deployment: bool,
    deployment_config: DeploymentConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentConfig {
    runtime_class_name: String,
    #[serde(rename = "installDefaultCACerts")]
    install_default_ca_certs: bool,
}

pub fn spin_app(ctx: &Ctx, s: &SpinKubeSpec) -> Value {
    let resources = ctx.k.resources.as_ref().map(|r| SpinAppResources {
        limits: strings(&r.limits),
        requests: strings(&r.requests),
    });
    let probe = |period, failures| SpinAppProbe {
        http_get: HttpGet { path: HEALTH_PATH },
        period_seconds: period,
        failure_threshold: failures,
    };
    to_value(&Object {
        api_version: "core.spinkube.dev/v1alpha1",
        kind: "SpinApp",
        metadata: ctx.meta(&ctx.name, "runtime"),
        spec: SpinAppSpec {
            image: s.app_image.value.clone(),
            executor: s.executor().into(),
            replicas: ctx.k.replicas(),
            resources,
            checks: SpinAppChecks {
                liveness: probe(10, 3),
                readiness: probe(5, 2),
            },
            pod_labels: ctx.labels("runtime"),
            runtime_config: ctx
                .k
                .runtime_config_secret
                .as_ref()
                .map(|s| SpinAppRuntimeConfig {
                    load_from_secret: s.value.clone(),
                }),
        },
    })
}

fn strings(
    m: &BTreeMap<String, serde_saphyr::Spanned<String>>,
) -> Option<BTreeMap<String, String>> {
    (!m.is_empty()).then(|| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    })
}

pub fn spin_app_executor(ctx: &Ctx, s: &SpinKubeSpec) -> Value {
    to_value(&Object {
        api_version: "core.spinkube.dev/v1alpha1",
        kind: "SpinAppExecutor",
        metadata: ctx.meta(s.executor(), "executor"),
        spec: SpinAppExecutorSpec {
            create_deployment: true,
            deployment_config: DeploymentConfig {
                runtime_class_name: s.runtime_class().into(),
                install_default_ca_certs: true,
            },
        },
    })
}

#[derive(Serialize)]
struct GitRepositorySpec {
    interval: String,
    url: String,
    #[serde(rename = "ref")]
    reference: GitRef,
}

#[derive(Serialize)]
struct GitRef {
    branch: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KustomizationSpec {
    interval: String,
    path: String,
    prune: bool,
    wait: bool,
    timeout: &'static str,
    source_ref: SourceRef,
}

#[derive(Serialize)]
struct SourceRef {
    kind: &'static str,
    name: String,
}

/// Name of both Flux objects of a stack.
fn flux_name(ctx: &Ctx) -> String {
    format!("wxinfra-{}", ctx.name)
}

fn flux_meta(ctx: &Ctx) -> ObjectMeta {
    ObjectMeta {
        name: Some(flux_name(ctx)),
        namespace: Some(FLUX_NAMESPACE.into()),
        labels: Some(ctx.labels("gitops")),
        ..Default::default()
    }
}

fn interval(f: &FluxSpec) -> String {
    f.interval
        .as_ref()
        .map(|i| i.value.clone())
        .unwrap_or_else(|| DEFAULT_FLUX_INTERVAL.into())
}

pub fn git_repository(ctx: &Ctx, f: &FluxSpec) -> Value {
    to_value(&Object {
        api_version: "source.toolkit.fluxcd.io/v1",
        kind: "GitRepository",
        metadata: flux_meta(ctx),
        spec: GitRepositorySpec {
            interval: interval(f),
            url: f.url.value.clone(),
            reference: GitRef {
                branch: f
                    .branch
                    .as_ref()
                    .map(|b| b.value.clone())
                    .unwrap_or_else(|| "main".into()),
            },
        },
    })
}

pub fn flux_kustomization(ctx: &Ctx, f: &FluxSpec) -> Value {
    to_value(&Object {
        api_version: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: flux_meta(ctx),
        spec: KustomizationSpec {
            interval: interval(f),
            path: f.path.value.clone(),
            prune: true,
            wait: true,
            timeout: "5m",
            source_ref: SourceRef {
                kind: "GitRepository",
                name: flux_name(ctx),
            },
        },
    })
}
