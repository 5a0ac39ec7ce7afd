//! `wxrun serve --app-dir` with `--source s3://…` (moto): a missing release
//! is fetched, verified and installed; moving the pointer hot-swaps two
//! processes sharing one directory with zero failed requests under load.

use crate::support::*;
use std::time::Duration;

fn release_app(dir: &std::path::Path, tag: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(probe_p3_wasm(), dir.join("probe.wasm")).unwrap();
    write_manifest(
        dir,
        &format!(
            "spin_manifest_version = 2\n[application]\nname = \"swap\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n[component.p]\nsource = \"probe.wasm\"\nenvironment = {{ PROBE_ENV = \"{tag}\" }}\n"
        ),
    )
}

/// Bundles the app with `wxrun bundle` and returns (id, bytes).
fn bundle(manifest: &std::path::Path, out_dir: &std::path::Path) -> (String, Vec<u8>) {
    let out = out_dir.join("bundle.tar");
    let o = wxrun()
        .arg("bundle")
        .arg(manifest)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = String::from_utf8(o.stdout).unwrap().trim().to_string();
    (id, std::fs::read(out).unwrap())
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket("artifacts")
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_fill_from_s3_and_hot_swap_with_zero_failures() {
    let moto = Moto::start().await;
    let s3 = moto.s3().await;
    s3.create_bucket().bucket("artifacts").send().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let (id1, b1) = bundle(&release_app(&work.path().join("v1"), "v1"), work.path());
    let (id2, b2) = bundle(&release_app(&work.path().join("v2"), "v2"), work.path());
    assert_ne!(id1, id2);
    put(&s3, &format!("apps/demo/{id1}.tar"), b1).await;
    put(&s3, &format!("apps/demo/{id2}.tar"), b2).await;
    // A corrupt bundle under a made-up id must never be installed.
    let bogus = "b".repeat(64);
    put(
        &s3,
        &format!("apps/demo/{bogus}.tar"),
        b"not the bundle".to_vec(),
    )
    .await;
    put(&s3, "apps/demo/current", id1.clone().into_bytes()).await;

    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path().to_str().unwrap().to_string();
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        "--app-dir",
        dir.as_str(),
        "--source",
        "s3://artifacts/apps/demo",
        "--poll-ms",
        "200",
    ];
    let a = Server::start(&args, &env).await;
    let b = Server::start(&args, &env).await;
    for s in [&a, &b] {
        let r = s.get("/x").await;
        assert_eq!(r.body, "p3 /x env=v1\n");
        let info: serde_json::Value =
            serde_json::from_str(&s.get("/.well-known/wxrun/info").await.body).unwrap();
        assert_eq!(info["release"], id1.as_str());
    }
    assert!(
        volume
            .path()
            .join("releases")
            .join(&id1)
            .join("spin.toml")
            .is_file()
    );
    assert_eq!(
        std::fs::read_to_string(volume.path().join("current"))
            .unwrap()
            .trim(),
        id1
    );
    // The first process compiled into the shared AOT cache; entries exist.
    let cache_entries = std::fs::read_dir(volume.path().join("cache"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .count();
    assert!(cache_entries >= 1);

    // Load both servers while the pointer moves.
    let load = Load::start(&[a.url("/load"), b.url("/load")], "env=v2");
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Point at the corrupt bundle first: both keep serving v1.
    put(&s3, "apps/demo/current", bogus.clone().into_bytes()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!volume.path().join("releases").join(&bogus).exists());
    put(&s3, "apps/demo/current", id2.clone().into_bytes()).await;
    assert_swapped_without_failures(load, &[&a, &b], "env=v2", volume.path(), &id2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_source_serves_the_release_on_the_volume_and_says_so() {
    let moto = Moto::start().await;
    let s3 = moto.s3().await;
    s3.create_bucket().bucket("artifacts").send().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let (id, b) = bundle(&release_app(&work.path().join("v1"), "v1"), work.path());
    put(&s3, &format!("apps/demo/{id}.tar"), b).await;
    put(&s3, "apps/demo/current", id.clone().into_bytes()).await;
    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path().to_str().unwrap().to_string();
    let args = [
        "--app-dir",
        dir.as_str(),
        "--source",
        "s3://artifacts/apps/demo",
        "--poll-ms",
        "200",
    ];
    let env = moto.env();
    let reachable: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    {
        // A first process fills the volume from the source.
        let s = Server::start(&args, &reachable).await;
        let info: serde_json::Value =
            serde_json::from_str(&s.get("/.well-known/wxrun/info").await.body).unwrap();
        assert_eq!(info["release"], id.as_str());
        assert!(info.get("source_unreachable").is_none(), "{info}");
    }

    // The next starts with the source unreachable (nothing listens on its endpoint): it
    // serves the volume's release and reports the source as unreachable.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable: Vec<(&str, &str)> = reachable
        .iter()
        .map(|&(k, v)| {
            (
                k,
                if k == "AWS_ENDPOINT_URL" {
                    closed.as_str()
                } else {
                    v
                },
            )
        })
        .collect();
    let s = Server::start(&args, &unreachable).await;
    assert_eq!(s.get("/x").await.body, "p3 /x env=v1\n");
    let info: serde_json::Value =
        serde_json::from_str(&s.get("/.well-known/wxrun/info").await.body).unwrap();
    assert_eq!(info["release"], id.as_str());
    let why = info["source_unreachable"].as_str().unwrap_or_default();
    assert!(why.contains("artifacts"), "{info}");
    let warned = log_events(
        &s.logs(),
        "release source unreachable; serving the release already on the volume",
    );
    assert_eq!(warned.len(), 1, "{}", s.logs());
    assert_eq!(warned[0]["release"], id.as_str());
}
