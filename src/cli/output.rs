//! `wxinfra output`: the stack's outputs from the state, no network.

use std::process::ExitCode;

use super::{Global, StackArg, context, ui::Ui};
use crate::artifacts::Purpose;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    /// Print outputs as a JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print only this output's value (raw, for scripts).
    pub name: Option<String>,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    let artifacts = context::artifacts(&loaded, Some(&state), Purpose::Validate)?;
    let desired = context::desired(&loaded, &artifacts)?;
    let outs = context::outputs(&desired, &state);
    if let Some(name) = &a.name {
        let v = outs
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("no output `{name}` (has the stack been applied?)"))?;
        ui.out(
            &v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
        );
    } else if a.json {
        ui.out(&serde_json::to_string_pretty(&outs)?);
    } else if outs.is_empty() {
        ui.note("No outputs: the stack has not been applied (or was destroyed).");
    } else {
        ui.out(
            &outs
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect::<String>(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
