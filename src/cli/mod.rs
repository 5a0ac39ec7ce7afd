//! Command-line interface: raw arguments (clap) → one function per subcommand.

mod apply;
mod context;
mod destroy;
mod diff;
mod import;
mod output;
mod plan;
pub mod publish;
mod render;
mod state;
pub mod ui;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Infrastructure as code for WebAssembly (Spin) apps: one stack file, planned and applied
/// to AWS (EC2, ECS Fargate and Lambda behind one load balancer) or rendered for Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "wxinfra",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes. AWS access follows the SDK's standard configuration
/// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...); these flags override it.
#[derive(Debug, Args)]
pub struct Global {
    /// AWS region (overrides the stack's `region:` and AWS_REGION).
    #[arg(long, global = true, env = "WXINFRA_REGION")]
    pub region: Option<String>,
    /// AWS shared-config profile to use.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// State file to use instead of `.wxinfra/<stack>.state.json`.
    #[arg(long, global = true, value_name = "PATH", env = "WXINFRA_STATE")]
    pub state: Option<PathBuf>,
    /// Overrides a field of the stack's `state:` section (backend, bucket, key, region,
    /// endpoint, encrypt, kms_key_id); repeatable. See docs/state.md.
    #[arg(long, global = true, value_name = "KEY=VALUE")]
    pub backend_config: Vec<String>,
    /// How long to wait for another wxinfra run holding the state lock (e.g. 30s, 2m).
    #[arg(long, global = true, default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
    /// Disable colour (also honoured: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More logging (-v info, -vv debug, -vvv trace); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The stack file a command works on.
#[derive(Debug, Args, Clone)]
pub struct StackArg {
    /// Stack file (YAML); see docs/stack-file.md.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "wxinfra.yaml"
    )]
    pub file: PathBuf,
}

/// Options of the commands that change infrastructure (apply, destroy).
#[derive(Debug, Args, Clone)]
pub struct ChangeOpts {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many resource operations run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// Options of the commands that report differences (plan, diff).
#[derive(Debug, Args, Clone)]
pub struct ReportOpts {
    /// Print JSON instead of text (stable format, see docs/plan-json.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there is nothing to report, 2 when there is, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Which part of the stack `plan` and `apply` act on (Terraform's -target, -replace,
/// -refresh-only).
#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Plan only this resource and what it depends on (repeatable). `--target` itself
    /// names the platform (aws, k8s) for `apply`.
    #[arg(long, value_name = "ADDRESS")]
    pub target_resource: Vec<String>,
    /// Replace this resource even if nothing about it changed (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Change no resource: record in the state what is live now (drift), forget what is gone.
    #[arg(long, conflicts_with_all = ["target_resource", "replace"])]
    pub refresh_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack file without touching the network: schema, values, AWS limits.
    Validate(validate::Args),
    /// Show what apply would do: + create, ~ update, -/+ replace, - delete.
    Plan(plan::Args),
    /// Create or update the infrastructure so it matches the stack file.
    Apply(apply::Args),
    /// Show drift: live resources compared field by field with what was last applied.
    Diff(diff::Args),
    /// Delete everything the stack created, dependents first.
    Destroy(destroy::Args),
    /// Print the stack's outputs (endpoint URL, ids) from the state.
    Output(output::Args),
    /// Push the app to an OCI registry in Spin's format (`spin registry push`'s layout), for
    /// SpinKube and for `oci://` release sources; prints REPO@DIGEST.
    Publish(publish::Args),
    /// Render the stack for another platform (Kubernetes manifests for GitOps).
    #[command(subcommand)]
    Render(render::RenderCommand),
    /// Adopt an existing resource into the state under a stack address, then plan.
    Import(import::Args),
    /// Inspect, edit, migrate or unlock the state (docs/state.md).
    #[command(subcommand)]
    State(state::StateCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the parsed command; the exit code follows Terraform's conventions.
pub async fn run(cli: Cli, ui: &ui::Ui) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Validate(a) => validate::run(a, g, ui).await,
        Command::Plan(a) => plan::run(a, g, ui).await,
        Command::Apply(a) => apply::run(a, g, ui).await,
        Command::Diff(a) => diff::run(a, g, ui).await,
        Command::Destroy(a) => destroy::run(a, g, ui).await,
        Command::Output(a) => output::run(a, g, ui).await,
        Command::Publish(a) => publish::run(a, g, ui).await,
        Command::Render(c) => render::run(c, g, ui).await,
        Command::Import(a) => import::run(a, g, ui).await,
        Command::State(c) => state::run(c, g, ui).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "wxinfra", &mut buf);
            ui.out(&String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// clap checks a command's definition (e.g. an argument clashing with the propagated
    /// `--version`) only when that command is parsed; this checks every subcommand at once.
    #[test]
    fn every_command_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
