//! The ahead-of-time compilation cache on the shared volume:
//! `DIR/cache/<engine fingerprint>/<key>.cwasm`, where the key is the sha256
//! of the `.wasm` (for a core module, of the `.wasm` and the converter that
//! turns it into a component). The first process converts and compiles, and
//! writes atomically (temp file + rename); the others load it. An entry
//! another engine wrote, or a damaged one, is ignored and replaced. Owns
//! loading components, with or without the cache, each distinct `.wasm`
//! once per app.
//!
//! Hashing a 37 MB `.wasm` took most of a cached start, so a cache hit does
//! not read it: `by-stat/<stat key>` is a symlink to the entry, named by the
//! file's path, size, mtime and inode. Releases are immutable directories
//! written once (temp + rename), so those facts only repeat for the same
//! bytes; a file changed in place with its mtime put back is the one case
//! this trusts wrongly, as make and cargo do.

use crate::componentize::{self, ConvertError};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::Metadata;
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
    #[error("cannot convert core module {path} to a component")]
    Convert {
        path: PathBuf,
        #[source]
        source: ConvertError,
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
    /// The same `.wasm` as a component loaded before it in this app.
    Shared,
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

/// The cache key of a `.wasm`: its sha256, or for a core module the sha256
/// of its sha256 and the converter's identity, so that a new converter never
/// reuses an entry an old one produced.
pub fn cache_key(bytes: &[u8]) -> String {
    let digest = crate::digest::sha256_hex(bytes);
    if componentize::is_core_module(bytes) {
        let converted = format!("{digest}\n{}", componentize::converter());
        crate::digest::sha256_hex(converted.as_bytes())
    } else {
        digest
    }
}

/// Loads the components of one app: each distinct `.wasm` (by content) is
/// read from the cache or converted and compiled once, however many
/// components use it.
pub struct Loader<'a> {
    engine: &'a Engine,
    cache_dir: Option<&'a Path>,
    loaded: HashMap<String, Component>,
}

impl<'a> Loader<'a> {
    /// Loads through the cache in `cache_dir` (`DIR/cache/<fingerprint>`) if given.
    pub fn new(engine: &'a Engine, cache_dir: Option<&'a Path>) -> Self {
        Loader {
            engine,
            cache_dir,
            loaded: HashMap::new(),
        }
    }

    /// The component at `wasm` (a component, or a core module to convert).
    pub fn load(&mut self, wasm: &Path) -> Result<(Component, Origin), LoadError> {
        let read_err = |source| LoadError::Read {
            path: wasm.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(wasm).map_err(read_err)?;
        let link = self
            .cache_dir
            .zip(stat_key(wasm, &meta))
            .map(|(dir, k)| dir.join("by-stat").join(k));
        if let Some(hit) = link.as_deref().and_then(|l| self.load_linked(l)) {
            return Ok(hit);
        }
        let bytes = std::fs::read(wasm).map_err(read_err)?;
        let key = cache_key(&bytes);
        if let Some(component) = self.loaded.get(&key) {
            return Ok((component.clone(), Origin::Shared));
        }
        let (component, origin) = self.load_new(wasm, &bytes, &key)?;
        if let (Some(link), Origin::CacheHit | Origin::Compiled) = (&link, origin)
            && let Err(err) = write_link(link, &key)
        {
            tracing::warn!(path = %link.display(), error = %err, "cannot write AOT cache index");
        }
        self.loaded.insert(key, component.clone());
        Ok((component, origin))
    }

    /// The component the `by-stat` link names, without reading the `.wasm`;
    /// `None` sends the caller the slow way (no link, or a bad entry).
    fn load_linked(&mut self, link: &Path) -> Option<(Component, Origin)> {
        let target = std::fs::read_link(link).ok()?;
        let key = target.file_stem()?.to_str()?.to_owned();
        if let Some(component) = self.loaded.get(&key) {
            return Some((component.clone(), Origin::Shared));
        }
        let component = try_cached(self.engine, &self.cache_dir?.join(format!("{key}.cwasm")))?;
        self.loaded.insert(key, component.clone());
        Some((component, Origin::CacheHit))
    }

    fn load_new(
        &self,
        wasm: &Path,
        bytes: &[u8],
        key: &str,
    ) -> Result<(Component, Origin), LoadError> {
        let compile_err = |e: wasmtime::Error| LoadError::Compile {
            path: wasm.to_path_buf(),
            message: format!("{e:#}"),
        };
        let entry = self.cache_dir.map(|d| d.join(format!("{key}.cwasm")));
        if let Some(c) = entry.as_deref().and_then(|e| try_cached(self.engine, e)) {
            return Ok((c, Origin::CacheHit));
        }
        let component = as_component(wasm, bytes)?;
        let compiled = self
            .engine
            .precompile_component(&component)
            .map_err(compile_err)?;
        tracing::info!(path = %wasm.display(), key, "compiled component");
        let origin = match entry.as_deref().map(|e| (e, write_atomic(e, &compiled))) {
            None => Origin::Uncached,
            Some((_, Ok(()))) => Origin::Compiled,
            Some((e, Err(err))) => {
                tracing::warn!(path = %e.display(), error = %err, "cannot write AOT cache entry");
                Origin::Uncached
            }
        };
        // SAFETY: `compiled` was produced by `engine` just now.
        let component =
            unsafe { Component::deserialize(self.engine, &compiled) }.map_err(compile_err)?;
        Ok((component, origin))
    }
}

/// A name for the `.wasm` at `path` as it is now: its absolute path, size,
/// mtime and inode, and the converter (a core module's entry depends on it).
/// `None` where the file system keeps no mtime.
fn stat_key(path: &Path, meta: &Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let facts = format!(
        "{}\n{}\n{}\n{}\n{}",
        std::path::absolute(path).ok()?.display(),
        meta.len(),
        mtime.as_nanos(),
        meta.ino(),
        componentize::converter()
    );
    Some(crate::digest::sha256_hex(facts.as_bytes()))
}

/// Points `link` at the entry for `key`, replacing any older link atomically.
fn write_link(link: &Path, key: &str) -> std::io::Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new().prefix(".link").make_in(dir, |p| {
        std::os::unix::fs::symlink(format!("../{key}.cwasm"), p)
    })?;
    tmp.persist(link).map_err(|e| e.error)?;
    Ok(())
}

/// `bytes` as component bytes: converted when they are a core module.
fn as_component<'b>(wasm: &Path, bytes: &'b [u8]) -> Result<Cow<'b, [u8]>, LoadError> {
    if !componentize::is_core_module(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let component = componentize::componentize(bytes).map_err(|source| LoadError::Convert {
        path: wasm.to_path_buf(),
        source,
    })?;
    tracing::info!(path = %wasm.display(), converter = componentize::converter(), "converted core module to a component");
    Ok(Cow::Owned(component))
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
        let load = |dir: &Path| Loader::new(&engine, Some(dir)).load(&wasm).unwrap().1;
        assert_eq!(load(&dir), Origin::Compiled);
        assert_eq!(load(&dir), Origin::CacheHit);
        let entry = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .unwrap();
        std::fs::write(&entry, b"\x7fELF garbage").unwrap();
        assert_eq!(load(&dir), Origin::Compiled);
        assert_eq!(load(&dir), Origin::CacheHit);
    }

    #[test]
    fn a_hit_by_stat_reads_no_bytes_and_a_touched_file_is_hashed_again() {
        let engine = crate::engine::new_engine(&Default::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let wasm = tmp.path().join("c.wasm");
        std::fs::write(&wasm, wat_bytes()).unwrap();
        let dir = engine_dir(&engine, &tmp.path().join("cache"));
        let load = || Loader::new(&engine, Some(&dir)).load(&wasm);
        assert_eq!(load().unwrap().1, Origin::Compiled);
        let mtime = std::fs::metadata(&wasm).unwrap().modified().unwrap();

        // Same length, same mtime and inode, bytes no parser accepts: a hit
        // that read the file would fail.
        let file = std::fs::OpenOptions::new().write(true).open(&wasm).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &vec![0xff; wat_bytes().len()], 0).unwrap();
        file.set_modified(mtime).unwrap();
        assert_eq!(load().unwrap().1, Origin::CacheHit);

        // Another mtime: the content is hashed, and garbage is refused.
        file.set_modified(mtime + std::time::Duration::from_secs(1))
            .unwrap();
        assert!(matches!(load(), Err(LoadError::Compile { .. })));

        // The original bytes again (a new mtime): the content key finds the
        // entry and links it under the new stat key.
        std::fs::write(&wasm, wat_bytes()).unwrap();
        assert_eq!(load().unwrap().1, Origin::CacheHit);
        let links = std::fs::read_dir(dir.join("by-stat")).unwrap().count();
        assert_eq!(links, 2, "a link per loaded (path, size, mtime, inode)");
    }

    #[test]
    fn one_wasm_used_twice_in_an_app_is_loaded_once() {
        let engine = crate::engine::new_engine(&Default::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a.wasm"), tmp.path().join("b.wasm"));
        std::fs::write(&a, wat_bytes()).unwrap();
        std::fs::write(&b, wat_bytes()).unwrap();
        let mut loader = Loader::new(&engine, None);
        assert_eq!(loader.load(&a).unwrap().1, Origin::Uncached);
        assert_eq!(loader.load(&a).unwrap().1, Origin::Shared);
        assert_eq!(loader.load(&b).unwrap().1, Origin::Shared);
    }

    #[test]
    fn core_module_keys_name_the_converter() {
        let module = wat::parse_str("(module)").unwrap();
        let component = wat_bytes();
        assert_eq!(cache_key(&component), crate::digest::sha256_hex(&component));
        assert_ne!(cache_key(&module), crate::digest::sha256_hex(&module));
        assert_eq!(cache_key(&module), cache_key(&module.clone()));
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
