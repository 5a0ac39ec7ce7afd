//! Where state lives: one trait (read / write / lock) with a local-file store and an
//! in-memory one for tests.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::State;
use super::file::{self, FormatError};
use super::lock::{self, LockError, LockGuard, LockInfo};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read state {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state {path}")]
    Format {
        path: PathBuf,
        #[source]
        source: FormatError,
    },
    #[error("cannot write state {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot {op} {url}")]
    S3 {
        op: &'static str,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the state at {url} changed since this run read it (another run, or an edit by hand); nothing was overwritten: re-run to work from the current state"
    )]
    Moved { url: String },
    #[error("{0} keeps no earlier versions; the s3 backend on a versioned bucket does")]
    NoHistory(String),
}

/// One stored version of the state (a versioned S3 bucket keeps them all).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateVersion {
    pub version_id: String,
    /// RFC 3339.
    pub last_modified: String,
    pub size: i64,
    pub latest: bool,
}

pub trait StateStore: Send + Sync {
    fn read(&self) -> Result<Option<State>, StoreError>;
    /// Durable when it returns: a crash right after loses nothing.
    fn write(&self, state: &State) -> Result<(), StoreError>;
    fn lock(&self, info: &LockInfo, timeout: Duration) -> Result<LockGuard, StoreError>;
    /// Removes a lock left behind by a dead process; with `id`, only the lock with that id.
    fn force_unlock(&self, id: Option<&str>) -> Result<Option<LockInfo>, StoreError>;
    /// For messages: where the state is.
    fn describe(&self) -> String;
    /// Earlier versions of the state, newest first.
    fn versions(&self) -> Result<Vec<StateVersion>, StoreError> {
        Err(StoreError::NoHistory(self.describe()))
    }
    /// One earlier version, by the id `versions` listed.
    fn read_version(&self, _version_id: &str) -> Result<State, StoreError> {
        Err(StoreError::NoHistory(self.describe()))
    }
}

/// `.wxinfra/<stack>.state.json` next to a `.lock` file.
#[derive(Debug, Clone)]
pub struct LocalStore {
    path: PathBuf,
}

impl LocalStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The default location for a stack, relative to the working directory.
    pub fn default_for(stack: &str) -> Self {
        Self::new(Path::new(".wxinfra").join(format!("{stack}.state.json")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        self.path.with_extension("lock")
    }
}

impl StateStore for LocalStore {
    fn read(&self) -> Result<Option<State>, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => file::decode(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Format {
                    path: self.path.clone(),
                    source,
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn write(&self, state: &State) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        // temp file + fsync + rename + fsync(dir): the file is always the old or the new state.
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        // serde_json writes a token at a time: unbuffered, the demo's state took ~9,000
        // write calls, and apply writes it after every resource.
        let mut out = std::io::BufWriter::new(tmp);
        file::encode(state, &mut out).map_err(|source| StoreError::Format {
            path: self.path.clone(),
            source,
        })?;
        let tmp = out.into_inner().map_err(|e| err(e.into_error()))?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        Ok(())
    }

    fn lock(&self, info: &LockInfo, timeout: Duration) -> Result<LockGuard, StoreError> {
        Ok(lock::acquire(&self.lock_path(), info, timeout)?)
    }

    fn force_unlock(&self, id: Option<&str>) -> Result<Option<LockInfo>, StoreError> {
        let p = self.lock_path();
        let holder = lock::read(&p);
        if let Some(h) = &holder {
            lock::check_id(h, id)?;
        }
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(holder),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Write { path: p, source }),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// State in memory, for tests of the engine and plan.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<Option<State>>,
    pub writes: Mutex<usize>,
}

impl StateStore for MemoryStore {
    fn read(&self) -> Result<Option<State>, StoreError> {
        Ok(self.state.lock().expect("poisoned").clone())
    }
    fn write(&self, state: &State) -> Result<(), StoreError> {
        *self.state.lock().expect("poisoned") = Some(state.clone());
        *self.writes.lock().expect("poisoned") += 1;
        Ok(())
    }
    fn lock(&self, _: &LockInfo, _: Duration) -> Result<LockGuard, StoreError> {
        Ok(LockGuard::detached())
    }
    fn force_unlock(&self, _: Option<&str>) -> Result<Option<LockInfo>, StoreError> {
        Ok(None)
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_store_writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join(".wxinfra/demo.state.json"));
        assert!(store.read().unwrap().is_none());
        let mut s = State::new("demo");
        s.serial = 3;
        store.write(&s).unwrap();
        assert_eq!(store.read().unwrap().unwrap(), s);
        // No temp files left next to the state.
        let names: Vec<_> = std::fs::read_dir(dir.path().join(".wxinfra"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["demo.state.json"]);
    }

    #[test]
    fn unlock_by_id_releases_only_that_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("s.json"));
        let info = LockInfo::for_operation("apply");
        let guard = store.lock(&info, Duration::ZERO).unwrap();
        std::mem::forget(guard); // as a killed run leaves it
        assert!(matches!(
            store.force_unlock(Some("another")),
            Err(StoreError::Lock(LockError::NotThisLock { .. }))
        ));
        assert_eq!(store.force_unlock(Some(&info.id)).unwrap(), Some(info));
        assert_eq!(store.force_unlock(None).unwrap(), None);
    }

    #[test]
    fn corrupt_state_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, b"{not json").unwrap();
        let e = LocalStore::new(&p).read().unwrap_err();
        // As the CLI prints it: each cause once, after what it explains.
        let text = format!("{:#}", anyhow::Error::from(e));
        assert!(
            text.starts_with(&format!("state {}: ", p.display())),
            "{text}"
        );
        assert_eq!(text.matches("not valid JSON").count(), 1, "{text}");
        assert_eq!(text.matches("line 1 column 2").count(), 1, "{text}");
    }
}
