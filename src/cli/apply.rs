//! `wxinfra apply`: plan (or load a saved plan), confirm, execute, print outputs; or, with
//! `--target k8s`, server-side apply of the rendered manifests to a cluster.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::{ChangeOpts, Global, Selection, StackArg, context, ui::Ui};
use crate::artifacts::{Artifacts, Purpose};
use crate::plan::Plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    #[command(flatten)]
    pub change: ChangeOpts,
    #[command(flatten)]
    pub select: Selection,
    /// A plan saved by `plan --out`: apply exactly that (refused if the state moved since).
    #[arg(value_name = "PLANFILE", conflicts_with = "context")]
    pub plan_file: Option<PathBuf>,
    /// Where to apply: `aws` (plan and apply the AWS resources) or `k8s` (server-side apply
    /// of the `kubernetes:` manifests, prune, wait for the Deployment).
    #[arg(long, value_enum, default_value_t = Target::Aws)]
    pub target: Target,
    /// `--target k8s`: kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// How long to wait for what was applied to prove itself: every load balancer active and
    /// its target groups healthy (AWS), the Deployment available (`--target k8s`). `0s` does
    /// not wait.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub wait: std::time::Duration,
}

/// What `apply` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Aws,
    K8s,
}

pub async fn run(a: Args, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    if a.target == Target::K8s {
        return run_k8s(a, ui).await;
    }
    anyhow::ensure!(
        a.context.is_none(),
        "--context names a kubeconfig context; it needs --target k8s"
    );
    let sel = &a.select;
    anyhow::ensure!(
        a.plan_file.is_none()
            || (sel.target_resource.is_empty() && sel.replace.is_empty() && !sel.refresh_only),
        "a saved plan already says what to do; --target-resource, --replace and --refresh-only go to `plan`"
    );
    let loaded = context::load_stack(&a.stack)?;
    let store = context::store(g, &loaded).await?;
    let _lock = context::lock(g, store.as_ref(), "apply")?;
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
    prefetch_image_layers(&loaded.stack.name.value, &desired, &state);
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
        None => context::make_plan_with(&desired, &state, &aws, progress.clone(), sel).await?,
    };
    ui.out(&crate::plan::render::render(&plan, ui.color));
    // A saved plan may name bundles of its own time: then nothing kept is removed.
    let prune = purpose == Purpose::Deploy && a.plan_file.is_none();
    if !plan.has_changes() {
        if prune {
            prune_artifacts(&loaded, &artifacts, ui);
        }
        print_outputs(ui, &plan.desired, &state);
        return Ok(ExitCode::SUCCESS);
    }
    // A saved plan was reviewed when it was made.
    let question = "Do you want to perform these actions?";
    if a.plan_file.is_none() && !context::approved(&a.change, ui, "apply", question)? {
        ui.note("Apply cancelled.");
        return Ok(ExitCode::FAILURE);
    }
    if plan.refresh_only {
        anyhow::ensure!(
            plan.lineage == state.lineage && plan.serial == state.serial,
            "the plan was made for state serial {} but the state is now at {}; run plan again",
            plan.serial,
            state.serial
        );
        store.write(&crate::plan::select::record_drift(state, &plan.drift))?;
        ui.note(&format!(
            "Apply complete! Recorded the live values of {} resource(s); no resource changed.",
            plan.drift.len()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let engine = context::engine(&aws, store.clone(), progress, &a.change, ui);
    let applied = async {
        let result = engine.apply(&plan, state).await;
        let after = context::read_state(store.as_ref(), &loaded)?;
        result?;
        let s = &plan.summary;
        ui.note(&format!(
            "Apply complete! Resources: {} added, {} changed, {} destroyed.",
            s.add, s.change, s.destroy
        ));
        if prune {
            prune_artifacts(&loaded, &artifacts, ui);
        }
        let healthy = prove_health(&aws.ctx, &after, a.wait, ui).await?;
        anyhow::Ok((healthy, after))
    }
    .await;
    // Counted once the health checks' calls are in too, and also when the apply failed.
    aws.report_calls(ui);
    let (healthy, after) = applied?;
    print_outputs(ui, &plan.desired, &after);
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Removes the kept artifacts the stack no longer uses, once the bucket holds what this
/// apply uploaded.
fn prune_artifacts(loaded: &crate::stack::LoadedStack, artifacts: &Artifacts, ui: &Ui) {
    let out = Path::new(crate::artifacts::DIR).join(&loaded.stack.name.value);
    let pruned = crate::artifacts::prune(&out, artifacts);
    if pruned.files > 0 {
        ui.note(&format!(
            "Removed {} kept file(s) of earlier releases and runtime binaries from {} ({:.1} MB).",
            pruned.files,
            out.display(),
            pruned.bytes as f64 / 1e6
        ));
    }
}

/// Starts making the layer of each runtime image the apply will push (one whose binary the
/// state has not pushed yet), so that the gzip runs beside the plan and the first creates
/// instead of on the critical path; `aws.oci_image` then takes the layer made here.
fn prefetch_image_layers(stack: &str, desired: &crate::graph::Graph, state: &crate::state::State) {
    for node in desired.nodes.values().filter(|n| n.kind == "aws.oci_image") {
        let field = |p: &serde_json::Value, k: &str| p[k].as_str().map(str::to_string);
        let sha = field(&node.props, "binary_sha256");
        let pushed = state
            .resources
            .get(&node.address)
            .and_then(|r| field(&r.props, "binary_sha256"));
        let (Some(sha), Some(binary), Some(arch)) = (
            sha,
            field(&node.props, "binary"),
            field(&node.props, "arch"),
        ) else {
            continue;
        };
        if pushed.as_deref() != Some(sha.as_str()) {
            crate::artifacts::image_layer::prefetch(crate::aws::oci_image::layer_input(
                stack, &binary, &arch, &sha,
            ));
        }
    }
}

/// (name, id) of each resource of `kind` in `state`.
fn named_ids(state: &crate::state::State, kind: &str) -> Vec<(String, String)> {
    state
        .resources
        .iter()
        .filter(|(_, r)| r.kind == kind)
        .filter_map(|(address, r)| {
            let name = address.rsplit('.').next().unwrap_or(address);
            Some((name.to_string(), r.id.clone()?))
        })
        .collect()
}

/// Waits up to `max` for every load balancer in `state` to be active (apply does not wait for
/// it on the way) and every target group to be healthy, saying each one's state as it
/// changes, then prints each primitive's health. False when one is still not active or
/// healthy at the end; a group the load balancer cannot judge is reported as unknown.
async fn prove_health(
    aws: &crate::aws::AwsContext,
    state: &crate::state::State,
    max: std::time::Duration,
    ui: &Ui,
) -> anyhow::Result<bool> {
    use crate::aws::target_health::{Verdict, wait};
    let balancers = named_ids(state, "aws.lb");
    let groups = named_ids(state, "aws.lb_target_group");
    if (groups.is_empty() && balancers.is_empty()) || max.is_zero() {
        return Ok(true);
    }
    ui.note(&format!(
        "Waiting up to {} for the load balancer and its health checks...",
        humantime::format_duration(max)
    ));
    // The balancers and the groups are watched side by side: each is its own call.
    let active = futures::future::try_join_all(balancers.iter().map(|(name, arn)| {
        let say = move |s: &str| ui.note(&format!("  load balancer {name}: {s}"));
        crate::aws::lb::wait_active(aws, arn, max, say)
    }));
    let healthy = wait(aws, &groups, max, |name, v| {
        ui.note(&format!("  {name}: {v}"))
    });
    let (active, verdicts) = futures::future::try_join(active, healthy).await?;
    let inactive: Vec<&str> = balancers
        .iter()
        .zip(active)
        .filter(|(_, up)| !up)
        .map(|((name, _), _)| name.as_str())
        .collect();
    for name in &inactive {
        ui.warn(&format!(
            "load balancer {name} is not active after {}: the resources are applied and \
             recorded; run apply again (or plan) to check",
            humantime::format_duration(max)
        ));
    }
    let mut text = String::from("\nHealth:\n");
    for ((name, _), v) in groups.iter().zip(&verdicts) {
        text.push_str(&format!("  {name} = {v}\n"));
    }
    ui.out(&text);
    let pending = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Pending(_)))
        .count();
    if pending > 0 {
        ui.warn(&format!(
            "{pending} target group(s) not healthy after {}: the resources are applied and recorded; \
             look at the targets' logs, then run apply again (or plan) to check",
            humantime::format_duration(max)
        ));
    }
    Ok(pending == 0 && inactive.is_empty())
}

/// `apply --target k8s`: no state file; the cluster is the state (labels + field manager).
async fn run_k8s(a: Args, ui: &Ui) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.plan_file.is_none(),
        "a saved plan is for AWS; `--target k8s` applies the rendered manifests"
    );
    let loaded = context::load_stack(&a.stack)?;
    let (rendered, runtime) = crate::k8s::render_stack(&loaded)?;
    let client = crate::k8s::apply::client(a.context.as_deref()).await?;
    let served = crate::k8s::apply::preflight(&client, &rendered).await?;
    // What the pods will pull goes up first, so the rollout finds it.
    super::publish::push_stack(&loaded, runtime.as_ref(), ui).await?;
    let poll = std::time::Duration::from_secs(2);
    let report = crate::k8s::apply::apply(&client, &rendered, &served, a.wait, poll).await?;
    for o in &report.applied {
        ui.note(&format!("applied {o}"));
    }
    for o in &report.pruned {
        ui.note(&format!("pruned {o}"));
    }
    ui.out(&format!(
        "Apply complete! Kubernetes objects: {} applied, {} pruned.",
        report.applied.len(),
        report.pruned.len()
    ));
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
