//! Test helpers: built components (missing ones fail the test with the
//! command that builds them), `wxrun` child processes, a small HTTP client,
//! and moto (through the project's `scripts/moto_server.py`) from its venv.

#![allow(dead_code)]

mod databases;
pub use databases::{MariaDb, Postgres};
// The workspace's registry fixture (Debian's docker-registry), shared with wxinfra's tests.
#[path = "../../../../tests/it/support/registry.rs"]
mod registry;
pub use registry::LocalRegistry;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A component built by `runtime-image/wxrun/tests/build-components.sh`.
pub fn component(rel: &str) -> PathBuf {
    let path = repo_root().join(rel);
    assert!(
        path.is_file(),
        "{} is missing: run runtime-image/wxrun/tests/build-components.sh first",
        path.display()
    );
    path
}

/// The WASI 0.2 Python example.
pub fn hello_wasm() -> PathBuf {
    component("examples/hello/app.wasm")
}

/// The WASI 0.3 Rust probe.
pub fn probe_p3_wasm() -> PathBuf {
    component("runtime-image/wxrun/tests/components/probe-p3/probe-p3.wasm")
}

/// Spin's http-rust template app (Rust spin-sdk) built for `target`:
/// `wasip1` (a core module) or `wasip2` (a component).
pub fn http_rust_wasm(target: &str) -> PathBuf {
    component(&format!(
        "runtime-image/wxrun/tests/components/http-rust/http-rust-{target}.wasm"
    ))
}

/// JSON log lines of a wxrun process whose `message` is `message`.
pub fn log_events(logs: &str, message: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["message"] == message)
        .collect()
}

/// The Rust spin-sdk app that calls Spin's host interfaces.
pub fn spin_hosts_wasm() -> PathBuf {
    component("runtime-image/wxrun/tests/components/spin-hosts/spin-hosts.wasm")
}

pub fn spin4_hosts_wasm() -> PathBuf {
    component("runtime-image/wxrun/tests/components/spin4-hosts/spin4-hosts.wasm")
}

/// An AOT cache shared by all tests, filled once (by `wxrun check`) with
/// both test components: compiling CPython is slow, so only one test does it.
pub fn shared_cache() -> PathBuf {
    static WARM: std::sync::Once = std::sync::Once::new();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wxrun-aot");
    WARM.call_once(|| {
        let tmp = tempfile::tempdir().unwrap();
        let manifest = write_manifest(
            tmp.path(),
            &format!(
                "spin_manifest_version = 2\n[component.a]\nsource = \"{}\"\n[component.b]\nsource = \"{}\"\n",
                hello_wasm().display(),
                probe_p3_wasm().display()
            ),
        );
        let out = wxrun()
            .args(["check", "--cache-dir"])
            .arg(&cache)
            .arg(&manifest)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    cache
}

pub fn free_port() -> u16 {
    // Never the same port twice in this process: the kernel may hand a released port out
    // again, and two tests running side by side then start their servers on one port (CI
    // once saw a test's moto answered by another test's wxrun).
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// The wxrun under test: cargo's build, or `WXRUN_BIN` (a copy taken right
/// after the build, when several checkouts share one target dir and each
/// overwrites `target/debug/wxrun` with its own build).
pub fn wxrun_path() -> PathBuf {
    std::env::var_os("WXRUN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wxrun")))
}

pub fn wxrun() -> Command {
    Command::new(wxrun_path())
}

/// A running `wxrun serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts `wxrun serve <args> --listen 127.0.0.1:<free>` and waits for
    /// health to answer 200.
    pub async fn start(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut server = Server::spawn(args, envs);
        server.wait_healthy(Duration::from_secs(240)).await;
        server
    }

    /// Starts `wxrun serve <args> --listen 127.0.0.1:<free>` without waiting.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("wxrun.log");
        let mut cmd = wxrun();
        cmd.arg("serve")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("WXRUN_LOG_FORMAT", "json")
            .env_remove("WXRUN_PRIMITIVE")
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().unwrap();
        Server {
            child,
            port,
            log,
            _tmp: tmp,
        }
    }

    /// GETs `path`; a transport error fails the test with the server log.
    pub async fn get(&self, path: &str) -> Reply {
        get(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.logs()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it holds `needle`: `serve` writes its log from a queue, a moment after
    /// the event, so a line is waited for (10 s at most), not read at once.
    pub async fn wait_logs(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                Instant::now() < deadline,
                "no `{needle}` in the log:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_healthy(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("wxrun exited early ({status}):\n{}", self.logs());
            }
            if let Ok(r) = get(&self.url("/.well-known/spin/health")).await
                && r.status == 200
            {
                // Its access line comes after every start-up line in the queue.
                self.wait_logs("\"path\":\"/.well-known/spin/health\"")
                    .await;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "wxrun never became healthy:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

pub async fn get(url: &str) -> Result<Reply, String> {
    send(http::Method::GET, url, Bytes::new()).await
}

/// The body of the answer to a POST of `value` to `path` on `server`.
pub async fn post(server: &Server, path: &str, value: &str) -> String {
    send(
        http::Method::POST,
        &server.url(path),
        Bytes::from(value.to_string()),
    )
    .await
    .unwrap()
    .body
}

pub async fn send(method: http::Method, url: &str, body: Bytes) -> Result<Reply, String> {
    send_with_headers(method, url, &[], body).await
}

pub async fn send_with_headers(
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Reply, String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(60), client.request(req))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An app serving the spin-hosts component once per `(name, lines)`: under
/// `/<name>/...`, with `lines` (`allowed_outbound_hosts = [...]`, ...) in
/// its component table.
pub fn spin_hosts_app(dir: &Path, components: &[(&str, &str)]) -> PathBuf {
    write_manifest(dir, &guests_toml(components, &[spin_hosts_wasm()]))
}

/// `spin_hosts_app` with each component twice: `<name>` built with spin-sdk 5
/// (Spin 2 and 3 interfaces) and `<name>4` with spin-sdk 7 (Spin 4's async
/// ones), the same grants for both; their shared routes answer alike.
pub fn both_sdks_app(dir: &Path, components: &[(&str, &str)]) -> PathBuf {
    let wasms = [spin_hosts_wasm(), spin4_hosts_wasm()];
    write_manifest(dir, &guests_toml(components, &wasms))
}

/// The manifest of `components`, one per guest in `wasms` (`<name>`, then
/// `<name>4`).
fn guests_toml(components: &[(&str, &str)], wasms: &[PathBuf]) -> String {
    let mut toml = String::from("spin_manifest_version = 2\n");
    for (name, lines) in components {
        for (wasm, suffix) in wasms.iter().zip(["", "4"]) {
            let name = format!("{name}{suffix}");
            toml += &format!("[[trigger.http]]\nroute = \"/{name}/...\"\ncomponent = \"{name}\"\n");
            toml += &format!(
                "[component.{name}]\nsource = \"{}\"\n{lines}\n",
                wasm.display()
            );
        }
    }
    toml
}

/// A wxrun serving the app of a database client test (both SDKs' guests,
/// `both_sdks_app`): `allowed` may reach
/// `<scheme>://127.0.0.1` at `port` and at the returned port, where nothing
/// listens; `denied` names the same server by host name, or its address at
/// the scheme's default port. Also the app's directory, to keep.
pub async fn client_server(scheme: &str, port: u16) -> (Server, u16, tempfile::TempDir) {
    let closed = free_port();
    let at = |hosts: [String; 2]| format!("allowed_outbound_hosts = {hosts:?}");
    let allowed = at([
        format!("{scheme}://127.0.0.1:{port}"),
        format!("{scheme}://127.0.0.1:{closed}"),
    ]);
    let denied = at([
        format!("{scheme}://localhost:{port}"),
        format!("{scheme}://127.0.0.1"),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let manifest = both_sdks_app(tmp.path(), &[("allowed", &allowed), ("denied", &denied)]);
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;
    (server, closed, tmp)
}

/// Writes `text` to `dir/runtime-config.toml` and returns its path.
pub fn runtime_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A wxrun serving `manifest` with the runtime config file `config`.
pub async fn serve_with_config(manifest: &Path, config: &Path, envs: &[(&str, &str)]) -> Server {
    let args = [
        "--from",
        manifest.to_str().unwrap(),
        "--runtime-config-file",
        config.to_str().unwrap(),
    ];
    Server::start(&args, envs).await
}

/// Writes a spin.toml into `dir` and returns its path.
pub fn write_manifest(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A moto server from the project's venv (`$WXINFRA_VENV`, default
/// `<repo>/.venv`), on a free port; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub async fn start() -> Moto {
        let venv = std::env::var_os("WXINFRA_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv"));
        let python = venv.join("bin/python");
        assert!(
            venv.join("bin/moto_server").is_file(),
            "moto is missing from {}: create the venv with moto[server] (scripts/setup-venv.sh)",
            venv.display()
        );
        // The project's launcher: moto with AWS's behaviour where moto is laxer (atomic
        // conditional writes, tables CREATING for a moment).
        let launcher = repo_root().join("scripts/moto_server.py");
        let port = free_port();
        let child = Command::new(&python)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(&format!("{endpoint}/moto-api/")).await.is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Moto { child, endpoint }
    }

    /// Environment for a process talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Runs a Python snippet with boto3 against this server (`session` is a
    /// boto3 Session for it) and returns what it prints.
    pub fn boto3(&self, script: &str) -> String {
        let venv = std::env::var_os("WXINFRA_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv"));
        let prelude = format!(
            "import boto3\nsession = boto3.Session(region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\nendpoint = '{}'\n",
            self.endpoint
        );
        let out = Command::new(venv.join("bin/python"))
            .arg("-c")
            .arg(prelude + script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(creds)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A redis-server of its own (from scripts/setup-tools.sh) on a free
/// loopback port, persisting nothing; killed on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is missing: run scripts/setup-tools.sh");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        RedisServer {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A client of the test's own, to check what wxrun wrote.
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mosquitto broker of its own (from scripts/setup-tools.sh) on a free
/// loopback port, anonymous; killed on drop.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub async fn start() -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is missing: run scripts/setup-tools.sh");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The spin-hosts component's relational route: runs `statement` on the
/// `db` connection string with `params` (`kind:text,...`) and returns the
/// body (`ok:...` or `err:...`).
pub async fn sql(server: &Server, path: &str, db: &str, params: &str, statement: &str) -> String {
    let reply = send_with_headers(
        http::Method::POST,
        &server.url(path),
        &[("x-db", db), ("x-params", params)],
        Bytes::from(statement.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.body
}

/// Requests in a loop against some URLs until stopped: counts 200s, failures (printed),
/// and 200s whose body contains `marker` (the release swapped to).
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<(u64, u64, u64)>>,
}

impl Load {
    /// Eight workers spread over `urls`.
    pub fn start(urls: &[String], marker: &'static str) -> Load {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let workers = (0..8)
            .map(|w| {
                let url = urls[w % urls.len()].clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let (mut ok, mut failed, mut marked) = (0, 0, 0);
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                        match get(&url).await {
                            Ok(r) if r.status == 200 => {
                                ok += 1;
                                if r.body.contains(marker) {
                                    marked += 1;
                                }
                            }
                            Ok(r) => {
                                eprintln!("non-2xx: {} {}", r.status, r.body);
                                failed += 1;
                            }
                            Err(e) => {
                                eprintln!("request error: {e}");
                                failed += 1;
                            }
                        }
                    }
                    (ok, failed, marked)
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers and returns (ok, failed, ok with the marker).
    pub async fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut total = (0, 0, 0);
        for w in self.workers {
            let (o, f, m) = w.await.unwrap();
            total = (total.0 + o, total.1 + f, total.2 + m);
        }
        total
    }
}

/// After a release move to `id` (whose responses say `marker`): waits until every server
/// serves it, stops `load`, and asserts that no request failed, that the new release
/// answered some, and that the shared volume's `current` names it.
pub async fn assert_swapped_without_failures(
    load: Load,
    servers: &[&Server],
    marker: &str,
    volume: &Path,
    id: &str,
) {
    wait_for_all(servers, "/probe", marker).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (ok, failed, swapped) = load.finish().await;
    eprintln!("hot swap load: {ok} ok, {failed} failed, {swapped} served by {marker}");
    assert_eq!(failed, 0, "requests failed during the swap");
    assert!(ok > 100 && swapped > 0, "{ok} ok, {swapped} {marker}");
    assert_eq!(
        std::fs::read_to_string(volume.join("current"))
            .unwrap()
            .trim(),
        id
    );
}

/// Waits (up to a minute) until every server answers `path` with `marker` in the body.
pub async fn wait_for_all(servers: &[&Server], path: &str, marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut all = true;
        for s in servers {
            all &= s.get(path).await.body.contains(marker);
        }
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never served {marker}:\n{}",
            servers
                .iter()
                .map(|s| s.logs())
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `wasi:keyvalue/atomics` on `store`, through the spin-hosts routes under
/// `/<component>/wkv/<store>/` of two processes sharing it: increments (20 of
/// them at once, from both) add up exactly, a compare-and-swap reads then writes,
/// and one that loses to another write gets `cas-failed` with a cas that has read
/// the winner and then goes through. The counter ends at 35, under key `counter`.
pub async fn atomics_agree(a: &Server, b: &Server, component: &str, store: &str) {
    let at = |op: &str, key: &str| format!("/{component}/wkv/{store}/{op}/{key}");
    assert_eq!(post(a, &at("incr", "counter"), "10").await, "ok:10");
    assert_eq!(post(b, &at("incr", "counter"), "5").await, "ok:15");
    let incr = at("incr", "counter");
    let racers: Vec<_> = (0..20)
        .map(|i| post(if i % 2 == 0 { a } else { b }, &incr, "1"))
        .collect();
    for answer in futures::future::join_all(racers).await {
        assert!(answer.starts_with("ok:"), "{answer}");
    }
    assert_eq!(post(a, &at("incr", "counter"), "0").await, "ok:35");
    assert_eq!(post(a, &at("cas", "c"), "v1").await, "ok:swapped:none");
    assert_eq!(post(b, &at("cas", "c"), "v2").await, "ok:swapped:v1");
    assert_eq!(
        post(a, &at("casrace", "c"), "v3").await,
        "ok:failed:intruder"
    );
    assert_eq!(b.get(&at("get", "c")).await.body, "ok:v3");
}
