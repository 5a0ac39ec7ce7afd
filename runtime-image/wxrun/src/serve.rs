//! `wxrun serve`: loads the app (a manifest, or the app dir's current
//! release), answers HTTP on a socket (or, with `AWS_LAMBDA_RUNTIME_API`,
//! runs the Lambda loop), polls the release pointer and hot-swaps, and drains
//! in-flight requests on SIGTERM. Owns process lifecycle, not request logic.

use crate::app::{App, AppError, LoadOptions};
use crate::dispatch::Runtime;
use crate::engine::Limits;
use crate::hosts::Resources;
use crate::release::{AppDir, ReleaseError, Source};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Engine;

/// Why serving could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start wasmtime: {0}")]
    Engine(String),
    #[error("lambda runtime loop failed: {0}")]
    Lambda(String),
}

/// Where the app comes from.
pub enum AppSource {
    /// A `spin.toml` served as is (`--from`); `cache` is an optional AOT
    /// cache root.
    Manifest {
        path: PathBuf,
        cache: Option<PathBuf>,
    },
    /// The shared volume's current release (`--app-dir`, `--source`).
    AppDir {
        dir: AppDir,
        source: Option<String>,
        /// Speak HTTP to the oci:// source's registry.
        plain_http: bool,
        poll: Duration,
    },
}

/// Everything `serve` needs.
pub struct ServeConfig {
    pub app: AppSource,
    pub listen: SocketAddr,
    pub limits: Limits,
    pub primitive: crate::info::Primitive,
    /// Run the Lambda Runtime API loop instead of listening.
    pub lambda: bool,
    /// The stores and databases of the runtime config, shared by every release.
    pub resources: Resources,
}

struct Loader {
    engine: Engine,
    limits: Limits,
    env: HashMap<String, String>,
    resources: Resources,
}

impl Loader {
    async fn load(
        self: &Arc<Self>,
        manifest: PathBuf,
        cache: Option<PathBuf>,
        release: Option<String>,
    ) -> Result<App, AppError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let cache_dir = cache.map(|root| crate::aot::engine_dir(&me.engine, &root));
            App::load(
                &me.engine,
                &manifest,
                &LoadOptions {
                    limits: me.limits,
                    cache_dir: cache_dir.as_deref(),
                    env: &me.env,
                    release,
                    resources: &me.resources,
                },
            )
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// Runs `serve` until SIGTERM/SIGINT.
pub async fn run(config: ServeConfig) -> Result<(), ServeError> {
    let engine = crate::engine::new_engine(&config.limits)
        .map_err(|e| ServeError::Engine(format!("{e:#}")))?;
    crate::engine::spawn_epoch_ticker(engine.clone());
    let identity = crate::info::Identity::current(config.primitive);
    let runtime = Arc::new(Runtime::new(identity, config.limits.max_body_bytes));
    let loader = Arc::new(Loader {
        engine,
        limits: config.limits,
        env: std::env::vars().collect(),
        resources: config.resources,
    });
    let _watcher = match config.app {
        AppSource::Manifest { path, cache } => {
            let app = loader.load(path, cache, None).await?;
            runtime.swap(app);
            None
        }
        AppSource::AppDir {
            dir,
            source,
            plain_http,
            poll,
        } => {
            let source = match source {
                Some(url) => Some(Source::new(&url, plain_http).await?),
                None => None,
            };
            let watcher = Watcher {
                dir,
                source,
                loader: loader.clone(),
                runtime: runtime.clone(),
                loaded: None,
            };
            Some(tokio::spawn(watcher.run(poll)))
        }
    };
    if config.lambda {
        return crate::lambda::run(runtime)
            .await
            .map_err(|e| ServeError::Lambda(e.to_string()));
    }
    listen(runtime, config.listen, config.limits.timeout).await
}

/// Follows the release pointer and swaps apps.
struct Watcher {
    dir: AppDir,
    source: Option<Source>,
    loader: Arc<Loader>,
    runtime: Arc<Runtime>,
    loaded: Option<String>,
}

impl Watcher {
    async fn run(mut self, poll: Duration) {
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::from(e)), "release update failed; still serving the previous release");
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The release to serve: the source's pointer, or the volume's. When the source cannot
    /// be reached (network, credentials, TLS), the volume's release is served rather than
    /// none, and the process says so in its log and `/.well-known/wxrun/info`.
    async fn pointer(&self) -> Result<Option<String>, ReleaseError> {
        let Some(source) = &self.source else {
            return self.dir.current();
        };
        match source.current().await {
            Ok(found) => {
                if self.runtime.set_source_error(None).is_some() {
                    tracing::info!("release source reachable again");
                }
                match found {
                    Some(id) => Ok(Some(id)),
                    None => self.dir.current(),
                }
            }
            Err(e) => {
                let Some(on_volume) = self.dir.current()? else {
                    return Err(e);
                };
                let error = format!("{:#}", anyhow::Error::from(e));
                if self.runtime.set_source_error(Some(error.clone())).is_none() {
                    tracing::warn!(error = %error, release = %on_volume, "release source unreachable; serving the release already on the volume");
                }
                Ok(Some(on_volume))
            }
        }
    }

    async fn step(&mut self) -> Result<(), ServeError> {
        let Some(id) = self.pointer().await? else {
            return Ok(());
        };
        if self.loaded.as_deref() == Some(id.as_str()) {
            return Ok(());
        }
        self.dir.ensure(&id, self.source.as_ref()).await?;
        if self.source.is_some() && self.dir.current()?.as_deref() != Some(id.as_str()) {
            self.dir.set_current(&id)?;
        }
        let app = self
            .loader
            .load(
                self.dir.manifest(&id),
                Some(self.dir.cache_root()),
                Some(id.clone()),
            )
            .await?;
        tracing::info!(release = %id, previous = self.loaded.as_deref().unwrap_or(""), "serving release");
        self.runtime.swap(app);
        self.loaded = Some(id);
        Ok(())
    }
}

async fn listen(
    runtime: Arc<Runtime>,
    addr: SocketAddr,
    request_timeout: Duration,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "listening");
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                // Without it, a response written in two parts (head, then a
                // streamed body) waits for the client's delayed ACK (~40 ms).
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                let rt = runtime.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let rt = rt.clone();
                    async move {
                        let id = request_id(req.headers());
                        Ok::<_, std::convert::Infallible>(rt.handle(req, id, Some(peer)).await)
                    }
                });
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down: draining in-flight requests");
    runtime.start_draining();
    drop(listener);
    let grace = request_timeout + Duration::from_secs(5);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("drained"),
        _ = tokio::time::sleep(grace) => tracing::warn!("drain timed out"),
    }
    Ok(())
}

/// The caller's request id, when a proxy set one.
pub fn request_id(headers: &http::HeaderMap) -> Option<String> {
    ["x-request-id", "x-amzn-trace-id"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok().map(str::to_string))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
