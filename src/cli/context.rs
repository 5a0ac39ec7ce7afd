//! What most commands share: load the stack, open the state, connect to AWS, plan.

use std::sync::Arc;

use anyhow::Context as _;

use super::{Global, StackArg};
use crate::artifacts::{self, Artifacts, Purpose};
use crate::aws::AwsContext;
use crate::engine::{self, Hooks};
use crate::graph::Graph;
use crate::plan::{self, Plan};
use crate::provider::Provider;
use crate::stack::{self, LoadedStack};
use crate::state::{LockGuard, LockInfo, State, StateStore, backend};

pub fn load_stack(arg: &StackArg) -> anyhow::Result<LoadedStack> {
    Ok(stack::load(&arg.file)?)
}

/// The local artifacts (app bundle, runtime binaries, Lambda zip) synth needs; `state`
/// supplies the release history. `Deploy` requires the runtime binary and writes the bundle
/// and zip under `.wxinfra/artifacts/`.
pub fn artifacts(
    loaded: &LoadedStack,
    state: Option<&State>,
    purpose: Purpose,
) -> anyhow::Result<Artifacts> {
    Ok(artifacts::prepare(
        loaded,
        state,
        std::path::Path::new(artifacts::DIR),
        purpose,
    )?)
}

/// Only a stack that runs on AWS uploads anything (and needs the runtime binary).
pub fn purpose(loaded: &LoadedStack) -> Purpose {
    if crate::synth::uses_aws(loaded) {
        Purpose::Deploy
    } else {
        Purpose::Validate
    }
}

pub fn desired(loaded: &LoadedStack, artifacts: &Artifacts) -> anyhow::Result<Graph> {
    crate::synth::aws(loaded, artifacts).context("building the resource graph")
}

/// One line per artifact, for `plan` and `apply` to show what they would upload.
pub fn describe_artifacts(a: &Artifacts) -> String {
    let mut text = format!(
        "Release {} ({}), keeping {} earlier release(s) for rollback",
        a.release_id,
        a.bundle.path.display(),
        a.retained.len()
    );
    for (arch, r) in &a.runtime {
        text.push_str(&format!(
            "\nRuntime {arch}: {} sha256 {}",
            r.path.display(),
            r.sha256
        ));
    }
    if let Some(z) = &a.lambda_zip {
        text.push_str(&format!(
            "\nLambda package: {} sha256 {}",
            z.path.display(),
            z.sha256
        ));
    }
    text
}

/// The local file and S3 settings this stack's state may use (`state:` + overrides).
pub fn backends(g: &Global, loaded: &LoadedStack) -> anyhow::Result<backend::Backends> {
    Ok(backend::resolve(
        &loaded.stack.name.value,
        loaded.stack.state.as_ref(),
        &g.backend_config,
        g.state.as_deref(),
    )?)
}

/// What the S3 store falls back on for region and credentials.
pub fn aws_defaults(g: &Global, loaded: &LoadedStack) -> backend::AwsDefaults {
    backend::AwsDefaults {
        region: g
            .region
            .clone()
            .or(loaded.stack.region.as_ref().map(|r| r.value.clone())),
        profile: g.profile.clone(),
    }
}

/// The store the stack's state is kept in.
pub async fn store(g: &Global, loaded: &LoadedStack) -> anyhow::Result<Arc<dyn StateStore>> {
    Ok(backend::open(&backends(g, loaded)?, &aws_defaults(g, loaded)).await)
}

/// Takes the state lock for `operation`, honouring --lock-timeout.
pub fn lock(g: &Global, store: &dyn StateStore, operation: &str) -> anyhow::Result<LockGuard> {
    Ok(store.lock(&LockInfo::for_operation(operation), g.lock_timeout)?)
}

pub fn read_state(store: &dyn StateStore, loaded: &LoadedStack) -> anyhow::Result<State> {
    let name = &loaded.stack.name.value;
    match store.read()? {
        Some(s) if &s.stack != name => anyhow::bail!(
            "the state at {} belongs to stack `{}`, not `{name}`; pass --state or --backend-config key=... to use another",
            store.describe(),
            s.stack
        ),
        Some(s) => Ok(s),
        None => Ok(State::new(name)),
    }
}

/// True when there is nothing on AWS to plan or touch (a Kubernetes-only stack, never applied).
pub fn nothing_on_aws(desired: &Graph, state: &State) -> bool {
    desired.nodes.is_empty() && state.resources.is_empty()
}

pub const NO_AWS: &str = "No changes. This stack has no AWS resources (`wxinfra render k8s` renders its Kubernetes manifests).";

pub struct Aws {
    pub ctx: Arc<AwsContext>,
    pub provider: Arc<dyn Provider>,
}

impl Aws {
    /// One line for benchmarks and the curious: how many requests this run sent.
    pub fn report_calls(&self, ui: &super::ui::Ui) {
        ui.note(&format!("AWS API calls: {}", self.ctx.calls.get()));
    }
}

pub async fn aws(g: &Global, loaded: &LoadedStack) -> anyhow::Result<Aws> {
    let region = g
        .region
        .as_deref()
        .or(loaded.stack.region.as_ref().map(|r| r.value.as_str()));
    let ctx =
        Arc::new(AwsContext::load(&loaded.stack.name.value, region, g.profile.as_deref()).await?);
    let provider: Arc<dyn Provider> = Arc::new(crate::aws::provider(ctx.clone()));
    Ok(Aws { ctx, provider })
}

/// Refresh + build: the plan for `desired` against what is live now.
pub async fn make_plan(
    desired: &Graph,
    state: &State,
    aws: &Aws,
    hooks: Arc<dyn Hooks>,
) -> anyhow::Result<Plan> {
    make_plan_with(desired, state, aws, hooks, &super::Selection::default()).await
}

/// [`make_plan`] narrowed or widened by `--target-resource`, `--replace`, `--refresh-only`.
pub async fn make_plan_with(
    desired: &Graph,
    state: &State,
    aws: &Aws,
    hooks: Arc<dyn Hooks>,
    sel: &super::Selection,
) -> anyhow::Result<Plan> {
    let live = engine::refresh(state, aws.provider.clone(), hooks, 10).await?;
    let replace = sel.replace.iter().cloned().collect();
    let plan = plan::build::build_with(desired, state, &live, aws.provider.as_ref(), &replace)?;
    if sel.refresh_only {
        return Ok(plan::select::refresh_only(plan, state, &live));
    }
    Ok(plan::select::target(plan, &sel.target_resource)?)
}

/// Stack outputs resolved against the state; unresolvable ones are left out.
pub fn outputs(desired: &Graph, state: &State) -> serde_json::Map<String, serde_json::Value> {
    desired
        .outputs
        .iter()
        .filter_map(|(k, v)| {
            crate::graph::reference::resolve(v, &|r| state.output(&r.address, &r.output).cloned())
                .map(|v| (k.clone(), v))
        })
        .collect()
}

/// Asks before changing anything unless --auto-approve; refuses when nobody can answer.
pub fn approved(
    opts: &super::ChangeOpts,
    ui: &super::ui::Ui,
    command: &str,
    question: &str,
) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if opts.auto_approve {
        return Ok(true);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "stdin is not a terminal, so {command} cannot ask for confirmation; review the plan and pass --auto-approve"
    );
    Ok(ui.confirm(question)?)
}

/// The engine for one apply or destroy run, with Ctrl-C wired to its stop flag.
pub fn engine(
    aws: &Aws,
    store: Arc<dyn StateStore>,
    hooks: Arc<dyn Hooks>,
    opts: &super::ChangeOpts,
    ui: &super::ui::Ui,
) -> engine::Engine {
    engine::Engine {
        provider: aws.provider.clone(),
        store,
        hooks,
        parallelism: opts.parallelism as usize,
        retry: Default::default(),
        stop: interrupt_flag(ui),
    }
}

/// First Ctrl-C: stop starting operations, let in-flight ones finish and save state.
/// A second one exits at once (state is already checkpointed after every step).
fn interrupt_flag(ui: &super::ui::Ui) -> Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
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
