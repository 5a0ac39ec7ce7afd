//! `render k8s`: the example stacks render with their built runtime image pinned by digest,
//! re-renders are byte-identical and `--check` names stale files, every
//! output builds with `kubectl kustomize`, built-in kinds pass `kubernetes-validate --strict`
//! and custom resources pass their upstream CRD schemas (unknown fields rejected); bad
//! `kubernetes:` values fail `validate` with file:line:col.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Workspace, repo, venv_bin};

/// Example stacks that have a `kubernetes:` section. Their manifests are not committed: they
/// pin the runtime image by digest, and so the static binary of the machine that renders.
const EXAMPLE_STACKS: &[&str] = &["demo", "k8s-only"];
/// The Kubernetes version k8s-openapi is built for (feature `v1_33`).
const K8S_VERSION: &str = "1.33.0";

/// A SpinKube-mode stack with every optional object: executor, ingress, Flux.
pub const SPINKUBE: &str = "version: 1
name: spin
app:
  manifest: app/spin.toml
kubernetes:
  namespace: spin-apps
  mode: spinkube
  replicas: 2
  resources:
    requests: {cpu: 100m, memory: 64Mi}
    limits: {cpu: '1', memory: 128Mi}
  spinkube:
    app_image: ghcr.io/acme/hello:0.1.0
    create_executor: true
  runtime_config_secret: spin-stores
  ingress:
    host: spin.example.com
    class: traefik
  flux:
    url: https://github.com/acme/gitops
    path: ./k8s/dist/spin
    interval: 1m
";

/// Splits manifests into built-in kinds (written to `builtin_out` for kubernetes-validate)
/// and custom resources, which it validates against the served versions of the CRDs in
/// `crd_dir` with additionalProperties closed wherever the schema does not preserve
/// unknown fields. Prints `{"crd": [...], "builtin": [...], "no_schema": [...]}`.
const CRD_CHECK: &str = r#"
import glob, json, sys, yaml, jsonschema
crd_dir, builtin_out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
schemas = {}
for p in sorted(glob.glob(crd_dir + "/*.yaml")):
    for d in yaml.safe_load_all(open(p)):
        if not d or d.get("kind") != "CustomResourceDefinition":
            continue
        for v in d["spec"]["versions"]:
            if v.get("served"):
                key = (d["spec"]["group"] + "/" + v["name"], d["spec"]["names"]["kind"])
                schemas[key] = v["schema"]["openAPIV3Schema"]

def close(s):
    if isinstance(s, dict):
        if ("properties" in s and "additionalProperties" not in s
                and not s.get("x-kubernetes-preserve-unknown-fields")):
            s["additionalProperties"] = False
        for v in s.values():
            close(v)
    elif isinstance(s, list):
        for v in s:
            close(v)

for s in schemas.values():
    close(s)
out = {"crd": [], "builtin": [], "no_schema": []}
builtin = []
errors = []
for f in files:
    for doc in yaml.safe_load_all(open(f)):
        if not doc:
            continue
        api, kind = doc["apiVersion"], doc["kind"]
        name = kind + "/" + doc["metadata"]["name"]
        group = api.rsplit("/", 1)[0] if "/" in api else ""
        if (api, kind) in schemas:
            v = jsonschema.Draft7Validator(schemas[(api, kind)])
            for e in v.iter_errors(doc):
                errors.append(f"{f}: {name}: {'/'.join(map(str, e.path))}: {e.message}")
            out["crd"].append(name)
        elif "." not in group or group.endswith(".k8s.io"):
            builtin.append(doc)
            out["builtin"].append(name)
        else:
            out["no_schema"].append(name)
with open(builtin_out, "w") as fh:
    yaml.safe_dump_all(builtin, fh)
if errors:
    sys.exit("CRD schema violations:\n" + "\n".join(errors))
print(json.dumps(out))
"#;

fn crd_dir() -> PathBuf {
    let d = repo().join("../shared/schemas/crds");
    assert!(
        d.is_dir(),
        "{} is missing (CI keeps shared/ beside the clone)",
        d.display()
    );
    d
}

fn stack_file(name: &str) -> String {
    repo()
        .join(format!("stacks/{name}.yaml"))
        .display()
        .to_string()
}

/// Output of a tool that must exist and succeed.
#[track_caller]
fn tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every validator on one rendered stack directory; returns the CRD script's summary.
fn validate_dir(dir: &Path) -> serde_json::Value {
    let built = tool(Command::new("kubectl").arg("kustomize").arg(dir));
    let tmp = tempfile::tempdir().unwrap();
    let built_path = tmp.path().join("built.yaml");
    std::fs::write(&built_path, &built).unwrap();
    let builtin = tmp.path().join("builtin.yaml");
    let mut files = vec![built_path];
    if dir.join("flux").is_dir() {
        let mut flux: Vec<PathBuf> = std::fs::read_dir(dir.join("flux"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        flux.sort();
        files.extend(flux);
    }
    let summary = tool(
        Command::new(venv_bin("python"))
            .arg("-c")
            .arg(CRD_CHECK)
            .arg(crd_dir())
            .arg(&builtin)
            .args(&files),
    );
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let out = tool(
        Command::new(venv_bin("kubernetes-validate"))
            .args(["--strict", "-k", K8S_VERSION])
            .arg(&builtin),
    );
    let passed = out.matches(" passed for resource ").count();
    assert_eq!(
        passed,
        summary["builtin"].as_array().unwrap().len(),
        "kubernetes-validate did not pass every built-in object:\n{out}"
    );
    summary
}

#[test]
fn example_stacks_pass_every_validator_and_run_the_image_they_build_by_digest() {
    for stack in EXAMPLE_STACKS {
        let ws = Workspace::new().with_runtime();
        ws.run(&["render", "k8s", "-f", &stack_file(stack), "-o", "out"])
            .ok();
        let dir = ws.path().join("out").join(stack);
        let summary = validate_dir(&dir);
        // The Deployment runs exactly the image wxinfra packed: its archive's digest.
        let d: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join("deployment.yaml")).unwrap())
                .unwrap();
        let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string();
        let archive = ws
            .path()
            .join(format!(".wxinfra/artifacts/{stack}/k8s-image-x86_64.tar"));
        let packed = wxinfra::oci::layout::read(&std::fs::read(&archive).unwrap()).unwrap();
        assert!(
            image.ends_with(&format!("/wxrun@{}", packed.digest))
                || image.ends_with(&format!("-runtime@{}", packed.digest)),
            "{image} is not pinned to {}",
            packed.digest
        );
        let builtin = summary["builtin"].as_array().unwrap();
        assert!(
            builtin.iter().any(|k| k == &format!("Deployment/{stack}")),
            "{summary}"
        );
        assert!(
            builtin.iter().any(|k| k == &format!("Service/{stack}")),
            "{summary}"
        );
    }
}

#[test]
fn k8s_only_flux_objects_match_the_crds() {
    let ws = Workspace::new().with_runtime();
    ws.run(&["render", "k8s", "-f", &stack_file("k8s-only"), "-o", "out"])
        .ok();
    let summary = validate_dir(&ws.path().join("out/k8s-only"));
    assert_eq!(
        summary["crd"],
        serde_json::json!([
            "GitRepository/wxinfra-k8s-only",
            "Kustomization/wxinfra-k8s-only"
        ])
    );
    // Every object is checked: shared/schemas/crds holds Flux's GitRepository CRD too.
    assert_eq!(summary["no_schema"], serde_json::json!([]));
    assert_eq!(
        summary["builtin"],
        serde_json::json!([
            "Namespace/hello",
            "Service/k8s-only",
            "Deployment/k8s-only",
            "Ingress/k8s-only"
        ])
    );
}

#[test]
fn spinkube_mode_renders_spinapp_and_executor() {
    let ws = Workspace::new().with_app();
    ws.write("stack.yaml", SPINKUBE);
    ws.run(&["validate", "-f", "stack.yaml"]).ok();
    ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"])
        .ok();
    let dir = ws.path().join("out/spin");
    let summary = validate_dir(&dir);
    assert_eq!(
        summary["crd"],
        // kustomize's own order: the SpinApp before its executor.
        serde_json::json!([
            "SpinApp/spin",
            "SpinAppExecutor/containerd-shim-spin",
            "GitRepository/wxinfra-spin",
            "Kustomization/wxinfra-spin"
        ]),
        "{summary}"
    );
    assert_eq!(
        summary["builtin"],
        serde_json::json!(["Namespace/spin-apps", "Ingress/spin"])
    );
    assert!(!dir.join("deployment.yaml").exists());
    let mut all = String::new();
    for f in ["spinappexecutor.yaml", "spinapp.yaml", "ingress.yaml"] {
        all.push_str(&std::fs::read_to_string(dir.join(f)).unwrap());
    }
    insta::assert_snapshot!("spinkube_manifests", all);
}

#[test]
fn crd_check_rejects_unknown_fields() {
    // The negative control: the closed schemas must refuse a field the CRD does not define.
    let ws = Workspace::new().with_app();
    ws.write("stack.yaml", SPINKUBE);
    ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"])
        .ok();
    let spinapp = ws.path().join("out/spin/spinapp.yaml");
    let text = std::fs::read_to_string(&spinapp).unwrap();
    let bad = ws.write(
        "bad.yaml",
        &text.replace("  replicas: 2\n", "  replicas: 2\n  replica: 3\n"),
    );
    let out = Command::new(venv_bin("python"))
        .arg("-c")
        .arg(CRD_CHECK)
        .arg(crd_dir())
        .arg(ws.path().join("builtin.yaml"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an unknown SpinApp field passed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'replica' was unexpected"), "{err}");
}

#[test]
fn kubernetes_validate_strict_rejects_unknown_fields() {
    // The other negative control: --strict must refuse an unknown Deployment field.
    let ws = Workspace::new().with_runtime();
    ws.run(&["render", "k8s", "-f", &stack_file("demo"), "-o", "out"])
        .ok();
    let text = std::fs::read_to_string(ws.path().join("out/demo/deployment.yaml")).unwrap();
    let bad = ws.write(
        "bad.yaml",
        &text.replace("  replicas: 2\n", "  replicas: 2\n  replica: 3\n"),
    );
    let out = Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "-k", K8S_VERSION])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "--strict accepted an unknown field");
}

#[test]
fn rerender_is_byte_identical_and_check_names_stale_files() {
    let ws = Workspace::new().with_runtime();
    let stack = stack_file("k8s-only");
    ws.run(&["render", "k8s", "-f", &stack, "-o", "out"]).ok();
    let dir = ws.path().join("out/k8s-only");
    let before = snapshot(&dir);
    let again = ws.run(&["render", "k8s", "-f", &stack, "-o", "out"]).ok();
    assert!(
        again.stdout.contains("7 files, 0 changed"),
        "{}",
        again.stdout
    );
    assert_eq!(snapshot(&dir), before);
    ws.run(&["render", "k8s", "-f", &stack, "-o", "out", "--check"])
        .ok();

    std::fs::write(dir.join("service.yaml"), "edited\n").unwrap();
    std::fs::remove_file(dir.join("flux/sync.yaml")).unwrap();
    std::fs::write(dir.join("leftover.yaml"), "kind: ConfigMap\n").unwrap();
    let r = ws.run(&["render", "k8s", "-f", &stack, "-o", "out", "--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for line in [
        "out/k8s-only/flux/sync.yaml: missing",
        "out/k8s-only/leftover.yaml: no longer rendered",
        "out/k8s-only/service.yaml: differs",
    ] {
        assert!(r.stderr.contains(line), "{line}\n{}", r.stderr);
    }
    assert!(r.stderr.contains("run `wxinfra render k8s"), "{}", r.stderr);
    // --check changed nothing; a render repairs everything.
    assert_eq!(
        std::fs::read_to_string(dir.join("service.yaml")).unwrap(),
        "edited\n"
    );
    ws.run(&["render", "k8s", "-f", &stack, "-o", "out"]).ok();
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_25_mb_component_stays_out_of_the_manifests() {
    // The release travels through the artifact store, never through a ConfigMap: the
    // manifests do not grow with the app.
    let ws = Workspace::new().with_app();
    std::fs::write(ws.path().join("app/c.wasm"), vec![7u8; 25 << 20]).unwrap();
    ws.write(
        "stack.yaml",
        "version: 1\nname: big\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: big\n  image: ghcr.io/wxinfra/wxrun:0.1.0\n  release:\n    source: s3://releases/big\n",
    );
    ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"])
        .ok();
    let total: u64 = snapshot(&ws.path().join("out/big"))
        .iter()
        .map(|(_, t)| t.len() as u64)
        .sum();
    assert!(total < 16 << 10, "manifests are {total} bytes");
    let d = std::fs::read_to_string(ws.path().join("out/big/deployment.yaml")).unwrap();
    assert!(d.contains("value: s3://releases/big"), "{d}");
    assert!(!d.contains("ConfigMap") && !d.contains("configMap"), "{d}");
}

#[test]
fn an_oci_release_source_renders_with_its_pull_secret_and_passes_every_validator() {
    let ws = Workspace::new().with_app();
    ws.write(
        "stack.yaml",
        "version: 1\nname: reg\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: reg\n  image: ghcr.io/wxinfra/wxrun:0.1.0\n  runtime_config_secret: stores\n  release:\n    source: oci://registry.example:5000/acme/hello:v1\n    pull_secret: regcred\n",
    );
    ws.run(&["validate", "-f", "stack.yaml"]).ok();
    ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"])
        .ok();
    let summary = validate_dir(&ws.path().join("out/reg"));
    assert!(
        summary["builtin"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "Deployment/reg"),
        "{summary}"
    );
    let d: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(ws.path().join("out/reg/deployment.yaml")).unwrap(),
    )
    .unwrap();
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let env: Vec<(&str, &str)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert!(env.contains(&("WXRUN_SOURCE", "oci://registry.example:5000/acme/hello:v1")));
    assert!(env.contains(&("DOCKER_CONFIG", "/var/run/secrets/wxrun/registry")));
    // The app's stores: Spin's runtime config from the Secret, mounted read-only.
    assert!(env.contains(&(
        "WXRUN_RUNTIME_CONFIG_FILE",
        "/etc/wxrun/runtime-config.toml"
    )));
    secret_mounted(
        pod,
        "runtime-config",
        "stores",
        "runtime-config.toml",
        "/etc/wxrun",
    );
    assert!(
        !env.iter().any(|(k, _)| k.starts_with("AWS_")),
        "no S3 settings for a registry source: {env:?}"
    );
    assert_eq!(
        pod["imagePullSecrets"],
        serde_json::json!([{"name": "regcred"}])
    );
    secret_mounted(
        pod,
        "registry-auth",
        "regcred",
        ".dockerconfigjson",
        "/var/run/secrets/wxrun/registry",
    );
}

/// The pod has volume `volume` holding key `key` of Secret `secret`, mounted read-only at
/// `at` in its one container.
#[track_caller]
fn secret_mounted(pod: &serde_json::Value, volume: &str, secret: &str, key: &str, at: &str) {
    let v = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == volume)
        .unwrap();
    assert_eq!(v["secret"]["secretName"], secret);
    assert_eq!(v["secret"]["items"][0]["key"], key);
    assert!(
        pod["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == volume && m["mountPath"] == at && m["readOnly"] == true),
        "{pod}"
    );
}

#[test]
fn render_refuses_a_stack_without_kubernetes() {
    let ws = Workspace::new().with_app();
    ws.write(
        "stack.yaml",
        "version: 1\nname: t\napp:\n  manifest: app/spin.toml\ncompute:\n  lambda: {memory: 512}\n",
    );
    let r = ws.run(&["render", "k8s", "-f", "stack.yaml"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("has no `kubernetes:` section"),
        "{}",
        r.stderr
    );
}

/// Every file under `dir` with its content, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

mod validate {
    //! Mis-configured `kubernetes:` sections fail `wxinfra validate` at the offending value.

    use crate::support::Workspace;

    const GOOD: &str = "version: 1
name: t
app:
  manifest: app/spin.toml
kubernetes:
  namespace: apps
  image: ghcr.io/wxinfra/wxrun:0.1.0
  replicas: 2
  resources:
    requests: {cpu: 100m, memory: 128Mi}
    limits: {memory: 256Mi}
  ingress:
    host: app.example.com
  release:
    source: s3://releases/app
";

    fn fails(yaml: &str) -> String {
        let ws = Workspace::new().with_app();
        ws.write("stack.yaml", yaml);
        let r = ws.run(&["validate", "-f", "stack.yaml"]);
        assert_eq!(r.code, 1, "expected failure:\n{}\n{}", r.stdout, r.stderr);
        // render refuses the same stack for the same reason.
        let render = ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"]);
        assert_eq!(render.code, 1);
        assert_eq!(render.stderr, r.stderr);
        r.stderr
    }

    #[test]
    fn good_section_is_valid() {
        let ws = Workspace::new().with_app();
        ws.write("stack.yaml", GOOD);
        let r = ws.run(&["validate", "-f", "stack.yaml"]).ok();
        assert!(r.stdout.contains("kubernetes: yes"), "{}", r.stdout);
        // Valid, but a tag is not what the manifests should run.
        assert!(
            r.stderr.contains(
                "stack.yaml:7:10: kubernetes.image `ghcr.io/wxinfra/wxrun:0.1.0` is not pinned by digest"
            ),
            "{}",
            r.stderr
        );
        let pinned = format!("ghcr.io/acme/wxrun@sha256:{}", "a".repeat(64));
        ws.write(
            "stack.yaml",
            &GOOD.replace("ghcr.io/wxinfra/wxrun:0.1.0", &pinned),
        );
        let r = ws.run(&["validate", "-f", "stack.yaml"]).ok();
        assert!(!r.stderr.contains("not pinned"), "{}", r.stderr);
    }

    #[test]
    fn negative_replicas() {
        let err = fails(&GOOD.replace("replicas: 2", "replicas: -1"));
        assert!(
            err.contains("stack.yaml:8:13: replicas -1 is out of range"),
            "{err}"
        );
        assert!(err.contains("help: use 0 to 1000"), "{err}");
    }

    #[test]
    fn replicas_that_are_not_a_number() {
        let err = fails(&GOOD.replace("replicas: 2", "replicas: two"));
        assert!(err.contains("stack.yaml:8:13:"), "{err}");
    }

    #[test]
    fn bad_host_name() {
        let err = fails(&GOOD.replace("app.example.com", "https://App.example.com/"));
        assert!(
            err.contains(
                "stack.yaml:13:11: ingress host `https://App.example.com/` is not a valid host name"
            ),
            "{err}"
        );
        assert!(err.contains("no scheme, port or path"), "{err}");
    }

    #[test]
    fn wildcard_host_is_fine() {
        let ws = Workspace::new().with_app();
        ws.write(
            "stack.yaml",
            &GOOD.replace("app.example.com", "'*.example.com'"),
        );
        ws.run(&["validate", "-f", "stack.yaml"]).ok();
    }

    #[test]
    fn quantity_that_does_not_parse() {
        let err = fails(&GOOD.replace("memory: 128Mi", "memory: 128MB"));
        assert!(
            err.contains("stack.yaml:10:35: requests.memory `128MB` is not a Kubernetes quantity"),
            "{err}"
        );
        assert!(err.contains("128Mi, 1Gi"), "{err}");
    }

    #[test]
    fn request_above_limit() {
        let err = fails(&GOOD.replace("memory: 128Mi", "memory: 1Gi"));
        assert!(
            err.contains(
                "stack.yaml:10:35: requests.memory `1Gi` is more than limits.memory `256Mi`"
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_resource_name() {
        let err = fails(&GOOD.replace("limits: {memory: 256Mi}", "limits: {gpu: '1'}"));
        assert!(
            err.contains("stack.yaml:11:19: unknown resource `gpu` in limits"),
            "{err}"
        );
    }

    #[test]
    fn bad_namespace() {
        let err = fails(&GOOD.replace("namespace: apps", "namespace: My_Apps"));
        assert!(
            err.contains("stack.yaml:6:14: namespace `My_Apps` is not a valid Kubernetes name"),
            "{err}"
        );
    }

    #[test]
    fn system_namespace_is_refused() {
        let err = fails(&GOOD.replace("namespace: apps", "namespace: kube-system"));
        assert!(
            err.contains("stack.yaml:6:14: namespace `kube-system` belongs to"),
            "{err}"
        );
    }

    #[test]
    fn deployment_mode_needs_a_release_source() {
        let err = fails(&GOOD.replace("  release:\n    source: s3://releases/app\n", ""));
        assert!(
            err.contains("stack.yaml:7:10: `mode: deployment` needs `release.source`"),
            "{err}"
        );
    }

    #[test]
    fn release_source_must_be_s3_or_oci() {
        let err = fails(&GOOD.replace("s3://releases/app", "https://releases/app"));
        assert!(
            err.contains(
                "stack.yaml:15:13: release source `https://releases/app` is neither an S3 location nor an OCI reference"
            ),
            "{err}"
        );
        let err = fails(&GOOD.replace("s3://releases/app", "oci://ghcr.io/acme/hello"));
        assert!(
            err.contains(
                "stack.yaml:15:13: release source `oci://ghcr.io/acme/hello` is not an OCI reference with a tag or digest"
            ),
            "{err}"
        );
    }

    #[test]
    fn s3_settings_and_pull_secrets_belong_to_their_own_source() {
        let err = fails(&GOOD.replace(
            "s3://releases/app\n",
            "oci://ghcr.io/acme/hello:v1\n    credentials_secret: s3keys\n",
        ));
        assert!(
            err.contains(
                "stack.yaml:16:25: `release.credentials_secret` is an S3 setting, but the source is oci://"
            ),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "s3://releases/app\n",
            "s3://releases/app\n    pull_secret: regcred\n",
        ));
        assert!(
            err.contains("stack.yaml:16:18: `release.pull_secret` is for oci:// sources"),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "s3://releases/app\n",
            "oci://ghcr.io/acme/hello:v1\n    pull_secret: Reg_Cred\n",
        ));
        assert!(
            err.contains("stack.yaml:16:18: pull secret `Reg_Cred` is not a valid Kubernetes name"),
            "{err}"
        );
    }

    #[test]
    fn reserved_label() {
        let err = fails(&format!("{GOOD}  labels:\n    wxinfra.dev/stack: other\n"));
        assert!(
            err.contains("stack.yaml:17:24: label `wxinfra.dev/stack` is set by wxinfra"),
            "{err}"
        );
    }

    #[test]
    fn flux_interval_must_be_a_duration() {
        let err = fails(&format!(
            "{GOOD}  flux:\n    url: https://github.com/acme/gitops\n    path: ./k8s/dist/t\n    interval: 5 minutes\n"
        ));
        assert!(
            err.contains("stack.yaml:19:15: flux interval `5 minutes` is not a duration"),
            "{err}"
        );
    }

    #[test]
    fn the_runtime_image_is_built_or_named_once_and_only_for_a_deployment() {
        let err = fails(&GOOD.replace("  image: ghcr.io/wxinfra/wxrun:0.1.0\n", ""));
        assert!(
            err.contains("stack.yaml:6:14: `mode: deployment` needs the runtime image"),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "  image: ghcr.io/wxinfra/wxrun:0.1.0\n",
            "  image: ghcr.io/wxinfra/wxrun:0.1.0\n  runtime_image: localhost:5001/wxrun\n",
        ));
        assert!(
            err.contains("stack.yaml:8:18: both `image` and `runtime_image`"),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "  image: ghcr.io/wxinfra/wxrun:0.1.0\n",
            "  runtime_image: localhost:5001/wxrun:v1\n",
        ));
        assert!(
            err.contains(
                "stack.yaml:7:18: runtime_image `localhost:5001/wxrun:v1` is not HOST/REPO"
            ),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "  release:\n    source: s3://releases/app\n",
            "  mode: spinkube\n  spinkube: {app_image: ghcr.io/acme/hello:1}\n",
        ));
        assert!(
            err.contains("stack.yaml:7:10: a runtime image with `mode: spinkube`"),
            "{err}"
        );
    }

    #[test]
    fn publish_to_and_plain_http_are_for_an_oci_source() {
        let err = fails(&GOOD.replace(
            "s3://releases/app\n",
            "s3://releases/app\n    plain_http: true\n",
        ));
        assert!(
            err.contains("stack.yaml:16:17: `release.plain_http` is for oci:// sources"),
            "{err}"
        );
        let err = fails(&GOOD.replace(
            "s3://releases/app\n",
            "oci://kind-registry:5000/hello:latest\n    publish_to: localhost:5001/hello\n",
        ));
        assert!(
            err.contains(
                "stack.yaml:16:17: publish_to `localhost:5001/hello` is not HOST/REPO:TAG"
            ),
            "{err}"
        );
    }

    #[test]
    fn spinkube_mode_needs_an_app_image() {
        let err = fails(&GOOD.replace(
            "  release:\n    source: s3://releases/app\n",
            "  mode: spinkube\n",
        ));
        assert!(
            err.contains("stack.yaml:14:9: `mode: spinkube` needs `spinkube.app_image`"),
            "{err}"
        );
    }
}
