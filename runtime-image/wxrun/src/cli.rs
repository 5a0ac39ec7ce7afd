//! Command line: parses arguments (clap), sets up logging, runs one
//! subcommand, prints its result or the error once, and maps the exit code.
//! The only module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::engine::Limits;
use crate::info::Primitive;
use crate::release::AppDir;
use crate::serve::{AppSource, ServeConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

#[derive(Parser)]
#[command(
    name = "wxrun",
    version,
    about = "Serve Spin (wasi:http) apps on EC2, Fargate, Lambda and Kubernetes"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "WXRUN_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an app over HTTP (or the Lambda Runtime API when
    /// AWS_LAMBDA_RUNTIME_API is set). Without a subcommand, wxrun serves
    /// with settings from the WXRUN_* environment.
    Serve(ServeArgs),
    /// Check a spin.toml: load and link every component, list imports that
    /// wxrun does not implement (they trap when called). Exit 0 when the app
    /// loads, 1 when it cannot.
    Check {
        /// The app's spin.toml.
        manifest: PathBuf,
        /// Print the report as JSON (stable; read by `wxinfra validate`).
        #[arg(long)]
        json: bool,
        /// AOT cache root to compile through (e.g. DIR/cache).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Health check for containers (the image has no shell or curl): GET a running
    /// wxrun's health endpoint; exit 0 on 200, 1 otherwise.
    Probe {
        /// Where the wxrun to check listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, default_value = "/.well-known/spin/health")]
        path: String,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
    /// Write a release bundle for an app and print its release id (sha256).
    Bundle {
        /// The app's spin.toml.
        manifest: PathBuf,
        /// Where to write the bundle; default `<id>.tar` in the current dir.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Serve this spin.toml directly.
    #[arg(long, env = "WXRUN_FROM", conflicts_with = "app_dir")]
    from: Option<PathBuf>,
    /// Serve the current release of this app dir (`releases/`, `current`).
    #[arg(long, env = "WXRUN_APP_DIR")]
    app_dir: Option<PathBuf>,
    /// Fetch missing releases and the current one from s3://bucket/prefix (its `current`
    /// pointer) or oci://HOST/REPO:TAG (the tag's manifest digest; `@sha256:…` pins one).
    #[arg(long, env = "WXRUN_SOURCE", requires = "app_dir")]
    source: Option<String>,
    /// Speak plain HTTP to the oci:// source's registry (a local registry without TLS;
    /// loopback registries always are).
    #[arg(long, env = "WXRUN_PLAIN_HTTP", requires = "source")]
    plain_http: bool,
    /// Address to listen on.
    #[arg(long, env = "WXRUN_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// AOT cache root for --from (app dirs use DIR/cache).
    #[arg(long, env = "WXRUN_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// How often to check the release pointer, in milliseconds.
    #[arg(long, env = "WXRUN_POLL_MS", default_value_t = 2000)]
    poll_ms: u64,
    /// Per-request memory limit (MiB, per linear memory).
    #[arg(long, env = "WXRUN_MEMORY_MB", default_value_t = 256)]
    memory_mb: usize,
    /// Per-request wall-time limit in milliseconds (504 when exceeded).
    #[arg(long, env = "WXRUN_TIMEOUT_MS", default_value_t = 30_000)]
    timeout_ms: u64,
    /// Largest request body in bytes (413 when exceeded).
    #[arg(long, env = "WXRUN_MAX_BODY_BYTES", default_value_t = 10 << 20)]
    max_body_bytes: usize,
    /// Instances alive at once (pooling allocator size).
    #[arg(long, env = "WXRUN_MAX_INSTANCES", default_value_t = 200)]
    max_instances: u32,
    /// Requests one instance serves before a fresh one is made. 1 (Spin's
    /// behaviour) isolates every request; more lets a component's globals
    /// outlive a request, for throughput.
    #[arg(long, env = "WXRUN_INSTANCE_REUSE", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    instance_reuse: u32,
    /// Requests a reused WASI 0.3 instance serves at once.
    #[arg(long, env = "WXRUN_INSTANCE_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    instance_concurrency: u32,
    /// Primitive reported in x-wxrun-served-by (ec2, fargate, lambda, k8s,
    /// local); `lambda` in Lambda mode, `local` otherwise (every deployment
    /// wxinfra makes sets it).
    #[arg(long, env = "WXRUN_PRIMITIVE")]
    primitive: Option<Primitive>,
    #[command(flatten)]
    hosts: HostArgs,
}

/// Where Spin's stores are configured and kept.
#[derive(Args)]
struct HostArgs {
    /// Spin's runtime-config file (`[key_value_store.<label>]`, ...).
    #[arg(long, env = "WXRUN_RUNTIME_CONFIG_FILE")]
    runtime_config_file: Option<PathBuf>,
    /// The same TOML inline, for platforms that hand a process its settings as
    /// environment (Lambda, ECS); relative paths are against the working directory.
    #[arg(
        long,
        env = "WXRUN_RUNTIME_CONFIG",
        conflicts_with = "runtime_config_file",
        value_name = "TOML"
    )]
    runtime_config: Option<String>,
    /// Directory of the default stores; default the file's `state_dir`, else
    /// `.spin` beside the app (the app dir, or the manifest's directory).
    #[arg(long, env = "WXRUN_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

impl HostArgs {
    /// The stores and databases, for an app whose directory is `app_dir`.
    fn resources(
        &self,
        app_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<crate::hosts::Resources> {
        let config = match (&self.runtime_config_file, &self.runtime_config) {
            (Some(path), _) => crate::runtime_config::RuntimeConfig::load(path)?,
            (None, Some(text)) => {
                crate::runtime_config::RuntimeConfig::parse(text, std::path::Path::new("."))
                    .map_err(|e| anyhow::anyhow!("WXRUN_RUNTIME_CONFIG: {e}"))?
            }
            (None, None) => Default::default(),
        };
        let default_dir = app_dir
            .map(|d| std::path::absolute(d.join(".spin")))
            .transpose()?;
        let state_dir = match &self.state_dir {
            Some(dir) => Some(std::path::absolute(dir)?),
            None => config.state_dir(default_dir),
        };
        Ok(crate::hosts::Resources::new(&config, state_dir)?)
    }
}

/// Runs wxrun with the process arguments.
pub fn main() -> ExitCode {
    // Before anything reads input: the static build's relocated constants become read-only.
    if let Err(e) = crate::hardening::protect_relro() {
        eprintln!("warning: could not make the relocated constants read-only: {e}");
    }
    // Outbound wasi:http, Redis, MQTT and MySQL build their TLS configs from the process-wide
    // provider, which rustls cannot pick by itself when a build has both of its backends
    // (the workspace does: kube brings ring). One provider, chosen here.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let log = init_logging(cli.log_format, serving && !lambda);
    let result = run(cli, lambda);
    // Queued lines go out before the error that ends the process.
    drop(log);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, lambda: bool) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(c) => c,
        None => Command::Serve(ServeArgs::parse_env()?),
    };
    match command {
        Command::Serve(args) => {
            let config = serve_config(args, lambda)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(crate::serve::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            manifest,
            json,
            cache_dir,
            hosts,
        } => {
            let resources = hosts.resources(manifest.parent())?;
            let report = crate::check::check(&manifest, cache_dir.as_deref(), &resources)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.human());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe {
            addr,
            path,
            timeout_ms,
        } => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(crate::probe::probe(
                    addr,
                    &path,
                    Duration::from_millis(timeout_ms),
                ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bundle { manifest, output } => {
            let bytes = crate::release::bundle(&manifest)?;
            let id = crate::digest::sha256_hex(&bytes);
            let out = output.unwrap_or_else(|| PathBuf::from(format!("{id}.tar")));
            crate::aot::write_atomic(&out, &bytes)?;
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl ServeArgs {
    /// `serve` settings from the environment alone (Lambda's bootstrap).
    fn parse_env() -> anyhow::Result<Self> {
        #[derive(Parser)]
        struct EnvOnly {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Ok(EnvOnly::try_parse_from(["wxrun"])?.serve)
    }
}

fn serve_config(args: ServeArgs, lambda: bool) -> anyhow::Result<ServeConfig> {
    let app_dir = match (&args.from, &args.app_dir) {
        (Some(path), _) => path.parent().map(|p| p.to_path_buf()),
        (None, dir) => dir.clone(),
    };
    let resources = args.hosts.resources(app_dir.as_deref())?;
    let app = match (args.from, args.app_dir) {
        (Some(path), None) => AppSource::Manifest {
            path,
            cache: args.cache_dir,
        },
        (None, Some(dir)) => AppSource::AppDir {
            dir: AppDir::new(dir),
            source: args.source,
            plain_http: args.plain_http,
            poll: Duration::from_millis(args.poll_ms),
        },
        _ => anyhow::bail!("serve needs exactly one of --from PATH/spin.toml or --app-dir DIR"),
    };
    let primitive = match args.primitive {
        Some(p) => p,
        None if lambda => Primitive::Lambda,
        None => Primitive::Local,
    };
    Ok(ServeConfig {
        app,
        listen: args.listen,
        limits: Limits {
            memory_bytes: args.memory_mb << 20,
            timeout: Duration::from_millis(args.timeout_ms),
            max_body_bytes: args.max_body_bytes,
            max_instances: args.max_instances,
            instance_reuse: args.instance_reuse,
            instance_concurrency: args.instance_concurrency,
        },
        primitive,
        lambda,
        resources,
    })
}

/// Logging to stderr. `serve` outside Lambda writes through [`crate::log_queue`]: the access
/// log is a line per request, and writing each from the tokio worker that served it cost
/// them a share of every request. Lambda writes directly: its environment freezes once a
/// response is sent, which would hold back lines still queued.
fn init_logging(format: LogFormat, queued: bool) -> Option<crate::log_queue::LogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WXRUN_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,cranelift=warn,wasmtime=warn")
    });
    // Colour codes only for a person at a terminal: in CloudWatch or a file they are noise,
    // and writing them was a share of the per-request access log's cost.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Without a thread for the queue, lines are written directly rather than lost.
    let queue = queued
        .then(|| crate::log_queue::start(std::io::stderr()).ok())
        .flatten();
    let (writer, guard) = match queue {
        Some((w, g)) => (BoxMakeWriter::new(w), Some(g)),
        None => (BoxMakeWriter::new(std::io::stderr), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}
