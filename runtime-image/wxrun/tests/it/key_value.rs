//! Spin key-value from spin-sdk guests (Spin 2's interface and Spin 4's
//! async one): the `default` store with no runtime
//! config (Spin's `.spin/sqlite_key_value.db`), `spin` stores from a
//! runtime-config file shared by two wxrun processes, and Spin's error
//! values for labels a component was not granted.

use crate::support::*;

const COMPONENTS: [(&str, &str); 2] = [
    (
        "granted",
        "key_value_stores = [\"default\", \"shared\"]\nvariables = { greeting = \"hi\" }",
    ),
    ("none", ""),
];

fn app(dir: &std::path::Path) -> std::path::PathBuf {
    spin_hosts_app(dir, &COMPONENTS)
}

/// The app with a Spin 4 twin of each component (`granted4`, `none4`).
fn both(dir: &std::path::Path) -> std::path::PathBuf {
    both_sdks_app(dir, &COMPONENTS)
}

#[tokio::test(flavor = "multi_thread")]
async fn default_store_needs_no_config_and_ungranted_labels_are_access_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = both(tmp.path());
    let config = runtime_config(tmp.path(), "[key_value_store.shared]\ntype = \"spin\"\n");
    let server = serve_with_config(&manifest, &config, &[]).await;

    // Spin 2's `fermyon:spin/key-value@2.0.0`, then Spin 4's async
    // `spin:key-value@3.0.0` (keys streamed) on the same store: each round
    // leaves it as it found it.
    for c in ["/granted", "/granted4"] {
        let at = |path: &str| format!("{c}/kv/{path}");
        assert_eq!(server.get(&at("default/get/k")).await.body, "ok:none");
        assert_eq!(post(&server, &at("default/set/k"), "v1").await, "ok:set");
        assert_eq!(post(&server, &at("default/set/j"), "v0").await, "ok:set");
        assert_eq!(server.get(&at("default/get/k")).await.body, "ok:v1");
        assert_eq!(server.get(&at("default/exists/k")).await.body, "ok:true");
        assert_eq!(server.get(&at("default/keys/-")).await.body, "ok:j,k");
        assert_eq!(server.get(&at("default/delete/k")).await.body, "ok:deleted");
        assert_eq!(server.get(&at("default/exists/k")).await.body, "ok:false");
        // An in-memory `spin` store (no path) is separate from the default one.
        assert_eq!(server.get(&at("shared/get/j")).await.body, "ok:none");
        // Errors are Spin's values: a label not granted, here or anywhere.
        assert_eq!(
            server.get(&at("other/get/k")).await.body,
            "err:access-denied"
        );
    }
    // Spin 4's async `spin:variables@3.0.0`, with Spin's error values.
    assert_eq!(server.get("/granted4/var/greeting").await.body, "ok:hi");
    let r = server.get("/granted4/var/nope").await.body;
    assert_eq!(
        r,
        r#"err:Undefined("no variable for \"granted4\".\"nope\"")"#
    );
    let r = server.get("/granted4/var/4invalid").await.body;
    assert!(r.starts_with("err:InvalidName("), "{r}");
    for c in ["/none", "/none4"] {
        assert_eq!(
            server.get(&format!("{c}/kv/default/get/k")).await.body,
            "err:access-denied"
        );
    }

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
    let manifest = both(tmp.path());
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
    // A Spin 4 guest writes where a Spin 2 guest in the other process reads.
    assert_eq!(
        post(&a, "/granted4/kv/shared/set/k", "from-a4").await,
        "ok:set"
    );
    assert_eq!(b.get("/granted/kv/shared/get/k").await.body, "ok:from-a4");
    assert_eq!(b.get("/granted4/kv/shared/keys/-").await.body, "ok:k");
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
    let manifest = both(tmp.path());
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
    // Only the test guest's deliberately unknown import is left.
    for c in report["components"].as_array().unwrap() {
        for u in c["unsupported"].as_array().unwrap() {
            assert_eq!(u["import"], "wxrun:test/absent@1.0.0", "{c}");
        }
    }
}
