//! Debian's `docker-registry` on a free port (where runtime images are pushed instead of ECR),
//! `skopeo` to read them back, and the static `wxrun` that goes into them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A `docker-registry serve` on 127.0.0.1 with a temp storage dir; killed when dropped.
pub struct LocalRegistry {
    pub host: String,
    log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl LocalRegistry {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// The registry speaking HTTPS only, with `server.crt`/`server.key` of `certs` (made by
    /// `make_certs`, signed by its `ca.crt`), as ECR speaks HTTPS only.
    pub fn start_tls(certs: &std::path::Path) -> Self {
        Self::start_with(Some(certs))
    }

    fn start_with(tls: Option<&std::path::Path>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\n{tls}",
                dir.path().join("data").display(),
                tls = tls
                    .map(|c| format!(
                        "  tls:\n    certificate: {}\n    key: {}\n",
                        c.join("server.crt").display(),
                        c.join("server.key").display()
                    ))
                    .unwrap_or_default()
            ),
        )
        .unwrap();
        let log = dir.path().join("registry.log");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("docker-registry is missing: scripts/test.sh installs it (apt-get install docker-registry)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            host: format!("127.0.0.1:{port}"),
            log,
            child,
            _dir: dir,
        }
    }

    /// Requests that wrote something (blob uploads, manifest puts) so far.
    pub fn writes(&self) -> usize {
        ["PUT", "POST", "PATCH"]
            .into_iter()
            .map(|m| self.requests(m))
            .sum()
    }

    /// Completed requests with this HTTP method so far.
    pub fn requests(&self, method: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap();
        let method = format!("http.request.method={method} ");
        log.lines()
            .filter(|l| l.contains("response completed") && l.contains(&method))
            .count()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn skopeo(args: &[&str]) -> Value {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is missing: scripts/test.sh installs it (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The static musl `wxrun` of the workspace's one build (scripts/lib/build.sh): the binary
/// cargo built for these tests (wxrun's), or the one beside it (wxinfra's).
pub fn static_wxrun() -> PathBuf {
    if !cfg!(target_env = "musl") {
        panic!(
            "these tests pack the static wxrun: run them on the musl release build, as scripts/test.sh does"
        );
    }
    let tested = option_env!("CARGO_BIN_EXE_wxrun").or(option_env!("CARGO_BIN_EXE_wxinfra"));
    let p = Path::new(tested.expect("a test of wxinfra or wxrun")).with_file_name("wxrun");
    assert!(
        p.exists(),
        "{} is missing: build the workspace's binaries (runtime-image/build-static.sh)",
        p.display()
    );
    p
}
