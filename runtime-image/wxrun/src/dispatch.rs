//! One HTTP request through the current app: well-known paths, the 413 body
//! limit, routing, Spin's request headers, the component call, the status for
//! failures (500 trap, 504 timeout), `x-wxrun-served-by` and the access log.
//! Shared by `serve` and `lambda`; owns no sockets.

use crate::app::App;
use crate::info::Identity;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The response body type of every answer.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// The serving state shared by every request of the process.
pub struct Runtime {
    app: RwLock<Option<Arc<App>>>,
    identity: Identity,
    max_body_bytes: usize,
    /// The process id, which request ids start with (a system call, so read once).
    pid: u32,
    next_id: AtomicU64,
    draining: AtomicBool,
    /// Why the release source cannot be reached, while it cannot (the app is then the
    /// release already on the volume).
    source_error: RwLock<Option<String>>,
}

impl Runtime {
    pub fn new(identity: Identity, max_body_bytes: usize) -> Self {
        Runtime {
            app: RwLock::new(None),
            identity,
            max_body_bytes,
            pid: std::process::id(),
            next_id: AtomicU64::new(1),
            draining: AtomicBool::new(false),
            source_error: RwLock::new(None),
        }
    }

    /// Replaces the app; requests already running keep the old one.
    pub fn swap(&self, app: App) {
        *self.app.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(app));
    }

    /// The app new requests go to.
    pub fn current(&self) -> Option<Arc<App>> {
        self.app.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Health turns 503 while draining for shutdown.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Records whether the release source answered (`None`) or why not; returns the
    /// previous value, so a change can be logged once.
    pub fn set_source_error(&self, error: Option<String>) -> Option<String> {
        std::mem::replace(
            &mut *self.source_error.write().unwrap_or_else(|e| e.into_inner()),
            error,
        )
    }

    pub fn source_error(&self) -> Option<String> {
        self.source_error
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Handles one request whose body is still streaming.
    /// `client` is the peer's address (Spin's `spin-client-addr`), when
    /// there is a socket.
    pub async fn handle<B>(
        &self,
        req: Request<B>,
        request_id: Option<String>,
        client: Option<SocketAddr>,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let start = Instant::now();
        let id = request_id.unwrap_or_else(|| {
            format!(
                "{:x}-{}",
                self.pid,
                self.next_id.fetch_add(1, Ordering::Relaxed)
            )
        });
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (mut response, route, component) = self.route(req, client).await;
        response.headers_mut().insert(
            "x-wxrun-served-by",
            HeaderValue::from_static(self.identity.primitive.as_str()),
        );
        tracing::info!(
            request_id = %id,
            method = %method,
            path = %path,
            route = route.as_deref().unwrap_or(""),
            component = component.as_deref().unwrap_or(""),
            status = response.status().as_u16(),
            duration_ms = start.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }

    async fn route<B>(
        &self,
        req: Request<B>,
        client: Option<SocketAddr>,
    ) -> (Response<Body>, Option<String>, Option<String>)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let app = self.current();
        let path = req.uri().path().to_string();
        if let Some(r) = crate::well_known::answer(self, &path, app.as_deref()).await {
            return (r, None, None);
        }
        let Some(app) = app else {
            return (
                text(StatusCode::SERVICE_UNAVAILABLE, "no app loaded"),
                None,
                None,
            );
        };
        let Some(m) = app.router.route(&path) else {
            return (text(StatusCode::NOT_FOUND, ""), None, None);
        };
        let route = m.raw_route.to_string();
        let component_id = m.component.to_string();
        let Some(prepared) = app.components.get(m.component) else {
            return (text(StatusCode::NOT_FOUND, ""), Some(route), None);
        };
        let (mut parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes as u64) {
            return (too_large(), Some(route), Some(component_id));
        }
        let body = match Limited::new(body, self.max_body_bytes).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return (too_large(), Some(route), Some(component_id));
            }
            Err(e) => {
                tracing::debug!(error = %e, "request body read failed");
                return (
                    text(StatusCode::BAD_REQUEST, "bad request body"),
                    Some(route),
                    Some(component_id),
                );
            }
        };
        spin_headers(&mut parts, &m, client);
        let req = Request::from_parts(
            parts,
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        let limits = prepared.handler.state().limits();
        let started = Instant::now();
        let outcome = tokio::time::timeout(limits.timeout, prepared.handler.handle((), req)).await;
        let response = match outcome {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                let status = crate::component::failure_status(&e, started.elapsed(), &limits);
                tracing::warn!(component = %component_id, error = %format!("{e:?}"), status, "component failed");
                text(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "",
                )
            }
            Err(_) => {
                tracing::warn!(component = %component_id, "component timed out");
                text(StatusCode::GATEWAY_TIMEOUT, "")
            }
        };
        (response, Some(route), Some(component_id))
    }
}

// Built at compile time: parsing the names on every request showed in the profile.
const SPIN_FULL_URL: HeaderName = HeaderName::from_static("spin-full-url");
const SPIN_PATH_INFO: HeaderName = HeaderName::from_static("spin-path-info");
const SPIN_MATCHED_ROUTE: HeaderName = HeaderName::from_static("spin-matched-route");
const SPIN_RAW_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-raw-component-route");
const SPIN_COMPONENT_ROUTE: HeaderName = HeaderName::from_static("spin-component-route");
const SPIN_BASE_PATH: HeaderName = HeaderName::from_static("spin-base-path");
const SPIN_CLIENT_ADDR: HeaderName = HeaderName::from_static("spin-client-addr");

/// Adds the headers Spin gives components and makes the URI absolute.
fn spin_headers(
    parts: &mut http::request::Parts,
    m: &crate::routing::RouteMatch<'_>,
    client: Option<SocketAddr>,
) {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let full = format!("http://{host}{pq}");
    if let Ok(uri) = full.parse() {
        parts.uri = uri;
    }
    let client = client.map(|a| a.to_string());
    let fixed = [
        (SPIN_FULL_URL, Some(full.as_str())),
        (SPIN_PATH_INFO, Some(m.path_info.as_str())),
        (SPIN_MATCHED_ROUTE, Some(m.based_route)),
        (SPIN_RAW_COMPONENT_ROUTE, Some(m.raw_route)),
        (SPIN_COMPONENT_ROUTE, Some(m.component_route)),
        (SPIN_BASE_PATH, Some("/")),
        (SPIN_CLIENT_ADDR, client.as_deref()),
    ];
    let h = &mut parts.headers;
    let fixed = fixed.into_iter().filter_map(|(n, v)| Some((n, v?)));
    let params = m.params.iter().filter_map(|(name, value)| {
        let n = HeaderName::from_bytes(crate::routing::param_header(name).as_bytes());
        Some((n.ok()?, value.as_str()))
    });
    for (name, value) in fixed.chain(params) {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    if !h.contains_key(http::header::HOST) {
        h.insert(http::header::HOST, HeaderValue::from_static("localhost"));
    }
}

fn too_large() -> Response<Body> {
    text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
}

/// A plain-text response from wxrun itself.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r
}
