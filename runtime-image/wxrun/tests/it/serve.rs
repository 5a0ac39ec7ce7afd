//! `wxrun serve --from`: routing, both WASI generations, variables, env,
//! Spin headers, identity, traps for unsupported imports, graceful stop.

use crate::support::*;

fn two_generation_app(dir: &std::path::Path) -> std::path::PathBuf {
    write_manifest(
        dir,
        &format!(
            r#"spin_manifest_version = 2
[application]
name = "mixed"
[variables]
greeting = {{ default = "Hello" }}
[[trigger.http]]
route = "/hello/..."
component = "hello"
[[trigger.http]]
route = "/p3/..."
component = "probe"
[[trigger.http]]
route = "/p3/exact"
component = "hello"
[[trigger.http]]
route = {{ private = true }}
component = "probe"
[component.hello]
source = "{hello}"
environment = {{ HELLO_RELEASE = "r1" }}
[component.hello.variables]
greeting = "{{{{ greeting }}}}, world"
[component.probe]
source = "{probe}"
environment = {{ PROBE_ENV = "e1" }}
"#,
            hello = hello_wasm().display(),
            probe = probe_p3_wasm().display(),
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_wasi_02_and_03_components_with_spin_routing() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = two_generation_app(tmp.path());
    let cache = shared_cache();
    let server = Server::start(
        &[
            "--from",
            manifest.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &[
            ("WXRUN_PRIMITIVE", "fargate"),
            ("SPIN_VARIABLE_GREETING", "Hi"),
        ],
    )
    .await;

    // WASI 0.2 Python component: variable (env override + template), env.
    let r = server.get("/hello/a/b?x=1").await;
    assert_eq!(r.status, 200, "{r:?}\n{}", server.logs());
    assert_eq!(r.body, "Hi, world from /hello/a/b?x=1 (release r1)\n");
    assert_eq!(r.headers["x-wxrun-served-by"], "fargate");

    // WASI 0.3 Rust component, wildcard route with Spin's headers.
    let r = server.get("/p3/deep/path").await;
    assert_eq!(r.status, 200, "{r:?}\n{}", server.logs());
    assert_eq!(r.body, "p3 /p3/deep/path env=e1\n");
    assert_eq!(r.headers["x-probe-path-info"], "/deep/path");
    assert_eq!(r.headers["x-probe-matched-route"], "/p3/...");

    // Exact beats wildcard.
    let r = server.get("/p3/exact").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("Hi, world from /p3/exact"), "{}", r.body);

    // Unrouted paths (and the private route) are 404.
    assert_eq!(server.get("/nothing").await.status, 404);
    assert_eq!(server.get("/").await.status, 404);

    // Identity.
    let r = server.get("/.well-known/wxrun/info").await;
    let info: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let sum = std::process::Command::new("sha256sum")
        .arg(wxrun_path())
        .output()
        .unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(
        info["binary_sha256"],
        sum.split_whitespace().next().unwrap()
    );
    assert_eq!(info["primitive"], "fargate");
    assert_eq!(info["app"], "mixed");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["release"].is_null());

    // Structured access log lines.
    let logs = server.wait_logs("\"path\":\"/p3/deep/path\"").await;
    let line = logs
        .lines()
        .find(|l| l.contains("\"path\":\"/p3/deep/path\""))
        .unwrap_or_else(|| panic!("no access log line:\n{logs}"));
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["route"], "/p3/...");
    assert_eq!(entry["component"], "probe");
    assert!(entry["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(entry["duration_ms"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_import_traps_naming_it_and_request_body_reaches_guest() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[variables]\ngreeting = {{ default = \"x\" }}\n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n[component.hello]\nsource = \"{}\"\n[component.hello.variables]\ngreeting = \"{{{{ greeting }}}}\"\n[[trigger.http]]\nroute = \"/hosts/...\"\ncomponent = \"hosts\"\n[component.hosts]\nsource = \"{}\"\n",
            hello_wasm().display(),
            spin_hosts_wasm().display()
        ),
    );
    let cache = shared_cache();
    let server = Server::start(
        &[
            "--from",
            manifest.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    let r = send(
        http::Method::POST,
        &server.url("/hello/echo"),
        "ping body".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "ping body");
    assert_eq!(r.headers["x-wxrun-served-by"], "local");

    // A store the manifest does not grant is Spin's error value, not a trap.
    let r = server.get("/hello/kv").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("AccessDenied"), "{r:?}");

    // So is a model the manifest does not grant (`ai_models`).
    let r = server.get("/hello/llm").await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.body.contains("does not have access to use 'llama2-chat'"),
        "{r:?}"
    );
    // An import wxrun does not implement traps, naming it.
    let r = server.get("/hosts/absent").await;
    assert_eq!(r.status, 500, "{r:?}");
    server
        .wait_logs("wxrun does not implement import `wxrun:test/absent@1.0.0#ping`")
        .await;
    // The server keeps serving after a trap.
    assert_eq!(server.get("/hello/again").await.status, 200);
}

/// The WASI 0.3 probe alone on every path, served with `extra` flags.
async fn probe_p3_server(extra: &[&str]) -> (Server, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n[component.p]\nsource = \"{}\"\n",
            probe_p3_wasm().display()
        ),
    );
    let mut args = vec!["--from", manifest.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Server::start(&args, &[]).await, tmp)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_ends_idle_reused_instances_quietly() {
    let (mut server, _tmp) =
        probe_p3_server(&["--instance-reuse", "100", "--instance-concurrency", "4"]).await;
    // Instances that served requests and wait, idle, for more when the server stops.
    let urls: Vec<String> = (0..8).map(|i| server.url(&format!("/p/{i}"))).collect();
    let replies = futures::future::join_all(urls.iter().map(|u| get(u))).await;
    assert!(replies.iter().all(|r| r.as_ref().unwrap().status == 200));
    let status = server.terminate();
    assert!(status.success(), "{status}\n{}", server.logs());
    // Dropping them is how a stop ends them, not an error (nor a panic).
    let logs = server.logs();
    assert!(logs.contains("drained"), "{logs}");
    assert!(!logs.contains("instance ended with an error"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_requests() {
    let (mut server, _tmp) = probe_p3_server(&["--timeout-ms", "1500"]).await;
    // A request that runs until its 1.5 s limit is in flight during SIGTERM:
    // it still gets its (504) answer, and the process exits cleanly.
    let url = server.url("/slow/loop");
    let in_flight = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = server.terminate();
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status, 504);
    assert!(status.success(), "{status}\n{}", server.logs());
    assert!(server.logs().contains("drained"), "{}", server.logs());
}

/// A running server's relocated constants (vtables, the GOT) are read-only, as a dynamic
/// linker leaves them: the executable's only writable mapping is its data and bss.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_has_no_writable_relocated_constants() {
    let (server, _tmp) = probe_p3_server(&[]).await;
    let exe = std::fs::read_link(format!("/proc/{}/exe", server.child.id())).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", server.child.id())).unwrap();
    let own: Vec<&str> = maps
        .lines()
        .filter(|l| l.ends_with(exe.to_str().unwrap()))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        own.iter().filter(|p| p.starts_with("rw")).count(),
        1,
        "{own:?}\n{maps}"
    );
    assert!(own.contains(&"r-xp"), "{own:?}");
}
