//! Human text for a plan, in Terraform's style. Returns strings; the CLI prints them.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, FieldChange, Plan};

/// ANSI colour for an action's symbol, or nothing when colour is off.
fn paint(action: Action, text: &str, color: bool) -> String {
    let code = match action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Replace => "35",
        Action::Delete => "31",
        Action::NoOp => return text.to_string(),
    };
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn show(v: &Option<Value>, unknown: bool) -> String {
    match (v, unknown) {
        (_, true) => "(known after apply)".into(),
        (Some(v), _) => v.to_string(),
        (None, _) => "(none)".into(),
    }
}

fn field_line(out: &mut String, action: Action, c: &FieldChange, width: usize, color: bool) {
    let (sym, text) = match action {
        Action::Create => ("+", show(&c.after, c.after_unknown)),
        _ => (
            "~",
            format!(
                "{} -> {}",
                show(&c.before, false),
                show(&c.after, c.after_unknown)
            ),
        ),
    };
    let note = if c.forces_replacement {
        "  # forces replacement"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "      {} {:<width$} = {text}{note}",
        paint(action, sym, color),
        c.field
    );
}

/// The plan as Terraform users expect to read it; ends with the `Plan:` summary line.
pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = if plan.refresh_only {
        refresh_only(plan)
    } else {
        changes(plan, color)
    };
    if !plan.targets.is_empty() {
        let _ = writeln!(
            out,
            "\nNote: only {} and what they depend on were planned (-target); the rest of the stack may have changes this plan does not show.",
            plan.targets.join(", ")
        );
    }
    out
}

/// A `-refresh-only` plan: what the state would record.
fn refresh_only(plan: &Plan) -> String {
    if plan.drift.is_empty() {
        return "No changes. The state matches the live resources; there is nothing to record.\n"
            .into();
    }
    let mut s = super::drift::body(&plan.drift);
    let _ = writeln!(
        s,
        "\nRefresh only: {} resource(s) would be recorded as they are live (gone ones forgotten); no resource changes.",
        plan.drift.len()
    );
    s
}

fn changes(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let changed: Vec<_> = plan
        .resources
        .iter()
        .filter(|r| r.action != Action::NoOp || !r.deposed.is_empty())
        .collect();
    if changed.is_empty() {
        out.push_str("No changes. The live infrastructure matches the stack.\n");
        return out;
    }
    out.push_str("wxinfra will perform the following actions:\n\n");
    for r in changed {
        for d in &r.deposed {
            let _ = writeln!(
                out,
                "  # {} (deposed {d}) will be destroyed — left by a create-before-destroy replacement\n{:>3} {} (deposed {d})\n",
                r.address,
                paint(Action::Delete, Action::Delete.symbol(), color),
                r.address
            );
        }
        if r.action == Action::NoOp {
            continue;
        }
        let id =
            r.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        let verb = match r.action {
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace if r.create_before_destroy => {
                "must be replaced (the new one is created first)"
            }
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
            Action::NoOp => unreachable!("skipped above"),
        };
        let symbol = if r.create_before_destroy {
            "+/-"
        } else {
            r.action.symbol()
        };
        let why = r
            .reason
            .as_deref()
            .map(|w| format!(" — {w}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  # {}{id} {verb}{why}", r.address);
        let _ = writeln!(out, "{:>3} {}", paint(r.action, symbol, color), r.address);
        let width = r.changes.iter().map(|c| c.field.len()).max().unwrap_or(0);
        for c in &r.changes {
            field_line(&mut out, r.action, c, width, color);
        }
        out.push('\n');
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ResourceChange;
    use serde_json::json;

    fn change(
        field: &str,
        before: Option<Value>,
        after: Option<Value>,
        forces: bool,
    ) -> FieldChange {
        FieldChange {
            field: field.into(),
            before,
            after,
            after_unknown: false,
            forces_replacement: forces,
        }
    }

    #[test]
    fn plan_text_reads_like_terraform() {
        let resources = vec![
            ResourceChange {
                address: "aws.subnet.public-a".into(),
                kind: "aws.subnet".into(),
                action: Action::Create,
                id: None,
                changes: vec![
                    change("cidr_block", None, Some(json!("10.0.0.0/24")), false),
                    FieldChange {
                        field: "vpc_id".into(),
                        before: None,
                        after: None,
                        after_unknown: true,
                        forces_replacement: false,
                    },
                ],
                depends_on: vec!["aws.vpc.main".into()],
                reason: None,
                create_before_destroy: false,
                deposed: vec![],
            },
            ResourceChange {
                address: "aws.lb_listener.main".into(),
                kind: "aws.lb_listener".into(),
                action: Action::Update,
                id: Some("arn:l".into()),
                changes: vec![change(
                    "weights",
                    Some(json!({"ec2": 1})),
                    Some(json!({"ec2": 3})),
                    false,
                )],
                depends_on: vec![],
                reason: None,
                create_before_destroy: false,
                deposed: vec![],
            },
            ResourceChange {
                address: "aws.instance.ec2-0".into(),
                kind: "aws.instance".into(),
                action: Action::Replace,
                id: Some("i-1".into()),
                changes: vec![change(
                    "instance_type",
                    Some(json!("t4g.small")),
                    Some(json!("t4g.large")),
                    true,
                )],
                depends_on: vec![],
                reason: None,
                create_before_destroy: false,
                deposed: vec![],
            },
            ResourceChange {
                address: "aws.ecs_task_definition.app".into(),
                kind: "aws.ecs_task_definition".into(),
                action: Action::Replace,
                id: Some("td:1".into()),
                changes: vec![change("cpu", Some(json!("256")), Some(json!("512")), true)],
                depends_on: vec![],
                reason: None,
                create_before_destroy: true,
                deposed: vec![],
            },
            ResourceChange {
                address: "aws.s3_object.runtime".into(),
                kind: "aws.s3_object".into(),
                action: Action::NoOp,
                id: Some("b/k2".into()),
                changes: vec![],
                depends_on: vec![],
                reason: None,
                create_before_destroy: false,
                deposed: vec!["b/k1".into()],
            },
            ResourceChange {
                address: "aws.vpc.old".into(),
                kind: "aws.vpc".into(),
                action: Action::Delete,
                id: Some("vpc-9".into()),
                changes: vec![],
                depends_on: vec![],
                reason: None,
                create_before_destroy: false,
                deposed: vec![],
            },
        ];
        let plan = crate::plan::test_plan(resources);
        let expected = r#"wxinfra will perform the following actions:

  # aws.subnet.public-a will be created
  + aws.subnet.public-a
      + cidr_block = "10.0.0.0/24"
      + vpc_id     = (known after apply)

  # aws.lb_listener.main (arn:l) will be updated in place
  ~ aws.lb_listener.main
      ~ weights = {"ec2":1} -> {"ec2":3}

  # aws.instance.ec2-0 (i-1) must be replaced
-/+ aws.instance.ec2-0
      ~ instance_type = "t4g.small" -> "t4g.large"  # forces replacement

  # aws.ecs_task_definition.app (td:1) must be replaced (the new one is created first)
+/- aws.ecs_task_definition.app
      ~ cpu = "256" -> "512"  # forces replacement

  # aws.s3_object.runtime (deposed b/k1) will be destroyed — left by a create-before-destroy replacement
  - aws.s3_object.runtime (deposed b/k1)

  # aws.vpc.old (vpc-9) will be destroyed
  - aws.vpc.old

Plan: 3 to add, 1 to change, 4 to destroy.
"#;
        assert_eq!(render(&plan, false), expected);
    }

    #[test]
    fn empty_plan_says_so() {
        let plan = crate::plan::test_plan(vec![]);
        assert!(render(&plan, false).starts_with("No changes."));
    }
}
