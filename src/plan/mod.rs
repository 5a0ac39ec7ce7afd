//! Plans are plain data: one action per resource with the fields that change and why.
//! Built (pure) in `build`, shown in `render`; the engine executes them.

pub mod build;
pub mod drift;
pub mod render;
pub mod select;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graph::Graph;

/// Version of the `--json` / plan file layout; bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    /// Terraform's symbols.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "unchanged",
            Action::Create => "created",
            Action::Update => "updated in place",
            Action::Replace => "replaced",
            Action::Delete => "destroyed",
        }
    }
}

/// One property that differs between what is wanted and what is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    /// `None` with `after_unknown` when it depends on a resource not created yet.
    pub after: Option<Value>,
    #[serde(default)]
    pub after_unknown: bool,
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    pub kind: String,
    pub action: Action,
    /// Physical id when the resource exists.
    pub id: Option<String>,
    pub changes: Vec<FieldChange>,
    /// Addresses this resource depends on (desired graph; state for deletes).
    pub depends_on: Vec<String>,
    /// Why, when the fields alone do not say (e.g. "deleted outside wxinfra").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A `replace` that creates the new resource first and deletes the old one once what
    /// used it has moved over (`+/-`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// Ids of old objects an interrupted create-before-destroy replacement left, deleted
    /// by this apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<String>,
}

impl ResourceChange {
    /// Whether apply deletes anything for this resource: itself, or old objects.
    pub fn deletes(&self) -> bool {
        matches!(self.action, Action::Delete | Action::Replace) || !self.deposed.is_empty()
    }

    /// Whether apply deletes the object the state has now (not only deposed ones).
    pub fn deletes_current(&self) -> bool {
        self.action == Action::Delete
            || (self.action == Action::Replace && !self.create_before_destroy)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub stack: String,
    /// The state this plan was made against; applying it to another is refused.
    pub lineage: String,
    pub serial: u64,
    /// Resources in dependency order (deletes last, in reverse order).
    pub resources: Vec<ResourceChange>,
    pub summary: Summary,
    /// What apply builds from: exactly what this plan showed.
    pub desired: Graph,
    /// `-target` addresses: the plan holds only these and what they depend on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `-refresh-only`: no resource changes; applying records `drift` in the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh_only: bool,
    /// Live values that differ from the state (a `-refresh-only` plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<drift::ResourceDrift>,
}

impl Plan {
    /// Something to do: a resource change, or (refresh-only) live values to record.
    pub fn has_changes(&self) -> bool {
        self.resources
            .iter()
            .any(|r| r.action != Action::NoOp || !r.deposed.is_empty())
            || !self.drift.is_empty()
    }

    pub fn get(&self, address: &str) -> Option<&ResourceChange> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// A plan of `resources` with placeholder identity, for tests of what reads plans.
#[cfg(test)]
pub fn test_plan(resources: Vec<ResourceChange>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION.into(),
        stack: "s".into(),
        lineage: "l".into(),
        serial: 1,
        summary: Summary::of(&resources),
        resources,
        desired: Default::default(),
        targets: vec![],
        refresh_only: false,
        drift: vec![],
    }
}

impl Summary {
    pub fn of(resources: &[ResourceChange]) -> Self {
        let mut s = Summary::default();
        for r in resources {
            match r.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
            s.destroy += r.deposed.len();
        }
        s
    }
}
