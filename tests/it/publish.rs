//! `wxinfra publish`: the app pushed in Spin's registry format to Debian's `docker-registry`
//! (started here on a free port), read back with `skopeo` (an independent client), and
//! compared with the layout `spin registry push` (Spin 3.x) produces; a second publish
//! uploads nothing; credentials come from the Docker config's credential helper.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{LocalRegistry, Workspace, skopeo};

const WASM: &str = "application/vnd.wasm.content.layer.v1+wasm";
const DATA: &str = "application/vnd.wasm.content.layer.v1+data";
const LOCKED: &str = "application/vnd.fermyon.spin.application.v1+config";

/// Two components sharing one static file (one layer after deduplication), a file small
/// enough to be inlined, and a file under a mapped destination.
fn app(ws: &Workspace) {
    ws.write(
        "app/spin.toml",
        r#"spin_manifest_version = 2
[application]
name = "hello"
version = "0.3.0"
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/b"
component = "b"
[component.a]
source = "a.wasm"
files = ["static/**/*"]
[component.b]
source = "b.wasm"
files = [{ source = "static", destination = "/assets" }]
"#,
    );
    std::fs::write(
        ws.path().join("app/a.wasm"),
        [b"\0asm".as_slice(), &[1; 4096]].concat(),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("app/b.wasm"),
        [b"\0asm".as_slice(), &[2; 4096]].concat(),
    )
    .unwrap();
    ws.write("app/static/index.html", &"<p>hello</p>\n".repeat(40));
    ws.write("app/static/tiny.txt", "tiny");
}

/// A credential helper on PATH that records which host it was asked about.
fn helper(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join("docker-credential-wxtest");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nread host\necho \"$host\" >> {}\necho '{{\"Username\":\"u\",\"Secret\":\"s\"}}'\n",
            dir.join("asked").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("config.json"), r#"{"credsStore": "wxtest"}"#).unwrap();
}

#[test]
fn publish_pushes_spins_layout_once_and_skopeo_reads_it_back() {
    let reg = LocalRegistry::start();
    let docker = tempfile::tempdir().unwrap();
    helper(docker.path());
    let path = format!(
        "{}:{}",
        docker.path().join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let ws = Workspace::new()
        .with_env("DOCKER_CONFIG", docker.path().display().to_string())
        .with_env("PATH", path);
    app(&ws);
    ws.write(
        "stack.yaml",
        &format!(
            "version: 1\nname: pub\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: pub\n  image: ghcr.io/wxinfra/wxrun:0.1.0\n  release:\n    source: oci://{}/acme/hello:v1\n",
            reg.host
        ),
    );
    ws.run(&["validate", "-f", "stack.yaml"]).ok();
    let first = ws.run(&["publish", "-f", "stack.yaml"]).ok();
    let printed = first.stdout.trim().to_string();
    let (repo, digest) = printed.split_once('@').expect("REPO@DIGEST");
    assert_eq!(repo, format!("{}/acme/hello", reg.host));
    assert_eq!(
        std::fs::read_to_string(docker.path().join("asked")).unwrap(),
        format!("{}\n", reg.host),
        "the credential helper was asked for the registry"
    );

    let url = format!("docker://{}/acme/hello:v1", reg.host);
    let raw = skopeo(&["inspect", "--tls-verify=false", "--raw", &url]);
    // Spin's manifests carry no `mediaType` field (the push's Content-Type names it).
    assert_eq!(raw["schemaVersion"], 2);
    assert_eq!(raw.get("mediaType"), None);
    assert_eq!(
        raw["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layers = raw["layers"].as_array().unwrap();
    let types: Vec<&str> = layers
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap())
        .collect();
    // a.wasm, index.html (once for both components; tiny.txt is inlined), b.wasm, the
    // locked app last.
    assert_eq!(types, [WASM, DATA, WASM, LOCKED]);
    assert_eq!(
        raw["annotations"]["org.opencontainers.image.title"],
        "hello"
    );
    assert_eq!(
        raw["annotations"]["org.opencontainers.image.version"],
        "0.3.0"
    );
    let inspect = skopeo(&["inspect", "--tls-verify=false", &url]);
    assert_eq!(inspect["Digest"], digest);
    assert_eq!(inspect["Architecture"], "wasm");
    assert_eq!(inspect["Os"], "Wasip1");
    let config = skopeo(&["inspect", "--tls-verify=false", "--config", &url]);
    assert_eq!(
        config["config"]["Labels"]["com.fermyon.spin.lockedAppDigest"],
        layers[3]["digest"]
    );

    // Every blob comes back byte-exact; the locked app names each layer by digest.
    let out = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:app", out.path().display());
    let copied = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", &url, &dest])
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let blob = |d: &Value| {
        let hex = d.as_str().unwrap().strip_prefix("sha256:").unwrap();
        std::fs::read(out.path().join("blobs/sha256").join(hex)).unwrap()
    };
    let locked: Value = serde_json::from_slice(&blob(&layers[3]["digest"])).unwrap();
    assert_eq!(locked["spin_lock_version"], 0);
    assert_eq!(locked["metadata"]["name"], "hello");
    assert_eq!(locked["metadata"]["trigger"]["type"], "http");
    let triggers: Vec<(&str, &str)> = locked["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap(),
                t["trigger_config"]["component"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(triggers, [("a-http-trigger", "a"), ("b-http-trigger", "b")]);
    let a = &locked["components"][0];
    assert_eq!(a["source"]["content_type"], "application/wasm");
    assert_eq!(a["source"]["digest"], layers[0]["digest"]);
    assert_eq!(
        blob(&layers[0]["digest"]),
        std::fs::read(ws.path().join("app/a.wasm")).unwrap()
    );
    assert_eq!(
        a["files"],
        json!([
            {"digest": layers[1]["digest"], "path": "static/index.html"},
            {"inline": "dGlueQ==", "digest": format!("sha256:{}", sha256_hex(b"tiny")), "path": "static/tiny.txt"}
        ])
    );
    let b = &locked["components"][1];
    assert_eq!(b["files"][0]["path"], "assets/index.html");
    assert_eq!(b["files"][0]["digest"], layers[1]["digest"]);

    // Again: the registry has it all, so nothing is written and the digest is the same.
    let writes = reg.writes();
    let second = ws.run(&["publish", "-f", "stack.yaml"]).ok();
    assert_eq!(second.stdout.trim(), printed);
    assert!(
        second.stderr.contains("nothing pushed"),
        "{}",
        second.stderr
    );
    assert_eq!(reg.writes(), writes, "a second publish writes nothing");

    // --registry overrides the stack; an untagged target takes the app's version.
    let other = ws
        .run(&[
            "publish",
            "-f",
            "stack.yaml",
            "--registry",
            &format!("{}/acme/other", reg.host),
        ])
        .ok();
    assert_eq!(
        other.stdout.trim(),
        format!("{}/acme/other@{digest}", reg.host)
    );
    let tagged = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/acme/other:0.3.0", reg.host),
    ]);
    assert_eq!(tagged["Digest"], digest);
}

#[test]
fn publish_without_a_registry_says_where_to_name_one() {
    let ws = Workspace::new().with_app();
    ws.write(
        "stack.yaml",
        "version: 1\nname: t\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: t\n  image: ghcr.io/wxinfra/wxrun:0.1.0\n  release:\n    source: s3://releases/t\n",
    );
    let r = ws.run(&["publish", "-f", "stack.yaml"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("names no registry: pass --registry"),
        "{}",
        r.stderr
    );
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// The `wxrun` the workspace build puts next to this `wxinfra` (`WXRUN_BIN` names another
/// build).
fn wxrun_binary() -> std::path::PathBuf {
    std::env::var_os("WXRUN_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_BIN_EXE_wxinfra")).with_file_name("wxrun"))
}

/// What `publish` pushes is what an `oci://` release source serves: wxrun pulls the
/// artifact, rebuilds the app directory from the locked app and serves the component.
#[test]
fn wxrun_serves_what_publish_pushed() {
    let reg = LocalRegistry::start();
    let ws = Workspace::new();
    ws.probe_app("rt", "published");
    ws.write(
        "stack.yaml",
        &format!(
            "version: 1\nname: rt\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: rt\n  image: ghcr.io/wxinfra/wxrun:0.1.0\n  release:\n    source: oci://{}/acme/rt:1.0.0\n",
            reg.host
        ),
    );
    let printed = ws.run(&["publish", "-f", "stack.yaml"]).ok().stdout;
    let id = printed
        .trim()
        .rsplit_once("@sha256:")
        .unwrap()
        .1
        .to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let volume = tempfile::tempdir().unwrap();
    let docker = tempfile::tempdir().unwrap();
    let log = volume.path().join("wxrun.log");
    let mut child = std::process::Command::new(wxrun_binary())
        .args(["serve", "--app-dir"])
        .arg(volume.path().join("app"))
        .args(["--source", &format!("oci://{}/acme/rt:1.0.0", reg.host)])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("DOCKER_CONFIG", docker.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let body = loop {
        let out = std::process::Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{port}/x")])
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "wxrun never served the published app:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(body, "p3 /x env=published\n");
    let release = volume.path().join("app/releases").join(&id);
    assert_eq!(
        std::fs::read_to_string(release.join("files/p/static/page.txt")).unwrap(),
        "a page\n".repeat(50)
    );
}
