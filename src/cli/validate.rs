//! `wxinfra validate`: schema and semantic checks, no network.

use std::process::ExitCode;

use super::{Global, StackArg, context, ui::Ui};
use crate::artifacts::Purpose;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
}

pub async fn run(a: Args, _g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    // No state, no network, no runtime binary needed: the app must bundle, the graph build.
    let artifacts = context::artifacts(&loaded, None, Purpose::Validate)?;
    let graph = context::desired(&loaded, &artifacts)?;
    let k8s = if loaded.stack.kubernetes.is_some() {
        "; kubernetes: yes"
    } else {
        ""
    };
    ui.out(&format!(
        "{}: valid — stack `{}`, {} AWS resources{k8s}",
        a.stack.file.display(),
        loaded.stack.name.value,
        graph.nodes.len()
    ));
    Ok(ExitCode::SUCCESS)
}
