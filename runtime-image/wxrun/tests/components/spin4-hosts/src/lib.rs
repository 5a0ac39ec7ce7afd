//! Test app for wxrun's Spin 4 host interfaces: the routes and answers of
//! `spin-hosts` (`ok:<result>` or `err:<Spin error variant>`), each calling
//! Spin's async interface instead of its Spin 2/3 one, so the same tests
//! assert both.
//!
//! Routes (`spin-path-info`, the part after the component's route):
//!   /kv/<store>/<op>/<key>   spin:key-value@3.0.0: get, set (body), delete,
//!                            exists, keys (`-`: every key, streamed)
//!   /redis/<host:port>/<op>/<key>  spin:redis@3.0.0 at redis://host:port:
//!                            set (body), get, incr, del, sadd/srem (body: a,b),
//!                            smembers, exec (key: command, body: args)
//!   /mqtt/<host:port>/<qos 0|1|2>/<topic>  spin:mqtt@3.0.0: publishes the body
//!                            to mqtt://host:port?client_id=spin-hosts
//!   /sql/v3/<db>             spin:sqlite@3.1.0 (`open-async`, `execute-async`
//!                            with its row stream): the body as SQL with the
//!                            `x-params` header's values (`i:1,r:1.5,t:x,n`)
//!   /pg/v4/<execute|query>   spin:postgres@4.2.0 (`open-async`, `query-async`,
//!                            `execute-async`) against the `x-db` connection
//!                            string; /pg/builder/<op> opens through
//!                            `connection-builder.build-async` instead, with
//!                            the `x-ca` header (if any) as its CA root
//!   /mysql/<execute|query>   spin:mysql@3.0.0
//!   /var/<name>              spin:variables@3.0.0 (async `get`)

#[path = "../../shared/text.rs"]
#[macro_use]
mod text;
use text::{kinds, show};

use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let path = header(&req, "spin-path-info");
    let path = if path.is_empty() {
        req.uri().path().to_string()
    } else {
        path
    };
    let parts: Vec<String> = path
        .trim_start_matches('/')
        .splitn(4, '/')
        .map(str::to_string)
        .collect();
    let params = params(&req);
    let db = header(&req, "x-db");
    let ca = header(&req, "x-ca");
    let body = body(req).await;
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let out = match parts.as_slice() {
        ["kv", store, op, key] => kv(store, op, key, body).await,
        ["redis", addr, op, key] => redis(addr, op, key, &body).await,
        ["mqtt", addr, qos, topic] => mqtt(addr, qos, topic, body).await,
        ["sql", "v3", db] => sql(db, &body, &params).await,
        ["pg", how, op] => {
            let sql = String::from_utf8_lossy(&body);
            pg(how, op, (&db, &ca), &sql, &kinds(&params)).await
        }
        ["mysql", op] => mysql(op, &db, &String::from_utf8_lossy(&body), &kinds(&params)).await,
        ["var", name] => spin_sdk::variables::get(*name).await.map_err(|e| show(&e)),
        _ => return (StatusCode::NOT_FOUND, format!("no route {path}")).into_response(),
    };
    let text = match out {
        Ok(v) => format!("ok:{v}"),
        Err(e) => format!("err:{e}"),
    };
    (StatusCode::OK, text).into_response()
}

async fn body(req: Request) -> Vec<u8> {
    use spin_sdk::http::body::IncomingBodyExt;
    req.into_body()
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

fn header(req: &Request, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The `x-params` header, comma-separated.
fn params(req: &Request) -> Vec<String> {
    let text = header(req, "x-params");
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(str::to_string).collect()
}

/// A unit error case as its WIT name (`AccessDenied` is `access-denied`).
fn kebab(x: &impl std::fmt::Debug) -> String {
    let name = show(x);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

async fn kv(label: &str, op: &str, key: &str, body: Vec<u8>) -> Result<String, String> {
    use spin_sdk::key_value::{Error, Store};
    let fail = |e: Error| match e {
        Error::Other(m) => format!("other({m})"),
        e => kebab(&e),
    };
    let store = Store::open(label).await.map_err(fail)?;
    match op {
        "get" => Ok(match store.get(key).await.map_err(fail)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "none".into(),
        }),
        "set" => store
            .set(key, &body)
            .await
            .map(|()| "set".into())
            .map_err(fail),
        "delete" => store
            .delete(key)
            .await
            .map(|()| "deleted".into())
            .map_err(fail),
        "exists" => store.exists(key).await.map(|b| b.to_string()).map_err(fail),
        "keys" => {
            let mut keys = store.get_keys().await.collect().await.map_err(fail)?;
            keys.sort();
            Ok(keys.join(","))
        }
        other => Err(format!("unknown op {other}")),
    }
}

async fn sql(db: &str, sql: &[u8], params: &[String]) -> Result<String, String> {
    use spin_sdk::sqlite::{Connection, Error, Value};
    let fail = |e: Error| match e {
        Error::Io(m) => format!("io({m})"),
        e => kebab(&e),
    };
    let conn = Connection::open(db).await.map_err(fail)?;
    let values: Vec<Value> = params
        .iter()
        .map(|p| match p.split_once(':') {
            Some(("i", v)) => Value::Integer(v.parse().unwrap()),
            Some(("r", v)) => Value::Real(v.parse().unwrap()),
            Some(("t", v)) => Value::Text(v.to_string()),
            _ => Value::Null,
        })
        .collect();
    let result = conn
        .execute(String::from_utf8_lossy(sql), values)
        .await
        .map_err(fail)?;
    let columns = result.columns().join(",");
    let rows = result.collect().await.map_err(fail)?;
    let show = |v: &Value| match v {
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => format!("{r:?}"),
        Value::Text(t) => format!("'{t}'"),
        Value::Blob(b) => format!("blob{}", b.len()),
        Value::Null => "NULL".to_string(),
    };
    let rows: Vec<String> = rows
        .iter()
        .map(|r| r.values.iter().map(show).collect::<Vec<_>>().join(","))
        .collect();
    Ok(format!(
        "{columns}|{}|changes={}|rowid={}",
        rows.join(";"),
        conn.changes().await,
        conn.last_insert_rowid().await
    ))
}

async fn redis(addr: &str, op: &str, key: &str, body: &[u8]) -> Result<String, String> {
    use spin_sdk::redis::{Connection, Error, RedisParameter, RedisResult};
    let fail = |e: Error| match e {
        Error::Other(m) => format!("other({m})"),
        e => kebab(&e),
    };
    let conn = Connection::open(format!("redis://{addr}"))
        .await
        .map_err(fail)?;
    let text = String::from_utf8_lossy(body).into_owned();
    let list = || text.split(',').map(str::to_string).collect::<Vec<_>>();
    match op {
        "set" => conn
            .set(key, body)
            .await
            .map(|()| "set".into())
            .map_err(fail),
        "get" => Ok(match conn.get(key).await.map_err(fail)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "none".into(),
        }),
        "incr" => conn.incr(key).await.map(|n| n.to_string()).map_err(fail),
        "del" => conn.del([key]).await.map(|n| n.to_string()).map_err(fail),
        "sadd" => conn
            .sadd(key, list())
            .await
            .map(|n| n.to_string())
            .map_err(fail),
        "srem" => conn
            .srem(key, list())
            .await
            .map(|n| n.to_string())
            .map_err(fail),
        "smembers" => {
            let mut m = conn.smembers(key).await.map_err(fail)?;
            m.sort();
            Ok(m.join(","))
        }
        "exec" => {
            let args = redis_args!(RedisParameter, text);
            let results = conn.execute(key, args).await.map_err(fail)?;
            Ok(redis_results!(RedisResult, results))
        }
        other => Err(format!("unknown op {other}")),
    }
}

async fn mqtt(addr: &str, qos: &str, topic: &str, payload: Vec<u8>) -> Result<String, String> {
    use spin_sdk::mqtt::{Connection, Error, Qos};
    let fail = |e: Error| match e {
        Error::ConnectionFailed(m) => format!("connection-failed({m})"),
        Error::Other(m) => format!("other({m})"),
        e => kebab(&e),
    };
    let qos = match qos {
        "0" => Qos::AtMostOnce,
        "1" => Qos::AtLeastOnce,
        _ => Qos::ExactlyOnce,
    };
    let address = format!("mqtt://{addr}?client_id=spin-hosts");
    let conn = Connection::open(&address, "", "", 30).await.map_err(fail)?;
    conn.publish(topic, payload, qos).await.map_err(fail)?;
    Ok("published".into())
}

fn unknown<P>(kind: &str) -> P {
    panic!("unknown parameter kind {kind}")
}

/// A relational query's answer (PostgreSQL's or MySQL's `QueryResult`):
/// `name:type,..|value,..;..`, the rows read from the stream, then its end.
macro_rules! rendered {
    ($result:expr) => {{
        let result = $result;
        let columns: Vec<String> = result
            .columns()
            .iter()
            .map(|c| format!("{}:{}", c.name, show(&c.data_type)))
            .collect();
        let (_, mut rows, done) = result.into_inner();
        let mut shown = Vec::new();
        while let Some(row) = rows.next().await {
            shown.push(row.iter().map(show).collect::<Vec<_>>().join(","));
        }
        done.await.map_err(|e| show(&e))?;
        Ok(format!("{}|{}", columns.join(","), shown.join(";")))
    }};
}

async fn pg(
    how: &str,
    op: &str,
    (db, ca): (&str, &str),
    sql: &str,
    list: &[(String, String)],
) -> Result<String, String> {
    use spin_sdk::pg::{
        Certificate, Connection, Error, Interval, OpenOptions, ParameterValue as P,
        RangeBoundKind as B,
    };
    let fail = |e: Error| match e {
        Error::PgError(e) => show(&e),
        e => e.to_string(),
    };
    let conn = match how {
        "builder" => {
            let ca_root = (!ca.is_empty()).then(|| Certificate::Text(ca.to_string()));
            Connection::open_with_options(db, OpenOptions { ca_root }).await
        }
        _ => Connection::open(db).await,
    }
    .map_err(fail)?;
    let params: Vec<P> = list
        .iter()
        .map(|(k, v)| {
            let n: Vec<i64> = v.split('-').filter_map(|x| x.parse().ok()).collect();
            match k.as_str() {
                "b" => P::Boolean(v == "true"),
                "i8" => P::Int8(v.parse().unwrap()),
                "i16" => P::Int16(v.parse().unwrap()),
                "i32" => P::Int32(v.parse().unwrap()),
                "i64" => P::Int64(v.parse().unwrap()),
                "f32" => P::Floating32(v.parse().unwrap()),
                "f64" => P::Floating64(v.parse().unwrap()),
                "t" => P::Str(v.clone()),
                "x" => P::Binary(v.as_bytes().to_vec()),
                "n" => P::DbNull,
                "date" => P::Date((n[0] as i32, n[1] as u8, n[2] as u8)),
                "time" => P::Time((n[0] as u8, n[1] as u8, n[2] as u8, 0)),
                "datetime" => P::Datetime((
                    n[0] as i32,
                    n[1] as u8,
                    n[2] as u8,
                    n[3] as u8,
                    n[4] as u8,
                    n[5] as u8,
                    0,
                )),
                "ts" => P::Timestamp(v.parse().unwrap()),
                "uuid" => P::Uuid(v.clone()),
                "json" => P::Jsonb(v.as_bytes().to_vec()),
                "dec" => P::Decimal(v.clone()),
                "r32" => P::RangeInt32((
                    Some((n[0] as i32, B::Inclusive)),
                    Some((n[1] as i32, B::Exclusive)),
                )),
                "astr" => P::ArrayStr(v.split(';').map(|s| Some(s.to_string())).collect()),
                "iv" => P::Interval(Interval {
                    micros: n[0],
                    days: n[1] as i32,
                    months: n[2] as i32,
                }),
                k => unknown(k),
            }
        })
        .collect();
    if op == "execute" {
        return conn
            .execute(sql, params)
            .await
            .map(|n| format!("{n:?}"))
            .map_err(fail);
    }
    rendered!(conn.query(sql, params).await.map_err(fail)?)
}

async fn mysql(op: &str, db: &str, sql: &str, list: &[(String, String)]) -> Result<String, String> {
    use spin_sdk::mysql::{Connection, Error, ParameterValue as P};
    let fail = |e: Error| match e {
        Error::MysqlError(e) => show(&e),
        e => e.to_string(),
    };
    let conn = Connection::open(db).await.map_err(fail)?;
    let params: Vec<P> = list
        .iter()
        .map(|(k, v)| match k.as_str() {
            "b" => P::Boolean(v == "true"),
            "i8" => P::Int8(v.parse().unwrap()),
            "i16" => P::Int16(v.parse().unwrap()),
            "i32" => P::Int32(v.parse().unwrap()),
            "i64" => P::Int64(v.parse().unwrap()),
            "u8" => P::Uint8(v.parse().unwrap()),
            "u16" => P::Uint16(v.parse().unwrap()),
            "u32" => P::Uint32(v.parse().unwrap()),
            "u64" => P::Uint64(v.parse().unwrap()),
            "f32" => P::Floating32(v.parse().unwrap()),
            "f64" => P::Floating64(v.parse().unwrap()),
            "t" => P::Str(v.clone()),
            "x" => P::Binary(v.as_bytes().to_vec()),
            "n" => P::DbNull,
            k => unknown(k),
        })
        .collect();
    if op == "execute" {
        return conn
            .execute(sql, params)
            .await
            .map(|()| "()".to_string())
            .map_err(fail);
    }
    rendered!(conn.query(sql, params).await.map_err(fail)?)
}
