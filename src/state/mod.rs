//! State: what wxinfra last did, per resource. Plain data here; bytes in `file`, storage and
//! locking in `store`/`lock`/`s3`, which store a stack uses in `backend`.

pub mod backend;
pub mod file;
pub mod lock;
pub mod ops;
pub mod s3;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use lock::{LockGuard, LockInfo};
pub use store::{LocalStore, MemoryStore, StateStore};

/// Current state file schema version.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub stack: String,
    /// Identifies one state's history; a plan made against another lineage is refused.
    pub lineage: String,
    /// Bumped on every write; a saved plan made at another serial is stale.
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceState>,
    /// Per address, the old objects of create-before-destroy replacements not deleted yet.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deposed: BTreeMap<String, Vec<Deposed>>,
}

/// The old object of a create-before-destroy replacement (Terraform's "deposed" object):
/// kept from the new one's create until its own delete, so a run that stops in between
/// leaves it for the next apply to delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deposed {
    pub id: String,
    /// Properties as applied, which its kind's delete may need.
    pub props: Value,
}

/// Where a resource is in its lifecycle, as far as wxinfra knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A create was started (token written) but not confirmed: on the next run, look for it
    /// by token/tags before creating again.
    Creating,
    Created,
    /// A delete was started but not confirmed.
    Deleting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub kind: String,
    pub status: Status,
    /// Physical id; `None` while creating.
    #[serde(default)]
    pub id: Option<String>,
    /// Properties as last applied, references resolved.
    #[serde(default)]
    pub props: Value,
    /// Outputs other resources can reference (always includes `id` once created).
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// Addresses this resource depended on when applied: deletes run in reverse of these.
    #[serde(default)]
    pub depends_on: BTreeSet<String>,
    /// Idempotency token for the create in flight, derived from stack + address + serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Properties its graph node leaves to something else after the create (see
    /// [`crate::graph::Node::ignore_changes`]): drift does not report them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ignore_changes: BTreeSet<String>,
}

impl State {
    pub fn new(stack: &str) -> Self {
        Self {
            version: STATE_VERSION,
            stack: stack.to_string(),
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            resources: BTreeMap::new(),
            deposed: BTreeMap::new(),
        }
    }

    /// Value of `<address>.<output>` if the resource exists with that output. `output` may
    /// be a dotted path into a list or object output (`subnet_ids.0`).
    pub fn output(&self, address: &str, output: &str) -> Option<&Value> {
        let r = self.resources.get(address)?;
        if r.status != Status::Created {
            return None;
        }
        if let Some(v) = r.outputs.get(output) {
            return Some(v);
        }
        let mut parts = output.split('.');
        let mut v = r.outputs.get(parts.next()?)?;
        for p in parts {
            v = match v {
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                Value::Object(m) => m.get(p)?,
                _ => return None,
            };
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_resolve_dotted_paths_into_lists() {
        let mut s = State::new("t");
        let mut outputs = Map::new();
        outputs.insert(
            "subnet_ids".into(),
            serde_json::json!(["subnet-1", "subnet-2"]),
        );
        s.resources.insert(
            "aws.vpc_lookup.default".into(),
            ResourceState {
                kind: "aws.vpc_lookup".into(),
                status: Status::Created,
                id: Some("vpc-1".into()),
                props: Value::Null,
                outputs,
                depends_on: BTreeSet::new(),
                token: None,
                ignore_changes: Default::default(),
            },
        );
        let get = |o: &str| s.output("aws.vpc_lookup.default", o).cloned();
        assert_eq!(get("subnet_ids.1"), Some(serde_json::json!("subnet-2")));
        assert_eq!(get("subnet_ids.2"), None);
        assert_eq!(
            get("subnet_ids"),
            Some(serde_json::json!(["subnet-1", "subnet-2"]))
        );
    }
}
