//! `wxinfra diff`: field-level drift of live resources against the last applied state.

use std::process::ExitCode;
use std::sync::Arc;

use super::{Global, ReportOpts, StackArg, context, ui::Ui};
use crate::plan::drift;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    #[command(flatten)]
    pub report: ReportOpts,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    let aws = context::aws(g, &loaded).await?;
    let live =
        crate::engine::refresh(&state, aws.provider.clone(), Arc::new(ui.progress()), 10).await?;
    let drifts = drift::drift(&state, &live);
    if a.report.json {
        ui.out(&serde_json::to_string_pretty(&drifts)?);
    } else {
        ui.out(&drift::render(&drifts));
    }
    aws.report_calls(ui);
    Ok(if a.report.detailed_exitcode && !drifts.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
