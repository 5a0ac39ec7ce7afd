//! Outbound MySQL (`fermyon:spin/mysql@2.0.0`, Spin 4's `spin:mysql@3.0.0`)
//! from spin-sdk guests
//! against a real MariaDB: Spin's column type mapping, parameters, and
//! Spin's error values for statements, unconvertible columns, denied
//! addresses and unreachable servers.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn mysql_maps_values_and_errors_as_spin_does() {
    let maria = MariaDb::start().await;
    let (server, closed, _app) = client_server("mysql", maria.port).await;
    let db = maria.url();
    let execute = "/allowed/mysql/execute";

    let table = "CREATE TABLE t (id INT PRIMARY KEY, tiny TINYINT, small SMALLINT UNSIGNED, \
        big BIGINT, f FLOAT, d DOUBLE, s VARCHAR(20), txt TEXT, bin VARBINARY(10), blb BLOB, \
        n INT NULL, price DECIMAL(5,2))";
    assert_eq!(sql(&server, execute, &db, "", table).await, "ok:()");
    let insert = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let row = "i32:1,i8:-5,u16:65535,i64:-9000000000,f32:1.5,f64:2.25,t:hello,t:long text,\
        x:AB,x:CD,n,t:1.25";
    assert_eq!(sql(&server, execute, &db, row, insert).await, "ok:()");

    // Spin 2's `fermyon:spin/mysql@2.0.0`, then Spin 4's async
    // `spin:mysql@3.0.0` (rows streamed): the same answers.
    for (c, denied) in [("allowed", "denied"), ("allowed4", "denied4")] {
        let (execute, query) = (&format!("/{c}/mysql/execute"), &format!("/{c}/mysql/query"));
        assert_eq!(
            sql(
                &server,
                query,
                &db,
                "",
                "SELECT id, tiny, small, big, f, d, s, txt, bin, blb, n FROM t"
            )
            .await,
            "ok:id:Int32,tiny:Int8,small:Uint16,big:Int64,f:Floating32,d:Floating64,s:Str,txt:Str,\
             bin:Binary,blb:Binary,n:Int32|Int32(1),Int8(-5),Uint16(65535),Int64(-9000000000),\
             Floating32(1.5),Floating64(2.25),Str(\"hello\"),Str(\"long text\"),Binary([65, 66]),\
             Binary([67, 68]),DbNull"
        );
        assert_eq!(
            sql(&server, query, &db, "u32:1", "SELECT s FROM t WHERE id = ?").await,
            "ok:s:Str|Str(\"hello\")"
        );

        // Errors are values: a column type Spin cannot convert, a statement the
        // server refuses.
        let r = sql(&server, query, &db, "", "SELECT price FROM t").await;
        assert!(
            r.starts_with("err:ValueConversionFailed(\"Cannot convert value ")
                && r.contains("price"),
            "{r}"
        );
        let r = sql(&server, execute, &db, row, insert).await;
        assert!(
            r.starts_with("err:QueryFailed(") && r.contains("Duplicate entry"),
            "{r}"
        );

        // Denied: the host name and the default port are other rules.
        assert_eq!(
            sql(
                &server,
                &format!("/{denied}/mysql/query"),
                &db,
                "",
                "SELECT 1"
            )
            .await,
            format!("err:ConnectionFailed(\"address {db} is not permitted\")")
        );
        // Allowed, but nothing listens there.
        let unreachable = format!("mysql://root@127.0.0.1:{closed}/app");
        let r = sql(&server, query, &unreachable, "", "SELECT 1").await;
        assert!(r.starts_with("err:ConnectionFailed("), "{r}");
    }
}
