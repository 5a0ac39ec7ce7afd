//! Spin application variables: values from `SPIN_VARIABLE_<NAME>` or the
//! `[variables]` default, expanded into each component's `{{ name }}`
//! templates, and served through `fermyon:spin/variables@2.0.0` and
//! `spin:variables/variables@3.0.0`. Owns resolution and the host functions.

use crate::manifest::Manifest;
use std::collections::{BTreeMap, HashMap};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Accessor, Component, ComponentType, Lift, Linker, Lower};

/// Interfaces implemented here (exact names, as imported by the Spin SDKs).
pub const INTERFACES: [&str; 2] = [
    "fermyon:spin/variables@2.0.0",
    "spin:variables/variables@3.0.0",
];

/// Why variables could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VariableError {
    #[error("variable {0:?} is required but SPIN_VARIABLE_{1} is not set")]
    Missing(String, String),
    #[error("component {component:?} variable {name:?} refers to undefined variable {reference:?}")]
    Undefined {
        component: String,
        name: String,
        reference: String,
    },
    #[error("component {component:?} variable {name:?} has an unterminated template")]
    Template { component: String, name: String },
}

/// The `error` variant of both Spin variables interfaces.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum GuestError {
    #[component(name = "invalid-name")]
    InvalidName(String),
    #[component(name = "undefined")]
    Undefined(String),
    #[component(name = "provider")]
    Provider(String),
    #[component(name = "other")]
    Other(String),
}

/// Resolved variable values of one component, by its own variable names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentVariables(HashMap<String, String>);

impl ComponentVariables {
    /// The guest-facing `get`.
    pub fn get(&self, name: &str) -> Result<String, GuestError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(GuestError::InvalidName(format!(
                "invalid variable name {name:?}"
            )));
        }
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| GuestError::Undefined(format!("no variable for {name:?}")))
    }
}

/// Resolves every component's variables from the manifest and `env`.
pub fn resolve(
    manifest: &Manifest,
    env: &HashMap<String, String>,
) -> Result<BTreeMap<String, ComponentVariables>, VariableError> {
    let mut app = HashMap::new();
    for (name, decl) in &manifest.variables {
        let key = name.to_ascii_uppercase();
        match env.get(&format!("SPIN_VARIABLE_{key}")) {
            Some(v) => {
                app.insert(name.clone(), v.clone());
            }
            None => match &decl.default {
                Some(d) => {
                    app.insert(name.clone(), d.clone());
                }
                None if decl.required => return Err(VariableError::Missing(name.clone(), key)),
                None => {}
            },
        }
    }
    let mut out = BTreeMap::new();
    for (id, c) in &manifest.components {
        let mut values = HashMap::new();
        for (name, template) in &c.variables {
            values.insert(name.clone(), expand(id, name, template, &app)?);
        }
        out.insert(id.clone(), ComponentVariables(values));
    }
    Ok(out)
}

fn expand(
    component: &str,
    name: &str,
    template: &str,
    app: &HashMap<String, String>,
) -> Result<String, VariableError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| VariableError::Template {
            component: component.into(),
            name: name.into(),
        })?;
        let reference = after[..end].trim();
        let value = app.get(reference).ok_or_else(|| VariableError::Undefined {
            component: component.into(),
            name: name.into(),
            reference: reference.into(),
        })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Links the variables interfaces `component` imports. The same interface
/// name comes as a sync `get` (Spin 3 SDKs) or an `async func` (Spin 4 /
/// WASI 0.3 SDKs), so each is defined the way the component declares it.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    engine: &Engine,
    component: &Component,
    vars: fn(&T) -> &ComponentVariables,
) -> wasmtime::Result<()> {
    for (interface, item) in component.component_type().imports(engine) {
        if !INTERFACES.contains(&interface) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        let is_async = instance.exports(engine).any(|(name, item)| {
            name == "get" && matches!(item.ty, ComponentItem::ComponentFunc(f) if f.async_())
        });
        let mut inst = linker.instance(interface)?;
        if is_async {
            inst.func_wrap_concurrent("get", move |accessor: &Accessor<T>, (name,): (String,)| {
                let value = accessor.with(|mut access| vars(access.data_mut()).get(&name));
                Box::pin(async move { Ok((value,)) })
            })?;
        } else {
            inst.func_wrap(
                "get",
                move |store,
                      (name,): (String,)|
                      -> wasmtime::Result<(Result<String, GuestError>,)> {
                    Ok((vars(store.data()).get(&name),))
                },
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[variables]
greeting = { default = "Hello" }
token = { required = true }
[component.a]
source = "a.wasm"
[component.a.variables]
message = "{{ greeting }}, {{token}}!"
"#,
            std::path::Path::new("/app"),
        )
        .unwrap()
    }

    #[test]
    fn env_overrides_defaults_and_templates_expand() {
        let env = HashMap::from([("SPIN_VARIABLE_TOKEN".to_string(), "t0k".to_string())]);
        let vars = resolve(&manifest(), &env).unwrap();
        assert_eq!(vars["a"].get("message").unwrap(), "Hello, t0k!");
        assert!(matches!(
            vars["a"].get("nope"),
            Err(GuestError::Undefined(_))
        ));
        assert!(matches!(
            vars["a"].get("Bad-Name"),
            Err(GuestError::InvalidName(_))
        ));
    }

    #[test]
    fn missing_required_variable_names_its_env_var() {
        let e = resolve(&manifest(), &HashMap::new()).unwrap_err();
        assert_eq!(e, VariableError::Missing("token".into(), "TOKEN".into()));
        assert!(e.to_string().contains("SPIN_VARIABLE_TOKEN"));
    }
}
