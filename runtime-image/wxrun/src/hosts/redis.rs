//! Outbound Redis, `fermyon:spin/redis@2.0.0` and Spin 4's
//! `spin:redis/redis@3.0.0`: a guest opens a connection by
//! address (`redis://host:port`); an address `allowed_outbound_hosts` does not
//! allow (`redis://` scheme, default port 6379) is Spin's `invalid-address`.
//! Owns the guest-facing functions and the result conversion.

use crate::engine::Host;
use crate::hosts::{HostAccess, Style, define};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource};

/// The Spin 2 outbound Redis interface.
pub const V2: &str = "fermyon:spin/redis@2.0.0";
/// Spin 4's: the same functions as `async func`s.
pub const V3: &str = "spin:redis/redis@3.0.0";

/// Connections a guest may have open at once.
const MAX_OPEN_CONNECTIONS: usize = 256;

/// The `error` variant of Spin's outbound Redis interface.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "invalid-address")]
    InvalidAddress,
    #[component(name = "too-many-connections")]
    TooManyConnections,
    #[component(name = "type-error")]
    TypeError,
    #[component(name = "other")]
    Other(String),
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum RedisParameter {
    #[component(name = "int64")]
    Int64(i64),
    #[component(name = "binary")]
    Binary(Vec<u8>),
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum RedisResult {
    #[component(name = "nil")]
    Nil,
    #[component(name = "status")]
    Status(String),
    #[component(name = "int64")]
    Int64(i64),
    #[component(name = "binary")]
    Binary(Vec<u8>),
}

/// A connection the guest opened: the resource behind `connection`.
pub struct OpenRedis(MultiplexedConnection);

fn other(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

/// `sadd` alone reports a reply of the wrong type as `type-error` (Spin).
fn typed(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::UnexpectedReturnType {
        Error::TypeError
    } else {
        other(e)
    }
}

async fn open(
    h: &mut dyn HostAccess,
    address: String,
) -> wasmtime::Result<Result<Resource<OpenRedis>, Error>> {
    let client = h.with(|host| {
        if !host.hosts.grants.allowed.allows_url(&address, "redis") {
            tracing::warn!(%address, "outbound redis denied by allowed_outbound_hosts");
            return Err(Error::InvalidAddress);
        }
        if host.hosts.open_redis >= MAX_OPEN_CONNECTIONS {
            return Err(Error::TooManyConnections);
        }
        redis::Client::open(address.as_str()).map_err(|_| Error::InvalidAddress)
    });
    let client = match client {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let conn = match client.get_multiplexed_async_connection().await {
        Ok(c) => c,
        Err(e) => return Ok(Err(Error::Other(e.to_string()))),
    };
    h.with(|host| {
        host.hosts.open_redis += 1;
        Ok(Ok(host.table.push(OpenRedis(conn))?))
    })
}

fn conn(host: &Host, res: &Resource<OpenRedis>) -> wasmtime::Result<MultiplexedConnection> {
    Ok(host.table.get(res)?.0.clone())
}

/// Flattens a reply into Spin's result list (arrays and sets element-wise).
fn flatten(value: redis::Value, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    match value {
        redis::Value::Nil => out.push(RedisResult::Nil),
        redis::Value::Int(i) => out.push(RedisResult::Int64(i)),
        redis::Value::BulkString(b) => out.push(RedisResult::Binary(b)),
        redis::Value::SimpleString(s) => out.push(RedisResult::Status(s)),
        redis::Value::Okay => out.push(RedisResult::Status("OK".into())),
        redis::Value::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        redis::Value::ServerError(e) => return Err(Error::Other(format!("{e:?}"))),
        _ => return Err(Error::TypeError),
    }
    Ok(())
}

async fn execute(
    mut conn: MultiplexedConnection,
    command: String,
    args: Vec<RedisParameter>,
) -> Result<Vec<RedisResult>, Error> {
    let mut cmd = redis::cmd(&command);
    for a in args {
        match a {
            RedisParameter::Int64(i) => cmd.arg(i),
            RedisParameter::Binary(b) => cmd.arg(b),
        };
    }
    let value: redis::Value = cmd.query_async(&mut conn).await.map_err(other)?;
    let mut out = Vec::new();
    flatten(value, &mut out)?;
    Ok(out)
}

/// Defines `[method]connection.<name>` as an async call on the connection.
macro_rules! method {
    ($inst:expr, $style:expr, $name:literal, ($($arg:ident: $ty:ty),*), |$c:ident| $body:expr) => {
        define(
            &mut $inst,
            $style,
            concat!("[method]connection.", $name),
            |h, (res, $($arg,)*): (Resource<OpenRedis>, $($ty,)*)| {
                Box::pin(async move {
                    #[allow(unused_mut)]
                    let mut $c = h.with(|host| conn(host, &res))?;
                    Ok(($body.await,))
                })
            },
        )?
    };
}

/// Links `fermyon:spin/redis@2.0.0` and Spin 4's `spin:redis/redis@3.0.0`
/// (the same functions as `async func`s).
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    for (name, style) in [(V2, Style::Plain), (V3, Style::Async)] {
        let mut inst = linker.instance(name)?;
        super::connection::<OpenRedis, _, _>(
            &mut inst,
            style,
            |h| &mut h.open_redis,
            |h, (address,): (String,)| Box::pin(async move { Ok((open(h, address).await?,)) }),
        )?;
        method!(inst, style, "publish", (channel: String, payload: Vec<u8>), |c| async move {
            c.publish::<_, _, ()>(channel, payload).await.map_err(other)
        });
        method!(inst, style, "get", (key: String), |c| async move {
            c.get::<_, Option<Vec<u8>>>(key).await.map_err(other)
        });
        method!(inst, style, "set", (key: String, value: Vec<u8>), |c| async move {
            c.set::<_, _, ()>(key, value).await.map_err(other)
        });
        method!(inst, style, "incr", (key: String), |c| async move {
            c.incr::<_, _, i64>(key, 1).await.map_err(other)
        });
        method!(inst, style, "del", (keys: Vec<String>), |c| async move {
            c.del::<_, u32>(keys).await.map_err(other)
        });
        method!(inst, style, "sadd", (key: String, values: Vec<String>), |c| async move {
            c.sadd::<_, _, u32>(key, values).await.map_err(typed)
        });
        method!(inst, style, "smembers", (key: String), |c| async move {
            c.smembers::<_, Vec<String>>(key).await.map_err(other)
        });
        method!(inst, style, "srem", (key: String, values: Vec<String>), |c| async move {
            c.srem::<_, _, u32>(key, values).await.map_err(other)
        });
        method!(inst, style, "execute", (command: String, args: Vec<RedisParameter>), |c| {
            execute(c, command, args)
        });
    }
    Ok(())
}
