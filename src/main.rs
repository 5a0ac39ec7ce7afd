//! The `wxinfra` binary: parse, run, print the error once, map the exit code.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use wxinfra::cli::{Cli, run, ui::Ui};

#[tokio::main]
async fn main() -> ExitCode {
    // rustls picks a process-wide provider by itself only when exactly one backend is
    // compiled in; the AWS SDK brings aws-lc-rs and kube brings ring, so kube's first TLS
    // handshake would panic. One provider, chosen here, for every client.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let ui = Ui::new(
        cli.global.no_color,
        cli.global.quiet,
        cli.global.verbose > 0,
    );
    let level = match cli.global.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WXINFRA_LOG")
                .unwrap_or_else(|_| level.into()),
        )
        .init();
    match run(cli, &ui).await {
        Ok(code) => code,
        Err(e) => {
            ui.error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
