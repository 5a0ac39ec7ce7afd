//! Spin SQLite 2.0.0, 3.0.0 and Spin 4's 3.1.0 from spin-sdk guests: Spin's default
//! database file with no runtime config, a `[sqlite_database.<label>]` file,
//! and Spin's error values for ungranted labels and failing statements.

use crate::support::*;

/// A statement on the guest's SQLite route (which names no connection string).
async fn sqlite(server: &Server, path: &str, statement: &str, params: &str) -> String {
    sql(server, path, "", params, statement).await
}

#[tokio::test(flavor = "multi_thread")]
async fn default_and_configured_databases_with_spins_error_values() {
    let tmp = tempfile::tempdir().unwrap();
    let other_db = tmp.path().join("data/other.db");
    let config = runtime_config(
        tmp.path(),
        &format!(
            "[sqlite_database.other]\ntype = \"spin\"\npath = \"{}\"\n",
            other_db.display()
        ),
    );
    let manifest = both_sdks_app(
        tmp.path(),
        &[
            ("granted", r#"sqlite_databases = ["default", "other"]"#),
            ("none", ""),
        ],
    );
    let server = serve_with_config(&manifest, &config, &[]).await;

    let create = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, note TEXT)";
    assert_eq!(
        sqlite(&server, "/granted/sql/v2/default", create, "").await,
        "ok:|"
    );
    let insert = "INSERT INTO t (name, score, note) VALUES (?, ?, ?)";
    assert_eq!(
        sqlite(&server, "/granted/sql/v3/default", insert, "t:ada,r:1.5,n").await,
        "ok:||changes=1|rowid=1"
    );
    assert_eq!(
        sqlite(
            &server,
            "/granted/sql/v2/default",
            "SELECT id, name, score, note FROM t WHERE id = ?",
            "i:1"
        )
        .await,
        "ok:id,name,score,note|1,'ada',1.5,NULL"
    );
    // Another label is another file.
    let r = sqlite(&server, "/granted/sql/v3/other", "SELECT name FROM t", "").await;
    assert!(r.starts_with("err:io(no such table: t"), "{r}");
    assert_eq!(
        sqlite(&server, "/granted/sql/v3/other", create, "").await,
        "ok:||changes=0|rowid=0"
    );
    assert!(other_db.is_file());

    assert_eq!(
        sqlite(&server, "/none/sql/v2/default", "SELECT 1", "").await,
        "err:access-denied"
    );
    assert_eq!(
        sqlite(&server, "/none/sql/v3/default", "SELECT 1", "").await,
        "err:access-denied"
    );
    assert_eq!(
        sqlite(&server, "/granted/sql/v3/nope", "SELECT 1", "").await,
        "err:access-denied"
    );
    let attach = format!("ATTACH DATABASE '{}' AS o", other_db.display());
    let r = sqlite(&server, "/granted/sql/v3/default", &attach, "").await;
    assert!(
        r.starts_with("err:io(") && r.contains("not authorized"),
        "{r}"
    );

    // Spin 4's `spin:sqlite@3.1.0` (`open-async`, `execute-async` with its
    // row stream, the async counts) on the same file.
    assert_eq!(
        sqlite(
            &server,
            "/granted4/sql/v3/default",
            "SELECT id, name, score, note FROM t",
            ""
        )
        .await,
        "ok:id,name,score,note|1,'ada',1.5,NULL|changes=0|rowid=0"
    );
    assert_eq!(
        sqlite(&server, "/granted4/sql/v3/default", insert, "t:bob,i:2,t:x").await,
        "ok:||changes=1|rowid=2"
    );
    let count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) \
        SELECT x FROM c";
    let numbers: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    assert_eq!(
        sqlite(&server, "/granted4/sql/v3/default", count, "").await,
        format!("ok:x|{}|changes=0|rowid=0", numbers.join(";"))
    );
    assert_eq!(
        sqlite(&server, "/none4/sql/v3/default", "SELECT 1", "").await,
        "err:access-denied"
    );
    assert_eq!(
        sqlite(&server, "/granted4/sql/v3/nope", "SELECT 1", "").await,
        "err:access-denied"
    );
    let r = sqlite(&server, "/granted4/sql/v3/default", &attach, "").await;
    assert!(
        r.starts_with("err:io(") && r.contains("not authorized"),
        "{r}"
    );
    let r = sqlite(
        &server,
        "/granted4/sql/v3/default",
        "SELECT nope FROM t",
        "",
    )
    .await;
    assert!(r.starts_with("err:io(no such column: nope"), "{r}");

    // Spin's default database file, beside the app.
    let db = rusqlite::Connection::open(tmp.path().join(".spin/sqlite_db.db")).unwrap();
    let name: String = db
        .query_row("SELECT name FROM t WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "bob");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_database_that_is_not_defined_stops_the_app() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = spin_hosts_app(tmp.path(), &[("c", r#"sqlite_databases = ["missing"]"#)]);
    let out = wxrun().arg("check").arg(&manifest).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(r#"component "c" uses SQLite database "missing", which is not defined"#),
        "{err}"
    );
}
