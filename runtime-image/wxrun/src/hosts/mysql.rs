//! Outbound MySQL, `fermyon:spin/mysql@2.0.0` and Spin 4's
//! `spin:mysql/mysql@3.0.0` (the same values, rows as a stream): a
//! guest opens a connection by URL (`mysql://user:pw@db:3306/app`); an
//! address `allowed_outbound_hosts` does not allow (`mysql` scheme, default
//! port 3306) fails with Spin's `connection-failed("address <url> is not
//! permitted")`. Connections come from a pool per URL shared by the
//! process; `ssl-mode` (or `sslMode`) other than `DISABLED` turns TLS on,
//! as in Spin. Column types map as Spin maps them: integers by width and
//! sign, FLOAT, DOUBLE, text and binary strings; any other column type
//! (DECIMAL, DATE, ...) fails the query with `value-conversion-failed`.
//! Owns the guest-facing functions and the value conversions.

use crate::engine::Host;
use crate::hosts::rdbms::{Error, PoolCache, v2};
use crate::hosts::{HostAccess, Style, define, streamed};
use futures::TryStreamExt;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, OptsBuilder, Params, SslOpts, Value};
use std::sync::Arc;
use tokio::sync::Mutex;
use wasmtime::component::{Accessor, Linker, LinkerInstance, Resource};

/// The Spin 2 MySQL interface (`rdbms-types` values).
pub const V2: &str = "fermyon:spin/mysql@2.0.0";
/// Spin 4's: the same types as `async func`s, rows as a stream.
pub const V3: &str = "spin:mysql/mysql@3.0.0";

/// Connections a guest may have open at once (Spin's table capacity).
const MAX_OPEN_CONNECTIONS: usize = 1024;
/// The most a query result may hold in the host (Spin's buffer limit).
const MAX_RESULT_BYTES: usize = 128 << 20;

/// The process's pools, by URL.
pub type Pools = PoolCache<mysql_async::Pool>;

/// A connection the guest opened: the resource behind `connection`.
pub struct OpenMysql(Arc<Mutex<Conn>>);

fn is_ssl_param(key: &str) -> bool {
    key.eq_ignore_ascii_case("ssl-mode") || key.eq_ignore_ascii_case("sslmode")
}

/// The pool for `address`. mysql_async refuses an `ssl-mode` parameter,
/// so it is taken out of the URL and turned into TLS options (Spin's way).
fn new_pool(address: &str) -> Result<mysql_async::Pool, String> {
    let mut url = url::Url::parse(address).map_err(|e| format!("{e:?}"))?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let tls = pairs
        .iter()
        .any(|(k, v)| is_ssl_param(k) && !v.eq_ignore_ascii_case("disabled"));
    url.set_query(None);
    let kept: Vec<_> = pairs.iter().filter(|(k, _)| !is_ssl_param(k)).collect();
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    let opts = mysql_async::Opts::from_url(url.as_str()).map_err(|e| format!("{e:?}"))?;
    let opts = OptsBuilder::from_opts(opts).ssl_opts(tls.then(SslOpts::default));
    Ok(mysql_async::Pool::new(opts))
}

async fn open(
    h: &mut dyn HostAccess,
    address: String,
) -> wasmtime::Result<Result<Resource<OpenMysql>, Error>> {
    let pool = h.with(|host| {
        let hosts = &host.hosts;
        if !hosts.grants.allowed.allows_url(&address, "mysql") {
            tracing::warn!("outbound mysql denied by allowed_outbound_hosts");
            return Err(Error::ConnectionFailed(format!(
                "address {address} is not permitted"
            )));
        }
        if hosts.open_mysql >= MAX_OPEN_CONNECTIONS {
            return Err(Error::ConnectionFailed("too many connections".into()));
        }
        hosts
            .grants
            .mysql
            .get(&address, new_pool)
            .map_err(Error::ConnectionFailed)
    });
    let pool = match pool {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let conn = match pool.get_conn().await {
        Ok(c) => c,
        Err(e) => return Ok(Err(Error::ConnectionFailed(format!("{e:?}")))),
    };
    h.with(|host| {
        host.hosts.open_mysql += 1;
        Ok(Ok(host
            .table
            .push(OpenMysql(Arc::new(Mutex::new(conn))))?))
    })
}

fn params(values: Vec<v2::ParameterValue>) -> Params {
    Params::Positional(values.into_iter().map(param).collect())
}

/// The interface's type for a result column.
fn data_type(column: &mysql_async::Column) -> v2::DbDataType {
    use ColumnType::*;
    use v2::DbDataType as T;
    let flags = column.flags();
    let signed = !flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = flags.contains(ColumnFlags::BINARY_FLAG);
    match column.column_type() {
        MYSQL_TYPE_DOUBLE => T::Floating64,
        MYSQL_TYPE_FLOAT => T::Floating32,
        MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG if signed => T::Int32,
        MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG => T::Uint32,
        MYSQL_TYPE_LONGLONG if signed => T::Int64,
        MYSQL_TYPE_LONGLONG => T::Uint64,
        MYSQL_TYPE_SHORT if signed => T::Int16,
        MYSQL_TYPE_SHORT => T::Uint16,
        MYSQL_TYPE_TINY if signed => T::Int8,
        MYSQL_TYPE_TINY => T::Uint8,
        MYSQL_TYPE_BLOB | MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING if binary => T::Binary,
        MYSQL_TYPE_BLOB | MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING => T::Str,
        _ => T::Other,
    }
}

fn to<T: FromValue>(value: Value) -> Result<T, Error> {
    mysql_async::from_value_opt(value).map_err(|e| Error::ValueConversionFailed(e.to_string()))
}

/// `param` and `typed` over the cases both value enums carry a Rust value
/// in (the same Rust type in each).
macro_rules! conversions {
    ($($case:ident)*) => {
        fn param(p: v2::ParameterValue) -> Value {
            match p {
                $(v2::ParameterValue::$case(v) => v.into(),)*
                v2::ParameterValue::DbNull => Value::NULL,
            }
        }

        /// A non-NULL value of `column`, read as its type's case.
        fn typed(value: Value, column: &v2::Column) -> Result<v2::DbValue, Error> {
            match column.data_type {
                $(v2::DbDataType::$case => Ok(v2::DbValue::$case(to(value)?)),)*
                v2::DbDataType::Other => Err(Error::ValueConversionFailed(format!(
                    "Cannot convert value {value:?} in column {} data type {:?}",
                    column.name, column.data_type
                ))),
            }
        }
    };
}

conversions!(
    Boolean Int8 Int16 Int32 Int64 Uint8 Uint16 Uint32 Uint64 Floating32 Floating64 Str Binary
);

/// Bytes a value holds, for the host's cap on buffered results.
fn memory_size(v: &v2::DbValue) -> usize {
    std::mem::size_of::<v2::DbValue>()
        + match v {
            v2::DbValue::Str(s) => s.len(),
            v2::DbValue::Binary(b) => b.len(),
            _ => 0,
        }
}

async fn execute(
    conn: Arc<Mutex<Conn>>,
    statement: String,
    values: Vec<v2::ParameterValue>,
) -> Result<(), Error> {
    conn.lock()
        .await
        .exec_batch(statement.as_str(), [params(values)])
        .await
        .map_err(|e| Error::QueryFailed(format!("{e:?}")))
}

async fn query(
    conn: Arc<Mutex<Conn>>,
    statement: String,
    values: Vec<v2::ParameterValue>,
) -> Result<v2::RowSet, Error> {
    let other = |e: mysql_async::Error| -> Error { Error::Other(e.to_string()) };
    let mut conn = conn.lock().await;
    let mut result = conn
        .exec_iter(statement.as_str(), params(values))
        .await
        .map_err(|e| Error::QueryFailed(format!("{e:?}")))?;
    let columns: Vec<v2::Column> = result
        .columns()
        .iter()
        .flat_map(|cs| cs.iter())
        .map(|c| v2::Column {
            name: c.name_str().into_owned(),
            data_type: data_type(c),
        })
        .collect();
    let Some(mut stream) = result.stream::<mysql_async::Row>().await.map_err(other)? else {
        return Err(Error::Other("unable to stream query result".into()));
    };
    let mut rows = Vec::new();
    let mut size = std::mem::size_of::<v2::RowSet>();
    while let Some(mut row) = stream.try_next().await.map_err(other)? {
        let mut values = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let v = match (row.take::<Value, _>(i), columns.get(i)) {
                (None | Some(Value::NULL), _) => v2::DbValue::DbNull,
                (Some(_), None) => {
                    return Err(Error::Other(format!("Can't get column at index {i}")));
                }
                (Some(v), Some(column)) => typed(v, column)?,
            };
            size += memory_size(&v);
            values.push(v);
        }
        if size > MAX_RESULT_BYTES {
            return Err(Error::Other(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        rows.push(values);
    }
    Ok(v2::RowSet { columns, rows })
}

/// The parameters of a statement, as the guest sends them.
type GuestParams = Vec<v2::ParameterValue>;

fn conn(host: &Host, res: &Resource<OpenMysql>) -> wasmtime::Result<Arc<Mutex<Conn>>> {
    Ok(host.table.get(res)?.0.clone())
}

/// Links `connection`, its `open` and its `execute` in `style`.
fn link<'a>(
    linker: &'a mut Linker<Host>,
    name: &str,
    style: Style,
) -> wasmtime::Result<LinkerInstance<'a, Host>> {
    let mut inst = linker.instance(name)?;
    super::connection::<OpenMysql, _, _>(
        &mut inst,
        style,
        |h| &mut h.open_mysql,
        |h, (address,): (String,)| Box::pin(async move { Ok((open(h, address).await?,)) }),
    )?;
    define(
        &mut inst,
        style,
        "[method]connection.execute",
        |h, (res, statement, values): (Resource<OpenMysql>, String, GuestParams)| {
            Box::pin(async move {
                let conn = h.with(|host| conn(host, &res))?;
                Ok((execute(conn, statement, values).await,))
            })
        },
    )?;
    Ok(inst)
}

/// Links `fermyon:spin/mysql@2.0.0` and Spin 4's `spin:mysql/mysql@3.0.0`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut v2 = link(linker, V2, Style::Plain)?;
    define(
        &mut v2,
        Style::Plain,
        "[method]connection.query",
        |h, (res, statement, values): (Resource<OpenMysql>, String, GuestParams)| {
            Box::pin(async move {
                let conn = h.with(|host| conn(host, &res))?;
                Ok((query(conn, statement, values).await,))
            })
        },
    )?;
    // 3.0.0 answers the columns, the rows as a stream and how they ended.
    let mut v3 = link(linker, V3, Style::Async)?;
    v3.func_wrap_concurrent(
        "[method]connection.query",
        |accessor: &Accessor<Host>,
         (res, statement, values): (Resource<OpenMysql>, String, GuestParams)| {
            Box::pin(async move {
                let conn = accessor.with(|mut a| conn(a.data_mut(), &res))?;
                let set = match query(conn, statement, values).await {
                    Ok(set) => set,
                    Err(e) => return Ok((Err(e),)),
                };
                let (rows, end) = streamed(accessor, set.rows, Ok::<_, Error>(()))?;
                Ok((Ok((set.columns, rows, end)),))
            })
        },
    )?;
    Ok(())
}
