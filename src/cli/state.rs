//! `wxinfra state ...`: inspect the state, edit it (mv, rm, push), move it between backends
//! (migrate), read earlier versions, and release a stale lock. Every edit takes the lock and
//! writes through the store's own checks; the edits themselves are `state::ops`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::{Global, StackArg, context, ui::Ui};
use crate::stack::LoadedStack;
use crate::state::{LocalStore, State, StateStore, backend, ops};

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state with their ids.
    List {
        #[command(flatten)]
        stack: StackArg,
    },
    /// Show one resource's state (properties, outputs, dependencies) as JSON.
    Show {
        #[command(flatten)]
        stack: StackArg,
        address: String,
    },
    /// Remove a lock left by a wxinfra run that died. Make sure it is not running: the lock
    /// protects the state from two writers. With LOCK_ID, only that lock is removed.
    #[command(alias = "force-unlock")]
    Unlock {
        #[command(flatten)]
        stack: StackArg,
        /// The id the "state is locked" message names.
        lock_id: Option<String>,
    },
    /// Print the whole state as JSON (the current one, or an earlier version).
    Pull {
        #[command(flatten)]
        stack: StackArg,
        /// An earlier version's id from `state versions` (versioned S3 bucket).
        #[arg(long, value_name = "VERSION_ID")]
        version_id: Option<String>,
    },
    /// Replace the state with a JSON file (`-` reads stdin). Refused when it belongs to
    /// another stack or lineage, or its serial is older than the current one.
    Push {
        #[command(flatten)]
        stack: StackArg,
        /// The state file to push, or `-` for stdin.
        path: PathBuf,
        /// Push even across lineages or with an older serial.
        #[arg(long)]
        force: bool,
    },
    /// Rename a resource in the state (same kind); the resource itself is not touched.
    Mv {
        #[command(flatten)]
        stack: StackArg,
        from: String,
        to: String,
    },
    /// Forget resources: they stay in the cloud, wxinfra no longer manages them.
    Rm {
        #[command(flatten)]
        stack: StackArg,
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// List the stored versions of the state, newest first (versioned S3 bucket).
    Versions {
        #[command(flatten)]
        stack: StackArg,
    },
    /// Copy the state between the local file and the stack's S3 settings (`state:` section
    /// and --backend-config). The source is left as it was.
    Migrate {
        #[command(flatten)]
        stack: StackArg,
        /// Where to copy to: `s3` (from the local file) or `local` (from S3).
        #[arg(long, value_enum)]
        to: MigrateTo,
        /// Overwrite a target that already holds resources.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTo {
    S3,
    Local,
}

pub async fn run(c: StateCommand, g: &Global, ui: &Ui) -> anyhow::Result<ExitCode> {
    match c {
        StateCommand::List { stack } => {
            let (loaded, store) = open(g, &stack).await?;
            let state = context::read_state(store.as_ref(), &loaded)?;
            let text: String = state
                .resources
                .iter()
                .map(|(a, r)| {
                    format!("{a}\t{}\t{:?}\n", r.id.as_deref().unwrap_or("-"), r.status)
                        .to_lowercase()
                })
                .collect();
            ui.out(&text);
        }
        StateCommand::Show { stack, address } => {
            let (loaded, store) = open(g, &stack).await?;
            let state = context::read_state(store.as_ref(), &loaded)?;
            let r = state.resources.get(&address).ok_or_else(|| {
                anyhow::anyhow!("no resource `{address}` in the state; see `wxinfra state list`")
            })?;
            ui.out(&serde_json::to_string_pretty(r)?);
        }
        StateCommand::Unlock { stack, lock_id } => {
            let (_, store) = open(g, &stack).await?;
            match store.force_unlock(lock_id.as_deref())? {
                Some(h) => ui.note(&format!("Released the lock held by {}.", h.describe())),
                None => ui.note("The state was not locked."),
            }
        }
        StateCommand::Pull { stack, version_id } => {
            let (loaded, store) = open(g, &stack).await?;
            let state = match version_id {
                Some(v) => store.read_version(&v)?,
                None => context::read_state(store.as_ref(), &loaded)?,
            };
            let mut buf = Vec::new();
            crate::state::file::encode(&state, &mut buf)?;
            ui.out(String::from_utf8_lossy(&buf).trim_end());
        }
        StateCommand::Push { stack, path, force } => {
            let bytes = if path.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
                b
            } else {
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
            };
            let pushed = crate::state::file::decode(&bytes)
                .with_context(|| format!("{} is not a wxinfra state", path.display()))?;
            let (_, store) = open(g, &stack).await?;
            let _lock = context::lock(g, store.as_ref(), "state push")?;
            let current = store.read()?;
            let next = ops::push(current.as_ref(), pushed, force)?;
            store.write(&next)?;
            ui.note(&format!(
                "Pushed the state to {} (serial {}).",
                store.describe(),
                next.serial
            ));
        }
        StateCommand::Mv { stack, from, to } => {
            edit(g, &stack, "state mv", ui, |s| {
                let s = ops::mv(s, &from, &to)?;
                Ok((s, format!("Moved {from} to {to}.")))
            })
            .await?;
        }
        StateCommand::Rm { stack, addresses } => {
            edit(g, &stack, "state rm", ui, |s| {
                let (s, dependents) = ops::rm(s, &addresses)?;
                let mut msg = format!(
                    "Removed {} from the state; the resources themselves were not touched.",
                    addresses.join(", ")
                );
                if !dependents.is_empty() {
                    msg.push_str(&format!(
                        "\nStill recorded as depending on them: {}.",
                        dependents.join(", ")
                    ));
                }
                Ok((s, msg))
            })
            .await?;
        }
        StateCommand::Versions { stack } => {
            let (_, store) = open(g, &stack).await?;
            let text: String = store
                .versions()?
                .iter()
                .map(|v| {
                    format!(
                        "{}\t{}\t{}{}\n",
                        v.version_id,
                        v.last_modified,
                        v.size,
                        if v.latest { "\tlatest" } else { "" }
                    )
                })
                .collect();
            ui.out(&text);
        }
        StateCommand::Migrate { stack, to, force } => migrate(g, &stack, to, force, ui).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(g: &Global, stack: &StackArg) -> anyhow::Result<(LoadedStack, Arc<dyn StateStore>)> {
    let loaded = context::load_stack(stack)?;
    let store = context::store(g, &loaded).await?;
    Ok((loaded, store))
}

/// Locks, reads, applies `f`, writes (guarded against a state that moved meanwhile).
async fn edit(
    g: &Global,
    stack: &StackArg,
    operation: &str,
    ui: &Ui,
    f: impl FnOnce(State) -> anyhow::Result<(State, String)>,
) -> anyhow::Result<()> {
    let (loaded, store) = open(g, stack).await?;
    let _lock = context::lock(g, store.as_ref(), operation)?;
    let state = context::read_state(store.as_ref(), &loaded)?;
    let (next, message) = f(state)?;
    store.write(&next)?;
    ui.note(&message);
    Ok(())
}

async fn migrate(
    g: &Global,
    stack: &StackArg,
    to: MigrateTo,
    force: bool,
    ui: &Ui,
) -> anyhow::Result<()> {
    let loaded = context::load_stack(stack)?;
    let b = context::backends(g, &loaded)?;
    let s3_cfg = b.s3.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "no S3 settings to migrate with: add `state: {{backend: s3, bucket: ...}}` to the stack file or pass --backend-config bucket=NAME"
        )
    })?;
    let local: Arc<dyn StateStore> = Arc::new(LocalStore::new(&b.local));
    let s3 = backend::open_s3(s3_cfg, &context::aws_defaults(g, &loaded)).await;
    let (source, target) = match to {
        MigrateTo::S3 => (local, s3),
        MigrateTo::Local => (s3, local),
    };
    let _source_lock = context::lock(g, source.as_ref(), "state migrate")?;
    let _target_lock = context::lock(g, target.as_ref(), "state migrate")?;
    let state = source
        .read()?
        .ok_or_else(|| anyhow::anyhow!("there is no state at {} to migrate", source.describe()))?;
    anyhow::ensure!(
        state.stack == loaded.stack.name.value,
        "the state at {} belongs to stack `{}`, not `{}`",
        source.describe(),
        state.stack,
        loaded.stack.name.value
    );
    let existing = target.read()?;
    let next = ops::migrate(state, existing.as_ref(), &target.describe(), force)?;
    target.write(&next)?;
    let backend = match to {
        MigrateTo::S3 => "s3",
        MigrateTo::Local => "local",
    };
    ui.note(&format!(
        "Copied the state ({} resources, serial {}) from {} to {}. Set `state: {{backend: {backend}}}` in the stack file (or pass --backend-config backend={backend}) to use it; {} was left as it was.",
        next.resources.len(),
        next.serial,
        source.describe(),
        target.describe(),
        source.describe(),
    ));
    Ok(())
}
