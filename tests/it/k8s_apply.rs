//! `apply --target k8s` through the real client stack: a kubeconfig with a CA, rustls, a
//! bearer token, against an HTTPS server that answers as kube-apiserver does
//! (`support/apiserver.py`): plain-text 404 for an API group it does not serve, apply
//! content type and `fieldManager` enforced, conflicts with other managers. What the pods
//! pull (the runtime image wxinfra builds, the app) goes to a real `docker-registry` first.

use serde_json::{Value, json};

use crate::k8s::SPINKUBE;
use crate::support::apiserver::ApiServer;
use crate::support::{LocalRegistry, Workspace, repo, skopeo};

/// `stacks/k8s-only.yaml` in `ws`, its local registry (kind's `localhost:5001`, in the
/// cluster `kind-registry:5000`) being `registry`, with stand-in runtime binaries.
fn stack(ws: &Workspace, registry: &str) -> String {
    let text = std::fs::read_to_string(repo().join("stacks/k8s-only.yaml"))
        .unwrap()
        .replace("localhost:5001", registry)
        .replace("kind-registry:5000", registry)
        .replace(
            "../examples/hello/spin.toml",
            &repo()
                .join("examples/hello/spin.toml")
                .display()
                .to_string(),
        );
    ws.write("k8s-only.yaml", &text);
    ws.runtime_stand_ins();
    "k8s-only.yaml".into()
}

fn workspace(server: &ApiServer) -> Workspace {
    Workspace::new().with_env("KUBECONFIG", server.kubeconfig().display().to_string())
}

/// `Kind/namespace/name` of each object with the stack's label, sorted.
fn stack_objects(objects: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .filter(|o| o["metadata"]["labels"]["wxinfra.dev/stack"] == "k8s-only")
        .map(|o| {
            let m = &o["metadata"];
            match m["namespace"].as_str() {
                Some(ns) => format!(
                    "{}/{ns}/{}",
                    o["kind"].as_str().unwrap(),
                    m["name"].as_str().unwrap()
                ),
                None => format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    m["name"].as_str().unwrap()
                ),
            }
        })
        .collect();
    names.sort();
    names
}

fn deployment(namespace: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "k8s-only", "namespace": namespace, "labels": labels,
                     "managedFields": [{"manager": "wxinfra", "operation": "Apply"}]},
        "spec": {"replicas": 1},
    })
}

#[test]
fn apply_over_https_applies_prunes_waits_and_is_idempotent() {
    let seed = [
        // Left by an earlier apply of the stack in another namespace: pruned.
        deployment("old", json!({"wxinfra.dev/stack": "k8s-only"})),
        // Someone else's: never touched.
        deployment("other", json!({"app": "other"})),
        // The namespace exists, created by kubectl: taken over by a forced apply.
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "hello", "managedFields": [{"manager": "kubectl", "operation": "Apply"}]}}),
    ];
    let server = ApiServer::start(&seed, false);
    let reg = LocalRegistry::start();
    let ws = workspace(&server);
    let stack = stack(&ws, &reg.host);
    let run = ws
        .run(&["apply", "--target", "k8s", "-f", &stack, "--wait", "20s"])
        .ok();
    assert!(
        run.stdout
            .contains("Kubernetes objects: 4 applied, 1 pruned."),
        "{}\n{}",
        run.stdout,
        run.stderr
    );

    let seen = server.requests();
    // Discovery first; SpinKube's group is not served (a plain-text 404) and is not
    // an error: this stack does not use it, and there is nothing of it to prune.
    let discovery: Vec<&str> = seen
        .iter()
        .take_while(|r| r.method == "GET" && !r.path.contains('?'))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        discovery,
        [
            "/apis/apps/v1",
            "/apis/core.spinkube.dev/v1alpha1",
            "/apis/networking.k8s.io/v1",
            "/api/v1"
        ]
    );
    let patches: Vec<_> = seen.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 4);
    for p in &patches {
        assert_eq!(
            p.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert!(
            p.path.contains("fieldManager=wxinfra") && p.path.contains("force=true"),
            "{}",
            p.path
        );
    }
    assert!(
        !seen.iter().any(|r| r.path.contains("spinapp")),
        "no SpinKube list may be sent to a cluster without its CRDs: {seen:?}"
    );
    let deletes: Vec<&str> = seen
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        deletes,
        ["/apis/apps/v1/namespaces/old/deployments/k8s-only?"]
    );

    let objects = server.objects();
    // The Deployment runs the runtime image by the digest the registry holds, and the app
    // it serves is there too, under the tag the pods follow.
    let deployment = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["namespace"] == "hello")
        .unwrap();
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    let (repo_name, digest) = image.split_once('@').unwrap();
    assert_eq!(repo_name, format!("{}/wxrun", reg.host));
    let pushed = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]);
    assert_eq!(pushed["Digest"], digest);
    let app = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/hello:latest", reg.host),
    ]);
    assert_eq!(
        app["Layers"].as_array().unwrap().len(),
        2,
        "hello.wasm and the locked app: {app}"
    );
    assert_eq!(
        stack_objects(&objects),
        [
            "Deployment/hello/k8s-only",
            "Ingress/hello/k8s-only",
            "Namespace/hello",
            "Service/hello/k8s-only"
        ]
    );
    for o in objects
        .iter()
        .filter(|o| o["metadata"]["labels"]["wxinfra.dev/stack"] == "k8s-only")
    {
        assert_eq!(
            o["metadata"]["managedFields"][0]["manager"], "wxinfra",
            "{o}"
        );
    }
    assert!(
        objects
            .iter()
            .any(|o| o["metadata"]["namespace"] == "other"
                && o["metadata"]["labels"]["app"] == "other"),
        "the foreign Deployment must survive the prune"
    );

    // A second apply pushes nothing, changes nothing and prunes nothing.
    let again = ws
        .run(&[
            "apply",
            "--target",
            "k8s",
            "-f",
            &stack,
            "--context",
            "test",
        ])
        .ok();
    assert_eq!(
        again
            .stderr
            .matches("is already this artifact: nothing pushed")
            .count(),
        2,
        "{}",
        again.stderr
    );
    assert!(
        again
            .stdout
            .contains("Kubernetes objects: 4 applied, 0 pruned."),
        "{}",
        again.stdout
    );
    assert_eq!(stack_objects(&server.objects()), stack_objects(&objects));
}

#[test]
fn spinkube_stack_on_a_cluster_without_its_crds_applies_nothing() {
    let server = ApiServer::start(&[], false);
    let ws = workspace(&server).with_app();
    ws.write("stack.yaml", SPINKUBE);
    let run = ws.run(&["apply", "--target", "k8s", "-f", "stack.yaml"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("the cluster does not serve core.spinkube.dev/v1alpha1 SpinApp")
            && run.stderr.contains("nothing was applied")
            && run.stderr.contains("install SpinKube"),
        "{}",
        run.stderr
    );
    assert!(
        server.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        server.requests()
    );
    assert!(server.objects().is_empty());
}

#[test]
fn spinkube_stack_with_its_crds_is_applied() {
    let server = ApiServer::start(&[], true);
    let reg = LocalRegistry::start();
    let ws = workspace(&server).with_app();
    ws.write("stack.yaml", &SPINKUBE.replace("ghcr.io", &reg.host));
    ws.run(&["apply", "--target", "k8s", "-f", "stack.yaml"])
        .ok();
    let kinds: Vec<String> = server
        .objects()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"SpinApp".to_string()) && kinds.contains(&"SpinAppExecutor".to_string()),
        "{kinds:?}"
    );
    // The SpinApp's image is the app apply published.
    let app = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/acme/hello:0.1.0", reg.host),
    ]);
    assert_eq!(app["Architecture"], "wasm", "{app}");
}

#[test]
fn a_server_whose_ca_is_not_trusted_is_refused() {
    let server = ApiServer::start(&[], false);
    // The same kubeconfig without its CA: the system roots do not know the test CA.
    let config = std::fs::read_to_string(server.kubeconfig()).unwrap();
    let untrusted: String = config
        .lines()
        .filter(|l| !l.contains("certificate-authority-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    let ws = Workspace::new();
    let path = ws.write("kubeconfig", &untrusted);
    // Nothing listens on port 9: a push before the refusal would fail differently.
    let stack = stack(&ws, "127.0.0.1:9");
    let run = ws
        .command(&["apply", "--target", "k8s", "-f", &stack])
        .env("KUBECONFIG", &path)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("127.0.0.1:9"), "{stderr}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}
