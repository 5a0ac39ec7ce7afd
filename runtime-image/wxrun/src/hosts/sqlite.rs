//! Spin SQLite: `fermyon:spin/sqlite@2.0.0`, `spin:sqlite/sqlite@3.0.0` and
//! Spin 4's `@3.1.0`
//! on local database files. `default` is `<state dir>/sqlite_db.db` (in
//! memory without a state dir) unless the runtime config's
//! `[sqlite_database.<label>]` says otherwise; a label missing from the
//! component's `sqlite_databases` opens as `access-denied`, a granted label
//! with no database stops the app at load, as in Spin. Owns the guest-facing
//! functions and the value conversions.

use crate::engine::Host;
use crate::hosts::{HostAccess, Style, define, streamed};
use crate::runtime_config::{RuntimeConfig, SqliteDatabase};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::Result;
use wasmtime::component::{Accessor, ComponentType, Lift, Linker, LinkerInstance, Lower, Resource};

/// The Spin 2 SQLite interface.
pub const V2: &str = "fermyon:spin/sqlite@2.0.0";
/// The Spin 3 SQLite interface (adds `changes` and `last-insert-rowid`).
pub const V3: &str = "spin:sqlite/sqlite@3.0.0";
/// Spin 4's: 3.0.0 plus an `async func` twin of each call.
pub const V3_1: &str = "spin:sqlite/sqlite@3.1.0";

/// The file Spin keeps the `default` database in, under the state directory.
pub const DEFAULT_DATABASE_FILE: &str = "sqlite_db.db";

/// Connections a guest may have open at once (Spin's table capacity).
const MAX_OPEN_CONNECTIONS: usize = 256;

/// The `error` variant of Spin's SQLite interfaces.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "no-such-database")]
    NoSuchDatabase,
    #[component(name = "access-denied")]
    AccessDenied,
    #[component(name = "invalid-connection")]
    InvalidConnection,
    #[component(name = "database-full")]
    DatabaseFull,
    #[component(name = "io")]
    Io(String),
}

/// A SQL value as the guest sees it.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(variant)]
pub enum Value {
    #[component(name = "integer")]
    Integer(i64),
    #[component(name = "real")]
    Real(f64),
    #[component(name = "text")]
    Text(String),
    #[component(name = "blob")]
    Blob(Vec<u8>),
    #[component(name = "null")]
    Null,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(record)]
pub struct RowResult {
    values: Vec<Value>,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(record)]
pub struct QueryResult {
    columns: Vec<String>,
    rows: Vec<RowResult>,
}

/// The process's databases by label; `None` is a private in-memory one.
#[derive(Clone, Default)]
pub struct Databases(BTreeMap<String, Option<PathBuf>>);

impl Databases {
    pub fn new(config: &RuntimeConfig, state_dir: Option<&std::path::Path>) -> Databases {
        let mut out: BTreeMap<String, Option<PathBuf>> = config
            .sqlite_database
            .iter()
            .map(|(label, SqliteDatabase::Spin { path })| (label.clone(), path.clone()))
            .collect();
        out.entry("default".to_string())
            .or_insert_with(|| state_dir.map(|d| d.join(DEFAULT_DATABASE_FILE)));
        Databases(out)
    }

    /// Whether `label` names a database.
    pub fn contains(&self, label: &str) -> bool {
        self.0.contains_key(label)
    }
}

/// A connection the guest opened: the resource behind `connection`.
pub struct OpenDatabase(Arc<Mutex<rusqlite::Connection>>);

fn connect(path: Option<PathBuf>) -> Result<rusqlite::Connection, Error> {
    let io = |e: &dyn std::fmt::Display| Error::Io(e.to_string());
    let mut conn = match path {
        Some(p) => {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
            }
            rusqlite::Connection::open(p)
        }
        None => rusqlite::Connection::open_in_memory(),
    }
    .map_err(|e| io(&e))?;
    // A guest must not reach other files through ATTACH (Spin denies it too).
    conn.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
        use rusqlite::hooks::{AuthAction, Authorization};
        match ctx.action {
            AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }
    }))
    .map_err(|e| io(&e))?;
    Ok(conn)
}

async fn open(
    h: &mut dyn HostAccess,
    label: String,
) -> wasmtime::Result<Result<Resource<OpenDatabase>, Error>> {
    let path = h.with(|host| {
        if !host.hosts.grants.sqlite.contains(&label) {
            return Err(Error::AccessDenied);
        }
        let Some(path) = host.hosts.grants.databases.0.get(&label).cloned() else {
            return Err(Error::NoSuchDatabase);
        };
        if host.hosts.open_databases >= MAX_OPEN_CONNECTIONS {
            return Err(Error::Io("too many connections opened".into()));
        }
        Ok(path)
    });
    let path = match path {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let conn = match tokio::task::spawn_blocking(move || connect(path)).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    h.with(|host| {
        host.hosts.open_databases += 1;
        Ok(Ok(host
            .table
            .push(OpenDatabase(Arc::new(Mutex::new(conn))))?))
    })
}

fn connection(
    host: &Host,
    res: &Resource<OpenDatabase>,
) -> Result<Arc<Mutex<rusqlite::Connection>>, Error> {
    host.table
        .get(res)
        .map(|db| db.0.clone())
        .map_err(|_| Error::InvalidConnection)
}

fn run_query(
    conn: &rusqlite::Connection,
    sql: &str,
    params: Vec<Value>,
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let params = params.iter().map(|v| match v {
        Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
        Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
    });
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(r) => Value::Real(r),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

async fn execute(
    conn: Arc<Mutex<rusqlite::Connection>>,
    sql: String,
    params: Vec<Value>,
) -> wasmtime::Result<Result<QueryResult, Error>> {
    Ok(tokio::task::spawn_blocking(move || {
        let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        run_query(&conn, &sql, params).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
            _ => Error::Io(e.to_string()),
        })
    })
    .await?)
}

/// Defines `[static]connection.open<suffix>` in `style`.
fn define_open(inst: &mut LinkerInstance<'_, Host>, style: Style, suffix: &str) -> Result<()> {
    define(
        inst,
        style,
        &format!("[static]connection.open{suffix}"),
        |h, (label,): (String,)| Box::pin(async move { Ok((open(h, label).await?,)) }),
    )
}

/// Defines 3.0.0's `changes` and `last-insert-rowid` (`<name><suffix>`) in `style`.
fn define_counts(inst: &mut LinkerInstance<'_, Host>, style: Style, suffix: &str) -> Result<()> {
    fn locked<R>(
        h: &mut dyn HostAccess,
        res: &Resource<OpenDatabase>,
        f: impl FnOnce(&rusqlite::Connection) -> R,
    ) -> Result<R> {
        let conn = h.with(|host| host.table.get(res).map(|db| db.0.clone()))?;
        Ok(f(&conn.lock().unwrap_or_else(|e| e.into_inner())))
    }
    define(
        inst,
        style,
        &format!("[method]connection.changes{suffix}"),
        |h, (res,): (Resource<OpenDatabase>,)| {
            Box::pin(async move { Ok((locked(h, &res, |c| c.changes())?,)) })
        },
    )?;
    define(
        inst,
        style,
        &format!("[method]connection.last-insert-rowid{suffix}"),
        |h, (res,): (Resource<OpenDatabase>,)| {
            Box::pin(async move { Ok((locked(h, &res, |c| c.last_insert_rowid())?,)) })
        },
    )
}

/// Links the Spin 2, 3.0 and 3.1 SQLite interfaces; 3.1 adds an `async func`
/// twin of each call, whose `execute-async` streams the rows.
pub fn add_to_linker(linker: &mut Linker<Host>) -> Result<()> {
    for name in [V2, V3, V3_1] {
        let mut inst = linker.instance(name)?;
        super::counted_resource::<OpenDatabase>(&mut inst, "connection", |h| {
            &mut h.open_databases
        })?;
        define_open(&mut inst, Style::Plain, "")?;
        define(
            &mut inst,
            Style::Plain,
            "[method]connection.execute",
            |h, (res, sql, params): (Resource<OpenDatabase>, String, Vec<Value>)| {
                Box::pin(async move {
                    Ok((match h.with(|host| connection(host, &res)) {
                        Ok(conn) => execute(conn, sql, params).await?,
                        Err(e) => Err(e),
                    },))
                })
            },
        )?;
        if name == V2 {
            continue;
        }
        define_counts(&mut inst, Style::Plain, "")?;
        if name == V3 {
            continue;
        }
        define_open(&mut inst, Style::Async, "-async")?;
        define_counts(&mut inst, Style::Async, "-async")?;
        inst.func_wrap_concurrent(
            "[method]connection.execute-async",
            |accessor: &Accessor<Host>,
             (res, sql, params): (Resource<OpenDatabase>, String, Vec<Value>)| {
                Box::pin(async move {
                    let result = match accessor.with(|mut a| connection(a.data_mut(), &res)) {
                        Ok(conn) => execute(conn, sql, params).await?,
                        Err(e) => Err(e),
                    };
                    let result = match result {
                        Ok(r) => r,
                        Err(e) => return Ok((Err(e),)),
                    };
                    let (rows, end) = streamed(accessor, result.rows, Ok::<_, Error>(()))?;
                    Ok((Ok((result.columns, rows, end)),))
                })
            },
        )?;
    }
    Ok(())
}
