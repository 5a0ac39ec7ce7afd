//! Several components of one app that share a `.wasm` (a core module here,
//! so conversion is counted too) are converted and compiled once per
//! process, and once per AOT cache: counted from wxrun's own log events.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn components_sharing_a_wasm_compile_it_once_per_process_and_per_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = http_rust_wasm("wasip1");
    // The same bytes under another name count as the same `.wasm`.
    std::fs::copy(&wasm, tmp.path().join("copy.wasm")).unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            r#"spin_manifest_version = 2
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = "/b/..."
component = "b"
[[trigger.http]]
route = "/c/..."
component = "c"
[[trigger.http]]
route = "/d/..."
component = "d"
[component.a]
source = "{wasm}"
[component.b]
source = "{wasm}"
[component.c]
source = "{wasm}"
[component.d]
source = "copy.wasm"
"#,
            wasm = wasm.display()
        ),
    );
    let cache = tmp.path().join("cache");
    let args = [
        "--from",
        manifest.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let counts = |logs: &str| {
        let origins: Vec<String> = log_events(logs, "component ready")
            .iter()
            .map(|e| e["origin"].as_str().unwrap_or_default().to_string())
            .collect();
        (
            log_events(logs, "converted core module to a component").len(),
            log_events(logs, "compiled component").len(),
            origins,
        )
    };

    let mut first = Server::start(&args, &[]).await;
    for c in ["a", "b", "c", "d"] {
        let r = first.get(&format!("/{c}/x")).await;
        assert_eq!(r.status, 200, "{c}: {r:?}");
        assert!(
            r.body.contains(&format!("spin-matched-route: /{c}/...")),
            "{}",
            r.body
        );
    }
    assert_eq!(
        counts(&first.logs()),
        (
            1,
            1,
            vec![
                "Compiled".into(),
                "Shared".into(),
                "Shared".into(),
                "Shared".into()
            ]
        ),
        "{}",
        first.logs()
    );
    first.terminate();

    // A second process on the same cache converts and compiles nothing.
    let second = Server::start(&args, &[]).await;
    assert_eq!(second.get("/d/x").await.status, 200);
    assert_eq!(
        counts(&second.logs()),
        (
            0,
            0,
            vec![
                "CacheHit".into(),
                "Shared".into(),
                "Shared".into(),
                "Shared".into()
            ]
        ),
        "{}",
        second.logs()
    );
}
