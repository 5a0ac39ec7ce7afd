//! `wxinfra plan`: refresh, compare, and show what apply would do.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{Global, ReportOpts, Selection, StackArg, context, ui::Ui};
use crate::artifacts::Purpose;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    #[command(flatten)]
    pub report: ReportOpts,
    #[command(flatten)]
    pub select: Selection,
    /// Save the plan so `apply PLANFILE` does exactly this.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let _lock = context::lock(g, store.as_ref(), "plan")?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    let purpose = context::purpose(&loaded);
    let artifacts = context::artifacts(&loaded, Some(&state), purpose)?;
    let desired = context::desired(&loaded, &artifacts)?;
    if context::nothing_on_aws(&desired, &state) {
        ui.out(context::NO_AWS);
        return Ok(ExitCode::SUCCESS);
    }
    if purpose == Purpose::Deploy {
        ui.note(&context::describe_artifacts(&artifacts));
    }
    let aws = context::aws(g, &loaded).await?;
    let progress = Arc::new(ui.progress());
    let plan = context::make_plan_with(&desired, &state, &aws, progress, &a.select).await?;
    if a.report.json {
        ui.out(&serde_json::to_string_pretty(&plan)?);
    } else {
        ui.out(&crate::plan::render::render(&plan, ui.color));
    }
    if let Some(path) = &a.out {
        std::fs::write(path, serde_json::to_vec_pretty(&plan)?)?;
        ui.note(&format!(
            "Saved the plan to {}; run `wxinfra apply -f {} {}` to do exactly this.",
            path.display(),
            a.stack.file.display(),
            path.display()
        ));
    }
    aws.report_calls(ui);
    Ok(if a.report.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
