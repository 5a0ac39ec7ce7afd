//! Narrowed plans, pure: `-target` (those resources and what they depend on) and
//! `-refresh-only` (no changes; the live values are recorded in the state).

use std::collections::BTreeSet;

use super::build::Refreshed;
use super::drift::{self, ResourceDrift};
use super::{Plan, Summary};
use crate::state::State;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("-target {0}: no such resource in this stack or its state (see `wxinfra plan`)")]
    UnknownTarget(String),
}

/// Keeps only `targets` and, transitively, what they depend on. A delete is kept only when
/// its address is itself a target (a dependency is never deleted on another's behalf).
pub fn target(mut plan: Plan, targets: &[String]) -> Result<Plan, SelectError> {
    if targets.is_empty() {
        return Ok(plan);
    }
    for t in targets {
        if plan.get(t).is_none() {
            return Err(SelectError::UnknownTarget(t.clone()));
        }
    }
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(a) = todo.pop() {
        if !keep.insert(a.clone()) {
            continue;
        }
        if let Some(r) = plan.get(&a).filter(|r| r.action != super::Action::Delete) {
            todo.extend(r.depends_on.iter().cloned());
        }
    }
    plan.resources.retain(|r| {
        keep.contains(&r.address)
            && (r.action != super::Action::Delete || targets.contains(&r.address))
    });
    plan.summary = Summary::of(&plan.resources);
    plan.targets = targets.to_vec();
    Ok(plan)
}

/// A plan that changes no resource and records what the refresh saw: live values that
/// differ from the state, and resources that are gone.
pub fn refresh_only(mut plan: Plan, state: &State, live: &Refreshed) -> Plan {
    plan.resources.clear();
    plan.summary = Summary::default();
    plan.drift = drift::drift(state, live);
    plan.refresh_only = true;
    plan
}

/// The state after recording `drift`: drifted properties take their live values, resources
/// that are gone are forgotten. The serial is bumped once.
pub fn record_drift(mut state: State, drift: &[ResourceDrift]) -> State {
    for d in drift {
        if d.missing {
            state.resources.remove(&d.address);
            continue;
        }
        let Some(rs) = state.resources.get_mut(&d.address) else {
            continue;
        };
        if let Some(props) = rs.props.as_object_mut() {
            for f in &d.fields {
                match &f.live {
                    Some(v) => props.insert(f.field.clone(), v.clone()),
                    None => props.remove(&f.field),
                };
            }
        }
    }
    state.serial += 1;
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, ResourceChange, test_plan as plan};
    use crate::provider::Live;
    use crate::state::{ResourceState, Status};
    use serde_json::json;

    fn rc(address: &str, action: Action, deps: &[&str]) -> ResourceChange {
        ResourceChange {
            address: address.into(),
            kind: address.rsplit_once('.').unwrap().0.into(),
            action,
            id: None,
            changes: vec![],
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            reason: None,
            create_before_destroy: false,
            deposed: vec![],
        }
    }

    #[test]
    fn target_keeps_the_target_and_its_dependencies_only() {
        let p = plan(vec![
            rc("aws.vpc.main", Action::Create, &[]),
            rc("aws.subnet.a", Action::Create, &["aws.vpc.main"]),
            rc("aws.subnet.b", Action::Create, &["aws.vpc.main"]),
            rc(
                "aws.lb.main",
                Action::Create,
                &["aws.subnet.a", "aws.subnet.b"],
            ),
            rc("aws.vpc.old", Action::Delete, &[]),
        ]);
        let t = target(p.clone(), &["aws.subnet.a".into()]).unwrap();
        let kept: Vec<_> = t.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(kept, ["aws.vpc.main", "aws.subnet.a"]);
        assert_eq!(t.summary.add, 2);
        assert_eq!(t.targets, ["aws.subnet.a"]);

        let d = target(p.clone(), &["aws.vpc.old".into()]).unwrap();
        assert_eq!(d.resources.len(), 1);
        assert_eq!(d.summary.destroy, 1);

        assert_eq!(
            target(p, &["aws.nope.x".into()]).unwrap_err(),
            SelectError::UnknownTarget("aws.nope.x".into())
        );
    }

    #[test]
    fn refresh_only_records_live_values_and_forgets_what_is_gone() {
        let mut state = State::new("s");
        for (a, props) in [
            ("aws.log_group.app", json!({"retention": 14, "name": "x"})),
            ("aws.vpc.main", json!({"cidr": "10.0.0.0/16"})),
        ] {
            state.resources.insert(
                a.into(),
                ResourceState {
                    kind: a.rsplit_once('.').unwrap().0.into(),
                    status: Status::Created,
                    id: Some(a.into()),
                    props,
                    outputs: Default::default(),
                    depends_on: Default::default(),
                    token: None,
                    ignore_changes: Default::default(),
                },
            );
        }
        let mut live = Refreshed::new();
        live.insert(
            "aws.log_group.app".into(),
            Some(Live {
                props: json!({"retention": 30, "name": "x"}),
                outputs: Default::default(),
            }),
        );
        live.insert("aws.vpc.main".into(), None);
        let p = refresh_only(
            plan(vec![rc("aws.vpc.main", Action::Create, &[])]),
            &state,
            &live,
        );
        assert!(p.refresh_only && p.resources.is_empty() && p.has_changes());
        assert_eq!(p.drift.len(), 2);
        let after = record_drift(state.clone(), &p.drift);
        assert_eq!(after.serial, state.serial + 1);
        assert_eq!(after.resources.len(), 1);
        assert_eq!(after.resources["aws.log_group.app"].props["retention"], 30);
    }
}
