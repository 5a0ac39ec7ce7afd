//! `wxinfra apply`: plan (or load a saved plan), confirm, execute, print outputs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use super::{Global, StackArg, context, ui::Ui};
use crate::engine::Engine;
use crate::plan::Plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many resource operations run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// A plan saved by `plan --out`: apply exactly that (refused if the state moved since).
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let desired = context::desired(&loaded)?;
    let store = context::store(g, &loaded);
    let _lock = context::lock(g, store.as_ref(), "apply")?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    if context::nothing_on_aws(&desired, &state) {
        ui.out(context::NO_AWS);
        return Ok(ExitCode::SUCCESS);
    }
    let aws = context::aws(g, &loaded).await?;
    let progress = Arc::new(ui.progress());

    let plan: Plan = match &a.plan_file {
        Some(p) => {
            let plan: Plan = serde_json::from_slice(
                &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| format!("{} is not a wxinfra plan file", p.display()))?;
            anyhow::ensure!(
                plan.stack == loaded.stack.name.value,
                "{} is a plan for stack `{}`",
                p.display(),
                plan.stack
            );
            plan
        }
        None => context::make_plan(&desired, &state, &aws, progress.clone()).await?,
    };
    ui.out(&crate::plan::render::render(&plan, ui.color));
    if !plan.has_changes() {
        print_outputs(ui, &plan.desired, &state);
        return Ok(ExitCode::SUCCESS);
    }
    if !a.auto_approve && a.plan_file.is_none() {
        anyhow::ensure!(
            context::interactive(),
            "stdin is not a terminal, so apply cannot ask for confirmation; review `wxinfra plan` and pass --auto-approve"
        );
        if !ui.confirm("Do you want to perform these actions?")? {
            ui.note("Apply cancelled.");
            return Ok(ExitCode::FAILURE);
        }
    }

    let stop = interrupt_flag(ui);
    let engine = Engine {
        provider: aws.provider.clone(),
        store: store.clone(),
        hooks: progress,
        parallelism: a.parallelism as usize,
        retry: Default::default(),
        stop,
    };
    let result = engine.apply(&plan, state).await;
    aws.report_calls(ui);
    let after = context::read_state(store.as_ref(), &loaded)?;
    result?;
    let s = &plan.summary;
    ui.note(&format!(
        "Apply complete! Resources: {} added, {} changed, {} destroyed.",
        s.add, s.change, s.destroy
    ));
    print_outputs(ui, &plan.desired, &after);
    Ok(ExitCode::SUCCESS)
}

fn print_outputs(ui: &Ui, desired: &crate::graph::Graph, state: &crate::state::State) {
    let outs = context::outputs(desired, state);
    if outs.is_empty() {
        return;
    }
    let mut text = String::from("\nOutputs:\n");
    for (k, v) in outs {
        text.push_str(&format!("  {k} = {v}\n"));
    }
    ui.out(&text);
}

/// First Ctrl-C: stop starting operations, let in-flight ones finish and save state.
/// A second one exits at once (state is already checkpointed after every step).
pub fn interrupt_flag(ui: &Ui) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let ui = *ui;
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            ui.warn("interrupt received: finishing in-flight operations and saving state (Ctrl-C again to quit now)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    stop
}
