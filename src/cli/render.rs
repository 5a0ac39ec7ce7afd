//! `wxinfra render k8s`: the stack's `kubernetes:` section as manifests in `DIR/<stack>/`,
//! or with `--check`, a failure naming every committed file that is stale.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Global, StackArg, context, ui::Ui};
use crate::k8s::{self, dist};

#[derive(Debug, clap::Subcommand)]
pub enum RenderCommand {
    /// Kubernetes manifests for GitOps: a kustomization (Namespace, Deployment or SpinApp,
    /// Service, Ingress) plus Flux objects under `flux/`, in DIR/<stack>/.
    K8s(Args),
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArg,
    /// Output directory; the manifests go to DIR/<stack name>/.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "k8s/dist"
    )]
    pub out: PathBuf,
    /// Change nothing; exit 1 naming each file that differs from a fresh render (for CI).
    #[arg(long)]
    pub check: bool,
}

pub async fn run(c: RenderCommand, _g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    let RenderCommand::K8s(a) = c;
    let loaded = context::load_stack(&a.stack)?;
    let (rendered, _) = k8s::render_stack(&loaded)?;
    let dir = dist::stack_dir(&a.out, &rendered.stack);
    let files = rendered.files();
    if a.check {
        let stale = dist::check(&dir, &files)?;
        if stale.is_empty() {
            ui.out(&format!(
                "{}: up to date ({} files)",
                dir.display(),
                files.len()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        let list: Vec<String> = stale
            .iter()
            .map(|(p, why)| format!("  {}: {why}", dir.join(p).display()))
            .collect();
        anyhow::bail!(
            "{} is stale:\n{}\nrun `wxinfra render k8s -f {} -o {}` and commit the result",
            dir.display(),
            list.join("\n"),
            a.stack.file.display(),
            a.out.display()
        );
    }
    let changes = dist::write(&dir, &files)?;
    for (p, why) in &changes {
        let verb = match why {
            dist::Staleness::Missing => "created",
            dist::Staleness::Differs => "updated",
            dist::Staleness::Extra => "removed",
        };
        ui.note(&format!("{verb} {}", dir.join(p).display()));
    }
    ui.out(&format!(
        "{}: {} files, {} changed",
        dir.display(),
        files.len(),
        changes.len()
    ));
    Ok(ExitCode::SUCCESS)
}
