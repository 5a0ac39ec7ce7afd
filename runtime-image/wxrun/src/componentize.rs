//! Core wasm modules turned into components at load time, as Spin's loader
//! does (`spin-componentize`): a module built for wasm32-wasip1 (or
//! wasm32-unknown-unknown) by wit-bindgen 0.5 or newer carries its component
//! type in `component-type*` custom sections, and `wit-component` encodes it
//! with the WASI preview1 reactor adapter of our wasmtime release. Owns the
//! decision, the conversion and the converter's identity (part of the AOT
//! cache key); not caching or compiling.

use std::sync::OnceLock;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmparser::{ExternalKind, Parser, Payload};
use wit_component::ComponentEncoder;

/// The `wit-component` version pinned in Cargo.toml (a unit test keeps the
/// two in step): a different encoder may encode a different component.
const WIT_COMPONENT: &str = "0.254.2";

/// Why a core module could not be converted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("cannot read the module's component-type metadata: {0}")]
    Metadata(String),
    /// Spin refuses these too, with the same words.
    #[error("cannot adapt modules created with wit-bindgen version {0}")]
    BindgenVersion(String),
    #[error(
        "the module is a WASI command (it exports `_start`): Spin runs those with its Wagi executor, which wxrun does not implement"
    )]
    Command,
    #[error(
        "the module has no component-type metadata from wit-bindgen 0.5 or newer (Spin SDK 1.x or none): converting it needs Spin's own preview1 adapter, which wxrun does not ship; rebuild it with a current Spin SDK"
    )]
    LegacyBindgen,
    #[error("{0}")]
    Encode(String),
}

/// Whether `bytes` is a core module (and so needs [`componentize`]).
pub fn is_core_module(bytes: &[u8]) -> bool {
    Parser::is_core_wasm(bytes)
}

/// Names everything that decides the bytes [`componentize`] produces for a
/// given module: the encoder's version and the adapter's digest.
pub fn converter() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let adapter = crate::digest::sha256_hex(WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER);
        format!("wit-component {WIT_COMPONENT}, reactor adapter sha256:{adapter}")
    })
}

/// Converts a core module into a component.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let facts = ModuleFacts::read(module)?;
    match facts.bindgen_version.as_deref() {
        Some(v) if supported_bindgen(v) => encode(module),
        Some(v) => Err(ConvertError::BindgenVersion(v.to_string())),
        None if facts.exports_start && !facts.probably_bindgen() => Err(ConvertError::Command),
        None => Err(ConvertError::LegacyBindgen),
    }
}

fn encode(module: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let encode_err = |e: anyhow::Error| ConvertError::Encode(format!("{e:#}"));
    ComponentEncoder::default()
        .validate(true)
        .module(module)
        .map_err(encode_err)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(encode_err)?
        .encode()
        .map_err(encode_err)
}

/// Spin's rule: `major.minor` or `major.minor.patch`, with 0.5 <= version < 1.
fn supported_bindgen(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return false;
    }
    match (parts[0].parse::<u8>(), parts[1].parse::<u8>()) {
        (Ok(major), Ok(minor)) => major == 0 && minor >= 5,
        _ => false,
    }
}

/// What the conversion depends on, read from the module.
#[derive(Debug, Default)]
struct ModuleFacts {
    /// `processed-by` version of the wit-bindgen that wrote the metadata.
    bindgen_version: Option<String>,
    exports_start: bool,
    /// A canonical ABI realloc export: a sign of (old) wit-bindgen.
    exports_realloc: bool,
    /// Any `component-type*` custom section.
    has_metadata: bool,
}

impl ModuleFacts {
    fn read(module: &[u8]) -> Result<Self, ConvertError> {
        let mut facts = ModuleFacts::default();
        for payload in Parser::new(0).parse_all(module) {
            let payload = payload.map_err(|e| ConvertError::Encode(e.to_string()))?;
            if let Payload::CustomSection(section) = &payload
                && section.name().starts_with("component-type")
            {
                facts.has_metadata = true;
            }
            if let Payload::ExportSection(reader) = payload {
                for export in reader {
                    let export = export.map_err(|e| ConvertError::Encode(e.to_string()))?;
                    if export.kind != ExternalKind::Func {
                        continue;
                    }
                    match export.name {
                        "_start" => facts.exports_start = true,
                        "cabi_realloc" | "canonical_abi_realloc" => facts.exports_realloc = true,
                        _ => {}
                    }
                }
            }
        }
        let (_, bindgen) = wit_component::metadata::decode(module)
            .map_err(|e| ConvertError::Metadata(format!("{e:#}")))?;
        facts.bindgen_version = bindgen.producers.as_ref().and_then(|p| {
            p.get("processed-by")?
                .iter()
                .find(|(tool, _)| tool.starts_with("wit-bindgen"))
                .map(|(_, version)| version.clone())
        });
        Ok(facts)
    }

    /// Spin's guess that a module without a version was built by wit-bindgen.
    fn probably_bindgen(&self) -> bool {
        self.has_metadata || self.exports_realloc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindgen_versions_follow_spins_rule() {
        for ok in ["0.5", "0.5.0", "0.51.0", "0.16.0"] {
            assert!(supported_bindgen(ok), "{ok}");
        }
        for bad in ["0.4.0", "0.2.0", "1.0.0", "0.51.0.1", "x.y", "0"] {
            assert!(!supported_bindgen(bad), "{bad}");
        }
    }

    #[test]
    fn the_converter_names_the_pinned_encoder() {
        let manifest: toml::Table = toml::from_str(include_str!("../Cargo.toml")).unwrap();
        let pinned = manifest["dependencies"]["wit-component"].as_str().unwrap();
        assert_eq!(pinned, format!("={WIT_COMPONENT}"));
        assert!(converter().starts_with("wit-component 0.254.2, reactor adapter sha256:"));
    }

    #[test]
    fn modules_without_metadata_are_refused_as_spin_refuses_them() {
        let command = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        assert!(is_core_module(&command));
        assert_eq!(componentize(&command), Err(ConvertError::Command));
        let reactor = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        assert_eq!(componentize(&reactor), Err(ConvertError::LegacyBindgen));
        let component = wat::parse_str("(component)").unwrap();
        assert!(!is_core_module(&component));
    }
}
