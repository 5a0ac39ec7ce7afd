//! Normalising live values into the shape synth wrote, so a plan converges: AWS returns
//! lists (subnets, security groups) in its own order, synth in the stack's.

use serde_json::{Value, json};

/// `live` in the order `applied[field]` lists it when both hold the same set; otherwise `live`
/// sorted (a real difference, which the plan then shows).
pub fn ordered_like(mut live: Vec<String>, applied: &Value, field: &str) -> Value {
    let want = strings(applied, field);
    let mut a = want.clone();
    a.sort();
    live.sort();
    if a == live { json!(want) } else { json!(live) }
}

/// A list property as strings.
pub fn strings(props: &Value, field: &str) -> Vec<String> {
    props
        .get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A string property, or a validation error naming the missing field.
pub fn str<'a>(props: &'a Value, field: &str) -> Result<&'a str, crate::provider::ProviderError> {
    props.get(field).and_then(Value::as_str).ok_or_else(|| {
        crate::provider::ProviderError::Validation(format!("property `{field}` is missing"))
    })
}

/// The two halves of a `<a>|<b>` id; `shape` names them for the error (`<function>|<alias>`).
pub fn id_pair<'a>(
    id: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), crate::provider::ProviderError> {
    id.split_once('|')
        .ok_or_else(|| crate::provider::ProviderError::Validation(format!("`{id}` is not {shape}")))
}

/// A kind's typed properties: synth builds them, the graph, plan and state keep their JSON
/// view, and the kind reads them back from it.
pub trait Typed: serde::Serialize + serde::de::DeserializeOwned {
    /// The kind they belong to (`"aws.launch_template"`).
    const KIND: &'static str;
    /// What they are the properties of, for errors (`"launch template"`).
    const WHAT: &'static str;

    fn from_value(p: &Value) -> Result<Self, crate::provider::ProviderError> {
        part::<Self, Self>(p)
    }
}

/// What `T` reads of kind `P`'s properties: all of them, or the part a delete or the sweep
/// has (a rule's group and direction); errors name `P`'s properties.
pub fn part<P: Typed, T: serde::de::DeserializeOwned>(
    p: &Value,
) -> Result<T, crate::provider::ProviderError> {
    T::deserialize(p).map_err(|e| {
        crate::provider::ProviderError::Validation(format!("{} properties: {e}", P::WHAT))
    })
}

/// Declares `$props` the typed properties of kind `$kind`, called `$what` in errors.
macro_rules! typed {
    ($props:ty, $kind:literal, $what:literal) => {
        impl $crate::aws::props::Typed for $props {
            const KIND: &'static str = $kind;
            const WHAT: &'static str = $what;
        }
    };
}
pub(crate) use typed;

/// A property synth may know only as a reference to another resource's output (a
/// whole-string `${…}`, e.g. a looked-up VPC's route table ids), which apply resolves to the
/// value itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Val<T> {
    Known(T),
    Ref(String),
}

impl<T> Val<T> {
    /// The value, once apply has resolved it.
    pub fn known(&self, field: &str) -> Result<&T, crate::provider::ProviderError> {
        match self {
            Val::Known(v) => Ok(v),
            Val::Ref(r) => Err(crate::provider::ProviderError::Validation(format!(
                "property `{field}` is still the reference {r}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_set_keeps_applied_order() {
        let applied = json!({"s": ["b", "a"]});
        assert_eq!(
            ordered_like(vec!["a".into(), "b".into()], &applied, "s"),
            json!(["b", "a"])
        );
    }

    #[test]
    fn different_set_is_reported_sorted() {
        let applied = json!({"s": ["b", "a"]});
        assert_eq!(
            ordered_like(vec!["c".into(), "a".into()], &applied, "s"),
            json!(["a", "c"])
        );
    }
}
