//! Drift: live resources compared field by field with what was last applied. Pure data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::build::Refreshed;
use crate::state::{State, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDrift {
    pub field: String,
    pub applied: Option<Value>,
    pub live: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDrift {
    pub address: String,
    pub kind: String,
    pub id: Option<String>,
    /// `true` when the resource is gone.
    pub missing: bool,
    pub fields: Vec<FieldDrift>,
}

/// Every resource whose live properties differ from the applied ones, or that is gone.
pub fn drift(state: &State, live: &Refreshed) -> Vec<ResourceDrift> {
    let mut out = Vec::new();
    for (address, rs) in &state.resources {
        if rs.status != Status::Created {
            continue;
        }
        let base = |missing, fields| ResourceDrift {
            address: address.clone(),
            kind: rs.kind.clone(),
            id: rs.id.clone(),
            missing,
            fields,
        };
        match live.get(address) {
            Some(None) => out.push(base(true, Vec::new())),
            Some(Some(l)) => {
                let fields: Vec<FieldDrift> = rs
                    .props
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, v)| {
                        !rs.ignore_changes.contains(*k) && l.props.get(k.as_str()) != Some(*v)
                    })
                    .map(|(k, v)| FieldDrift {
                        field: k.clone(),
                        applied: Some(v.clone()),
                        live: l.props.get(k.as_str()).cloned(),
                    })
                    .collect();
                if !fields.is_empty() {
                    out.push(base(false, fields));
                }
            }
            None => {}
        }
    }
    out
}

/// Human text for drift.
pub fn render(drifts: &[ResourceDrift]) -> String {
    if drifts.is_empty() {
        return "No drift. Live resources match what was last applied.\n".into();
    }
    let mut s = body(drifts);
    s.push_str(&format!(
        "\n{} resource(s) drifted. `wxinfra apply` puts them back.\n",
        drifts.len()
    ));
    s
}

/// The drifted resources and fields, one block each.
pub fn body(drifts: &[ResourceDrift]) -> String {
    use std::fmt::Write;
    let mut s = String::from("Live resources differ from what was last applied:\n\n");
    for d in drifts {
        let id =
            d.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        if d.missing {
            let _ = writeln!(s, "  - {}{id}: deleted outside wxinfra", d.address);
            continue;
        }
        let _ = writeln!(s, "  ~ {}{id}", d.address);
        for f in &d.fields {
            let show = |v: &Option<Value>| {
                v.as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(none)".into())
            };
            let _ = writeln!(
                s,
                "      ~ {} = {} (applied) -> {} (live)",
                f.field,
                show(&f.applied),
                show(&f.live)
            );
        }
    }
    s
}
