//! One Spin component ready to serve: compiled (through the AOT cache),
//! linked (WASI 0.2 + 0.3, variables, traps for the rest), and wrapped in
//! wasmtime-wasi-http's `ProxyHandler` with a fresh instance per request
//! (or one reused as `Limits::instance_reuse` allows) and the per-request
//! limits. Owns instantiation, not routing or HTTP serving.

use crate::allowed_hosts::AllowedHosts;
use crate::engine::{Host, Limits};
use crate::manifest::FileMount;
use crate::outbound::OutboundHooks;
use crate::traps::Unsupported;
use crate::variables::ComponentVariables;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use wasmtime::component::{Component, GuestTaskId, ResourceTable};
use wasmtime::{Engine, Store, StoreContextMut, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    self, HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration,
    WorkerState, WorkerStatus,
};

/// Why a component could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("component {id:?}: {message}")]
    Link { id: String, message: String },
    #[error(
        "component {id:?} exports neither wasi:http/incoming-handler@0.2 nor wasi:http/handler@0.3"
    )]
    NotHttp { id: String },
}

/// Which WASI generation a component's HTTP export belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Generation {
    #[serde(rename = "wasi-0.2")]
    P2,
    #[serde(rename = "wasi-0.3")]
    P3,
}

/// What a request's instance gets besides the component itself.
pub struct Settings {
    pub env: Vec<(String, String)>,
    pub mounts: Vec<FileMount>,
    pub allowed: Arc<AllowedHosts>,
    pub variables: Arc<ComponentVariables>,
    pub hosts: crate::hosts::Grants,
    pub limits: Limits,
}

/// A component behind its request handler.
pub struct Prepared {
    pub handler: ProxyHandler<Runner>,
    pub generation: Generation,
    pub unsupported: Vec<Unsupported>,
}

/// Links `component` and builds its handler.
pub fn prepare(
    engine: &Engine,
    id: &str,
    component: &Component,
    settings: Settings,
) -> Result<Prepared, PrepareError> {
    let link = |e: String| PrepareError::Link {
        id: id.to_string(),
        message: e,
    };
    let ty = component.component_type();
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    let mut linker = crate::engine::linker(engine, &imports).map_err(|e| link(format!("{e:#}")))?;
    crate::variables::add_to_linker(&mut linker, engine, component, |h: &Host| &h.variables)
        .map_err(|e| link(format!("{e:#}")))?;
    if imports
        .iter()
        .any(|name| crate::traps::provides(&crate::hosts::INTERFACES, name))
    {
        crate::hosts::add_to_linker(&mut linker).map_err(|e| link(format!("{e:#}")))?;
    }
    let unsupported = crate::traps::link_unsupported(&mut linker, engine, component)
        .map_err(|e| link(e.to_string()))?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| link(format!("{e:#}")))?;
    let (pre, generation) = match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
        Ok(p3) => (ProxyPre::P3(p3), Generation::P3),
        Err(_) => match wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre) {
            Ok(p2) => (ProxyPre::P2(p2), Generation::P2),
            Err(_) => return Err(PrepareError::NotHttp { id: id.to_string() }),
        },
    };
    let runner = Runner {
        engine: engine.clone(),
        pre,
        concurrency: match generation {
            Generation::P2 => 1,
            Generation::P3 => settings.limits.instance_concurrency as usize,
        },
        settings: Arc::new(settings),
    };
    Ok(Prepared {
        handler: ProxyHandler::new(runner),
        generation,
        unsupported,
    })
}

/// How long a reused instance waits idle for its next request.
const IDLE_INSTANCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Creates the stores and instances requests run in.
pub struct Runner {
    engine: Engine,
    pre: ProxyPre<Host>,
    /// Requests one instance serves at once.
    concurrency: usize,
    settings: Arc<Settings>,
}

impl Runner {
    /// The limits this component's requests run under.
    pub fn limits(&self) -> Limits {
        self.settings.limits
    }

    fn store(&self) -> wasmtime::Result<Store<Host>> {
        let s = &self.settings;
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        for (k, v) in &s.env {
            wasi.env(k, v);
        }
        for m in &s.mounts {
            wasi.preopened_dir(&m.host, &m.guest, FsPerms::ReadOnly)?;
        }
        crate::sockets::configure(&mut wasi, &s.allowed);
        let host = Host {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(s.limits.memory_bytes)
                .build(),
            hooks: OutboundHooks {
                allowed: s.allowed.clone(),
            },
            variables: s.variables.clone(),
            hosts: crate::hosts::HostState::new(s.hosts.clone()),
        };
        let mut store = Store::new(&self.engine, host);
        store.limiter(|h| &mut h.limits);
        store.set_epoch_deadline(s.limits.epoch_ticks());
        store.epoch_deadline_trap();
        Ok(store)
    }
}

impl HandlerState for Runner {
    type StoreData = Host;
    type WorkerExpiration = Expiry;
    type WorkerState = Reuse;

    async fn instantiate(&self) -> wasmtime::Result<Instance<Host, Expiry, Reuse>> {
        let mut store = self.store()?;
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let limits = self.settings.limits;
        Ok(Instance {
            store,
            proxy,
            view: <Host as WasiHttpView>::http,
            expiration: Expiry {
                timeout: limits.timeout,
                reused: limits.instance_reuse > 1,
                sleep: Box::pin(tokio::time::sleep(limits.timeout)),
            },
            state: Reuse {
                limits,
                concurrency: self.concurrency,
            },
        })
    }
}

/// Ends an instance once its requests are done (a reused one after it has
/// been idle a while), or its time is up.
pub struct Expiry {
    timeout: std::time::Duration,
    reused: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiry {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        state: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let wait = match state {
            WorkerStatus::Idle if !self.reused => return Poll::Ready(()),
            WorkerStatus::Idle => IDLE_INSTANCE_TIMEOUT,
            _ => self.timeout,
        };
        let deadline = tokio::time::Instant::from_std(start + wait);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx)
    }
}

/// The error wasmtime-wasi-http hands [`WorkerState::drop`] for a worker dropped unfinished.
const DROPPED_WORKER: &str = "worker panicked";

/// Accepts `instance_reuse` requests in all, `concurrency` at a time.
pub struct Reuse {
    limits: Limits,
    concurrency: usize,
}

impl WorkerState for Reuse {
    type StoreData = Host;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.limits.instance_reuse as usize {
            ShouldAccept::Never
        } else if concurrent >= self.concurrency {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, Host>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        // The epoch deadline counts from here, not from the instance's
        // creation: a reused instance lives longer than one request.
        store.set_epoch_deadline(self.limits.epoch_ticks());
        Box::pin(tokio::time::sleep(self.limits.timeout))
    }

    fn drop(&self, _store: Store<Host>, result: Result<(), wasmtime::Error>) {
        match result {
            // wasmtime-wasi-http says this of every worker dropped before it returned, as the
            // idle reused instances are when the server stops. A real panic has already been
            // printed by the panic hook.
            Err(e) if e.to_string() == DROPPED_WORKER => {
                tracing::debug!("instance dropped before it finished")
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "instance ended with an error"),
            Ok(()) => {}
        }
    }
}

/// The request handling outcome that decides the HTTP status of a failure.
pub fn failure_status(
    error: &wasmtime::Error,
    elapsed: std::time::Duration,
    limits: &Limits,
) -> u16 {
    if error.downcast_ref::<handler::ExpirationError>().is_some()
        || error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)
        || elapsed >= limits.timeout
    {
        504
    } else {
        500
    }
}
