//! `wxinfra destroy`: delete everything in the state, dependents first, then sweep what the
//! state lost (found by the stack's tags).

use std::process::ExitCode;
use std::sync::Arc;

use super::{ChangeOpts, Global, StackArg, context, ui::Ui};
use crate::engine::Hooks;
use crate::graph::Graph;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    #[command(flatten)]
    pub change: ChangeOpts,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let _lock = context::lock(g, store.as_ref(), "destroy")?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    if state.resources.is_empty() && !crate::synth::uses_aws(&loaded) {
        ui.out("Nothing to destroy: this stack has no AWS resources.");
        return Ok(ExitCode::SUCCESS);
    }
    let aws = context::aws(g, &loaded).await?;
    let progress = Arc::new(ui.progress());
    let plan = context::make_plan(&Graph::default(), &state, &aws, progress.clone()).await?;
    ui.out(&crate::plan::render::render(&plan, ui.color));
    let question = format!(
        "Destroy every resource of stack `{}`?",
        loaded.stack.name.value
    );
    if !context::approved(&a.change, ui, "destroy", &question)? {
        ui.note("Destroy cancelled.");
        return Ok(ExitCode::FAILURE);
    }
    let engine = context::engine(&aws, store.clone(), progress.clone(), &a.change, ui);
    engine.apply(&plan, state).await?;
    let swept = crate::aws::sweep::sweep(&aws.ctx, &engine.retry, engine.hooks.as_ref()).await?;
    for (kind, id) in &swept.deleted {
        progress.event(crate::engine::Event::Swept {
            kind: kind.clone(),
            id: id.clone(),
        });
    }
    for arn in &swept.uncovered {
        ui.warn(&format!(
            "{arn} is still tagged with this stack, but wxinfra has no sweep for its type; delete it by hand"
        ));
    }
    aws.report_calls(ui);
    ui.note(&format!(
        "Destroy complete! {} destroyed, {} more found by tags.",
        plan.summary.destroy,
        swept.deleted.len()
    ));
    Ok(ExitCode::SUCCESS)
}
