//! An HTTPS Kubernetes API server stand-in (`apiserver.py`) on a free port, with a test CA
//! made by `openssl` and a kubeconfig that trusts it: `apply --target k8s` goes through the
//! real client stack (kubeconfig, rustls, bearer token). Killed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

pub struct ApiServer {
    dir: tempfile::TempDir,
    child: Child,
}

/// One request the server received.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
}

const TOKEN: &str = "wxinfra-test-token";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is missing");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.crt`) and a server certificate for 127.0.0.1 signed by it (`server.crt`,
/// `server.key`), in `dir`.
pub fn make_certs(dir: &Path) {
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1";
    let run = |args: String| openssl(dir, &args.split(' ').collect::<Vec<_>>());
    run(format!(
        "req -x509 {key} -keyout ca.key -out ca.crt -subj /CN=wxinfra-test-CA"
    ));
    run(format!(
        "req {key} -keyout server.key -out server.csr -subj /CN=127.0.0.1"
    ));
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
         -days 1 -extfile server.ext"
            .to_string(),
    );
}

impl ApiServer {
    /// Starts the server holding `seed` (objects as a real cluster would hold them); `crds`:
    /// whether SpinKube's API group is served.
    pub fn start(seed: &[Value], crds: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        make_certs(dir.path());
        std::fs::write(
            dir.path().join("seed.json"),
            Value::from(seed.to_vec()).to_string(),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/apiserver.py");
        let mut cmd = Command::new(super::venv_bin("python"));
        cmd.arg(script)
            .args(["--port", &port.to_string(), "--token", TOKEN])
            .args([
                "--cert",
                "server.crt",
                "--key",
                "server.key",
                "--seed",
                "seed.json",
            ])
            .args(["--log", "requests.jsonl", "--state", "state.json"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
        if crds {
            cmd.arg("--crds");
        }
        let child = cmd.spawn().expect("start apiserver.py");
        let server = ApiServer { dir, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "apiserver.py did not start: {}",
                std::fs::read_to_string(server.dir.path().join("stderr.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server.write_kubeconfig(port);
        server
    }

    /// A kubeconfig whose context `test` (the current one) trusts the test CA only.
    fn write_kubeconfig(&self, port: u16) {
        let ca = std::fs::read(self.dir.path().join("ca.crt")).unwrap();
        let ca = base64::engine::general_purpose::STANDARD.encode(ca);
        std::fs::write(
            self.kubeconfig(),
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n\
                 - name: test\n  cluster:\n    server: https://127.0.0.1:{port}\n    \
                 certificate-authority-data: {ca}\nusers:\n- name: test\n  user:\n    \
                 token: {TOKEN}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    \
                 user: test\n"
            ),
        )
        .unwrap();
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        let log =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        log.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                Seen {
                    method: v["method"].as_str().unwrap().to_string(),
                    path: v["path"].as_str().unwrap().to_string(),
                    content_type: v["content_type"].as_str().map(str::to_string),
                }
            })
            .collect()
    }

    /// The objects the server holds now.
    pub fn objects(&self) -> Vec<Value> {
        let state = std::fs::read_to_string(self.dir.path().join("state.json")).unwrap();
        serde_json::from_str(&state).unwrap()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
