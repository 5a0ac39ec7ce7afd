//! The `redis` key-value store: plain Redis keys (Spin adds no prefix, so a
//! store shared with a Spin app reads the same keys). One multiplexed
//! connection per store, opened on first use and shared by every request.

use super::Error;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    conn: Arc<OnceCell<MultiplexedConnection>>,
}

impl RedisStore {
    /// Checks the URL; connects later.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(RedisStore {
            client: redis::Client::open(url)?,
            conn: Arc::default(),
        })
    }

    async fn conn(&self) -> Result<MultiplexedConnection, Error> {
        self.conn
            .get_or_try_init(|| self.client.get_multiplexed_async_connection())
            .await
            .cloned()
            .map_err(other)
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.conn().await?.get(key).await.map_err(other)
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.conn().await?.set(key, value).await.map_err(other)
    }

    pub async fn delete(&self, key: String) -> Result<(), Error> {
        self.conn().await?.del(key).await.map_err(other)
    }

    pub async fn exists(&self, key: String) -> Result<bool, Error> {
        self.conn().await?.exists(key).await.map_err(other)
    }

    /// `INCRBY`: Redis keeps the counter as decimal text, as Spin's store does.
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, Error> {
        self.conn().await?.incr(key, delta).await.map_err(other)
    }

    /// `WATCH`es `key` on a connection of its own (a watch is per connection) and reads it.
    pub async fn watch(
        &self,
        key: &str,
    ) -> Result<(MultiplexedConnection, Option<Vec<u8>>), Error> {
        let mut conn = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(other)?;
        redis::cmd("WATCH")
            .arg(key)
            .query_async::<()>(&mut conn)
            .await
            .map_err(other)?;
        let value = conn.get(key).await.map_err(other)?;
        Ok((conn, value))
    }

    /// `MULTI`/`SET`/`EXEC` on the watching connection: EXEC answers nil when the key
    /// changed since the `WATCH`, and nothing is written.
    pub async fn swap_watched(
        mut conn: MultiplexedConnection,
        key: String,
        value: Vec<u8>,
    ) -> Result<bool, Error> {
        let done: redis::Value = redis::pipe()
            .atomic()
            .set(key, value)
            .query_async(&mut conn)
            .await
            .map_err(other)?;
        Ok(!matches!(done, redis::Value::Nil))
    }

    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        self.conn().await?.keys("*").await.map_err(other)
    }
}

fn other(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}
