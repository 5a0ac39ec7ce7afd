//! Test app for wxrun's Spin host interfaces: each route calls one interface
//! and answers `ok:<result>` or `err:<Spin error variant>`, so the tests can
//! assert the exact error value a guest sees.
//!
//! Routes (`spin-path-info`, the part after the component's route):
//!   /llm/<model>/<op>        fermyon:spin/llm@2.0.0: infer (body: prompt), tuned
//!                            (the same with max-tokens 7, temperature 0.25), embed
//!                            (body: one text per line); `text|prompt|generated` or
//!                            `embeddings|prompt`
//!   /absent                  `wxrun:test/absent@1.0.0#ping`, which no runtime implements
//!   /tcp/<addr>              TCP connect (wasi:sockets) and write "ping"
//!   /udp/<addr>              UDP send of "ping"
//!   /lookup/<name>           name lookup (wasi:sockets/ip-name-lookup)
//!   /wkv/<store>/<op>/<key>  wasi:keyvalue store + batch + atomics (incr: body = delta;
//!                            cas: read then swap in the body; casrace: a swap that loses
//!                            to a write, then wins with the cas it got back): the /kv ops (keys: the
//!                            key is the cursor, `-` for none), getmany and
//!                            deletemany (key: a,b), setmany (body: a=1,b=2)
//!   /config/<key>            wasi:config/store get; `-` for get-all
//!   /kv/<store>/get/<key>    fermyon:spin/key-value@2.0.0; also set (body),
//!   /kv/<store>/delete/<key>, /kv/<store>/exists/<key>, /kv/<store>/keys/-
//!   /redis/<host:port>/<op>/<key>  fermyon:spin/redis@2.0.0 at redis://host:port:
//!                            set (body), get, incr, del, sadd/srem (body: a,b),
//!                            smembers, exec (key: command, body: args)
//!   /mqtt/<host:port>/<qos 0|1|2>/<topic>  fermyon:spin/mqtt@2.0.0: publishes
//!                            the body to mqtt://host:port?client_id=spin-hosts
//!   /sql/v2/<db>, /sql/v3/<db>   SQLite 2.0.0 / 3.0.0: runs the body as SQL with
//!                            the `x-params` header's values (`i:1,r:1.5,t:x,n`)
//!   /pg/<v2|v3|v4>/<execute|query>  fermyon:spin/postgres@2.0.0, spin:postgres 3.0.0
//!                            or 4.0.0 against the `x-db` connection string: the
//!                            body as SQL, `x-params` (`kind:text`, comma-separated,
//!                            see `rdbms_params!`); answers the count or
//!                            `name:type,..|value,..;..` in the SDK's Debug forms
//!   /mysql/<execute|query>   fermyon:spin/mysql@2.0.0, the same way

#[path = "../../shared/text.rs"]
#[macro_use]
mod text;
use text::{kinds, show};

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use std::io::Write;

#[http_component]
fn handle(req: Request) -> Response {
    // The path below the component's route, so one build serves under any
    // route prefix.
    let path = req
        .header("spin-path-info")
        .and_then(|v| v.as_str())
        .unwrap_or(req.path())
        .to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
    let body = req.body().to_vec();
    let out = match parts.as_slice() {
        ["wkv", store, op, key] => wasi_kv(store, op, key, body),
        ["config", key] => config(key),
        ["kv", store, op, key] => kv(store, op, key, body),
        ["redis", addr, op, key] => redis(addr, op, key, &body),
        ["mqtt", addr, qos, topic] => mqtt(addr, qos, topic, &body),
        ["sql", "v2", db] => sql_v2(db, &body, params(&req)),
        ["sql", "v3", db] => sql_v3(db, &body, params(&req)),
        ["pg", version, op] => {
            let db = header(&req, "x-db");
            let sql = String::from_utf8_lossy(&body);
            let list = kinds(&params(&req));
            match *version {
                "v2" => pg_v2(op, &db, &sql, &list),
                "v3" => pg_v3(op, &db, &sql, &list),
                _ => pg_v4(op, &db, &sql, &list),
            }
        }
        ["mysql", op] => mysql_v2(
            op,
            &header(&req, "x-db"),
            &String::from_utf8_lossy(&body),
            &kinds(&params(&req)),
        ),
        ["llm", model, op] => llm(model, op, &body),
        ["absent"] => Ok(absent::wxrun::test::absent::ping().to_string()),
        ["tcp", addr] => tcp(addr),
        ["udp", addr] => udp(addr),
        ["lookup", name] => lookup(name),
        _ => return Response::new(404, format!("no route {path}")),
    };
    let text = match out {
        Ok(v) => format!("ok:{v}"),
        Err(e) => format!("err:{e}"),
    };
    Response::new(200, text)
}

/// An interface no runtime implements, for the tests of wxrun's traps.
mod absent {
    spin_sdk::wit_bindgen::generate!({
        inline: "package wxrun:test@1.0.0;\ninterface absent { ping: func() -> u32; }\nworld w { import absent; }",
        runtime_path: "spin_sdk::wit_bindgen::rt",
    });
}

fn llm(name: &str, op: &str, body: &[u8]) -> Result<String, String> {
    use spin_sdk::llm::{self, EmbeddingModel, InferencingModel, InferencingParams};
    let text = String::from_utf8_lossy(body).into_owned();
    let model = InferencingModel::Other(name);
    let inferred = match op {
        "infer" => llm::infer(model, &text),
        "tuned" => {
            let params = InferencingParams {
                max_tokens: 7,
                temperature: 0.25,
                ..Default::default()
            };
            llm::infer_with_options(model, &text, params)
        }
        "embed" => {
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            let done = llm::generate_embeddings(EmbeddingModel::Other(name), &lines)
                .map_err(|e| show(&e))?;
            return Ok(format!(
                "{:?}|{}",
                done.embeddings, done.usage.prompt_token_count
            ));
        }
        other => return Err(format!("unknown op {other}")),
    };
    let done = inferred.map_err(|e| show(&e))?;
    let usage = done.usage;
    Ok(format!(
        "{}|{}|{}",
        done.text, usage.prompt_token_count, usage.generated_token_count
    ))
}

fn tcp(addr: &str) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{:?}", e.kind()))?;
    stream
        .write_all(b"ping")
        .map_err(|e| format!("{:?}", e.kind()))?;
    Ok("connected".into())
}

fn udp(addr: &str) -> Result<String, String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("{:?}", e.kind()))?;
    socket
        .send_to(b"ping", addr)
        .map_err(|e| format!("{:?}", e.kind()))?;
    Ok("sent".into())
}

fn lookup(name: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let addrs = (name, 0u16)
        .to_socket_addrs()
        .map_err(|e| format!("{:?}", e.kind()))?;
    let mut ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
    ips.sort();
    Ok(ips.join(","))
}

fn text(value: Option<Vec<u8>>) -> String {
    value
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_else(|| "none".into())
}

fn cas_fail(
    e: spin_sdk::wit::wasi::keyvalue::atomics::CasError,
    fail: &dyn Fn(spin_sdk::wit::wasi::keyvalue::store::Error) -> String,
) -> String {
    match e {
        spin_sdk::wit::wasi::keyvalue::atomics::CasError::StoreError(e) => fail(e),
        spin_sdk::wit::wasi::keyvalue::atomics::CasError::CasFailed(_) => "cas-failed".into(),
    }
}

fn wasi_kv(label: &str, op: &str, key: &str, body: Vec<u8>) -> Result<String, String> {
    use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store};
    let fail = |e: store::Error| match e {
        store::Error::NoSuchStore => "no-such-store".to_string(),
        store::Error::AccessDenied => "access-denied".to_string(),
        store::Error::Other(m) => format!("other({m})"),
    };
    let bucket = store::open(label).map_err(fail)?;
    let keys: Vec<String> = key.split(',').map(str::to_string).collect();
    match op {
        "get" => bucket.get(key).map(text).map_err(fail),
        "set" => bucket.set(key, &body).map(|()| "set".into()).map_err(fail),
        "delete" => bucket.delete(key).map(|()| "deleted".into()).map_err(fail),
        "exists" => bucket.exists(key).map(|b| b.to_string()).map_err(fail),
        "keys" => {
            let cursor = (key != "-").then_some(key);
            let mut listed = bucket.list_keys(cursor).map_err(fail)?;
            listed.keys.sort();
            Ok(format!("{}|{:?}", listed.keys.join(","), listed.cursor))
        }
        "getmany" => {
            let got = batch::get_many(&bucket, &keys).map_err(fail)?;
            let pairs: Vec<String> = got
                .into_iter()
                .map(|(k, v)| format!("{k}={}", text(v)))
                .collect();
            Ok(pairs.join(","))
        }
        "setmany" => {
            let pairs: Vec<(String, Vec<u8>)> = String::from_utf8_lossy(&body)
                .split(',')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect();
            batch::set_many(&bucket, &pairs)
                .map(|()| "set".into())
                .map_err(fail)
        }
        "deletemany" => batch::delete_many(&bucket, &keys)
            .map(|()| "deleted".into())
            .map_err(fail),
        "incr" => {
            let delta: i64 = String::from_utf8_lossy(&body)
                .parse()
                .map_err(|_| "delta".to_string())?;
            atomics::increment(&bucket, key, delta)
                .map(|n| n.to_string())
                .map_err(fail)
        }
        // Read, then swap in the body: `swapped:<what was read>`.
        "cas" => {
            let cas = atomics::Cas::new(&bucket, key).map_err(fail)?;
            let seen = text(cas.current().map_err(fail)?);
            atomics::swap(cas, &body).map_err(|e| cas_fail(e, &fail))?;
            Ok(format!("swapped:{seen}"))
        }
        // Read, let another write win, swap: cas-failed with a cas that has read the winner,
        // whose swap then goes through: `failed:<winner>`.
        "casrace" => {
            let cas = atomics::Cas::new(&bucket, key).map_err(fail)?;
            cas.current().map_err(fail)?;
            bucket.set(key, b"intruder").map_err(fail)?;
            match atomics::swap(cas, &body) {
                Ok(()) => Err("the swap won a lost race".into()),
                Err(atomics::CasError::CasFailed(again)) => {
                    let winner = text(again.current().map_err(fail)?);
                    atomics::swap(again, &body).map_err(|e| cas_fail(e, &fail))?;
                    Ok(format!("failed:{winner}"))
                }
                Err(atomics::CasError::StoreError(e)) => Err(fail(e)),
            }
        }
        other => Err(format!("unknown op {other}")),
    }
}

fn config(key: &str) -> Result<String, String> {
    use spin_sdk::wit::wasi::config::store;
    let fail = |e: store::Error| match e {
        store::Error::Upstream(m) => format!("upstream({m})"),
        store::Error::Io(m) => format!("io({m})"),
    };
    if key == "-" {
        let all = store::get_all().map_err(fail)?;
        let pairs: Vec<String> = all.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Ok(pairs.join(","));
    }
    Ok(store::get(key)
        .map_err(fail)?
        .unwrap_or_else(|| "none".into()))
}

fn kv(label: &str, op: &str, key: &str, body: Vec<u8>) -> Result<String, String> {
    use spin_sdk::key_value::Store;
    let store = Store::open(label).map_err(kv_error)?;
    match op {
        "get" => Ok(match store.get(key).map_err(kv_error)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "none".into(),
        }),
        "set" => store
            .set(key, &body)
            .map(|()| "set".into())
            .map_err(kv_error),
        "delete" => store
            .delete(key)
            .map(|()| "deleted".into())
            .map_err(kv_error),
        "exists" => store.exists(key).map(|b| b.to_string()).map_err(kv_error),
        "keys" => {
            let mut keys = store.get_keys().map_err(kv_error)?;
            keys.sort();
            Ok(keys.join(","))
        }
        other => Err(format!("unknown op {other}")),
    }
}

fn kv_error(e: spin_sdk::key_value::Error) -> String {
    use spin_sdk::key_value::Error;
    match e {
        Error::StoreTableFull => "store-table-full".into(),
        Error::NoSuchStore => "no-such-store".into(),
        Error::AccessDenied => "access-denied".into(),
        Error::Other(m) => format!("other({m})"),
    }
}

/// The `x-params` header as typed parameters: `i:<int>`, `r:<real>`,
/// `t:<text>`, `n` (null), comma-separated.
fn params(req: &Request) -> Vec<String> {
    req.header("x-params")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

/// The SQLite functions of one interface version (2.0.0 and 3.0.0 have the
/// same types in different modules).
macro_rules! sqlite_route {
    ($name:ident, $module:path, $extra:expr) => {
        fn $name(db: &str, sql: &[u8], params: Vec<String>) -> Result<String, String> {
            use $module as m;
            let fail = |e: m::Error| match e {
                m::Error::NoSuchDatabase => "no-such-database".to_string(),
                m::Error::AccessDenied => "access-denied".to_string(),
                m::Error::InvalidConnection => "invalid-connection".to_string(),
                m::Error::DatabaseFull => "database-full".to_string(),
                m::Error::Io(msg) => format!("io({msg})"),
            };
            let conn = m::Connection::open(db).map_err(fail)?;
            let values: Vec<m::Value> = params
                .iter()
                .map(|p| match p.split_once(':') {
                    Some(("i", v)) => m::Value::Integer(v.parse().unwrap()),
                    Some(("r", v)) => m::Value::Real(v.parse().unwrap()),
                    Some(("t", v)) => m::Value::Text(v.to_string()),
                    _ => m::Value::Null,
                })
                .collect();
            let sql = String::from_utf8_lossy(sql);
            let result = conn.execute(&sql, &values).map_err(fail)?;
            let show = |v: &m::Value| match v {
                m::Value::Integer(i) => i.to_string(),
                m::Value::Real(r) => format!("{r:?}"),
                m::Value::Text(t) => format!("'{t}'"),
                m::Value::Blob(b) => format!("blob{}", b.len()),
                m::Value::Null => "NULL".to_string(),
            };
            let rows: Vec<String> = result
                .rows
                .iter()
                .map(|r| r.values.iter().map(show).collect::<Vec<_>>().join(","))
                .collect();
            let extra: fn(&m::Connection) -> String = $extra;
            Ok(format!(
                "{}|{}{}",
                result.columns.join(","),
                rows.join(";"),
                extra(&conn)
            ))
        }
    };
}

sqlite_route!(sql_v2, spin_sdk::sqlite, |_| String::new());
sqlite_route!(sql_v3, spin_sdk::sqlite3, |c| format!(
    "|changes={}|rowid={}",
    c.changes(),
    c.last_insert_rowid()
));

fn redis(addr: &str, op: &str, key: &str, body: &[u8]) -> Result<String, String> {
    use spin_sdk::redis::{Connection, Error, RedisParameter, RedisResult};
    let fail = |e: Error| match e {
        Error::InvalidAddress => "invalid-address".to_string(),
        Error::TooManyConnections => "too-many-connections".to_string(),
        Error::TypeError => "type-error".to_string(),
        Error::Other(m) => format!("other({m})"),
    };
    let conn = Connection::open(&format!("redis://{addr}")).map_err(fail)?;
    let text = String::from_utf8_lossy(body).into_owned();
    let list = || text.split(',').map(str::to_string).collect::<Vec<_>>();
    match op {
        "set" => conn
            .set(key, &body.to_vec())
            .map(|()| "set".into())
            .map_err(fail),
        "get" => Ok(match conn.get(key).map_err(fail)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "none".into(),
        }),
        "incr" => conn.incr(key).map(|n| n.to_string()).map_err(fail),
        "del" => conn
            .del(&[key.to_string()])
            .map(|n| n.to_string())
            .map_err(fail),
        "sadd" => conn.sadd(key, &list()).map(|n| n.to_string()).map_err(fail),
        "srem" => conn.srem(key, &list()).map(|n| n.to_string()).map_err(fail),
        "smembers" => {
            let mut m = conn.smembers(key).map_err(fail)?;
            m.sort();
            Ok(m.join(","))
        }
        "exec" => {
            let args = redis_args!(RedisParameter, text);
            let results = conn.execute(key, &args).map_err(fail)?;
            Ok(redis_results!(RedisResult, results))
        }
        other => Err(format!("unknown op {other}")),
    }
}

fn mqtt(addr: &str, qos: &str, topic: &str, payload: &[u8]) -> Result<String, String> {
    use spin_sdk::mqtt::{Connection, Error, Qos};
    let fail = |e: Error| match e {
        Error::InvalidAddress => "invalid-address".to_string(),
        Error::TooManyConnections => "too-many-connections".to_string(),
        Error::ConnectionFailed(m) => format!("connection-failed({m})"),
        Error::Other(m) => format!("other({m})"),
    };
    let qos = match qos {
        "0" => Qos::AtMostOnce,
        "1" => Qos::AtLeastOnce,
        _ => Qos::ExactlyOnce,
    };
    let address = format!("mqtt://{addr}?client_id=spin-hosts");
    let conn = Connection::open(&address, "", "", 30).map_err(fail)?;
    conn.publish(topic, &payload.to_vec(), qos).map_err(fail)?;
    Ok("published".into())
}

fn header(req: &Request, name: &str) -> String {
    req.header(name)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The parameters every relational module has, as module `$m`'s type:
/// `b` bool, `i8`..`i64`, `f32`, `f64`, `t` text, `x` text as bytes, `n`
/// NULL; `$extra` maps the module's other kinds.
macro_rules! rdbms_params {
    ($m:path, $list:expr, $extra:expr) => {{
        use $m as m;
        let extra: fn(&str, &str) -> m::ParameterValue = $extra;
        $list
            .iter()
            .map(|(k, v)| match k.as_str() {
                "b" => m::ParameterValue::Boolean(v == "true"),
                "i8" => m::ParameterValue::Int8(v.parse().unwrap()),
                "i16" => m::ParameterValue::Int16(v.parse().unwrap()),
                "i32" => m::ParameterValue::Int32(v.parse().unwrap()),
                "i64" => m::ParameterValue::Int64(v.parse().unwrap()),
                "f32" => m::ParameterValue::Floating32(v.parse().unwrap()),
                "f64" => m::ParameterValue::Floating64(v.parse().unwrap()),
                "t" => m::ParameterValue::Str(v.clone()),
                "x" => m::ParameterValue::Binary(v.as_bytes().to_vec()),
                "n" => m::ParameterValue::DbNull,
                other => extra(other, v),
            })
            .collect::<Vec<_>>()
    }};
}

/// One relational interface's route: `execute` answers the count (or `()`),
/// `query` the columns and rows.
macro_rules! rdbms_route {
    ($name:ident, $m:path, $extra:expr) => {
        fn $name(
            op: &str,
            db: &str,
            sql: &str,
            list: &[(String, String)],
        ) -> Result<String, String> {
            use $m as m;
            let conn = m::Connection::open(db).map_err(|e| show(&e))?;
            let params = rdbms_params!($m, list, $extra);
            match op {
                "execute" => conn
                    .execute(sql, &params)
                    .map(|n| format!("{n:?}"))
                    .map_err(|e| show(&e)),
                _ => {
                    let set = conn.query(sql, &params).map_err(|e| show(&e))?;
                    let columns: Vec<String> = set
                        .columns
                        .iter()
                        .map(|c| format!("{}:{}", c.name, show(&c.data_type)))
                        .collect();
                    let rows: Vec<String> = set
                        .rows
                        .iter()
                        .map(|r| r.iter().map(show).collect::<Vec<_>>().join(","))
                        .collect();
                    Ok(format!("{}|{}", columns.join(","), rows.join(";")))
                }
            }
        }
    };
}

fn unknown<P>(kind: &str, _: &str) -> P {
    panic!("unknown parameter kind {kind}")
}

/// `u8`..`u64`: the 2.0.0 unsigned integers.
macro_rules! unsigned_params {
    ($m:path) => {
        |k, v| {
            use $m as m;
            match k {
                "u8" => m::ParameterValue::Uint8(v.parse().unwrap()),
                "u16" => m::ParameterValue::Uint16(v.parse().unwrap()),
                "u32" => m::ParameterValue::Uint32(v.parse().unwrap()),
                "u64" => m::ParameterValue::Uint64(v.parse().unwrap()),
                k => unknown(k, v),
            }
        }
    };
}

/// `date:y-m-d`, `time:h-m-s`, `datetime:y-m-d-h-m-s`, `ts:<epoch s>`; then
/// `$more` for the kinds only 4.0.0 has.
macro_rules! temporal_params {
    ($m:path, $more:expr) => {
        |k, v| {
            use $m as m;
            let n: Vec<u32> = v.split('-').filter_map(|x| x.parse().ok()).collect();
            let more: fn(&str, &str) -> m::ParameterValue = $more;
            match k {
                "date" => m::ParameterValue::Date((n[0] as i32, n[1] as u8, n[2] as u8)),
                "time" => m::ParameterValue::Time((n[0] as u8, n[1] as u8, n[2] as u8, 0)),
                "datetime" => m::ParameterValue::Datetime((
                    n[0] as i32,
                    n[1] as u8,
                    n[2] as u8,
                    n[3] as u8,
                    n[4] as u8,
                    n[5] as u8,
                    0,
                )),
                "ts" => m::ParameterValue::Timestamp(v.parse().unwrap()),
                k => more(k, v),
            }
        }
    };
}

rdbms_route!(pg_v2, spin_sdk::pg, unsigned_params!(spin_sdk::pg));
rdbms_route!(mysql_v2, spin_sdk::mysql, unsigned_params!(spin_sdk::mysql));
rdbms_route!(
    pg_v3,
    spin_sdk::pg3,
    temporal_params!(spin_sdk::pg3, unknown)
);
// 4.0.0's own kinds: `uuid`, `json`, `dec`, `r32:lo-hi` (`[lo,hi)`),
// `astr:a;b` (text array), `iv:micros-days-months`.
rdbms_route!(
    pg_v4,
    spin_sdk::pg4,
    temporal_params!(spin_sdk::pg4, |k, v| {
        use spin_sdk::pg4::{ParameterValue as P, RangeBoundKind as B};
        let n = |i: usize| v.split('-').nth(i).unwrap().parse::<i64>().unwrap();
        match k {
            "uuid" => P::Uuid(v.to_string()),
            "json" => P::Jsonb(v.as_bytes().to_vec()),
            "dec" => P::Decimal(v.to_string()),
            "r32" => P::RangeInt32((
                Some((n(0) as i32, B::Inclusive)),
                Some((n(1) as i32, B::Exclusive)),
            )),
            "astr" => P::ArrayStr(v.split(';').map(|s| Some(s.to_string())).collect()),
            "iv" => P::Interval(spin_sdk::pg4::Interval {
                micros: n(0),
                days: n(1) as i32,
                months: n(2) as i32,
            }),
            k => unknown(k, v),
        }
    })
);
