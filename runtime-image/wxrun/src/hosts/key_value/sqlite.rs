//! The `spin` key-value store: one SQLite file (or an in-memory database)
//! with Spin's table `spin_key_value(store, key, value)`, so a file written
//! by Spin reads here and the other way round. Every process sharing the file
//! sees the others' writes (SQLite's file locking; a busy timeout waits out a
//! writer in another process instead of failing).

use super::Error;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One label's view of a SQLite key-value file.
#[derive(Clone)]
pub struct SqliteStore {
    label: String,
    /// `None`: in memory, private to this process.
    path: Option<PathBuf>,
    /// Opened on first use, on a blocking thread.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl SqliteStore {
    pub fn new(label: &str, path: Option<PathBuf>) -> Self {
        SqliteStore {
            label: label.to_string(),
            path,
            conn: Arc::default(),
        }
    }

    /// Runs `f` on the connection (opening it first) off the async threads.
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &str) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = me.conn.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                *guard = Some(open(me.path.as_ref()).map_err(other)?);
            }
            let conn = guard.as_ref().expect("opened above");
            f(conn, &me.label).map_err(other)
        })
        .await
        .map_err(|e| Error::Other(e.to_string()))?
    }

    pub async fn get(&self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.run(move |c, store| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row((store, &key), |row| row.get(0))
                .optional()
        })
        .await
    }

    pub async fn set(&self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.run(move |c, store| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute((store, &key, &value))
            .map(drop)
        })
        .await
    }

    pub async fn delete(&self, key: String) -> Result<(), Error> {
        self.run(move |c, store| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute((store, &key))
                .map(drop)
        })
        .await
    }

    pub async fn exists(&self, key: String) -> Result<bool, Error> {
        self.run(move |c, store| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists((store, &key))
        })
        .await
    }

    /// Adds `delta` to the counter at `key` (absent: 0), kept as Spin keeps it: 8 bytes,
    /// little-endian. A value of another size is an error (Spin panics).
    pub async fn increment(&self, key: String, delta: i64) -> Result<i64, Error> {
        let value = self
            .run(move |c, store| {
                // IMMEDIATE takes the write lock first, waiting out another process under
                // the busy timeout; a deferred read-then-write would instead fail at once with
                // "database is locked" when two processes upgrade together.
                let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)?;
                let old: Option<Vec<u8>> = tx
                    .prepare_cached(
                        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    )?
                    .query_row((store, &key), |row| row.get(0))
                    .optional()?;
                let old = match old.map(<[u8; 8]>::try_from) {
                    None => 0,
                    Some(Ok(bytes)) => i64::from_le_bytes(bytes),
                    Some(Err(v)) => return Ok(Err(v.len())),
                };
                let new = old.wrapping_add(delta);
                tx.prepare_cached(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                )?
                .execute((store, &key, new.to_le_bytes()))?;
                tx.commit()?;
                Ok(Ok(new))
            })
            .await?;
        value.map_err(|len| Error::Other(format!("the value is {len} bytes, not a 64-bit counter")))
    }

    /// Writes `value` if `key` still holds `seen` (`None`: absent); whether it did.
    pub async fn swap_if(
        &self,
        key: String,
        seen: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, Error> {
        self.run(move |c, store| {
            let changed = match seen {
                Some(old) => c
                    .prepare_cached(
                        "UPDATE spin_key_value SET value = ?4 WHERE store = ?1 AND key = ?2 AND value = ?3",
                    )?
                    .execute((store, &key, &old, &value))?,
                None => c
                    .prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO NOTHING",
                    )?
                    .execute((store, &key, &value))?,
            };
            Ok(changed == 1)
        })
        .await
    }

    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        self.run(|c, store| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
                .query_map([store], |row| row.get(0))?
                .collect()
        })
        .await
    }
}

fn open(path: Option<&PathBuf>) -> rusqlite::Result<Connection> {
    let conn = match path {
        Some(p) => {
            if let Some(dir) = p.parent() {
                // Spin creates the store's directory (e.g. `.spin/`) too.
                std::fs::create_dir_all(dir)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            }
            Connection::open(p)?
        }
        None => Connection::open_in_memory()?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
             store TEXT NOT NULL,
             key   TEXT NOT NULL,
             value BLOB NOT NULL,
             PRIMARY KEY (store, key)
         )",
        [],
    )?;
    Ok(conn)
}

fn other(e: rusqlite::Error) -> Error {
    Error::Other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_handles_on_one_file_share_data_but_not_labels() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kv/sqlite_key_value.db");
        let a = SqliteStore::new("default", Some(file.clone()));
        let b = SqliteStore::new("default", Some(file.clone()));
        let other_label = SqliteStore::new("other", Some(file));
        a.set("k".into(), b"v1".to_vec()).await.unwrap();
        a.set("k".into(), b"v2".to_vec()).await.unwrap();
        assert_eq!(b.get("k".into()).await.unwrap(), Some(b"v2".to_vec()));
        assert!(b.exists("k".into()).await.unwrap());
        assert_eq!(other_label.get("k".into()).await.unwrap(), None);
        assert_eq!(b.keys().await.unwrap(), vec!["k".to_string()]);
        b.delete("k".into()).await.unwrap();
        assert!(!a.exists("k".into()).await.unwrap());
    }
}
