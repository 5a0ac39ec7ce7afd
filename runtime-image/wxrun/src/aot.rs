//! The ahead-of-time compilation cache on the shared volume:
//! `DIR/cache/<engine fingerprint>/<sha256 of the .wasm>.cwasm`. The first
//! process compiles and writes atomically (temp file + rename); the others
//! load it. An entry another engine wrote, or a damaged one, is ignored and
//! replaced. Owns loading components, with or without the cache.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled};

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read component {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot compile component {path}: {message}")]
    Compile { path: PathBuf, message: String },
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from a valid cache entry.
    CacheHit,
    /// Compiled now and stored in the cache.
    Compiled,
    /// Compiled now; no cache configured (or it could not be written).
    Uncached,
}

/// The cache directory for `engine` under `cache_root` (`DIR/cache`).
pub fn engine_dir(engine: &Engine, cache_root: &Path) -> PathBuf {
    cache_root.join(fingerprint(engine))
}

/// A name for everything that decides whether compiled code is reusable.
pub fn fingerprint(engine: &Engine) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("wasmtime-48-{:016x}", h.finish())
}

/// Loads the component at `wasm`, through the cache in `cache_dir` if given.
pub fn load(
    engine: &Engine,
    cache_dir: Option<&Path>,
    wasm: &Path,
) -> Result<(Component, Origin), LoadError> {
    let bytes = std::fs::read(wasm).map_err(|source| LoadError::Read {
        path: wasm.to_path_buf(),
        source,
    })?;
    let compile_err = |e: wasmtime::Error| LoadError::Compile {
        path: wasm.to_path_buf(),
        message: format!("{e:#}"),
    };
    let Some(dir) = cache_dir else {
        return Ok((
            Component::new(engine, &bytes).map_err(compile_err)?,
            Origin::Uncached,
        ));
    };
    let entry = dir.join(format!("{}.cwasm", crate::digest::sha256_hex(&bytes)));
    if let Some(c) = try_cached(engine, &entry) {
        return Ok((c, Origin::CacheHit));
    }
    let compiled = engine.precompile_component(&bytes).map_err(compile_err)?;
    let origin = match write_atomic(&entry, &compiled) {
        Ok(()) => Origin::Compiled,
        Err(e) => {
            tracing::warn!(path = %entry.display(), error = %e, "cannot write AOT cache entry");
            Origin::Uncached
        }
    };
    // SAFETY: `compiled` was produced by `engine` just now.
    let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(compile_err)?;
    Ok((component, origin))
}

fn try_cached(engine: &Engine, entry: &Path) -> Option<Component> {
    match Engine::detect_precompiled_file(entry) {
        Ok(Some(Precompiled::Component)) => {}
        Ok(_) => {
            if entry.exists() {
                tracing::warn!(path = %entry.display(), "ignoring AOT cache entry: not a precompiled component");
            }
            return None;
        }
        Err(_) => return None,
    }
    // SAFETY: the cache directory is written only by wxrun processes (temp
    // file + rename, so never partially); wasmtime checks that the entry was
    // compiled for a compatible engine and refuses it otherwise.
    match unsafe { Component::deserialize_file(engine, entry) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %entry.display(), error = %format!("{e:#}"), "ignoring stale AOT cache entry");
            None
        }
    }
}

/// Writes `bytes` to `path` via a unique temp file in the same directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    #[test]
    fn second_load_hits_the_cache_and_garbage_is_replaced() {
        let engine = crate::engine::new_engine(&Default::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let wasm = tmp.path().join("c.wasm");
        std::fs::write(&wasm, wat_bytes()).unwrap();
        let dir = engine_dir(&engine, &tmp.path().join("cache"));
        assert_eq!(
            load(&engine, Some(&dir), &wasm).unwrap().1,
            Origin::Compiled
        );
        assert_eq!(
            load(&engine, Some(&dir), &wasm).unwrap().1,
            Origin::CacheHit
        );
        let entry = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&entry, b"\x7fELF garbage").unwrap();
        assert_eq!(
            load(&engine, Some(&dir), &wasm).unwrap().1,
            Origin::Compiled
        );
        assert_eq!(
            load(&engine, Some(&dir), &wasm).unwrap().1,
            Origin::CacheHit
        );
    }

    #[test]
    fn fingerprint_differs_between_engine_configs() {
        let a = crate::engine::new_engine(&Default::default()).unwrap();
        let b = wasmtime::Engine::default();
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        let smaller = crate::engine::Limits {
            memory_bytes: 64 << 20,
            max_instances: 10,
            ..Default::default()
        };
        let c = crate::engine::new_engine(&smaller).unwrap();
        assert_eq!(
            fingerprint(&a),
            fingerprint(&c),
            "limits must not split the cache"
        );
    }

    fn wat_bytes() -> Vec<u8> {
        wat::parse_str(WAT).unwrap()
    }
}
