//! The state operations (`state mv`, `rm`, `push`, `migrate`) as pure edits of a [`State`]:
//! each checks that it makes sense and returns the state to write. The CLI reads, locks and
//! writes.

use super::State;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpError {
    #[error("no resource `{0}` in the state; see `wxinfra state list`")]
    Missing(String),
    #[error("`{0}` is already in the state; remove it first (`wxinfra state rm {0}`)")]
    Exists(String),
    #[error(
        "`{to}` is not an address of kind `{kind}`: an address is `<kind>.<name>` and a move cannot change the kind"
    )]
    KindChange { to: String, kind: String },
    #[error(
        "the pushed state belongs to stack `{pushed}`, not `{current}`; pass --force to push it anyway"
    )]
    Stack { pushed: String, current: String },
    #[error(
        "the pushed state has lineage {pushed}, the current one {current}: it is another state's history; pass --force to replace it"
    )]
    Lineage { pushed: String, current: String },
    #[error(
        "the pushed state has serial {pushed}, older than the current {current}: it would undo later changes; pass --force to push it anyway"
    )]
    SerialBackwards { pushed: u64, current: u64 },
    #[error(
        "the target {target} already holds a state with {resources} resource(s); pass --force to overwrite it"
    )]
    TargetNotEmpty { target: String, resources: usize },
}

/// Renames `from` to `to` (same kind), and every dependency on it.
pub fn mv(mut state: State, from: &str, to: &str) -> Result<State, OpError> {
    let rs = state
        .resources
        .remove(from)
        .ok_or_else(|| OpError::Missing(from.into()))?;
    if state.resources.contains_key(to) {
        return Err(OpError::Exists(to.into()));
    }
    let same_kind = to
        .strip_prefix(rs.kind.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|name| !name.is_empty());
    if !same_kind {
        return Err(OpError::KindChange {
            to: to.into(),
            kind: rs.kind,
        });
    }
    state.resources.insert(to.into(), rs);
    for r in state.resources.values_mut() {
        if r.depends_on.remove(from) {
            r.depends_on.insert(to.into());
        }
    }
    state.serial += 1;
    Ok(state)
}

/// Forgets `addresses` (the resources stay where they are). Returns the state and, per
/// removed address, the resources still recorded as depending on it.
pub fn rm(mut state: State, addresses: &[String]) -> Result<(State, Vec<String>), OpError> {
    for a in addresses {
        if !state.resources.contains_key(a) {
            return Err(OpError::Missing(a.clone()));
        }
    }
    for a in addresses {
        state.resources.remove(a);
    }
    let dependents = state
        .resources
        .iter()
        .filter(|(_, r)| addresses.iter().any(|a| r.depends_on.contains(a)))
        .map(|(a, _)| a.clone())
        .collect();
    state.serial += 1;
    Ok((state, dependents))
}

/// The state to write for `state push`: refused when it is another stack's or another
/// lineage, or older than the current one, unless forced. The written serial is above both,
/// so any plan made before the push is stale.
pub fn push(current: Option<&State>, mut pushed: State, force: bool) -> Result<State, OpError> {
    if let Some(cur) = current {
        if !force {
            if pushed.stack != cur.stack {
                return Err(OpError::Stack {
                    pushed: pushed.stack,
                    current: cur.stack.clone(),
                });
            }
            if pushed.lineage != cur.lineage {
                return Err(OpError::Lineage {
                    pushed: pushed.lineage,
                    current: cur.lineage.clone(),
                });
            }
            if pushed.serial < cur.serial {
                return Err(OpError::SerialBackwards {
                    pushed: pushed.serial,
                    current: cur.serial,
                });
            }
        }
        pushed.serial = pushed.serial.max(cur.serial) + 1;
    }
    Ok(pushed)
}

/// The state to write into a migration target: the source as it is, refused when the target
/// already holds resources unless forced.
pub fn migrate(
    source: State,
    target: Option<&State>,
    target_name: &str,
    force: bool,
) -> Result<State, OpError> {
    match target {
        Some(t) if !t.resources.is_empty() && !force => Err(OpError::TargetNotEmpty {
            target: target_name.into(),
            resources: t.resources.len(),
        }),
        Some(t) => {
            let mut s = source;
            s.serial = s.serial.max(t.serial + 1);
            Ok(s)
        }
        None => Ok(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ResourceState, Status};

    fn with(addresses: &[(&str, &[&str])]) -> State {
        let mut s = State::new("demo");
        for (a, deps) in addresses {
            let kind = a.rsplit_once('.').unwrap().0;
            s.resources.insert(
                a.to_string(),
                ResourceState {
                    kind: kind.into(),
                    status: Status::Created,
                    id: Some(format!("id-{a}")),
                    props: serde_json::Value::Null,
                    outputs: Default::default(),
                    depends_on: deps.iter().map(|d| d.to_string()).collect(),
                    token: None,
                    ignore_changes: Default::default(),
                },
            );
        }
        s
    }

    #[test]
    fn mv_renames_the_resource_and_its_dependents_edges() {
        let s = with(&[("aws.vpc.main", &[]), ("aws.subnet.a", &["aws.vpc.main"])]);
        let moved = mv(s.clone(), "aws.vpc.main", "aws.vpc.core").unwrap();
        assert_eq!(moved.serial, s.serial + 1);
        assert_eq!(
            moved.resources["aws.vpc.core"].id.as_deref(),
            Some("id-aws.vpc.main")
        );
        assert!(
            moved.resources["aws.subnet.a"]
                .depends_on
                .contains("aws.vpc.core")
        );
        assert!(!moved.resources.contains_key("aws.vpc.main"));

        assert_eq!(
            mv(s.clone(), "aws.vpc.nope", "aws.vpc.x").unwrap_err(),
            OpError::Missing("aws.vpc.nope".into())
        );
        assert!(matches!(
            mv(s.clone(), "aws.vpc.main", "aws.subnet.a").unwrap_err(),
            OpError::Exists(_)
        ));
        assert!(matches!(
            mv(s.clone(), "aws.vpc.main", "aws.subnet.b").unwrap_err(),
            OpError::KindChange { .. }
        ));
        assert!(matches!(
            mv(s, "aws.vpc.main", "aws.vpc.").unwrap_err(),
            OpError::KindChange { .. }
        ));
    }

    #[test]
    fn rm_forgets_and_names_who_still_depends() {
        let s = with(&[("aws.vpc.main", &[]), ("aws.subnet.a", &["aws.vpc.main"])]);
        let (after, dependents) = rm(s.clone(), &["aws.vpc.main".into()]).unwrap();
        assert_eq!(after.resources.len(), 1);
        assert_eq!(dependents, ["aws.subnet.a"]);
        // All or nothing: one unknown address removes none.
        assert_eq!(
            rm(s, &["aws.subnet.a".into(), "aws.vpc.x".into()]).unwrap_err(),
            OpError::Missing("aws.vpc.x".into())
        );
    }

    #[test]
    fn push_refuses_another_lineage_or_an_older_serial_unless_forced() {
        let mut cur = with(&[("aws.vpc.main", &[])]);
        cur.serial = 5;
        let mut older = cur.clone();
        older.serial = 4;
        assert_eq!(
            push(Some(&cur), older.clone(), false).unwrap_err(),
            OpError::SerialBackwards {
                pushed: 4,
                current: 5
            }
        );
        assert_eq!(push(Some(&cur), older, true).unwrap().serial, 6);
        let other = State::new("demo");
        assert!(matches!(
            push(Some(&cur), other.clone(), false).unwrap_err(),
            OpError::Lineage { .. }
        ));
        let same = push(Some(&cur), cur.clone(), false).unwrap();
        assert_eq!((same.serial, same.lineage), (6, cur.lineage.clone()));
        // Nothing there yet: written as it is.
        assert_eq!(push(None, other.clone(), false).unwrap(), other);
    }

    #[test]
    fn migrate_refuses_a_target_with_resources_unless_forced() {
        let src = with(&[("aws.vpc.main", &[])]);
        let mut full = with(&[("aws.vpc.other", &[])]);
        full.serial = 9;
        assert!(matches!(
            migrate(src.clone(), Some(&full), "s3://b/k", false).unwrap_err(),
            OpError::TargetNotEmpty { resources: 1, .. }
        ));
        let forced = migrate(src.clone(), Some(&full), "s3://b/k", true).unwrap();
        assert_eq!((forced.serial, &forced.lineage), (10, &src.lineage));
        let empty = State::new("demo");
        assert!(migrate(src.clone(), Some(&empty), "t", false).is_ok());
        assert_eq!(migrate(src.clone(), None, "t", false).unwrap(), src);
    }
}
