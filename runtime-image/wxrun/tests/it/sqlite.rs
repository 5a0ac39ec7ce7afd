//! Spin SQLite 2.0.0 and 3.0.0 from a spin-sdk guest: Spin's default
//! database file with no runtime config, a `[sqlite_database.<label>]` file,
//! and Spin's error values for ungranted labels and failing statements.

use crate::support::*;
use bytes::Bytes;

async fn sql(server: &Server, path: &str, statement: &str, params: &str) -> String {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let req = http::Request::post(server.url(path))
        .header("x-params", params)
        .body(http_body_util::Full::new(Bytes::from(
            statement.to_string(),
        )))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn default_and_configured_databases_with_spins_error_values() {
    let tmp = tempfile::tempdir().unwrap();
    let other_db = tmp.path().join("data/other.db");
    let config = tmp.path().join("runtime-config.toml");
    std::fs::write(
        &config,
        format!(
            "[sqlite_database.other]\ntype = \"spin\"\npath = \"{}\"\n",
            other_db.display()
        ),
    )
    .unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            r#"spin_manifest_version = 2
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/none/..."
component = "none"
[component.granted]
source = "{wasm}"
sqlite_databases = ["default", "other"]
[component.none]
source = "{wasm}"
"#,
            wasm = spin_hosts_wasm().display(),
        ),
    );
    let server = Server::start(
        &[
            "--from",
            manifest.to_str().unwrap(),
            "--runtime-config-file",
            config.to_str().unwrap(),
        ],
        &[],
    )
    .await;

    let create = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, note TEXT)";
    assert_eq!(
        sql(&server, "/granted/sql/v2/default", create, "").await,
        "ok:|"
    );
    let insert = "INSERT INTO t (name, score, note) VALUES (?, ?, ?)";
    assert_eq!(
        sql(&server, "/granted/sql/v3/default", insert, "t:ada,r:1.5,n").await,
        "ok:||changes=1|rowid=1"
    );
    assert_eq!(
        sql(
            &server,
            "/granted/sql/v2/default",
            "SELECT id, name, score, note FROM t WHERE id = ?",
            "i:1"
        )
        .await,
        "ok:id,name,score,note|1,'ada',1.5,NULL"
    );
    // Another label is another file.
    let r = sql(&server, "/granted/sql/v3/other", "SELECT name FROM t", "").await;
    assert!(r.starts_with("err:io(no such table: t"), "{r}");
    assert_eq!(
        sql(&server, "/granted/sql/v3/other", create, "").await,
        "ok:||changes=0|rowid=0"
    );
    assert!(other_db.is_file());

    assert_eq!(
        sql(&server, "/none/sql/v2/default", "SELECT 1", "").await,
        "err:access-denied"
    );
    assert_eq!(
        sql(&server, "/none/sql/v3/default", "SELECT 1", "").await,
        "err:access-denied"
    );
    assert_eq!(
        sql(&server, "/granted/sql/v3/nope", "SELECT 1", "").await,
        "err:access-denied"
    );
    let attach = format!("ATTACH DATABASE '{}' AS o", other_db.display());
    let r = sql(&server, "/granted/sql/v3/default", &attach, "").await;
    assert!(
        r.starts_with("err:io(") && r.contains("not authorized"),
        "{r}"
    );

    // Spin's default database file, beside the app.
    let db = rusqlite::Connection::open(tmp.path().join(".spin/sqlite_db.db")).unwrap();
    let name: String = db
        .query_row("SELECT name FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "ada");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_database_that_is_not_defined_stops_the_app() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"{}\"\nsqlite_databases = [\"missing\"]\n",
            spin_hosts_wasm().display()
        ),
    );
    let out = wxrun().arg("check").arg(&manifest).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(r#"component "c" uses SQLite database "missing", which is not defined"#),
        "{err}"
    );
}
