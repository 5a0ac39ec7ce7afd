//! `wxinfra validate`: schema and semantic checks, no network; then asks `wxrun check` which
//! of the app's imports the runtime does not implement.

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
    let manifest = loaded.resolve(&loaded.stack.app.manifest.value);
    match crate::wxrun::locate() {
        Some(wxrun) => {
            let report = crate::wxrun::check(&wxrun, &manifest)?;
            for c in &report.components {
                // Types-only interfaces (no functions) cannot trap.
                for u in c.unsupported.iter().filter(|u| !u.functions.is_empty()) {
                    ui.warn(&format!(
                        "component `{}` imports {}, which wxrun does not implement: calling {} will trap",
                        c.id,
                        u.import,
                        u.functions.join(", ")
                    ));
                }
            }
        }
        None => ui.note(
            "note: the app's imports were not checked: no wxrun found (set WXRUN=/path/to/wxrun)",
        ),
    }
    // A tag can move under running pods; manifests should pin what they run.
    if let Some(i) = loaded
        .stack
        .kubernetes
        .as_ref()
        .and_then(|k| k.image.as_ref())
        .filter(|i| !i.value.contains("@sha256:"))
    {
        let d = crate::stack::StackDiagnostic::new(
            &loaded.path,
            i.referenced,
            format!("kubernetes.image `{}` is not pinned by digest", i.value),
            "",
        );
        ui.warn(&format!(
            "{d}: pods may run different images as the tag moves; write REPO@sha256:DIGEST, or set `runtime_image: HOST/REPO` and wxinfra builds and pins it"
        ));
    }
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
