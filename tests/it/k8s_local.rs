//! The no-AWS path of docs/kubernetes.md up to the cluster, on real parts: `render k8s`
//! pins the runtime image wxinfra builds from the static wxrun by digest; `publish` pushes
//! that image and the app to Debian's `docker-registry` (read back with `skopeo`), or writes
//! the image as an OCI archive for `kind load`; and the image, unpacked into a bare root and
//! started as the rendered container would be (its user, its environment), pulls the app
//! from the registry and serves it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{LocalRegistry, Workspace, skopeo, static_wxrun};

/// A stack of the local-cluster shape (k8s-only.yaml) on `registry`, running the static wxrun.
fn local_stack(ws: &Workspace, registry: &str) {
    ws.probe_app("loc", "in-the-image");
    ws.write(
        "stack.yaml",
        &format!(
            "version: 1\nname: loc\napp:\n  manifest: app/spin.toml\nruntime:\n  binary: {}\n\
             kubernetes:\n  namespace: loc\n  runtime_image: {registry}/wxrun\n  release:\n    \
             source: oci://{registry}/acme/loc:latest\n    plain_http: true\n",
            static_wxrun().display()
        ),
    );
}

fn deployment(ws: &Workspace) -> Value {
    serde_saphyr::from_str(
        &std::fs::read_to_string(ws.path().join("out/loc/deployment.yaml")).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_built_runtime_image_is_pinned_pushed_archived_and_serves_the_published_app() {
    let reg = LocalRegistry::start();
    let ws = Workspace::new();
    local_stack(&ws, &reg.host);
    ws.run(&["render", "k8s", "-f", "stack.yaml", "-o", "out"])
        .ok();
    let d = deployment(&ws);
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    let image = container["image"].as_str().unwrap().to_string();
    let (name, digest) = image.split_once('@').unwrap();
    assert_eq!(name, format!("{}/wxrun", reg.host));

    // publish pushes the image the manifests pin, then the app; a second run pushes nothing.
    let first = ws.run(&["publish", "-f", "stack.yaml"]).ok();
    let printed: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(printed[0], image, "{}", first.stdout);
    assert!(
        printed[1].starts_with(&format!("{}/acme/loc@sha256:", reg.host)),
        "{}",
        first.stdout
    );
    let again = ws.run(&["publish", "-f", "stack.yaml"]).ok();
    assert_eq!(
        again.stderr.matches("nothing pushed").count(),
        2,
        "{}",
        again.stderr
    );
    let remote = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]);
    assert_eq!(remote["Digest"], digest);
    assert_eq!(remote["Architecture"], "amd64");
    let config = skopeo(&[
        "inspect",
        "--config",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]);
    assert_eq!(config["config"]["User"], "65532");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/wxrun"])
    );

    // The archive kind loads is the same image.
    ws.run(&[
        "publish",
        "-f",
        "stack.yaml",
        "--image-archive",
        "wxrun.tar",
    ])
    .ok();
    let archive = ws.path().join("wxrun.tar");
    let local = skopeo(&["inspect", &format!("oci-archive:{}", archive.display())]);
    assert_eq!(local["Digest"], digest);

    // Run it as the Deployment would: only the image's layer, its user, its environment.
    let served = Container::start(&archive, container);
    let (status, served_by, body) = served.get("/x");
    assert_eq!(
        (status, served_by.as_str(), body.as_str()),
        (200, "k8s", "p3 /x env=in-the-image\n"),
        "{}",
        served.log()
    );
}

/// The image's layer unpacked into a bare root, `/wxrun` started in it with the container's
/// uid and environment (listening on a free loopback port); killed when dropped.
struct Container {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
    _root: tempfile::TempDir,
}

impl Container {
    fn start(archive: &Path, container: &Value) -> Self {
        let artifact = wxinfra::oci::layout::read(&std::fs::read(archive).unwrap()).unwrap();
        let root = tempfile::tempdir().unwrap();
        // One layer, then the config: as packed.
        tar::Archive::new(flate2::read::GzDecoder::new(&artifact.blobs[0].data[..]))
            .unpack(root.path())
            .unwrap();
        // The pod's writable volumes: the app dir (emptyDir) the container's user owns.
        let app_dir = root.path().join("srv/app");
        std::fs::create_dir_all(&app_dir).unwrap();
        let uid = container["securityContext"]["runAsUser"].as_i64().unwrap();
        Command::new("chown")
            .arg(format!("{uid}:{uid}"))
            .arg(&app_dir)
            .status()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = root.path().join("container.log");
        // Absolute: the environment is cleared, PATH with it.
        let mut cmd = Command::new("/usr/sbin/chroot");
        cmd.arg(format!("--userspec={uid}:{uid}"))
            .arg(root.path())
            .arg("/wxrun")
            .env_clear()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for e in container["env"].as_array().unwrap() {
            cmd.env(e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
        }
        cmd.env("WXRUN_LISTEN", format!("127.0.0.1:{port}"));
        Container {
            child: cmd.spawn().unwrap(),
            port,
            log,
            _root: root,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Status, `x-wxrun-served-by` and body of GET `path`, once the app is served.
    fn get(&self, path: &str) -> (u16, String, String) {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let out = Command::new("curl")
                .args([
                    "-s",
                    "-D",
                    "-",
                    &format!("http://127.0.0.1:{}{path}", self.port),
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n")
                && !head.contains(" 503 ")
            {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                let served_by = head
                    .lines()
                    .find_map(|l| l.strip_prefix("x-wxrun-served-by: "))
                    .unwrap_or_default()
                    .to_string();
                return (status, served_by, body.to_string());
            }
            assert!(
                Instant::now() < deadline,
                "the container never served:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
