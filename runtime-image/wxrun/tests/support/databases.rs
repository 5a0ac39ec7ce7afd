//! A PostgreSQL and a MariaDB server of the test's own (Debian's
//! `postgresql` and `mariadb-server`, from scripts/setup-tools.sh): a fresh
//! data directory in a temp dir, a free loopback port, stopped by pid on
//! drop. Both refuse to run as root, so under root they run as `nobody`.

use super::free_port;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `nobody`/`nogroup` on Debian.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// `program` run in `dir`, as `nobody` owning `dir` when the tests are root.
fn as_service_user(program: &Path, dir: &Path) -> Command {
    let mut cmd = if is_root() {
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"))
            .args(["--clear-groups", "--"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.current_dir(dir);
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (run scripts/setup-tools.sh)"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server process, stopped with `signal` (its clean, fast shutdown) on drop.
struct Service {
    child: Child,
    signal: &'static str,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Service {
    fn spawn(mut cmd: Command, signal: &'static str, dir: tempfile::TempDir) -> Service {
        let log = dir.path().join("server.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("database server is missing: run scripts/setup-tools.sh");
        Service {
            child,
            signal,
            log,
            dir,
        }
    }

    /// Waits until `probe` succeeds (the server takes connections).
    async fn wait_ready<F, Fut, E>(&mut self, what: &str, mut probe: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: std::fmt::Debug,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let last = match probe().await {
                Ok(()) => return,
                Err(e) => e,
            };
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "{what} did not start ({exited:?}, last error {last:?}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args([self.signal, &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's newest installed PostgreSQL (`/usr/lib/postgresql/<major>/bin`).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("postgresql is missing: run scripts/setup-tools.sh")
        .filter_map(|e| {
            let e = e.ok()?;
            Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no PostgreSQL under /usr/lib/postgresql")
        .1
}

/// A PostgreSQL server with user `postgres` (trust authentication) and its
/// `postgres` database.
pub struct Postgres {
    pub port: u16,
    _service: Service,
}

impl Postgres {
    pub async fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let bin = postgres_bin();
        let data = dir.path().join("data");
        let mut initdb = as_service_user(&bin.join("initdb"), dir.path());
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(initdb, "initdb");
        let port = free_port();
        let mut postgres = as_service_user(&bin.join("postgres"), dir.path());
        postgres
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
        // SIGINT: PostgreSQL's fast shutdown.
        let mut service = Service::spawn(postgres, "-INT", dir);
        let url = format!("host=127.0.0.1 port={port} user=postgres sslmode=disable");
        let url = url.as_str();
        service
            .wait_ready("postgres", || async move {
                tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map(drop)
            })
            .await;
        Postgres {
            port,
            _service: service,
        }
    }

    /// A connection string for user `postgres`, plain TCP.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
            self.port
        )
    }

    /// The same without `sslmode`: tokio-postgres's default `prefer` tries
    /// TLS first and goes on in plain text when the server has none.
    pub fn url_prefer_tls(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

/// A MariaDB server with `root` (no password) and an empty database `app`.
pub struct MariaDb {
    pub port: u16,
    _service: Service,
}

impl MariaDb {
    pub async fn start() -> MariaDb {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut install = as_service_user(Path::new("mariadb-install-db"), dir.path());
        install
            .args(["--no-defaults", "--auth-root-authentication-method=normal"])
            .arg("--skip-test-db")
            .arg(format!("--datadir={}", data.display()));
        run(install, "mariadb-install-db");
        let port = free_port();
        let mut server = as_service_user(Path::new("/usr/sbin/mariadbd"), dir.path());
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .arg(format!("--port={port}"));
        // SIGTERM: MariaDB's clean shutdown.
        let mut service = Service::spawn(server, "-TERM", dir);
        let root = format!("mysql://root@127.0.0.1:{port}");
        let root = root.as_str();
        service
            .wait_ready("mariadbd", || async move {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_async::Conn::from_url(root).await?;
                conn.query_drop("CREATE DATABASE IF NOT EXISTS app").await?;
                conn.disconnect().await
            })
            .await;
        MariaDb {
            port,
            _service: service,
        }
    }

    /// The `app` database as root.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/app", self.port)
    }
}
