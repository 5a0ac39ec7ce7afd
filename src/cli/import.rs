//! `wxinfra import`: adopt an existing cloud resource into the state under an address of the
//! stack, read through its kind's provider, then show the plan from there.

use std::process::ExitCode;
use std::sync::Arc;

use super::{Global, StackArg, context, ui::Ui};
use crate::state::{ResourceState, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    /// The address the stack gives the resource (see `wxinfra plan`), e.g. aws.log_group.lambda.
    pub address: String,
    /// The resource's physical id (what `wxinfra state list` would show for it).
    pub id: String,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let _lock = context::lock(g, store.as_ref(), "import")?;
    let mut state = context::read_state(store.as_ref(), &loaded)?;
    anyhow::ensure!(
        !state.resources.contains_key(&a.address),
        "`{}` is already in the state; `wxinfra state rm {}` first to import another resource there",
        a.address,
        a.address
    );
    let artifacts = context::artifacts(&loaded, Some(&state), context::purpose(&loaded))?;
    let desired = context::desired(&loaded, &artifacts)?;
    let node = desired.nodes.get(&a.address).ok_or_else(|| {
        anyhow::anyhow!(
            "the stack has no resource `{}`; import adopts a resource the stack describes (`wxinfra plan` lists the addresses)",
            a.address
        )
    })?;
    let aws = context::aws(g, &loaded).await?;
    let kind = aws
        .provider
        .resource(&node.kind)
        .ok_or_else(|| anyhow::anyhow!("no provider implements `{}`", node.kind))?;
    // What the stack wants, as far as it is known now: the kind reads what its API cannot
    // return from here.
    let wanted = crate::graph::reference::resolve(&node.props, &|r| {
        state.output(&r.address, &r.output).cloned()
    })
    .unwrap_or(serde_json::Value::Null);
    let live = kind
        .read(&a.id, &wanted)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no {} with id `{}` to import", node.kind, a.id))?;
    let mut outputs = live.outputs;
    outputs
        .entry("id")
        .or_insert_with(|| serde_json::Value::String(a.id.clone()));
    state.resources.insert(
        a.address.clone(),
        ResourceState {
            kind: node.kind.clone(),
            status: Status::Created,
            id: Some(a.id.clone()),
            props: live.props,
            outputs,
            depends_on: node.depends_on().into_iter().collect(),
            token: None,
            ignore_changes: Default::default(),
        },
    );
    state.serial += 1;
    store.write(&state)?;
    ui.note(&format!(
        "Imported {} ({}) into the state.",
        a.address, a.id
    ));
    let plan = context::make_plan(&desired, &state, &aws, Arc::new(ui.progress())).await?;
    ui.out(&crate::plan::render::render(&plan, ui.color));
    aws.report_calls(ui);
    Ok(ExitCode::SUCCESS)
}
