//! `apply --target k8s`: server-side apply of the rendered objects (PATCH
//! `application/apply-patch+yaml`, `fieldManager=wxinfra`, `force=true`), then prune of
//! objects that carry the stack label but are no longer rendered, then a bounded wait for
//! the Deployment to be available. API discovery comes first: a kind the cluster does not
//! serve (SpinKube's CRDs not installed) stops the apply before anything is sent, and is
//! nothing to prune. Every request is built as a value first (kube-core's request builder),
//! so tests assert exactly what would be sent.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use kube::core::params::{DeleteParams, GetParams, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::{FIELD_MANAGER, Rendered, STACK_LABEL};

/// A kind `apply` manages: where it lives in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

/// Every kind `render k8s` puts in the kustomization, in apply order. Flux objects are not
/// here: they are for a GitOps controller, the alternative to `apply --target k8s`.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        api_version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        namespaced: false,
    },
    KindInfo {
        api_version: "core.spinkube.dev/v1alpha1",
        kind: "SpinAppExecutor",
        plural: "spinappexecutors",
        namespaced: true,
    },
    KindInfo {
        api_version: "apps/v1",
        kind: "Deployment",
        plural: "deployments",
        namespaced: true,
    },
    KindInfo {
        api_version: "v1",
        kind: "Service",
        plural: "services",
        namespaced: true,
    },
    KindInfo {
        api_version: "core.spinkube.dev/v1alpha1",
        kind: "SpinApp",
        plural: "spinapps",
        namespaced: true,
    },
    KindInfo {
        api_version: "networking.k8s.io/v1",
        kind: "Ingress",
        plural: "ingresses",
        namespaced: true,
    },
];

/// Identity of one object: kind, namespace, name.
type Key = (&'static str, Option<String>, String);

fn kind_of(object: &Value) -> anyhow::Result<&'static KindInfo> {
    let (api, kind) = (object["apiVersion"].as_str(), object["kind"].as_str());
    KINDS
        .iter()
        .find(|k| Some(k.api_version) == api && Some(k.kind) == kind)
        .with_context(|| format!("wxinfra does not apply {api:?} {kind:?} objects"))
}

fn key(object: &Value) -> anyhow::Result<(&'static KindInfo, Key)> {
    let info = kind_of(object)?;
    let meta = &object["metadata"];
    let name = meta["name"].as_str().context("object without a name")?;
    let ns = meta["namespace"].as_str().map(str::to_string);
    Ok((info, (info.kind, ns, name.to_string())))
}

/// The collection URL of a kind, in one namespace or (`None`) across all of them.
fn collection(info: &KindInfo, namespace: Option<&str>) -> String {
    let root = if info.api_version.contains('/') {
        format!("/apis/{}", info.api_version)
    } else {
        format!("/api/{}", info.api_version)
    };
    match namespace {
        Some(ns) if info.namespaced => format!("{root}/namespaces/{ns}/{}", info.plural),
        _ => format!("{root}/{}", info.plural),
    }
}

/// The server-side apply PATCH for one rendered object.
pub fn apply_request(object: &Value) -> anyhow::Result<http::Request<Vec<u8>>> {
    let (info, (_, ns, name)) = key(object)?;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Ok(
        kube::core::Request::new(collection(info, ns.as_deref())).patch(
            &name,
            &params,
            &Patch::Apply(object),
        )?,
    )
}

/// Lists a kind across all namespaces, selecting the stack's objects by label.
pub fn list_request(info: &KindInfo, stack: &str) -> anyhow::Result<http::Request<Vec<u8>>> {
    let lp = ListParams::default().labels(&format!("{STACK_LABEL}={stack}"));
    Ok(kube::core::Request::new(collection(info, None)).list(&lp)?)
}

pub fn delete_request(
    info: &KindInfo,
    namespace: Option<&str>,
    name: &str,
) -> anyhow::Result<http::Request<Vec<u8>>> {
    Ok(kube::core::Request::new(collection(info, namespace))
        .delete(name, &DeleteParams::background())?)
}

fn get_request(
    info: &KindInfo,
    namespace: Option<&str>,
    name: &str,
) -> anyhow::Result<http::Request<Vec<u8>>> {
    Ok(kube::core::Request::new(collection(info, namespace)).get(name, &GetParams::default())?)
}

/// The kinds of `KINDS` the cluster serves, from API discovery (one request per API
/// version). A real API server answers discovery of a group it does not know with a
/// plain-text `404 page not found`, not a `Status` (so kube's `is_not_found()` is false):
/// any 404 here means "not served".
async fn served_kinds(client: &kube::Client) -> anyhow::Result<BTreeSet<&'static str>> {
    let versions: BTreeSet<&str> = KINDS.iter().map(|k| k.api_version).collect();
    let mut served = BTreeSet::new();
    for version in versions {
        let listed = if version.contains('/') {
            client.list_api_group_resources(version).await
        } else {
            client.list_core_api_resources(version).await
        };
        let resources = match listed {
            Ok(list) => list.resources,
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(e).with_context(|| format!("discovering {version}")),
        };
        served.extend(
            KINDS
                .iter()
                .filter(|k| k.api_version == version)
                .filter(|k| resources.iter().any(|r| r.name == k.plural))
                .map(|k| k.kind),
        );
    }
    Ok(served)
}

/// Refuses, before anything is applied, objects of kinds the cluster does not serve.
fn check_served(rendered: &Rendered, served: &BTreeSet<&str>) -> anyhow::Result<()> {
    let mut missing = BTreeSet::new();
    for m in &rendered.app {
        let info = kind_of(&m.object)?;
        if !served.contains(info.kind) {
            missing.insert(format!("{} {}", info.api_version, info.kind));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.into_iter().collect();
    let hint = if list.iter().any(|k| k.starts_with("core.spinkube.dev/")) {
        "install SpinKube (its CRDs and the spin-operator) on the cluster, or use \
         `kubernetes.mode: deployment`, which needs no CRDs"
    } else {
        "install the CRDs that define them"
    };
    anyhow::bail!(
        "the cluster does not serve {}; nothing was applied.\nhelp: {hint}",
        list.join(", ")
    )
}

/// What an apply did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `Kind/namespace/name` of every object applied, in order.
    pub applied: Vec<String>,
    /// ... and of every object pruned.
    pub pruned: Vec<String>,
}

fn describe((kind, ns, name): &Key) -> String {
    match ns {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Applies `rendered`, prunes what it no longer holds, waits up to `wait` for the
/// Deployment (polling every `poll`).
/// What the cluster serves, once it is known to serve every kind `rendered` holds: the
/// check before anything is pushed or applied.
pub async fn preflight(
    client: &kube::Client,
    rendered: &Rendered,
) -> anyhow::Result<BTreeSet<&'static str>> {
    let served = served_kinds(client).await?;
    check_served(rendered, &served)?;
    Ok(served)
}

/// Applies `rendered` to a cluster that serves `served` ([`preflight`]), prunes, and waits.
pub async fn apply(
    client: &kube::Client,
    rendered: &Rendered,
    served: &BTreeSet<&'static str>,
    wait: Duration,
    poll: Duration,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut wanted = BTreeSet::new();
    for m in &rendered.app {
        let (_, k) = key(&m.object)?;
        client
            .request::<Value>(apply_request(&m.object)?)
            .await
            .with_context(|| format!("applying {}", describe(&k)))?;
        report.applied.push(describe(&k));
        wanted.insert(k);
    }
    report.pruned = prune(client, &rendered.stack, &wanted, served).await?;
    for m in &rendered.app {
        if m.object["kind"] == "Deployment" {
            let (info, (_, ns, name)) = key(&m.object)?;
            wait_available(client, info, ns.as_deref(), &name, wait, poll).await?;
        }
    }
    Ok(report)
}

/// Deletes the stack's objects that are not in `wanted`, among the `served` kinds (a kind
/// whose CRD is not installed has nothing to prune). Namespaces are never pruned: deleting
/// one deletes everything in it, including what wxinfra did not create.
async fn prune(
    client: &kube::Client,
    stack: &str,
    wanted: &BTreeSet<Key>,
    served: &BTreeSet<&str>,
) -> anyhow::Result<Vec<String>> {
    let mut pruned = Vec::new();
    let kinds = KINDS
        .iter()
        .filter(|k| k.kind != "Namespace" && served.contains(k.kind));
    for info in kinds.rev() {
        let list: Value = client
            .request(list_request(info, stack)?)
            .await
            .with_context(|| format!("listing {}", info.plural))?;
        for item in list["items"].as_array().into_iter().flatten() {
            let meta = &item["metadata"];
            let ns = meta["namespace"].as_str().map(str::to_string);
            let name = meta["name"].as_str().unwrap_or_default().to_string();
            let k: Key = (info.kind, ns.clone(), name.clone());
            if wanted.contains(&k) {
                continue;
            }
            match client
                .request::<Value>(delete_request(info, ns.as_deref(), &name)?)
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => return Err(e).with_context(|| format!("pruning {}", describe(&k))),
            }
            pruned.push(describe(&k));
        }
    }
    Ok(pruned)
}

/// Whether a Deployment's status says its current spec is fully rolled out and available.
pub fn is_available(d: &Value) -> bool {
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let s = &d["status"];
    let num = |f: &str| s[f].as_i64().unwrap_or(0);
    num("observedGeneration") >= d["metadata"]["generation"].as_i64().unwrap_or(0)
        && num("updatedReplicas") >= want
        && num("availableReplicas") >= want
        && num("replicas") == want
}

async fn wait_available(
    client: &kube::Client,
    info: &KindInfo,
    ns: Option<&str>,
    name: &str,
    wait: Duration,
    poll: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let d: Value = client
            .request(get_request(info, ns, name)?)
            .await
            .with_context(|| format!("reading Deployment {name}"))?;
        if is_available(&d) {
            return Ok(());
        }
        if tokio::time::Instant::now() + poll > deadline {
            anyhow::bail!(
                "Deployment {}/{name} was not available after {}: status {}",
                ns.unwrap_or_default(),
                humantime::format_duration(wait),
                d["status"]
            );
        }
        tokio::time::sleep(poll).await;
    }
}

/// A client for `context` (or the kubeconfig's current context).
pub async fn client(context: Option<&str>) -> anyhow::Result<kube::Client> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match context {
        Some(_) => kube::Config::from_kubeconfig(&options).await?,
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

#[cfg(test)]
mod tests {
    //! The apply against a mocked API server: the exact requests, in order.

    use std::sync::{Arc, Mutex};

    use http_body_util::BodyExt as _;
    use serde_json::json;

    use super::*;

    /// One request the mock received: method, path+query, content type, JSON body.
    type Seen = (String, String, Option<String>, Value);

    /// A kube client over an in-process service: discovery serves the built-in kinds and
    /// answers SpinKube's group with a plain-text 404 (CRDs not installed), PATCH echoes the
    /// object, lists return a stale Deployment of the stack, GET returns an available
    /// Deployment.
    fn mock() -> (kube::Client, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let log = log.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = body.collect().await?.to_bytes();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let path = parts.uri.to_string();
                let ctype = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_string());
                log.lock().unwrap().push((
                    parts.method.to_string(),
                    path.clone(),
                    ctype,
                    body.clone(),
                ));
                let discovery = |resources: &[(&str, &str, bool)]| {
                    let resources: Vec<Value> = resources
                        .iter()
                        .map(|(name, kind, namespaced)| {
                            json!({"name": name, "singularName": "", "kind": kind,
                                   "namespaced": namespaced, "verbs": ["list", "patch"]})
                        })
                        .collect();
                    (
                        200,
                        json!({"kind": "APIResourceList", "resources": resources}),
                    )
                };
                let (code, reply) = match (parts.method.as_str(), path.as_str()) {
                    ("GET", "/api/v1") => discovery(&[
                        ("namespaces", "Namespace", false),
                        ("services", "Service", true),
                    ]),
                    ("GET", "/apis/apps/v1") => discovery(&[("deployments", "Deployment", true)]),
                    ("GET", "/apis/networking.k8s.io/v1") => {
                        discovery(&[("ingresses", "Ingress", true)])
                    }
                    // An API server's answer for a group it does not serve: not a Status.
                    ("GET", p) if p.contains("spinkube") => {
                        return Ok(http::Response::builder()
                            .status(404)
                            .header("content-type", "text/plain; charset=utf-8")
                            .body(http_body_util::Full::new(bytes::Bytes::from(
                                "404 page not found\n",
                            )))
                            .unwrap());
                    }
                    ("PATCH", _) => (200, body),
                    ("DELETE", _) => (200, json!({"kind": "Status", "status": "Success"})),
                    ("GET", p) if p.starts_with("/apis/apps/v1/deployments?") => (
                        200,
                        json!({"items": [
                            {"metadata": {"name": "demo", "namespace": "demo"}},
                            {"metadata": {"name": "demo", "namespace": "old-ns"}},
                        ]}),
                    ),
                    ("GET", p) if p.contains('?') => (200, json!({"items": []})),
                    _ => (
                        200,
                        json!({
                            "metadata": {"generation": 2},
                            "spec": {"replicas": 2},
                            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
                        }),
                    ),
                };
                let resp = http::Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(http_body_util::Full::new(bytes::Bytes::from(
                        reply.to_string(),
                    )))
                    .unwrap();
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(resp)
            }
        });
        (kube::Client::new(svc, "default"), seen)
    }

    fn demo() -> Rendered {
        let stack = crate::stack::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/stacks/demo.yaml"
        )))
        .unwrap();
        // The image the demo stack has wxinfra build, as a render would pin it.
        let runtime = crate::artifacts::runtime_image::RuntimeImage {
            repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-runtime".into(),
            tag: "k8s-0".into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            archive: std::path::PathBuf::new(),
        };
        crate::k8s::render(&stack, Some(&runtime)).unwrap()
    }

    #[test]
    fn apply_request_is_a_forced_server_side_apply() {
        let r = demo();
        let req = apply_request(&r.app[1].object).unwrap();
        assert_eq!(req.method(), http::Method::PATCH);
        assert_eq!(
            req.uri().to_string(),
            "/apis/apps/v1/namespaces/demo/deployments/demo?&force=true&fieldManager=wxinfra"
        );
        assert_eq!(
            req.headers()[http::header::CONTENT_TYPE],
            "application/apply-patch+yaml"
        );
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body, r.app[1].object);
        let ns = apply_request(&r.app[0].object).unwrap();
        assert_eq!(
            ns.uri().to_string(),
            "/api/v1/namespaces/demo?&force=true&fieldManager=wxinfra"
        );
    }

    #[tokio::test]
    async fn apply_patches_prunes_and_waits() {
        let (client, seen) = mock();
        let r = demo();
        let served = preflight(&client, &r).await.unwrap();
        let report = apply(
            &client,
            &r,
            &served,
            Duration::from_secs(5),
            Duration::from_millis(10),
        )
        .await
        .unwrap();
        assert_eq!(
            report.applied,
            [
                "Namespace/demo",
                "Deployment/demo/demo",
                "Service/demo/demo"
            ]
        );
        assert_eq!(report.pruned, ["Deployment/old-ns/demo"]);
        let seen = seen.lock().unwrap();
        let lines: Vec<String> = seen
            .iter()
            .map(|(m, p, c, _)| format!("{m} {p} {}", c.as_deref().unwrap_or("-")))
            .collect();
        let sel = "labelSelector=wxinfra.dev%2Fstack%3Ddemo";
        let ssa = "?&force=true&fieldManager=wxinfra application/apply-patch+yaml";
        assert_eq!(
            lines,
            [
                "GET /apis/apps/v1 -".to_string(),
                "GET /apis/core.spinkube.dev/v1alpha1 -".to_string(),
                "GET /apis/networking.k8s.io/v1 -".to_string(),
                "GET /api/v1 -".to_string(),
                format!("PATCH /api/v1/namespaces/demo{ssa}"),
                format!("PATCH /apis/apps/v1/namespaces/demo/deployments/demo{ssa}"),
                format!("PATCH /api/v1/namespaces/demo/services/demo{ssa}"),
                format!("GET /apis/networking.k8s.io/v1/ingresses?&{sel} -"),
                format!("GET /api/v1/services?&{sel} -"),
                format!("GET /apis/apps/v1/deployments?&{sel} -"),
                "DELETE /apis/apps/v1/namespaces/old-ns/deployments/demo? application/json"
                    .to_string(),
                "GET /apis/apps/v1/namespaces/demo/deployments/demo -".to_string(),
            ]
        );
        // The bodies are the rendered objects, unchanged.
        for (i, m) in r.app.iter().enumerate() {
            assert_eq!(seen[4 + i].3, m.object);
        }
        assert_eq!(seen[10].3["propagationPolicy"], "Background");
    }

    #[test]
    fn availability_needs_the_current_generation_rolled_out() {
        let d = |gen_seen: i64, avail: i64| {
            json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": gen_seen, "replicas": 2, "updatedReplicas": 2, "availableReplicas": avail}})
        };
        assert!(is_available(&d(3, 2)));
        assert!(!is_available(&d(2, 2)));
        assert!(!is_available(&d(3, 1)));
    }
}
