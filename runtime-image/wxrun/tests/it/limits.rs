//! Per-request limits answer with a status instead of taking the server
//! down: wall time 504, memory 500, trap 500, body size 413.

use crate::support::*;

async fn probe_server() -> (Server, tempfile::TempDir) {
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
    let server = Server::start(
        &[
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
        ],
        &[],
    )
    .await;
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
