//! Imports the runtime does not implement: found per interface by walking a
//! component's import list, reported by `wxrun check`, and linked as
//! functions that trap naming the import (never the blanket
//! `define_unknown_imports_as_traps`). Owns the list of what wxrun provides.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceType};

/// Interfaces linked by `engine::linker`, as `package/interface@version`
/// patterns. A `0.2.x` entry accepts every `0.2` patch (the linker's semver
/// rule); prerelease versions must match exactly.
const PROVIDED: &[(&str, &[&str], &str)] = &[
    ("wasi:io", &["error", "poll", "streams"], "0.2"),
    ("wasi:clocks", &["monotonic-clock", "wall-clock"], "0.2"),
    ("wasi:filesystem", &["types", "preopens"], "0.2"),
    (
        "wasi:random",
        &["random", "insecure", "insecure-seed"],
        "0.2",
    ),
    (
        "wasi:sockets",
        &[
            "network",
            "instance-network",
            "ip-name-lookup",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
        ],
        "0.2",
    ),
    (
        "wasi:cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
        "0.2",
    ),
    ("wasi:http", &["types", "outgoing-handler"], "0.2"),
    (
        "wasi:clocks",
        &["types", "monotonic-clock", "system-clock"],
        "0.3",
    ),
    ("wasi:filesystem", &["types", "preopens"], "0.3"),
    (
        "wasi:random",
        &["random", "insecure", "insecure-seed"],
        "0.3",
    ),
    ("wasi:sockets", &["types", "ip-name-lookup"], "0.3"),
    (
        "wasi:cli",
        &[
            "environment",
            "exit",
            "types",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
        "0.3",
    ),
    ("wasi:http", &["types", "client"], "0.3"),
];

/// One import that wxrun links as traps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    /// The import's name (`fermyon:spin/key-value@2.0.0`).
    pub import: String,
    /// Functions in it that trap when called.
    pub functions: Vec<String>,
}

/// Whether one of `ours` is the import `name` or, by the linker's semver rule,
/// resolves it.
pub fn provides(ours: &[&str], name: &str) -> bool {
    let wanted = semver(name);
    ours.iter()
        .any(|ours| *ours == name || wanted.is_some_and(|w| resolves_to(w, ours)))
}

/// Whether wxrun's linker provides the import called `name`.
pub fn is_provided(name: &str) -> bool {
    if provides(&crate::variables::INTERFACES, name) || provides(&crate::hosts::INTERFACES, name) {
        return true;
    }
    let Some((path, version)) = name.split_once('@') else {
        return false;
    };
    let Some((package, interface)) = path.split_once('/') else {
        return false;
    };
    let mut numbers = version.split('.');
    let series = match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(major), Some(minor), Some(_)) if !version.contains(['-', '+']) => {
            format!("{major}.{minor}")
        }
        _ => return false,
    };
    PROVIDED
        .iter()
        .any(|(p, interfaces, s)| *p == package && *s == series && interfaces.contains(&interface))
}

/// The interface path and version of `name` (`spin:postgres/postgres@4.1.0`).
/// Borrowed, not allocated: start-up asks this for every import against every
/// interface wxrun provides.
fn semver(name: &str) -> Option<(&str, [u64; 3])> {
    let (path, v) = name.split_once('@')?;
    let mut parts = v.split('.').map(|n| n.parse::<u64>().ok());
    Some((path, [parts.next()??, parts.next()??, parts.next()??]))
}

/// Whether the linker's semver rule resolves import `wanted` to our `ours`:
/// the same interface and major version (1 or later), and ours at least as
/// new (a `spin:postgres/postgres@4.1.0` import gets 4.2.0).
fn resolves_to((path, w): (&str, [u64; 3]), ours: &str) -> bool {
    semver(ours).is_some_and(|(q, o)| path == q && w[0] >= 1 && w[0] == o[0] && o >= w)
}

/// Why an unsupported import could not be stubbed.
#[derive(Debug, thiserror::Error)]
#[error("cannot link import {import:?} as traps: {reason}")]
pub struct StubError {
    pub import: String,
    pub reason: String,
}

/// Marker type for resources of unsupported interfaces.
struct UnsupportedResource;

/// Links every import of `component` that wxrun does not implement into `linker` as traps,
/// and lists them.
pub fn link_unsupported<T: 'static>(
    linker: &mut Linker<T>,
    engine: &Engine,
    component: &Component,
) -> Result<Vec<Unsupported>, StubError> {
    let mut list = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        if is_provided(name) {
            continue;
        }
        let fail = |e: wasmtime::Error| StubError {
            import: name.to_string(),
            reason: format!("{e:#}"),
        };
        let functions = match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                let mut inst = linker.instance(name).map_err(fail)?;
                let mut functions = Vec::new();
                for (export, item) in instance.exports(engine) {
                    let qualified = format!("{name}#{export}");
                    match item.ty {
                        ComponentItem::ComponentFunc(f) => {
                            define_trap(&mut inst, export, qualified, f.async_()).map_err(fail)?;
                            functions.push(export.to_string());
                        }
                        ComponentItem::Resource(_) => inst
                            .resource(
                                export,
                                ResourceType::host::<UnsupportedResource>(),
                                |_, _| Ok(()),
                            )
                            .map_err(fail)?,
                        _ => {}
                    }
                }
                functions
            }
            ComponentItem::ComponentFunc(f) => {
                define_trap(&mut linker.root(), name, name.to_string(), f.async_())
                    .map_err(fail)?;
                vec![name.to_string()]
            }
            ComponentItem::Resource(_) => {
                linker
                    .root()
                    .resource(name, ResourceType::host::<UnsupportedResource>(), |_, _| {
                        Ok(())
                    })
                    .map_err(fail)?;
                continue;
            }
            ComponentItem::Type(_) => continue,
            other => {
                return Err(StubError {
                    import: name.to_string(),
                    reason: format!("unsupported import kind {other:?}"),
                });
            }
        };
        list.push(Unsupported {
            import: name.to_string(),
            functions,
        });
    }
    Ok(list)
}

fn define_trap<T: 'static>(
    inst: &mut wasmtime::component::LinkerInstance<'_, T>,
    export: &str,
    qualified: String,
    is_async: bool,
) -> wasmtime::Result<()> {
    if is_async {
        inst.func_new_concurrent(export, move |_, _, _, _| {
            let qualified = qualified.clone();
            Box::pin(
                async move { wasmtime::bail!("wxrun does not implement import `{qualified}`") },
            )
        })
    } else {
        inst.func_new(export, move |_, _, _, _| {
            wasmtime::bail!("wxrun does not implement import `{qualified}`")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_provided;

    #[test]
    fn wasi_02_patches_are_provided_spin_interfaces_are_not() {
        assert!(is_provided("wasi:io/streams@0.2.0"));
        assert!(is_provided("wasi:http/types@0.2.6"));
        assert!(is_provided("wasi:http/client@0.3.0"));
        assert!(is_provided("fermyon:spin/variables@2.0.0"));
        assert!(!is_provided("wasi:http/types@0.2.0-rc-2023-11-10"));
        assert!(!is_provided("wasi:http/types@0.3.0-rc-2025-09-16"));
        assert!(is_provided("fermyon:spin/key-value@2.0.0"));
        assert!(is_provided("fermyon:spin/llm@2.0.0"));
        assert!(!is_provided("fermyon:spin/llm"));
        assert!(is_provided("wasi:keyvalue/store@0.2.0-draft2"));
        assert!(is_provided("wasi:config/store@0.2.0-draft-2024-09-27"));
        assert!(is_provided("wasi:keyvalue/atomics@0.2.0-draft2"));
        assert!(!is_provided("wasi:io/streams@0.20.0"));
        assert!(!is_provided("wasi:clocks/timezone@0.2.6"));
    }

    #[test]
    fn a_spin_import_resolves_to_a_later_minor_version_as_the_linker_does() {
        assert!(is_provided("spin:key-value/key-value@3.0.0"));
        assert!(is_provided("spin:postgres/postgres@4.1.0"));
        assert!(is_provided("spin:sqlite/sqlite@3.1.0"));
        assert!(!is_provided("spin:sqlite/sqlite@3.2.0"));
        assert!(!is_provided("spin:postgres/postgres@5.0.0"));
        assert!(!is_provided("spin:postgres/postgres@4.1.0-rc1"));
    }
}
