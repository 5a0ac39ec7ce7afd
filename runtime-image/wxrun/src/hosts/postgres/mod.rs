//! Outbound PostgreSQL as Spin 3 and 4 link it: `fermyon:spin/postgres@2.0.0`,
//! `spin:postgres/postgres@3.0.0`, `@4.0.0` and `@4.2.0`. A guest opens a connection
//! by connection string (`host=db user=app` or `postgres://app@db/app`);
//! every host (and `hostaddr`) in it must be allowed by
//! `allowed_outbound_hosts` under the `postgres` scheme (default port 5432),
//! else `open` fails with Spin's `connection-failed("address
//! postgres://db:5432 is not permitted")`. Connections come from a pool per
//! connection string shared by the process; `sslmode=disable` is plain TCP,
//! anything else TLS (rustls with aws-lc-rs, the system's and webpki's
//! roots, and 4.1.0's `set-ca-root`). Every version runs in the 4.0.0
//! types; owns the guest-facing functions.

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
use crate::hosts::{Channel, HostAccess, Style, define};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures::TryStreamExt;
use futures::future::BoxFuture;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host as PgHost, SslMode};
use tokio_postgres::types::ToSql;
use wasmtime::component::{
    Accessor, ComponentType, FutureReader, Lift, Linker, LinkerInstance, Lower, Resource,
    ResourceType, StreamReader,
};

/// The Spin 2 PostgreSQL interface (`rdbms-types` values).
pub const V2: &str = "fermyon:spin/postgres@2.0.0";
/// Spin 3.0's: dates and times.
pub const V3: &str = "spin:postgres/postgres@3.0.0";
/// Spin 3.4's: uuid, json, decimal, ranges, arrays, intervals, server errors.
pub const V4: &str = "spin:postgres/postgres@4.0.0";
/// Spin 4's: 4.0.0, a connection builder with a CA root (4.1.0) and
/// `async func` twins streaming the rows (4.2.0).
pub const V4_2: &str = "spin:postgres/postgres@4.2.0";

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
/// system's roots, webpki's and the guest's `ca_root` (PEM).
fn tls_config(ca_root: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let roots = root_store(ca_root)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn root_store(ca_root: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(pem) = ca_root {
        let (added, _) = roots.add_parsable_certificates(pem_certificates(pem)?);
        if added == 0 {
            return Err("invalid root certificate: not a CA certificate".into());
        }
    }
    Ok(roots)
}

/// The certificates in `pem`; none is Spin's `invalid root certificate`.
fn pem_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid root certificate: {e}"))?;
    if certs.is_empty() {
        return Err("invalid root certificate: no certificate in the PEM text".into());
    }
    Ok(certs)
}

fn new_pool(address: &str, ca_root: Option<&str>) -> Result<Pool, String> {
    let config: tokio_postgres::Config = address.parse().map_err(|e| format!("{e:?}"))?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Clean,
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(config, NoTls, manager_config)
    } else {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(ca_root)?);
        Manager::from_config(config, tls, manager_config)
    };
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|e| format!("{e:?}"))
}

async fn open(
    h: &mut dyn HostAccess,
    address: String,
    ca_root: Option<String>,
) -> wasmtime::Result<Result<Resource<OpenPostgres>, v4::Error>> {
    let pool = h.with(|host| {
        let hosts = &host.hosts;
        if let Err(e) = check_address(&hosts.grants.allowed, &address) {
            tracing::warn!(error = %e, "outbound postgres denied");
            return Err(e);
        }
        if hosts.open_postgres >= MAX_OPEN_CONNECTIONS {
            return Err("too many connections".into());
        }
        // A pool per address and root: a connection trusting one CA is not
        // handed to a guest that named another.
        let key = match &ca_root {
            Some(pem) => format!("{address}\n{pem}"),
            None => address.clone(),
        };
        hosts
            .grants
            .postgres
            .get(&key, |_| new_pool(&address, ca_root.as_deref()))
    });
    let pool = match pool {
        Ok(p) => p,
        Err(e) => return Ok(Err(connection_failed(e))),
    };
    let client = match pool.get().await {
        Ok(c) => c,
        Err(e) => return Ok(Err(connection_failed(format!("{e:?}")))),
    };
    h.with(|host| {
        host.hosts.open_postgres += 1;
        Ok(Ok(host.table.push(OpenPostgres(Arc::new(client)))?))
    })
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
            set.columns = convert::columns(row.columns());
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

fn client(host: &Host, res: &Resource<OpenPostgres>) -> wasmtime::Result<Arc<Object>> {
    Ok(host.table.get(res)?.0.clone())
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

/// Defines `[method]connection.<name>` for version `$v` in `$style`:
/// `$run` (`execute` or `query`) on the widened parameters, its result shown
/// by `$out`.
macro_rules! method {
    ($inst:ident, $style:expr, $v:ty, $name:expr, $run:ident, $out:expr) => {
        define(
            &mut $inst,
            $style,
            $name,
            |h,
             (res, statement, params): (
                Resource<OpenPostgres>,
                String,
                Vec<<$v as Version>::Param>,
            )| {
                Box::pin(async move {
                    let client = h.with(|host| client(host, &res))?;
                    let done = widened::<$v, _, _>(params, |p| $run(client, statement, p)).await;
                    Ok((done.map($out),))
                })
            },
        )?
    };
}

/// Links interface `name` with version `V`'s types: `connection`, `open`,
/// `execute` and `query`.
fn link<'a, V: Version>(
    linker: &'a mut Linker<Host>,
    name: &str,
) -> wasmtime::Result<LinkerInstance<'a, Host>> {
    let mut inst = linker.instance(name)?;
    super::connection::<OpenPostgres, _, _>(
        &mut inst,
        Style::Plain,
        |h| &mut h.open_postgres,
        open_in::<V>,
    )?;
    method!(
        inst,
        Style::Plain,
        V,
        "[method]connection.execute",
        execute,
        std::convert::identity
    );
    method!(
        inst,
        Style::Plain,
        V,
        "[method]connection.query",
        query,
        V::RowSet::from
    );
    Ok(inst)
}

/// What `open` answers, in an interface version's error type `E`.
type Opened<E> = (Result<Resource<OpenPostgres>, E>,);

/// `open` answering in version `V`'s error type.
fn open_in<V: Version>(
    h: &mut dyn HostAccess,
    (address,): (String,),
) -> BoxFuture<'_, wasmtime::Result<Opened<V::Error>>> {
    Box::pin(async move {
        let opened = open(h, address, None).await?;
        Ok((opened.map_err(V::Error::from),))
    })
}

/// A `connection-builder` (4.1.0): an address and the root the guest trusts.
pub struct Builder {
    address: String,
    ca_root: Option<String>,
}

/// Links 4.2.0: 4.0.0, `connection-builder`, and an `async func` twin of
/// each call whose `query-async` streams the rows as the server sends them.
fn link_4_2(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut inst = link::<Postgres4>(linker, V4_2)?;
    define(
        &mut inst,
        Style::Async,
        "[static]connection.open-async",
        open_in::<Postgres4>,
    )?;
    method!(
        inst,
        Style::Async,
        Postgres4,
        "[method]connection.execute-async",
        execute,
        std::convert::identity
    );
    inst.func_wrap_concurrent(
        "[method]connection.query-async",
        |accessor: &Accessor<Host>,
         (res, statement, params): (Resource<OpenPostgres>, String, Vec<v4::ParameterValue>)| {
            Box::pin(async move {
                let client = accessor.with(|mut a| client(a.data_mut(), &res))?;
                let (columns, rows, end) = match query_stream(client, statement, params).await {
                    Ok(started) => started,
                    Err(e) => return Ok((Err(e),)),
                };
                let (rows, end) = accessor.with(|mut a| {
                    wasmtime::Result::<_>::Ok((
                        StreamReader::new(&mut a, Channel(rows))?,
                        FutureReader::new(&mut a, end)?,
                    ))
                })?;
                Ok((Ok((columns, rows, end)),))
            })
        },
    )?;
    inst.resource(
        "connection-builder",
        ResourceType::host::<Builder>(),
        |mut store, rep| {
            store
                .data_mut()
                .table
                .delete(Resource::<Builder>::new_own(rep))?;
            Ok(())
        },
    )?;
    inst.func_wrap(
        "[constructor]connection-builder",
        |mut store, (address,): (String,)| {
            let builder = Builder {
                address,
                ca_root: None,
            };
            Ok((store.data_mut().table.push(builder)?,))
        },
    )?;
    inst.func_wrap(
        "[method]connection-builder.set-ca-root",
        |mut store, (res, pem): (Resource<Builder>, String)| {
            if let Err(e) = pem_certificates(&pem) {
                return Ok((Err(v4::Error::Other(e)),));
            }
            store.data_mut().table.get_mut(&res)?.ca_root = Some(pem);
            Ok((Ok(()),))
        },
    )?;
    for (name, style) in [
        ("[method]connection-builder.build", Style::Plain),
        ("[method]connection-builder.build-async", Style::Async),
    ] {
        define(&mut inst, style, name, |h, (res,): (Resource<Builder>,)| {
            Box::pin(async move {
                let (address, ca_root) = h.with(|host| {
                    let b = host.table.get(&res)?;
                    wasmtime::Result::<_>::Ok((b.address.clone(), b.ca_root.clone()))
                })?;
                Ok((open(h, address, ca_root).await?,))
            })
        })?;
    }
    Ok(())
}

/// Starts `statement` and answers its columns at once; the rows follow on
/// the channel as the server sends them (at most `STREAM_AHEAD` waiting for
/// the guest), then how the query ended.
async fn query_stream(
    client: Arc<Object>,
    statement: String,
    values: Vec<v4::ParameterValue>,
) -> Result<
    (
        Vec<v4::Column>,
        tokio::sync::mpsc::Receiver<Vec<v4::DbValue>>,
        tokio::sync::oneshot::Receiver<Result<(), v4::Error>>,
    ),
    v4::Error,
> {
    let params = params(&values).map_err(v4::Error::BadParameter)?;
    let prepared = client.prepare(&statement).await.map_err(query_failed)?;
    let columns = convert::columns(prepared.columns());
    let rows = client
        .query_raw(&prepared, params)
        .await
        .map_err(query_failed)?;
    let (tx, rx) = tokio::sync::mpsc::channel(STREAM_AHEAD);
    let (end_tx, end_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let failed = |m: String| v4::Error::QueryFailed(v4::QueryError::Text(m));
        futures::pin_mut!(rows);
        let end = loop {
            let row = match rows.try_next().await {
                Ok(Some(row)) => row,
                Ok(None) => break Ok(()),
                Err(e) => break Err(query_failed(e)),
            };
            let values = (0..row.len())
                .map(|i| convert::value(&row, i))
                .collect::<Result<Vec<_>, _>>();
            let values = match values {
                Ok(values) => values,
                Err(e) => break Err(failed(e.to_string())),
            };
            if tx.send(values).await.is_err() {
                // The guest dropped the stream: stop reading.
                break Ok(());
            }
        };
        let _ = end_tx.send(end);
    });
    Ok((columns, rx, end_rx))
}

/// Rows waiting in the host for the guest to read them.
const STREAM_AHEAD: usize = 64;

/// Links the PostgreSQL interfaces.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    link::<Postgres2>(linker, V2)?;
    link::<Postgres3>(linker, V3)?;
    link::<Postgres4>(linker, V4)?;
    link_4_2(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(rules: &[&str]) -> AllowedHosts {
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        AllowedHosts::parse(&rules, &Default::default()).unwrap()
    }

    /// A self-signed root (`openssl req -x509`, P-256), for `set-ca-root`.
    const ROOT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBjDCCATGgAwIBAgIUSY0NLOyfPhyRvueso3QYYWfVOL4wCgYIKoZIzj0EAwIw\n\
GjEYMBYGA1UEAwwPd3hydW4tdGVzdC1yb290MCAXDTI2MTIwMjAxMTYzN1oYDzIx\n\
MjYxMTA4MDExNjM3WjAaMRgwFgYDVQQDDA93eHJ1bi10ZXN0LXJvb3QwWTATBgcq\n\
hkjOPQIBBggqhkjOPQMBBwNCAARyeKAOzYxstrUPyDS8SCZ0j+qvOFtuZB68JGBq\n\
Us/k1zYo7JnXWe6X+PUPjuC2lHUofCmNvOzI8IQodEr3tjXjo1MwUTAdBgNVHQ4E\n\
FgQUqgbwzWcuDuOUxhJd8tYlpew50TwwHwYDVR0jBBgwFoAUqgbwzWcuDuOUxhJd\n\
8tYlpew50TwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAnnKq\n\
PWqjzFlqZVn0HuOIuprEAlJ6nYpmov8oKdQk2h0CIQD5Hgq9p5f2VubzKkIh3Acw\n\
nOsqFyA77kZC9CHtssxlEA==\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn a_ca_root_must_hold_a_pem_certificate_and_joins_the_trusted_roots() {
        assert_eq!(pem_certificates(ROOT).unwrap().len(), 1);
        let two = format!("{ROOT}{ROOT}");
        assert_eq!(pem_certificates(&two).unwrap().len(), 2);
        for bad in ["", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA"] {
            let e = pem_certificates(bad).unwrap_err();
            assert!(e.starts_with("invalid root certificate: "), "{bad:?}: {e}");
        }
        let base = root_store(None).unwrap().len();
        assert_eq!(root_store(Some(ROOT)).unwrap().len(), base + 1);
        assert!(new_pool("host=db sslmode=require", Some(ROOT)).is_ok());
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
