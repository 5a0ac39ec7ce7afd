//! The state lock: who holds it ([`LockInfo`]), the guard that releases it, and the local
//! implementation (a file created exclusively, removed on drop). The S3 one is in `s3`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Who holds a lock, written into the lock file so a waiting user can tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The run's id: `state unlock ID` releases only the lock with this id.
    #[serde(default)]
    pub id: String,
    pub pid: u32,
    #[serde(default)]
    pub user: String,
    pub host: String,
    pub operation: String,
    /// RFC 3339.
    pub created: String,
    /// The wxinfra version that took it.
    #[serde(default)]
    pub version: String,
}

impl LockInfo {
    pub fn for_operation(operation: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            user: std::env::var("USER").unwrap_or_default(),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            operation: operation.to_string(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// A holder whose lock could not be read back (released, or not wxinfra's).
    pub fn unknown() -> Self {
        Self {
            id: String::new(),
            pid: 0,
            user: String::new(),
            host: "?".into(),
            operation: "unknown".into(),
            created: "?".into(),
            version: String::new(),
        }
    }

    /// Who holds it, for messages: `pid 4242 on ci@runner-7 (apply, since …; lock id …)`.
    pub fn describe(&self) -> String {
        let user = if self.user.is_empty() {
            String::new()
        } else {
            format!("{}@", self.user)
        };
        let id = if self.id.is_empty() {
            String::new()
        } else {
            format!("; lock id {}", self.id)
        };
        format!(
            "pid {} on {user}{} ({}, since {}{id})",
            self.pid, self.host, self.operation, self.created
        )
    }

    /// True when the holder is a process on this host that no longer runs.
    pub fn is_stale_here(&self) -> bool {
        let here = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        here == self.host
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid as i32), None).is_err()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the state is locked by {}", held_message(.0))]
    Held(Box<LockInfo>),
    #[error("the state lock is held by {}, not {wanted}; nothing was released", .held.describe())]
    NotThisLock { held: Box<LockInfo>, wanted: String },
    #[error("cannot take the state lock at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Who holds it and what to do about it.
fn held_message(held: &LockInfo) -> String {
    let advice = if held.is_stale_here() {
        "that process is gone: run"
    } else {
        "wait for it, raise --lock-timeout, or if it died run"
    };
    let unlock = if held.id.is_empty() {
        "wxinfra state unlock".to_string()
    } else {
        format!("wxinfra state unlock {}", held.id)
    };
    format!("{}; {advice} `{unlock}`", held.describe())
}

/// Releases the lock when dropped (removes the lock file or object).
pub struct LockGuard {
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("held", &self.release.is_some())
            .finish()
    }
}

impl LockGuard {
    /// A guard for stores whose lock lives elsewhere (the in-memory store).
    pub fn detached() -> Self {
        Self { release: None }
    }

    /// A guard that runs `release` when dropped.
    pub fn releasing(release: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self {
            release: Some(Box::new(release)),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// Refuses to release a lock other than the one the user named (`state unlock ID`).
pub fn check_id(held: &LockInfo, wanted: Option<&str>) -> Result<(), LockError> {
    match wanted {
        Some(w) if w != held.id => Err(LockError::NotThisLock {
            held: Box::new(held.clone()),
            wanted: w.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Takes the lock at `path`, retrying until `timeout`.
pub fn acquire(path: &Path, info: &LockInfo, timeout: Duration) -> Result<LockGuard, LockError> {
    let deadline = Instant::now() + timeout;
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut wait = Duration::from_millis(100);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => {
                // One write: serde_json unbuffered writes a token at a time, and a waiting
                // process reading the lock meanwhile would find half a document.
                let text = serde_json::to_vec_pretty(info).map_err(|e| io(e.into()))?;
                (&f).write_all(&text).map_err(io)?;
                f.sync_all().map_err(io)?;
                let p = path.to_path_buf();
                return Ok(LockGuard::releasing(move || {
                    let _ = std::fs::remove_file(p);
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A lock whose holder ran here and is gone (killed, crashed) protects nothing:
                // the state was checkpointed after every step, so take it over.
                if let Some(held) = read(path).filter(LockInfo::is_stale_here)
                    && take_over_stale(path, &held)
                {
                    tracing::warn!(
                        "took over the state lock of pid {} ({}, since {}), which no longer runs",
                        held.pid,
                        held.operation,
                        held.created
                    );
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(LockError::Held(Box::new(
                        read(path).unwrap_or_else(LockInfo::unknown),
                    )));
                }
                std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(io(e)),
        }
    }
}

/// Removes the stale lock `held` at `path`; false when another process got there first.
/// The file is first renamed aside (atomic: of several racing takers only one moves it),
/// and only deleted if it still is the stale lock; a fresh lock taken in between is put back.
fn take_over_stale(path: &Path, held: &LockInfo) -> bool {
    let aside = path.with_extension(format!("lock.stale.{}", std::process::id()));
    if std::fs::rename(path, &aside).is_err() {
        return false;
    }
    let was_stale = read(&aside).as_ref() == Some(held);
    if !was_stale {
        // hard_link fails if yet another lock appeared meanwhile; that one then stands.
        let _ = std::fs::hard_link(&aside, path);
    }
    let _ = std::fs::remove_file(&aside);
    was_stale
}

/// Who holds the lock at `path`, if anyone.
pub fn read(path: &Path) -> Option<LockInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_then_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.lock");
        let held = acquire(&p, &LockInfo::for_operation("apply"), Duration::ZERO).unwrap();
        let err = acquire(
            &p,
            &LockInfo::for_operation("plan"),
            Duration::from_millis(150),
        )
        .unwrap_err();
        assert!(err.to_string().contains("apply"), "{err}");
        drop(held);
        assert!(acquire(&p, &LockInfo::for_operation("plan"), Duration::ZERO).is_ok());
    }

    #[test]
    fn lock_of_a_process_killed_here_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.lock");
        let mut dead = LockInfo::for_operation("apply");
        dead.pid = i32::MAX as u32;
        std::fs::write(&p, serde_json::to_vec(&dead).unwrap()).unwrap();
        let guard = acquire(&p, &LockInfo::for_operation("plan"), Duration::ZERO).unwrap();
        assert_eq!(read(&p).unwrap().operation, "plan");
        drop(guard);
        // A holder on another host may still run: never taken over.
        let mut remote = LockInfo::for_operation("apply");
        remote.host = "elsewhere".into();
        std::fs::write(&p, serde_json::to_vec(&remote).unwrap()).unwrap();
        assert!(acquire(&p, &LockInfo::for_operation("plan"), Duration::ZERO).is_err());
        assert!(
            dir.path().read_dir().unwrap().count() == 1,
            "nothing left aside"
        );
    }

    #[test]
    fn lock_of_a_dead_process_is_called_stale() {
        let mut info = LockInfo::for_operation("apply");
        info.pid = i32::MAX as u32;
        assert!(info.is_stale_here());
        assert!(!LockInfo::for_operation("apply").is_stale_here());
    }
}
