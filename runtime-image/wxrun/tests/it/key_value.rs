//! Spin key-value from a spin-sdk guest: the `default` store with no runtime
//! config (Spin's `.spin/sqlite_key_value.db`), `spin` stores from a
//! runtime-config file shared by two wxrun processes, and Spin's error
//! values for labels a component was not granted.

use crate::support::*;

fn app(dir: &std::path::Path) -> std::path::PathBuf {
    spin_hosts_app(
        dir,
        &[
            ("granted", r#"key_value_stores = ["default", "shared"]"#),
            ("none", ""),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn default_store_needs_no_config_and_ungranted_labels_are_access_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let config = runtime_config(tmp.path(), "[key_value_store.shared]\ntype = \"spin\"\n");
    let server = serve_with_config(&manifest, &config, &[]).await;

    assert_eq!(
        server.get("/granted/kv/default/get/k").await.body,
        "ok:none"
    );
    assert_eq!(
        post(&server, "/granted/kv/default/set/k", "v1").await,
        "ok:set"
    );
    assert_eq!(
        post(&server, "/granted/kv/default/set/j", "v0").await,
        "ok:set"
    );
    assert_eq!(server.get("/granted/kv/default/get/k").await.body, "ok:v1");
    assert_eq!(
        server.get("/granted/kv/default/exists/k").await.body,
        "ok:true"
    );
    assert_eq!(
        server.get("/granted/kv/default/keys/-").await.body,
        "ok:j,k"
    );
    assert_eq!(
        server.get("/granted/kv/default/delete/k").await.body,
        "ok:deleted"
    );
    assert_eq!(
        server.get("/granted/kv/default/exists/k").await.body,
        "ok:false"
    );
    // An in-memory `spin` store (no path) is separate from the default one.
    assert_eq!(server.get("/granted/kv/shared/get/j").await.body, "ok:none");

    assert_eq!(
        server.get("/none/kv/default/get/k").await.body,
        "err:access-denied"
    );
    assert_eq!(
        server.get("/granted/kv/other/get/k").await.body,
        "err:access-denied"
    );

    // Spin's default location, readable as Spin's own table.
    let db = rusqlite::Connection::open(tmp.path().join(".spin/sqlite_key_value.db")).unwrap();
    let value: Vec<u8> = db
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'j'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(value, b"v0");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_spin_store_file_see_each_others_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let config = tmp.path().join("conf/runtime-config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[key_value_store.shared]\ntype = \"spin\"\npath = \"../shared/kv.db\"\n",
    )
    .unwrap();
    let a = serve_with_config(&manifest, &config, &[]).await;
    let b = serve_with_config(&manifest, &config, &[]).await;
    assert_eq!(
        post(&a, "/granted/kv/shared/set/k", "from-a").await,
        "ok:set"
    );
    assert_eq!(b.get("/granted/kv/shared/get/k").await.body, "ok:from-a");
    assert_eq!(
        post(&b, "/granted/kv/shared/set/k", "from-b").await,
        "ok:set"
    );
    assert_eq!(a.get("/granted/kv/shared/get/k").await.body, "ok:from-b");
    assert!(tmp.path().join("shared/kv.db").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_label_without_a_store_stops_the_app_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let out = wxrun().arg("check").arg(&manifest).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(r#"component "granted": unknown key_value_stores label "shared""#),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_nothing_unsupported_for_the_host_interfaces() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let config = runtime_config(tmp.path(), "[key_value_store.shared]\ntype = \"spin\"\n");
    let out = wxrun()
        .args(["check", "--json", "--runtime-config-file"])
        .arg(&config)
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in report["components"].as_array().unwrap() {
        assert_eq!(c["unsupported"], serde_json::json!([]), "{c}");
    }
}
