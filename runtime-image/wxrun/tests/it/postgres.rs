//! Outbound PostgreSQL from spin-sdk guests against a real PostgreSQL:
//! Spin 4's `spin:postgres/postgres@4.2.0` (rows streamed, a connection
//! builder), `@4.0.0`, `@3.0.0` and `fermyon:spin/postgres@2.0.0`
//! on one table, Spin's value and type mapping, parameters, and Spin's error
//! values for statements, parameters, denied addresses and unreachable
//! servers.

use crate::support::*;

const TABLE: &str = "CREATE TABLE t (id int4 PRIMARY KEY, f float8, r real, s text, \
    b bool, data bytea, n int8, d date, tm time, ts timestamp, tz timestamptz, u uuid, \
    j jsonb, dec numeric, rng int4range, arr text[], iv interval, other inet)";

const INSERT: &str = "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
    $12, $13, $14, $15, $16, $17, '10.0.0.1')";

const ROW: &str = "i32:1,f64:1.5,f32:2.5,t:hello,b:true,x:AB,n,date:2024-01-31,\
    time:12-34-56,datetime:2024-01-31-12-34-56,ts:86400,\
    uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,json:{\"a\":1},dec:12.345,r32:1-10,astr:a;b,\
    iv:1000000-2-3";

/// 4.0.0's reads of the row: every case of the interface, and
/// `unsupported` with the raw bytes.
const READS: [(&str, &str); 3] = [
    (
        "id, f, r, s, b, data, n",
        "ok:id:Int32,f:Floating64,r:Floating32,s:Str,b:Boolean,data:Binary,n:Int64|\
         Int32(1),Floating64(1.5),Floating32(2.5),Str(\"hello\"),Boolean(true),Binary([65, 66]),DbNull",
    ),
    (
        "d, tm, ts, tz",
        "ok:d:Date,tm:Time,ts:Datetime,tz:Datetime|Date((2024, 1, 31)),Time((12, 34, 56, 0)),\
         Datetime((2024, 1, 31, 12, 34, 56, 0)),Datetime((1970, 1, 2, 0, 0, 0, 0))",
    ),
    (
        "u, j, dec, rng, arr, iv, other",
        "ok:u:Uuid,j:Jsonb,dec:Decimal,rng:RangeInt32,arr:ArrayStr,iv:Interval,other:Other(\"inet\")|\
         Uuid(\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"),Jsonb([123, 34, 97, 34, 58, 49, 125]),\
         Decimal(\"12.345\"),RangeInt32((Some((1, Inclusive)), Some((10, Exclusive)))),\
         ArrayStr([Some(\"a\"), Some(\"b\")]),Interval(Interval { micros: 1000000, days: 2, months: 3 }),\
         Unsupported([2, 32, 0, 4, 10, 0, 0, 1])",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn postgres_versions_map_values_and_errors_as_spin_does() {
    let pg = Postgres::start().await;
    let (server, closed, _app) = client_server("postgres", pg.port).await;
    let db = pg.url();
    let v4 = |op: &str| format!("/allowed/pg/v4/{op}");

    assert_eq!(sql(&server, &v4("execute"), &db, "", TABLE).await, "ok:0");
    assert_eq!(sql(&server, &v4("execute"), &db, ROW, INSERT).await, "ok:1");

    let select = async |cols: &str| {
        let statement = format!("SELECT {cols} FROM t");
        sql(&server, &v4("query"), &db, "", &statement).await
    };
    for (columns, expected) in READS {
        assert_eq!(select(columns).await, expected);
    }
    // A parameter in a query; no rows means no columns either (Spin).
    assert_eq!(
        sql(
            &server,
            &v4("query"),
            &db,
            "i32:1",
            "SELECT s FROM t WHERE id = $1"
        )
        .await,
        "ok:s:Str|Str(\"hello\")"
    );
    assert_eq!(
        sql(
            &server,
            &v4("query"),
            &db,
            "",
            "SELECT id FROM t WHERE false"
        )
        .await,
        "ok:|"
    );
    // Without sslmode: TLS is tried (rustls) and the server declines it.
    assert_eq!(
        sql(
            &server,
            &v4("query"),
            &pg.url_prefer_tls(),
            "",
            "SELECT 1::int8 AS one"
        )
        .await,
        "ok:one:Int64|Int64(1)"
    );

    // 3.0.0 and 2.0.0 see the same row narrowed to their cases.
    assert_eq!(
        sql(
            &server,
            "/allowed/pg/v3/query",
            &db,
            "",
            "SELECT id, d, u, tz FROM t"
        )
        .await,
        "ok:id:Int32,d:Date,u:Other,tz:Datetime|Int32(1),Date((2024, 1, 31)),Unsupported,\
         Datetime((1970, 1, 2, 0, 0, 0, 0))"
    );
    assert_eq!(
        sql(
            &server,
            "/allowed/pg/v2/query",
            &db,
            "",
            "SELECT id, s, d FROM t"
        )
        .await,
        "ok:id:Int32,s:Str,d:Other|Int32(1),Str(\"hello\"),Unsupported"
    );
    assert_eq!(
        sql(
            &server,
            "/allowed/pg/v2/execute",
            &db,
            "t:bye,i32:1",
            "UPDATE t SET s = $1 WHERE id = $2"
        )
        .await,
        "ok:1"
    );
    assert_eq!(
        sql(
            &server,
            "/allowed/pg/v3/query",
            &db,
            "date:2024-01-31",
            "SELECT s FROM t WHERE d = $1"
        )
        .await,
        "ok:s:Str|Str(\"bye\")"
    );

    // Errors are values: a statement the server refuses, with its report
    // in 4.0.0 and as text before; parameters PostgreSQL cannot take.
    let r = sql(&server, &v4("execute"), &db, ROW, INSERT).await;
    assert!(
        r.starts_with("err:QueryFailed(DbError(DbError { as-text: "),
        "{r}"
    );
    assert!(r.contains("code: \"23505\""), "{r}");
    assert!(r.contains("severity: \"ERROR\""), "{r}");
    let r = sql(
        &server,
        "/allowed/pg/v3/execute",
        &db,
        "i32:1",
        "INSERT INTO t (id) VALUES ($1)",
    )
    .await;
    assert!(
        r.starts_with("err:QueryFailed(\"") && r.contains("23505"),
        "{r}"
    );
    assert_eq!(
        sql(&server, "/allowed/pg/v2/query", &db, "u8:1", "SELECT $1").await,
        "err:ValueConversionFailed(\"Postgres does not support unsigned integers\")"
    );
    assert_eq!(
        sql(
            &server,
            &v4("execute"),
            &db,
            "date:2024-13-01",
            "SELECT $1::date"
        )
        .await,
        "err:ValueConversionFailed(\"invalid date y=2024, m=13, d=1\")"
    );
    assert_eq!(
        sql(
            &server,
            &v4("query"),
            &db,
            "date:2024-13-01",
            "SELECT $1::date"
        )
        .await,
        "err:BadParameter(\"invalid date y=2024, m=13, d=1\")"
    );

    // Denied addresses: the host name and the default port are other rules.
    for version in ["v2", "v3", "v4"] {
        assert_eq!(
            sql(
                &server,
                &format!("/denied/pg/{version}/query"),
                &db,
                "",
                "SELECT 1"
            )
            .await,
            format!(
                "err:ConnectionFailed(\"address postgres://127.0.0.1:{} is not permitted\")",
                pg.port
            )
        );
    }
    // Allowed, but nothing listens there.
    let unreachable = format!("host=127.0.0.1 port={closed} user=postgres sslmode=disable");
    let r = sql(&server, &v4("query"), &unreachable, "", "SELECT 1").await;
    assert!(r.starts_with("err:ConnectionFailed("), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_4_2_streams_rows_and_opens_through_a_builder() {
    let pg = Postgres::start().await;
    let (server, closed, _app) = client_server("postgres", pg.port).await;
    let db = pg.url();
    // Spin 4's guest: `open-async` (v4) or `connection-builder.build-async`
    // (builder), then `execute-async` and `query-async` with its row stream.
    let at = |open: &str, op: &str| format!("/allowed4/pg/{open}/{op}");
    assert_eq!(
        sql(&server, &at("v4", "execute"), &db, "", TABLE).await,
        "ok:0"
    );
    assert_eq!(
        sql(&server, &at("builder", "execute"), &db, ROW, INSERT).await,
        "ok:1"
    );
    for open in ["v4", "builder"] {
        for (columns, expected) in READS {
            let statement = format!("SELECT {columns} FROM t");
            assert_eq!(
                sql(&server, &at(open, "query"), &db, "", &statement).await,
                expected
            );
        }
    }
    // The columns come before any row, so a query without rows still has them.
    let none = "SELECT id FROM t WHERE false";
    assert_eq!(
        sql(&server, &at("v4", "query"), &db, "", none).await,
        "ok:id:Int32|"
    );
    // More rows than the host keeps ahead of the guest.
    let series = "SELECT g FROM generate_series(1, 300) g";
    let rows: Vec<String> = (1..=300).map(|i| format!("Int32({i})")).collect();
    assert_eq!(
        sql(&server, &at("v4", "query"), &db, "", series).await,
        format!("ok:g:Int32|{}", rows.join(";"))
    );
    // A failure after rows have been sent ends the stream and fills the
    // future with the server's report.
    let late = "SELECT 1 / (150 - g) AS q FROM generate_series(1, 300) g";
    let r = sql(&server, &at("v4", "query"), &db, "", late).await;
    assert!(
        r.starts_with("err:QueryFailed(DbError(DbError { as-text: "),
        "{r}"
    );
    assert!(r.contains("code: \"22012\""), "{r}");

    // Errors are values, as in 4.0.0.
    let r = sql(&server, &at("v4", "execute"), &db, ROW, INSERT).await;
    assert!(
        r.starts_with("err:QueryFailed(DbError(") && r.contains("23505"),
        "{r}"
    );
    assert_eq!(
        sql(
            &server,
            &at("v4", "query"),
            &db,
            "date:2024-13-01",
            "SELECT $1::date"
        )
        .await,
        "err:BadParameter(\"invalid date y=2024, m=13, d=1\")"
    );
    let denied = format!(
        "err:ConnectionFailed(\"address postgres://127.0.0.1:{} is not permitted\")",
        pg.port
    );
    for open in ["v4", "builder"] {
        let path = format!("/denied4/pg/{open}/query");
        assert_eq!(sql(&server, &path, &db, "", "SELECT 1").await, denied);
    }
    let unreachable = format!("host=127.0.0.1 port={closed} user=postgres sslmode=disable");
    let r = sql(
        &server,
        &at("builder", "query"),
        &unreachable,
        "",
        "SELECT 1",
    )
    .await;
    assert!(r.starts_with("err:ConnectionFailed("), "{r}");
    // A CA root that is not PEM is refused by `set-ca-root`, as Spin does.
    let reply = send_with_headers(
        http::Method::POST,
        &server.url(&at("builder", "query")),
        &[("x-db", &db), ("x-ca", "not a certificate")],
        bytes::Bytes::from("SELECT 1"),
    )
    .await
    .unwrap();
    assert!(
        reply
            .body
            .starts_with("err:Other(\"invalid root certificate: "),
        "{}",
        reply.body
    );
}
