//! The built-in kinds, typed with `k8s-openapi`: Namespace, the `wxrun` Deployment, its
//! Service, and the optional Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvFromSource, EnvVar,
    HTTPGetAction, KeyToPath, LocalObjectReference, Namespace, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretEnvSource,
    SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Ctx, to_value};
use crate::stack::kubernetes::ReleaseSpec;

/// The path wxrun (like Spin) answers 200 on once an app is loaded, 503 before and while draining.
pub const HEALTH_PATH: &str = "/.well-known/spin/health";
/// Where the pod's app volume is mounted: wxrun's `--app-dir` (`releases/`, `current`, `cache/`).
pub const APP_DIR: &str = "/srv/app";
/// The non-root user the container runs as: the runtime image's.
pub const RUN_AS: i64 = crate::oci::image::RUNTIME_UID as i64;
/// The Service's port; it forwards to the container's `http` port.
pub const SERVICE_PORT: i32 = 80;
const DEFAULT_APP_VOLUME: &str = "1Gi";
/// The key of Spin's runtime config in `runtime_config_secret` (SpinKube's name for it).
pub const RUNTIME_CONFIG_KEY: &str = "runtime-config.toml";
/// Where that Secret is mounted.
const RUNTIME_CONFIG_DIR: &str = "/etc/wxrun";
/// Where an `oci://` source's pull secret is mounted; wxrun reads it as `$DOCKER_CONFIG`.
const DOCKER_CONFIG_DIR: &str = "/var/run/secrets/wxrun/registry";

fn size_of(release: &ReleaseSpec) -> String {
    release
        .volume_size
        .as_ref()
        .map(|v| v.value.clone())
        .unwrap_or_else(|| DEFAULT_APP_VOLUME.into())
}

pub fn namespace(ctx: &Ctx) -> Value {
    to_value(&Namespace {
        metadata: ObjectMeta {
            name: Some(ctx.k.namespace.value.clone()),
            labels: Some(ctx.labels("namespace")),
            ..Default::default()
        },
        ..Default::default()
    })
}

pub fn deployment(ctx: &Ctx) -> anyhow::Result<Value> {
    let release = ctx
        .k
        .release
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("`mode: deployment` needs `release.source`"))?;
    // An oci:// source's credentials (a dockerconfigjson Secret) and the app's runtime config.
    let pull_secret = release.pull_secret.as_ref().map(|s| s.value.clone());
    let runtime_config = (ctx.k.runtime_config_secret.as_ref()).map(|s| s.value.clone());
    let env = runtime_env(
        ctx,
        release,
        pull_secret.is_some(),
        runtime_config.is_some(),
    );
    let container = container(ctx, release, env, &pull_secret, &runtime_config)?;
    let volumes = volumes(release, &pull_secret, &runtime_config);
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            seccomp_profile: Some(runtime_default()),
            ..Default::default()
        }),
        containers: vec![container],
        volumes: Some(volumes),
        // The same registry often holds the runtime image: kubelet may use the secret too.
        image_pull_secrets: pull_secret.map(|name| vec![LocalObjectReference { name }]),
        ..Default::default()
    };
    Ok(to_value(&Deployment {
        metadata: ctx.meta(&ctx.name, "runtime"),
        spec: Some(DeploymentSpec {
            replicas: Some(ctx.k.replicas()),
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(ctx.selector()),
                ..Default::default()
            },
            // Never below the desired count during a rollout: no failed requests.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(ctx.labels("runtime")),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }))
}

/// The runtime's environment in the pod.
fn runtime_env(
    ctx: &Ctx,
    release: &ReleaseSpec,
    pull_secret: bool,
    runtime_config: bool,
) -> Vec<EnvVar> {
    let port = ctx.runtime_port();
    let mut env = vec![
        env_var("WXRUN_PRIMITIVE", "k8s"),
        env_var("WXRUN_LISTEN", &format!("0.0.0.0:{port}")),
        env_var("WXRUN_APP_DIR", APP_DIR),
        env_var("WXRUN_SOURCE", &release.source.value),
        env_var("WXRUN_LOG_FORMAT", "json"),
    ];
    if release.source.value.starts_with("s3://") {
        let region = release
            .region
            .as_ref()
            .or(ctx.loaded.stack.region.as_ref())
            .map(|r| r.value.clone())
            .unwrap_or_else(|| "us-east-1".into());
        env.push(env_var("AWS_REGION", &region));
        // No instance metadata service in a pod: do not wait for it.
        env.push(env_var("AWS_EC2_METADATA_DISABLED", "true"));
    }
    if let Some(e) = &release.endpoint {
        env.push(env_var("AWS_ENDPOINT_URL", &e.value));
    }
    // An oci:// source's credentials: the dockerconfigjson Secret as wxrun's Docker config.
    if pull_secret {
        env.push(env_var("DOCKER_CONFIG", DOCKER_CONFIG_DIR));
    }
    if release.plain_http.as_ref().is_some_and(|p| p.value) {
        env.push(env_var("WXRUN_PLAIN_HTTP", "true"));
    }
    if runtime_config {
        env.push(env_var(
            "WXRUN_RUNTIME_CONFIG_FILE",
            &format!("{RUNTIME_CONFIG_DIR}/{RUNTIME_CONFIG_KEY}"),
        ));
    }
    env
}

/// The `wxrun` container: non-root, read-only root, no capabilities, probed on its health
/// endpoint.
fn container(
    ctx: &Ctx,
    release: &ReleaseSpec,
    env: Vec<EnvVar>,
    pull_secret: &Option<String>,
    runtime_config: &Option<String>,
) -> anyhow::Result<Container> {
    let port = ctx.runtime_port();
    let env_from = release.credentials_secret.as_ref().map(|s| {
        vec![EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: s.value.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }]
    });
    let probe = |period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(HEALTH_PATH.into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Default::default()
    };
    Ok(Container {
        name: "wxrun".into(),
        image: Some(
            ctx.runtime_image
                .clone()
                .ok_or_else(|| anyhow::anyhow!("`mode: deployment` needs the runtime image"))?,
        ),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(env),
        env_from,
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: port,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: resources(ctx),
        // Up to 5 minutes to fetch the release and compile it ahead of time on first start.
        startup_probe: Some(probe(2, 150)),
        readiness_probe: Some(probe(5, 2)),
        liveness_probe: Some(probe(10, 3)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            seccomp_profile: Some(runtime_default()),
            ..Default::default()
        }),
        volume_mounts: Some(
            [
                Some(("app", APP_DIR)),
                Some(("tmp", "/tmp")),
                pull_secret
                    .as_ref()
                    .map(|_| ("registry-auth", DOCKER_CONFIG_DIR)),
                runtime_config
                    .as_ref()
                    .map(|_| ("runtime-config", RUNTIME_CONFIG_DIR)),
            ]
            .into_iter()
            .flatten()
            .map(|(name, path)| VolumeMount {
                name: name.into(),
                mount_path: path.into(),
                read_only: matches!(name, "registry-auth" | "runtime-config").then_some(true),
                ..Default::default()
            })
            .collect(),
        ),
        ..Default::default()
    })
}

/// The app's scratch volumes, and the secrets the container mounts.
fn volumes(
    release: &ReleaseSpec,
    pull_secret: &Option<String>,
    runtime_config: &Option<String>,
) -> Vec<Volume> {
    let mut volumes = vec![
        empty_dir("app", Some(size_of(release))),
        empty_dir("tmp", Some("64Mi".into())),
    ];
    for (volume, secret, key, path) in [
        (
            "registry-auth",
            pull_secret,
            ".dockerconfigjson",
            "config.json",
        ),
        (
            "runtime-config",
            runtime_config,
            RUNTIME_CONFIG_KEY,
            RUNTIME_CONFIG_KEY,
        ),
    ] {
        let Some(name) = secret else { continue };
        volumes.push(Volume {
            name: volume.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.clone()),
                items: Some(vec![KeyToPath {
                    key: key.into(),
                    path: path.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    volumes
}

pub fn service(ctx: &Ctx) -> Value {
    to_value(&Service {
        metadata: ctx.meta(&ctx.name, "runtime"),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(ctx.selector()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: SERVICE_PORT,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::String("http".into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Routes the host to the Service the app runs behind: ours in deployment mode, the one the
/// spin-operator creates (named after the SpinApp, port 80) in SpinKube mode.
pub fn ingress(ctx: &Ctx) -> Value {
    let i = ctx.k.ingress.as_ref().expect("called only with an ingress");
    to_value(&Ingress {
        metadata: ctx.meta(&ctx.name, "runtime"),
        spec: Some(IngressSpec {
            ingress_class_name: i.class.as_ref().map(|c| c.value.clone()),
            rules: Some(vec![IngressRule {
                host: Some(i.host.value.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: ctx.name.clone(),
                                port: Some(ServiceBackendPort {
                                    number: Some(SERVICE_PORT),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The stack's requests/limits as typed quantities (validated by `wxinfra validate`).
pub fn resources(ctx: &Ctx) -> Option<ResourceRequirements> {
    let r = ctx.k.resources.as_ref()?;
    let map = |m: &BTreeMap<String, serde_saphyr::Spanned<String>>| {
        (!m.is_empty()).then(|| {
            m.iter()
                .map(|(k, v)| (k.clone(), Quantity(v.value.clone())))
                .collect::<BTreeMap<_, _>>()
        })
    };
    Some(ResourceRequirements {
        requests: map(&r.requests),
        limits: map(&r.limits),
        ..Default::default()
    })
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..Default::default()
    }
}

fn empty_dir(name: &str, size: Option<String>) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: size.map(Quantity),
            ..Default::default()
        }),
        ..Default::default()
    }
}
