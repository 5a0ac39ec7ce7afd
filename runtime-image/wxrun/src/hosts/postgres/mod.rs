//! Outbound PostgreSQL as Spin 3 links it: `fermyon:spin/postgres@2.0.0`,
//! `spin:postgres/postgres@3.0.0` and `@4.0.0`. A guest opens a connection
//! by connection string (`host=db user=app` or `postgres://app@db/app`);
//! every host (and `hostaddr`) in it must be allowed by
//! `allowed_outbound_hosts` under the `postgres` scheme (default port 5432),
//! else `open` fails with Spin's `connection-failed("address
//! postgres://db:5432 is not permitted")`. Connections come from a pool per
//! connection string shared by the process; `sslmode=disable` is plain TCP,
//! anything else TLS (rustls with aws-lc-rs, the system's and webpki's
//! roots). All three versions run in the 4.0.0 types; owns the guest-facing
//! functions.

/// `postgres_types!(narrowed | widest, [cases after the dates], ...)`: the
/// 3.0.0 and 4.0.0 types, `rdbms_types!` with no unsigned integers and
/// dates and times after `binary`.
macro_rules! postgres_types {
    ($width:ident, [$($more:tt)*], $($rest:tt)*) => {
        $crate::hosts::rdbms::rdbms_types!($width,
            after_ints: [],
            after_binary: [
                Date((i32, u8, u8)) = "date",
                Time((u8, u8, u8, u32)) = "time",
                Datetime((i32, u8, u8, u8, u8, u8, u32)) = "datetime",
                Timestamp(i64) = "timestamp",
                $($more)*
            ],
            $($rest)*
        );
    };
}

mod convert;
pub mod v3;
pub mod v4;

use crate::allowed_hosts::AllowedHosts;
use crate::engine::Host;
use crate::hosts::rdbms;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures::TryStreamExt;
use std::sync::Arc;
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host as PgHost, SslMode};
use tokio_postgres::types::ToSql;
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource};

/// The Spin 2 PostgreSQL interface (`rdbms-types` values).
pub const V2: &str = "fermyon:spin/postgres@2.0.0";
/// Spin 3.0's: dates and times.
pub const V3: &str = "spin:postgres/postgres@3.0.0";
/// Spin 3.4's: uuid, json, decimal, ranges, arrays, intervals, server errors.
pub const V4: &str = "spin:postgres/postgres@4.0.0";

/// Connections a guest may have open at once (Spin's table capacity).
const MAX_OPEN_CONNECTIONS: usize = 1024;
/// Connections a pool keeps for one connection string (Spin's).
const POOL_SIZE: usize = 64;
/// The most a query result may hold in the host (Spin's buffer limit).
const MAX_RESULT_BYTES: usize = 128 << 20;

/// The process's pools, by connection string.
pub type Pools = rdbms::PoolCache<Pool>;

/// A connection the guest opened: the resource behind `connection`.
pub struct OpenPostgres(Arc<Object>);

fn connection_failed(message: impl Into<String>) -> v4::Error {
    v4::Error::ConnectionFailed(message.into())
}

/// Whether `allowed` lets the guest reach every server `address` names;
/// the error is the message of Spin's `connection-failed`.
fn check_address(allowed: &AllowedHosts, address: &str) -> Result<(), String> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|e: tokio_postgres::Error| e.to_string())?;
    let ports = config.get_ports();
    // libpq's rule: one port for every host, or one per host.
    let port = |i: usize| match ports {
        [one] => Some(*one),
        _ => ports.get(i).copied(),
    };
    let mut hosts = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        match host {
            PgHost::Tcp(name) => hosts.push((name.clone(), port(i))),
            #[cfg(unix)]
            PgHost::Unix(_) => {
                return Err("Unix sockets are not supported on WebAssembly".into());
            }
        }
    }
    // `hostaddr` is where tokio-postgres really connects when it is given.
    for (i, addr) in config.get_hostaddrs().iter().enumerate() {
        hosts.push((addr.to_string(), port(i)));
    }
    for (host, port) in hosts {
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        if !allowed.allows("postgres", &bracketed, port) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            return Err(format!("address postgres://{host}{port} is not permitted"));
        }
    }
    Ok(())
}

/// TLS as the process's rustls with the aws-lc-rs provider, trusting the
/// system's roots and webpki's.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn new_pool(address: &str) -> Result<Pool, String> {
    let config: tokio_postgres::Config = address.parse().map_err(|e| format!("{e:?}"))?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Clean,
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(config, NoTls, manager_config)
    } else {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?);
        Manager::from_config(config, tls, manager_config)
    };
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|e| format!("{e:?}"))
}

async fn open(
    store: &mut StoreContextMut<'_, Host>,
    address: String,
) -> wasmtime::Result<Result<Resource<OpenPostgres>, v4::Error>> {
    let hosts = &store.data().hosts;
    if let Err(e) = check_address(&hosts.grants.allowed, &address) {
        tracing::warn!(error = %e, "outbound postgres denied");
        return Ok(Err(connection_failed(e)));
    }
    if hosts.open_postgres >= MAX_OPEN_CONNECTIONS {
        return Ok(Err(connection_failed("too many connections")));
    }
    let pool = match hosts.grants.postgres.get(&address, new_pool) {
        Ok(p) => p,
        Err(e) => return Ok(Err(connection_failed(e))),
    };
    let client = match pool.get().await {
        Ok(c) => c,
        Err(e) => return Ok(Err(connection_failed(format!("{e:?}")))),
    };
    let host = store.data_mut();
    host.hosts.open_postgres += 1;
    Ok(Ok(host.table.push(OpenPostgres(Arc::new(client)))?))
}

/// The server's report on a failed statement, as 4.0.0 carries it.
fn query_failed(e: tokio_postgres::Error) -> v4::Error {
    let as_text = format!("{e:?}");
    v4::Error::QueryFailed(match e.as_db_error() {
        None => v4::QueryError::Text(as_text),
        Some(db) => {
            let named = [
                ("column", db.column()),
                ("constraint", db.constraint()),
                ("routine", db.routine()),
                ("hint", db.hint()),
                ("table", db.table()),
                ("datatype", db.datatype()),
                ("schema", db.schema()),
                ("file", db.file()),
            ];
            let line = db.line().map(|l| l.to_string());
            let extras = named
                .into_iter()
                .chain([("line", line.as_deref()), ("where_", db.where_())])
                .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
                .collect();
            v4::QueryError::DbError(v4::DbError {
                as_text,
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                extras,
            })
        }
    })
}

type Params = Vec<Box<dyn ToSql + Send + Sync>>;

fn params(values: &[v4::ParameterValue]) -> Result<Params, String> {
    values.iter().map(convert::param).collect()
}

async fn execute(
    client: Arc<Object>,
    statement: String,
    values: Vec<v4::ParameterValue>,
) -> Result<u64, v4::Error> {
    let params = params(&values).map_err(v4::Error::ValueConversionFailed)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    client
        .execute(statement.as_str(), &refs)
        .await
        .map_err(query_failed)
}

async fn query(
    client: Arc<Object>,
    statement: String,
    values: Vec<v4::ParameterValue>,
) -> Result<v4::RowSet, v4::Error> {
    let params = params(&values).map_err(v4::Error::BadParameter)?;
    let rows = client
        .query_raw(statement.as_str(), params)
        .await
        .map_err(query_failed)?;
    let failed = |m: String| v4::Error::QueryFailed(v4::QueryError::Text(m));
    futures::pin_mut!(rows);
    let mut set = v4::RowSet::default();
    let mut size = std::mem::size_of::<v4::RowSet>();
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| failed(format!("{e:?}")))?
    {
        // Spin takes the columns from the first row: none without rows.
        if set.rows.is_empty() {
            set.columns = row
                .columns()
                .iter()
                .map(|c| v4::Column {
                    name: c.name().to_string(),
                    data_type: convert::data_type(c.type_()),
                })
                .collect();
        }
        let values = (0..row.len())
            .map(|i| convert::value(&row, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failed(e.to_string()))?;
        size += values.iter().map(v4::DbValue::memory_size).sum::<usize>();
        if size > MAX_RESULT_BYTES {
            return Err(failed(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        set.rows.push(values);
    }
    Ok(set)
}

/// What one interface version shows the guest, and how it maps to the
/// 4.0.0 types every call runs in.
trait Version: 'static {
    type Param: ComponentType + Lift + Send + Sync + 'static;
    type RowSet: ComponentType + Lower + From<v4::RowSet> + Send + Sync + 'static;
    type Error: ComponentType + Lower + From<v4::Error> + Send + Sync + 'static;

    fn widen(param: Self::Param) -> Result<v4::ParameterValue, Self::Error>;
}

/// 4.0.0 itself.
enum Postgres4 {}

impl Version for Postgres4 {
    type Param = v4::ParameterValue;
    type RowSet = v4::RowSet;
    type Error = v4::Error;

    fn widen(param: v4::ParameterValue) -> Result<v4::ParameterValue, v4::Error> {
        Ok(param)
    }
}

/// A version before 4.0.0: the parameter and row types of module `$m`,
/// `rdbms::Error` for errors.
macro_rules! older {
    ($marker:ident, $($m:ident)::+) => {
        enum $marker {}

        impl Version for $marker {
            type Param = $($m)::+::ParameterValue;
            type RowSet = $($m)::+::RowSet;
            type Error = rdbms::Error;

            fn widen(param: Self::Param) -> Result<v4::ParameterValue, rdbms::Error> {
                param.try_into()
            }
        }
    };
}

older!(Postgres2, rdbms::v2);
older!(Postgres3, v3);

fn client(
    store: &StoreContextMut<'_, Host>,
    res: &Resource<OpenPostgres>,
) -> wasmtime::Result<Arc<Object>> {
    Ok(store.data().table.get(res)?.0.clone())
}

/// Widens `params` to 4.0.0, runs `run` with them and answers in `V`'s
/// error type.
async fn widened<V: Version, T, F>(
    params: Vec<V::Param>,
    run: impl FnOnce(Vec<v4::ParameterValue>) -> F,
) -> Result<T, V::Error>
where
    F: std::future::Future<Output = Result<T, v4::Error>>,
{
    let params = params
        .into_iter()
        .map(V::widen)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(run(params).await?)
}

/// Defines `[method]connection.<name>` for version `$v`: `$run` (`execute`
/// or `query`) on the widened parameters, its result shown by `$out`.
macro_rules! method {
    ($inst:ident, $v:ty, $name:literal, $run:ident, $out:expr) => {
        $inst.func_wrap_async(
            concat!("[method]connection.", $name),
            |store,
             (res, statement, params): (
                Resource<OpenPostgres>,
                String,
                Vec<<$v as Version>::Param>,
            )| {
                Box::new(async move {
                    let client = client(&store, &res)?;
                    let done = widened::<$v, _, _>(params, |p| $run(client, statement, p)).await;
                    Ok((done.map($out),))
                })
            },
        )?
    };
}

/// Links interface `name` with version `V`'s types.
fn link<V: Version>(linker: &mut Linker<Host>, name: &str) -> wasmtime::Result<()> {
    let mut inst = linker.instance(name)?;
    super::counted_resource::<OpenPostgres>(&mut inst, "connection", |h| &mut h.open_postgres)?;
    inst.func_wrap_async(
        "[static]connection.open",
        |mut store, (address,): (String,)| {
            Box::new(async move {
                let opened = open(&mut store, address).await?;
                Ok((opened.map_err(V::Error::from),))
            })
        },
    )?;
    method!(inst, V, "execute", execute, std::convert::identity);
    method!(inst, V, "query", query, V::RowSet::from);
    Ok(())
}

/// Links the three PostgreSQL interfaces.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    link::<Postgres2>(linker, V2)?;
    link::<Postgres3>(linker, V3)?;
    link::<Postgres4>(linker, V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(rules: &[&str]) -> AllowedHosts {
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        AllowedHosts::parse(&rules, &Default::default()).unwrap()
    }

    #[test]
    fn every_server_a_connection_string_names_must_be_allowed() {
        let rules = allowed(&["postgres://db1", "postgres://db2:6000"]);
        let denied = |a: &str| Err(format!("address {a} is not permitted"));
        assert_eq!(check_address(&rules, "host=db1 user=app"), Ok(()));
        assert_eq!(check_address(&rules, "postgres://app@db2:6000/app"), Ok(()));
        assert_eq!(check_address(&rules, "host=db1,db2 port=5432,6000"), Ok(()));
        // One port for two hosts is each host's port.
        assert_eq!(
            check_address(&rules, "host=db1,db2 port=5432"),
            denied("postgres://db2:5432")
        );
        assert_eq!(
            check_address(&rules, "host=db1 hostaddr=10.0.0.1"),
            denied("postgres://10.0.0.1")
        );
        assert_eq!(
            check_address(&rules, "host=/run/postgresql"),
            Err("Unix sockets are not supported on WebAssembly".into())
        );
        assert!(check_address(&rules, "host=db1 sslmode=sometimes").is_err());
    }
}
