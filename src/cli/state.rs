//! `wxinfra state list|show|unlock`: inspect the state and release a stale lock.

use std::process::ExitCode;

use super::{Global, StackArg, context, ui::Ui};

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state with their ids.
    List {
        #[command(flatten)]
        stack: StackArg,
    },
    /// Show one resource's state (properties, outputs, dependencies) as JSON.
    Show {
        #[command(flatten)]
        stack: StackArg,
        address: String,
    },
    /// Remove a lock left by a wxinfra process that died. Make sure it is not running.
    Unlock {
        #[command(flatten)]
        stack: StackArg,
    },
}

pub async fn run(c: StateCommand, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    match c {
        StateCommand::List { stack } => {
            let loaded = context::load_stack(&stack)?;
            let state = context::read_state(context::store(g, &loaded).as_ref(), &loaded)?;
            let text: String = state
                .resources
                .iter()
                .map(|(a, r)| {
                    format!("{a}\t{}\t{:?}\n", r.id.as_deref().unwrap_or("-"), r.status)
                        .to_lowercase()
                })
                .collect();
            ui.out(&text);
        }
        StateCommand::Show { stack, address } => {
            let loaded = context::load_stack(&stack)?;
            let state = context::read_state(context::store(g, &loaded).as_ref(), &loaded)?;
            let r = state.resources.get(&address).ok_or_else(|| {
                anyhow::anyhow!("no resource `{address}` in the state; see `wxinfra state list`")
            })?;
            ui.out(&serde_json::to_string_pretty(r)?);
        }
        StateCommand::Unlock { stack } => {
            let loaded = context::load_stack(&stack)?;
            match context::store(g, &loaded).force_unlock()? {
                Some(h) => ui.note(&format!(
                    "Released the lock held by pid {} on {} ({}, since {}).",
                    h.pid, h.host, h.operation, h.created
                )),
                None => ui.note("The state was not locked."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
