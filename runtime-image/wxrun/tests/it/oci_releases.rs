//! `wxrun serve --app-dir` with `--source oci://…`: the app pushed in Spin's registry
//! format (built here by hand from Spin 3.x's layout, independently of `wxinfra publish`)
//! to Debian's `docker-registry`; wxrun pulls and verifies it, and moving the tag hot-swaps
//! two processes sharing one directory with zero failed requests under load. A tag moved to
//! an artifact that is not a Spin app is never installed.

use crate::support::*;
use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::json;
use std::time::Duration;

const WASM: &str = "application/vnd.wasm.content.layer.v1+wasm";
const DATA: &str = "application/vnd.wasm.content.layer.v1+data";
const LOCKED: &str = "application/vnd.fermyon.spin.application.v1+config";

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", wxrun::digest::sha256_hex(b))
}

/// The probe component as a Spin registry artifact whose environment says `tag`, with one
/// static file as a data layer; `locked: false` leaves out the locked app (not a Spin app).
fn artifact(tag: &str, locked: bool) -> (Vec<ImageLayer>, Config, OciImageManifest) {
    let wasm = std::fs::read(probe_p3_wasm()).unwrap();
    let page = format!("static page of {tag}\n").repeat(20).into_bytes();
    let locked_app = json!({
        "spin_lock_version": 0,
        "metadata": {"name": "swap", "trigger": {"type": "http"}, "triggers": {}},
        "triggers": [{"id": "p-http-trigger", "trigger_type": "http",
                      "trigger_config": {"route": "/...", "component": "p"}}],
        "components": [{
            "id": "p",
            "source": {"content_type": "application/wasm", "digest": sha(&wasm)},
            "env": {"PROBE_ENV": tag},
            "files": [{"digest": sha(&page), "path": "static/page.txt"}]
        }]
    });
    let mut layers = vec![
        ImageLayer::new(wasm, WASM.into(), None),
        ImageLayer::new(page, DATA.into(), None),
    ];
    if locked {
        let bytes = serde_json::to_vec(&locked_app).unwrap();
        layers.push(ImageLayer::new(bytes, LOCKED.into(), None));
    }
    let config = Config::oci_v1(
        serde_json::to_vec(&json!({"architecture": "wasm", "os": "Wasip1",
            "rootfs": {"type": "layers", "diff_ids": []}}))
        .unwrap(),
        None,
    );
    let manifest = OciImageManifest::build(&layers, &config, None);
    (layers, config, manifest)
}

/// Pushes an artifact as `host/apps/swap:live`; returns its release id (manifest sha256).
async fn push(host: &str, tag: &str, locked: bool) -> String {
    let client = Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    });
    let reference = Reference::with_tag(host.into(), "apps/swap".into(), "live".into());
    let (layers, config, manifest) = artifact(tag, locked);
    let pushed = client
        .push(
            &reference,
            &layers,
            config,
            &RegistryAuth::Anonymous,
            Some(manifest),
        )
        .await
        .unwrap();
    let digest = client
        .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
        .await
        .unwrap();
    assert!(
        pushed.manifest_url.ends_with(&digest),
        "{}",
        pushed.manifest_url
    );
    digest.strip_prefix("sha256:").unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_fill_from_an_oci_registry_and_hot_swap_with_zero_failures() {
    let reg = LocalRegistry::start();
    let id1 = push(&reg.host, "v1", true).await;
    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path().to_str().unwrap().to_string();
    let source = format!("oci://{}/apps/swap:live", reg.host);
    // No Docker config: anonymous, as the registry allows.
    let docker = tempfile::tempdir().unwrap();
    let env = [("DOCKER_CONFIG", docker.path().to_str().unwrap())];
    let args = [
        "--app-dir",
        dir.as_str(),
        "--source",
        source.as_str(),
        "--poll-ms",
        "200",
    ];
    let a = Server::start(&args, &env).await;
    let b = Server::start(&args, &env).await;
    for s in [&a, &b] {
        assert_eq!(s.get("/x").await.body, "p3 /x env=v1\n");
        let info: serde_json::Value =
            serde_json::from_str(&s.get("/.well-known/wxrun/info").await.body).unwrap();
        assert_eq!(info["release"], id1.as_str());
    }
    let release = volume.path().join("releases").join(&id1);
    assert_eq!(
        std::fs::read_to_string(release.join("files/p/static/page.txt")).unwrap(),
        "static page of v1\n".repeat(20)
    );
    assert_eq!(
        std::fs::read_to_string(volume.path().join("current"))
            .unwrap()
            .trim(),
        id1
    );

    let load = Load::start(&[a.url("/load"), b.url("/load")], "env=v2");
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The tag moves to something that is not a Spin app: both keep serving v1.
    let bogus = push(&reg.host, "bogus", false).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!volume.path().join("releases").join(&bogus).exists());
    a.wait_logs("no Spin locked-app layer").await;
    let id2 = push(&reg.host, "v2", true).await;
    assert_swapped_without_failures(load, &[&a, &b], "env=v2", volume.path(), &id2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_digest_is_served_and_a_wrong_one_refused() {
    let reg = LocalRegistry::start();
    let id = push(&reg.host, "pinned", true).await;
    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path().to_str().unwrap().to_string();
    let docker = tempfile::tempdir().unwrap();
    let env = [("DOCKER_CONFIG", docker.path().to_str().unwrap())];
    let pinned = format!("oci://{}/apps/swap@sha256:{id}", reg.host);
    let s = Server::start(
        &["--app-dir", &dir, "--source", &pinned, "--poll-ms", "200"],
        &env,
    )
    .await;
    assert_eq!(s.get("/x").await.body, "p3 /x env=pinned\n");
    drop(s);

    // A digest the registry does not hold is never installed or served.
    let other = tempfile::tempdir().unwrap();
    let dir = other.path().to_str().unwrap().to_string();
    let missing = format!("oci://{}/apps/swap@sha256:{}", reg.host, "a".repeat(64));
    let s = Server::spawn(
        &["--app-dir", &dir, "--source", &missing, "--poll-ms", "200"],
        &env,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !s.logs().contains("release update failed") {
        assert!(std::time::Instant::now() < deadline, "{}", s.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.get("/.well-known/spin/health").await.status, 503);
    assert!(!other.path().join("releases").join("a".repeat(64)).exists());
}
