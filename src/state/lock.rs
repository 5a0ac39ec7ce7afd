//! The state lock: a file created exclusively, holding who took it, removed on drop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Who holds a lock, written into the lock file so a waiting user can tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub operation: String,
    /// RFC 3339.
    pub created: String,
}

impl LockInfo {
    pub fn for_operation(operation: &str) -> Self {
        Self {
            pid: std::process::id(),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            operation: operation.to_string(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
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
    #[error(
        "the state is locked by pid {} on {} ({}, since {}){}",
        .0.pid, .0.host, .0.operation, .0.created,
        if .0.is_stale_here() { "; that process is gone: run `wxinfra state unlock` to release it" } else { "; wait for it, raise --lock-timeout, or if it died run `wxinfra state unlock`" }
    )]
    Held(LockInfo),
    #[error("cannot take the state lock at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Removes the lock file when dropped.
#[derive(Debug)]
pub struct LockGuard {
    path: Option<PathBuf>,
}

impl LockGuard {
    /// A guard for stores whose lock lives elsewhere (the in-memory store).
    pub fn detached() -> Self {
        Self { path: None }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
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
                serde_json::to_writer_pretty(&f, info).map_err(|e| io(e.into()))?;
                f.sync_all().map_err(io)?;
                return Ok(LockGuard {
                    path: Some(path.to_path_buf()),
                });
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
                    return Err(LockError::Held(read(path).unwrap_or_else(|| LockInfo {
                        pid: 0,
                        host: "?".into(),
                        operation: "unknown".into(),
                        created: "?".into(),
                    })));
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
