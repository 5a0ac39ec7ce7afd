//! The WASI drafts Spin links beside its own interfaces, from a spin-sdk guest:
//! `wasi:keyvalue` store and batch on the same stores and grants as Spin's
//! key-value, and `wasi:config/store` reading the component's variables, with
//! Spin's values for what a guest may not use or name.

use crate::support::*;

fn app(dir: &std::path::Path) -> std::path::PathBuf {
    write_manifest(
        dir,
        &format!(
            r#"spin_manifest_version = 2
[application]
name = "wasi"
[variables]
greeting = {{ default = "Hello" }}
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/none/..."
component = "none"
[component.granted]
source = "{wasm}"
key_value_stores = ["default"]
[component.granted.variables]
message = "{{{{ greeting }}}}, world"
[component.none]
source = "{wasm}"
"#,
            wasm = spin_hosts_wasm().display(),
        ),
    )
}

async fn get(server: &Server, path: &str) -> String {
    server.get(path).await.body
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_keyvalue_shares_spin_stores_and_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;
    assert_eq!(
        post(&server, "/granted/wkv/default/set/k", "v1").await,
        "ok:set"
    );
    assert_eq!(get(&server, "/granted/wkv/default/get/k").await, "ok:v1");
    assert_eq!(
        get(&server, "/granted/wkv/default/exists/k").await,
        "ok:true"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/get/nope").await,
        "ok:none"
    );
    // One store behind both interfaces.
    assert_eq!(get(&server, "/granted/kv/default/get/k").await, "ok:v1");
    assert_eq!(
        get(&server, "/granted/wkv/default/keys/-").await,
        "ok:k|None"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/keys/after-k").await,
        "err:other(list_keys: cursor not supported)"
    );
    assert_eq!(
        post(&server, "/granted/wkv/default/setmany/-", "a=1,b=2").await,
        "ok:set"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/getmany/a,b,zz").await,
        "ok:a=1,b=2,zz=none"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/deletemany/a,k").await,
        "ok:deleted"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/keys/-").await,
        "ok:b|None"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/delete/b").await,
        "ok:deleted"
    );
    assert_eq!(
        get(&server, "/granted/wkv/default/exists/b").await,
        "ok:false"
    );
    // Atomics on Spin's default store (a SQLite file shared by two processes), the
    // counter kept as Spin keeps it: 8 little-endian bytes.
    let other = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;
    atomics_agree(&server, &other, "granted", "default").await;
    let db = rusqlite::Connection::open(tmp.path().join(".spin/sqlite_key_value.db")).unwrap();
    let counter: Vec<u8> = db
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'counter'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(counter, 35i64.to_le_bytes());
    assert_eq!(
        post(&server, "/granted/wkv/default/incr/c", "1").await,
        "err:other(the value is 2 bytes, not a 64-bit counter)"
    );
    // Not granted: Spin's error values, not traps.
    assert_eq!(
        get(&server, "/none/wkv/default/get/k").await,
        "err:access-denied"
    );
    assert_eq!(
        post(&server, "/none/wkv/default/incr/k", "1").await,
        "err:access-denied"
    );
    assert_eq!(
        get(&server, "/granted/wkv/other/get/k").await,
        "err:access-denied"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wasi_config_reads_component_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path());
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;
    assert_eq!(
        server.get("/granted/config/message").await.body,
        "ok:Hello, world"
    );
    // An app variable the component does not map, and a name Spin rejects, are
    // both `none` (Spin's mapping), not errors.
    assert_eq!(server.get("/granted/config/greeting").await.body, "ok:none");
    assert_eq!(
        server.get("/granted/config/4invalidname").await.body,
        "ok:none"
    );
    assert_eq!(
        server.get("/granted/config/-").await.body,
        "ok:message=Hello, world"
    );
    assert_eq!(server.get("/none/config/-").await.body, "ok:");
}
