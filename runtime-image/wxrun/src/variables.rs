//! Spin application variables: values from `SPIN_VARIABLE_<NAME>` or the
//! `[variables]` default, expanded into each component's `{{ name }}`
//! templates, and served through `fermyon:spin/variables@2.0.0`,
//! `spin:variables/variables@3.0.0` and `wasi:config/store` (which Spin links
//! too). Owns resolution and the host functions.

use crate::manifest::Manifest;
use std::collections::{BTreeMap, HashMap};
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Accessor, Component, ComponentType, Lift, Linker, Lower};

/// The WASI config draft Spin links; it reads the same component variables.
pub const WASI_CONFIG: &str = "wasi:config/store@0.2.0-draft-2024-09-27";

/// Interfaces implemented here (exact names, as imported by the Spin SDKs).
pub const INTERFACES: [&str; 3] = [
    "fermyon:spin/variables@2.0.0",
    "spin:variables/variables@3.0.0",
    WASI_CONFIG,
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
    #[error("{}variable name {name:?} is invalid: {reason}", component.as_ref().map(|c| format!("component {c:?} ")).unwrap_or_default())]
    Name {
        component: Option<String>,
        name: String,
        reason: String,
    },
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

/// The `error` variant of `wasi:config/store`.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum ConfigError {
    #[component(name = "upstream")]
    Upstream(String),
    #[component(name = "io")]
    Io(String),
}

/// Resolved variable values of one component, by its own variable names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentVariables {
    component: String,
    values: HashMap<String, String>,
}

impl ComponentVariables {
    /// The guest-facing `get`, with Spin's error values and messages.
    pub fn get(&self, name: &str) -> Result<String, GuestError> {
        check_key(name).map_err(|reason| GuestError::InvalidName(format!("{name:?}: {reason}")))?;
        self.values.get(name).cloned().ok_or_else(|| {
            GuestError::Undefined(format!("no variable for {:?}.{name:?}", self.component))
        })
    }

    /// `wasi:config/store.get`: as Spin maps it, an undefined or invalid name is
    /// `none` (wasi-runtime-config's guidance), not an error. Values here never
    /// come from a provider that can fail, so there is no `upstream`/`io` case.
    pub fn config_get(&self, name: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.get(name).ok())
    }

    /// `wasi:config/store.get-all`: every variable of the component, by name.
    pub fn config_get_all(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let mut all: Vec<(String, String)> = self
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort();
        Ok(all)
    }
}

/// Spin's rule for a name a guest asks for (`spin_expressions::Key`):
/// lower-case letters, digits and single underscores, starting with a letter
/// and ending with a letter or digit. Returns the reason a name breaks it.
fn check_key(key: &str) -> Result<(), String> {
    let (Some(first), Some(last)) = (key.bytes().next(), key.bytes().last()) else {
        return Err("must not be empty".into());
    };
    if let Some(invalid) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "invalid character {invalid:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ));
    }
    let reason = if !first.is_ascii_lowercase() {
        "must start with a lowercase ASCII letter"
    } else if !last.is_ascii_alphanumeric() {
        "must end with a lowercase ASCII letter or digit"
    } else if key.contains("__") {
        "must not contain multiple consecutive underscores"
    } else {
        return Ok(());
    };
    Err(reason.into())
}

/// Spin's rule for a variable name in `spin.toml` (`LowerSnakeId`):
/// `_`-separated words, each an ASCII letter followed by lower-case letters
/// or digits.
fn check_manifest_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.contains('-') {
        return Err("words must be separated with '_', not '-'".into());
    }
    for word in name.split('_') {
        let mut chars = word.chars();
        match chars.next() {
            None => return Err("'_'-separated words must not be empty".into()),
            Some(c) if !c.is_ascii_alphabetic() => {
                return Err(format!(
                    "'_'-separated words must start with an ASCII letter; got {c:?}"
                ));
            }
            Some(_) => {}
        }
        if let Some(c) = word.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(format!(
                "'_'-separated words may only contain alphanumeric ASCII; got {c:?}"
            ));
        }
        if word.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "Lower-case identifiers must be all lowercase; got {name:?}"
            ));
        }
    }
    Ok(())
}

/// A `spin.toml` variable name checked by [`check_manifest_name`].
fn manifest_name(component: Option<&String>, name: &str) -> Result<(), VariableError> {
    check_manifest_name(name).map_err(|reason| VariableError::Name {
        component: component.cloned(),
        name: name.to_string(),
        reason,
    })
}

/// Why a `{{ name }}` template could not be expanded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("unterminated template")]
    Unterminated,
    #[error("undefined variable {0:?}")]
    Undefined(String),
}

/// The app's variable values: `SPIN_VARIABLE_<NAME>` or the default.
pub fn app_values(
    manifest: &Manifest,
    env: &HashMap<String, String>,
) -> Result<HashMap<String, String>, VariableError> {
    let mut app = HashMap::new();
    for (name, decl) in &manifest.variables {
        manifest_name(None, name)?;
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
    Ok(app)
}

/// Resolves every component's variables from the app's values.
pub fn resolve(
    manifest: &Manifest,
    app: &HashMap<String, String>,
) -> Result<BTreeMap<String, ComponentVariables>, VariableError> {
    let mut out = BTreeMap::new();
    for (id, c) in &manifest.components {
        let mut values = HashMap::new();
        for (name, template) in &c.variables {
            manifest_name(Some(id), name)?;
            let value = expand(template, app).map_err(|e| match e {
                TemplateError::Unterminated => VariableError::Template {
                    component: id.clone(),
                    name: name.clone(),
                },
                TemplateError::Undefined(reference) => VariableError::Undefined {
                    component: id.clone(),
                    name: name.clone(),
                    reference,
                },
            })?;
            values.insert(name.clone(), value);
        }
        out.insert(
            id.clone(),
            ComponentVariables {
                component: id.clone(),
                values,
            },
        );
    }
    Ok(out)
}

/// Expands each `{{ name }}` in `template` from `values`.
pub fn expand(template: &str, values: &HashMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unterminated)?;
        let reference = after[..end].trim();
        let value = values
            .get(reference)
            .ok_or_else(|| TemplateError::Undefined(reference.to_string()))?;
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
        if interface == WASI_CONFIG {
            inst.func_wrap("get", move |store, (name,): (String,)| {
                Ok((vars(store.data()).config_get(&name),))
            })?;
            inst.func_wrap("get-all", move |store, (): ()| {
                Ok((vars(store.data()).config_get_all(),))
            })?;
        } else if is_async {
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
    fn wasi_config_reads_the_component_variables_and_invalid_names_are_none() {
        let env = HashMap::from([("SPIN_VARIABLE_TOKEN".to_string(), "t0k".to_string())]);
        let m = manifest();
        let vars = resolve(&m, &app_values(&m, &env).unwrap()).unwrap();
        let a = &vars["a"];
        assert_eq!(a.config_get("message"), Ok(Some("Hello, t0k!".into())));
        assert_eq!(a.config_get("greeting"), Ok(None));
        assert_eq!(a.config_get("4invalidname"), Ok(None));
        assert_eq!(
            a.config_get_all(),
            Ok(vec![("message".into(), "Hello, t0k!".into())])
        );
    }

    #[test]
    fn env_overrides_defaults_and_templates_expand() {
        let env = HashMap::from([("SPIN_VARIABLE_TOKEN".to_string(), "t0k".to_string())]);
        let vars = resolve(&manifest(), &app_values(&manifest(), &env).unwrap()).unwrap();
        assert_eq!(vars["a"].get("message").unwrap(), "Hello, t0k!");
        assert_eq!(
            vars["a"].get("nope"),
            Err(GuestError::Undefined(
                r#"no variable for "a"."nope""#.into()
            ))
        );
    }

    /// Spin's `keys_good`/`keys_bad` cases, with its messages.
    #[test]
    fn names_are_checked_as_spin_checks_them() {
        let vars = ComponentVariables::default();
        for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"] {
            assert!(
                matches!(vars.get(good), Err(GuestError::Undefined(_))),
                "{good}"
            );
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            assert!(
                matches!(vars.get(bad), Err(GuestError::InvalidName(_))),
                "{bad}"
            );
        }
        assert_eq!(
            vars.get("4invalidname"),
            Err(GuestError::InvalidName(
                r#""4invalidname": must start with a lowercase ASCII letter"#.into()
            ))
        );
    }

    #[test]
    fn manifest_names_follow_spins_lower_snake_rule() {
        for good in ["a", "api_key", "a1", "db_url2"] {
            assert_eq!(check_manifest_name(good), Ok(()), "{good}");
        }
        for bad in ["", "Api", "api-key", "a__b", "_a", "a_1", "a.b"] {
            assert!(check_manifest_name(bad).is_err(), "{bad}");
        }
        let m = Manifest::parse(
            "spin_manifest_version = 2\n[variables]\nBad = { default = \"x\" }\n",
            std::path::Path::new("/app"),
        )
        .unwrap();
        let e = app_values(&m, &HashMap::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"variable name "Bad" is invalid: Lower-case identifiers must be all lowercase; got "Bad""#
        );
    }

    #[test]
    fn missing_required_variable_names_its_env_var() {
        let e = app_values(&manifest(), &HashMap::new()).unwrap_err();
        assert_eq!(e, VariableError::Missing("token".into(), "TOKEN".into()));
        assert!(e.to_string().contains("SPIN_VARIABLE_TOKEN"));
    }
}
