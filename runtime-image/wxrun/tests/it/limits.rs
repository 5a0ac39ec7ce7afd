//! Per-request limits answer with a status instead of taking the server
//! down: wall time 504, memory 500, trap 500, body size 413.

use crate::support::*;

async fn probe_server() -> (Server, tempfile::TempDir) {
    probe_server_with(&[]).await
}

/// The probe (`/p/...`) and hello (`/hello/...`) components under small
/// limits, plus `extra` flags.
async fn probe_server_with(extra: &[&str]) -> (Server, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/p/...\"\ncomponent = \"probe\"\n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n[component.probe]\nsource = \"{}\"\n[component.hello]\nsource = \"{}\"\n[component.hello.variables]\ngreeting = \"hi\"\n",
            probe_p3_wasm().display(),
            hello_wasm().display(),
        ),
    );
    let cache = shared_cache();
    let mut args = vec![
        "--from",
        manifest.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--timeout-ms",
        "1000",
        "--memory-mb",
        "128",
        "--max-body-bytes",
        "1024",
    ];
    args.extend_from_slice(extra);
    let server = Server::start(&args, &[]).await;
    (server, tmp)
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_map_to_statuses_and_the_server_survives() {
    let (server, _tmp) = probe_server().await;
    let start = std::time::Instant::now();
    assert_eq!(server.get("/p/loop").await.status, 504);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(server.get("/hello/loop").await.status, 504);
    assert_eq!(server.get("/p/alloc").await.status, 500);
    assert_eq!(server.get("/hello/alloc").await.status, 500);
    assert_eq!(server.get("/p/panic").await.status, 500);
    let big = bytes::Bytes::from(vec![b'x'; 4096]);
    let r = send(http::Method::POST, &server.url("/p/x"), big)
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    let small = bytes::Bytes::from(vec![b'x'; 512]);
    let r = send(http::Method::POST, &server.url("/p/x"), small)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    // Still healthy and serving.
    assert_eq!(server.get("/p/ok").await.status, 200);
    assert_eq!(server.get("/hello/ok").await.status, 200);

    // `wxrun probe`, the container health check, sees the same; a wrong path or a port
    // nobody listens on is unhealthy.
    let probe = |args: &[&str]| wxrun().arg("probe").args(args).output().unwrap();
    let addr = format!("127.0.0.1:{}", server.port);
    let ok = probe(&["--addr", &addr]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = probe(&["--addr", &addr, "--path", "/.well-known/spin/nope"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("answered 404"));
    let down = probe(&[
        "--addr",
        &format!("127.0.0.1:{}", free_port()),
        "--timeout-ms",
        "500",
    ]);
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("connecting to"));
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_are_fresh_per_request_unless_reuse_is_asked_for() {
    let counts = |server: &Server| {
        let url = server.url("/p/count");
        async move {
            let mut seen = Vec::new();
            for _ in 0..4 {
                seen.push(get(&url).await.unwrap().body);
            }
            seen
        }
    };

    // Spin's behaviour: a fresh instance, so globals start over every time.
    let (fresh, _tmp) = probe_server().await;
    assert_eq!(counts(&fresh).await, ["1", "1", "1", "1"]);

    // Three requests per instance, one at a time: the fourth gets a new one.
    let (reused, _tmp) =
        probe_server_with(&["--instance-reuse", "3", "--instance-concurrency", "1"]).await;
    assert_eq!(counts(&reused).await, ["1", "2", "3", "1"]);

    // One instance serving requests for longer than the wall-time limit:
    // the limit counts from each request's start, not the instance's birth.
    let (long_lived, _tmp) =
        probe_server_with(&["--instance-reuse", "100000", "--instance-concurrency", "1"]).await;
    let began = std::time::Instant::now();
    let mut last = 0u64;
    while began.elapsed() < std::time::Duration::from_millis(1500) {
        let r = long_lived.get("/p/count").await;
        assert_eq!(r.status, 200, "{r:?}");
        let n: u64 = r.body.parse().unwrap();
        assert_eq!(n, last + 1, "the same instance answers every request");
        last = n;
    }
    // A request that runs out of time still gets 504, and ends its instance.
    assert_eq!(long_lived.get("/p/loop").await.status, 504);
    assert_eq!(long_lived.get("/p/count").await.body, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_instance_needs_one_fiber_stack_whatever_its_generation() {
    // One instance and so one fiber stack (engine.rs): every request below, WASI 0.3 and
    // CPython's WASI 0.2, runs on it in turn, and a trap or a timeout gives it back. The
    // slot is freed just after the answer goes out, so a request that comes first meets the
    // instance limit (500) and is sent again; with no stack to give back, none succeeds.
    let (server, _tmp) = probe_server_with(&["--max-instances", "1"]).await;
    for (path, want) in [
        ("/p/x", 200),
        ("/hello/x", 200),
        ("/p/panic", 500),
        ("/p/x", 200),
        ("/p/loop", 504),
        ("/hello/x", 200),
        ("/p/x", 200),
    ] {
        let began = std::time::Instant::now();
        let r = loop {
            let r = server.get(path).await;
            if r.status == want || r.status != 500 || began.elapsed().as_secs() >= 10 {
                break r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(r.status, want, "{path}: {r:?}");
    }
}
