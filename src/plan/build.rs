//! Desired graph + state + refreshed live resources → a plan. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Action, FieldChange, PLAN_FORMAT_VERSION, Plan, ResourceChange, Summary};
use crate::graph::reference::resolve_fields;
use crate::graph::{Graph, GraphError};
use crate::provider::{Live, Provider};
use crate::state::{State, Status};

/// What the refresh saw for each resource in state: `None` = gone.
pub type Refreshed = BTreeMap<String, Option<Live>>;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("no provider implements resource kind `{0}` (needed by {1})")]
    UnknownKind(String, String),
    #[error("-replace {0}: it is not a created resource of this stack (see `wxinfra state list`)")]
    CannotReplace(String),
}

pub fn build(
    desired: &Graph,
    state: &State,
    live: &Refreshed,
    provider: &dyn Provider,
) -> Result<Plan, PlanError> {
    build_with(desired, state, live, provider, &BTreeSet::new())
}

/// [`build`], with `replace` forcing a replacement of resources that would otherwise be kept
/// or updated (`-replace ADDRESS`); dependents see the replaced one's outputs as unknown.
pub fn build_with(
    desired: &Graph,
    state: &State,
    live: &Refreshed,
    provider: &dyn Provider,
    replace: &BTreeSet<String>,
) -> Result<Plan, PlanError> {
    for a in replace {
        let exists = state
            .resources
            .get(a)
            .is_some_and(|r| r.status == Status::Created);
        if !desired.nodes.contains_key(a) || !exists {
            return Err(PlanError::CannotReplace(a.clone()));
        }
    }
    let dag = desired.dag()?;
    let order = dag.topo_order().map_err(GraphError::from)?;
    let mut actions: BTreeMap<String, Action> = BTreeMap::new();
    // The fields each in-place update changes, for `updates_output`.
    let mut updated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Replacements that delete first.
    let mut delete_first: BTreeSet<String> = BTreeSet::new();
    let mut resources = Vec::new();

    for address in &order {
        let node = &desired.nodes[address];
        let kind = provider
            .resource(&node.kind)
            .ok_or_else(|| PlanError::UnknownKind(node.kind.clone(), address.clone()))?;
        // A reference is known unless its target is about to get a new identity.
        let lookup = |r: &crate::graph::Ref| -> Option<Value> {
            match actions.get(&r.address) {
                Some(Action::Create | Action::Replace) => None,
                // An update that gives the output a new value (a new template version).
                Some(Action::Update)
                    if desired.nodes.get(&r.address).is_some_and(|n| {
                        provider
                            .resource(&n.kind)
                            .is_some_and(|k| k.updates_output(&r.output, &updated[&r.address]))
                    }) =>
                {
                    None
                }
                _ => state.output(&r.address, &r.output).cloned(),
            }
        };
        let (known, unknown) = resolve_fields(&node.props, &lookup);
        let depends_on: Vec<String> = node.depends_on().into_iter().collect();
        let existing = state.resources.get(address);
        let current = live.get(address).cloned().flatten();

        let (action, changes, reason) = match (existing, current) {
            (Some(rs), _) if rs.status == Status::Creating => (
                Action::Create,
                creation_fields(&known, &unknown),
                Some("resuming an interrupted create".to_string()),
            ),
            (None, _) => (Action::Create, creation_fields(&known, &unknown), None),
            (Some(_), None) => (
                Action::Create,
                creation_fields(&known, &unknown),
                Some("it no longer exists (deleted outside wxinfra)".to_string()),
            ),
            (Some(rs), Some(live)) => {
                let forced = replace.contains(address);
                compare(kind, node, rs, &live, (&known, &unknown), forced)
            }
        };
        actions.insert(address.clone(), action);
        let fields: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
        if action == Action::Update {
            updated.insert(address.clone(), fields.clone());
        }
        // A dependency replaced delete first has every dependent deleted before it goes, so
        // a dependent's replacement cannot keep its old object until after its new one.
        let create_before_destroy = action == Action::Replace
            && kind.create_before_destroy(&fields)
            && !depends_on.iter().any(|d| delete_first.contains(d));
        if action == Action::Replace && !create_before_destroy {
            delete_first.insert(address.clone());
        }
        resources.push(ResourceChange {
            address: address.clone(),
            kind: node.kind.clone(),
            action,
            id: existing.and_then(|r| r.id.clone()),
            changes,
            depends_on,
            reason,
            create_before_destroy,
            deposed: deposed(state, address),
        });
    }

    resources.extend(removals(desired, state, live));

    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION.to_string(),
        stack: state.stack.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        summary: Summary::of(&resources),
        resources,
        desired: desired.clone(),
        targets: Vec::new(),
        drift: Vec::new(),
        refresh_only: false,
    })
}

/// An existing resource's change: each declared field against its live value (fields the
/// node ignores left out), and what that makes of it.
fn compare(
    kind: &dyn crate::provider::Resource,
    node: &crate::graph::Node,
    rs: &crate::state::ResourceState,
    live: &Live,
    (known, unknown): (&serde_json::Map<String, Value>, &[String]),
    forced: bool,
) -> (Action, Vec<FieldChange>, Option<String>) {
    let mut changes = Vec::new();
    let known = known
        .iter()
        .filter(|(f, _)| !node.ignore_changes.contains(*f));
    let unknown = unknown.iter().filter(|f| !node.ignore_changes.contains(*f));
    for (field, want) in known {
        let have = live.props.get(field);
        if have != Some(want) {
            changes.push(FieldChange {
                field: field.clone(),
                before: have.cloned(),
                after: Some(want.clone()),
                after_unknown: false,
                forces_replacement: kind.forces_replacement(field),
            });
        }
    }
    for field in unknown {
        changes.push(FieldChange {
            field: field.clone(),
            before: live.props.get(field).cloned(),
            after: None,
            after_unknown: true,
            forces_replacement: kind.forces_replacement(field),
        });
    }
    let action = if forced {
        Action::Replace
    } else if changes.is_empty() {
        Action::NoOp
    } else if changes.iter().any(|c| c.forces_replacement) || rs.status == Status::Deleting {
        Action::Replace
    } else {
        Action::Update
    };
    let reason = if forced {
        Some("replacement requested with -replace".to_string())
    } else if action == Action::Update {
        let fields: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
        kind.update_reason(&fields)
    } else {
        None
    };
    (action, changes, reason)
}

/// What state has and the stack no longer wants: deletes, dependents first.
fn removals(desired: &Graph, state: &State, live: &Refreshed) -> Vec<ResourceChange> {
    let mut deletes: Vec<ResourceChange> = state
        .resources
        .iter()
        .filter(|(a, _)| !desired.nodes.contains_key(*a))
        .map(|(a, rs)| ResourceChange {
            address: a.clone(),
            kind: rs.kind.clone(),
            action: Action::Delete,
            id: rs.id.clone(),
            changes: Vec::new(),
            depends_on: rs.depends_on.iter().cloned().collect(),
            reason: match (rs.status, live.get(a)) {
                (Status::Creating, _) => {
                    Some("interrupted create: look for it and delete it".into())
                }
                (_, Some(None)) => Some("already gone; only forgotten".into()),
                _ => None,
            },
            create_before_destroy: false,
            deposed: deposed(state, a),
        })
        .collect();
    deletes.sort_by_key(|d| std::cmp::Reverse(depth_in_state(state, &d.address)));
    deletes
}

/// Ids of the old objects a create-before-destroy replacement of `address` left.
fn deposed(state: &State, address: &str) -> Vec<String> {
    state
        .deposed
        .get(address)
        .map(|d| d.iter().map(|o| o.id.clone()).collect())
        .unwrap_or_default()
}

fn creation_fields(known: &serde_json::Map<String, Value>, unknown: &[String]) -> Vec<FieldChange> {
    let mut out: Vec<FieldChange> = known
        .iter()
        .map(|(f, v)| FieldChange {
            field: f.clone(),
            before: None,
            after: Some(v.clone()),
            after_unknown: false,
            forces_replacement: false,
        })
        .collect();
    out.extend(unknown.iter().map(|f| FieldChange {
        field: f.clone(),
        before: None,
        after: None,
        after_unknown: true,
        forces_replacement: false,
    }));
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

/// Length of the longest dependency chain below `address` in state (0 = depends on nothing).
fn depth_in_state(state: &State, address: &str) -> usize {
    fn go(state: &State, a: &str, seen: &mut Vec<String>) -> usize {
        if seen.iter().any(|s| s == a) {
            return 0;
        }
        seen.push(a.to_string());
        let d = state
            .resources
            .get(a)
            .map(|r| {
                r.depends_on
                    .iter()
                    .map(|d| 1 + go(state, d, seen))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        seen.pop();
        d
    }
    go(state, address, &mut Vec::new())
}
