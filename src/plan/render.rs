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
    let mut out = String::new();
    let changed: Vec<_> = plan
        .resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .collect();
    if changed.is_empty() {
        out.push_str("No changes. The live infrastructure matches the stack.\n");
        return out;
    }
    out.push_str("wxinfra will perform the following actions:\n\n");
    for r in changed {
        let id =
            r.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        let verb = match r.action {
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
            Action::NoOp => unreachable!("filtered above"),
        };
        let why = r
            .reason
            .as_deref()
            .map(|w| format!(" — {w}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  # {}{id} {verb}{why}", r.address);
        let _ = writeln!(
            out,
            "{:>3} {}",
            paint(r.action, r.action.symbol(), color),
            r.address
        );
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
