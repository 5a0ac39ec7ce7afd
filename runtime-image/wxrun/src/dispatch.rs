//! One HTTP request through the current app: well-known paths, the 413 body
//! limit, routing, Spin's request headers, the component call, the status for
//! failures (500 trap, 504 timeout), `x-wxrun-served-by` and the access log.
//! Shared by `serve` and `lambda`; owns no sockets.

use crate::app::App;
use crate::info::{Identity, Info};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The response body type of every answer.
pub type Body = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// Health path, as in Spin.
pub const HEALTH_PATH: &str = "/.well-known/spin/health";
/// Identity path.
pub const INFO_PATH: &str = "/.well-known/wxrun/info";

/// The serving state shared by every request of the process.
pub struct Runtime {
    app: RwLock<Option<Arc<App>>>,
    identity: Identity,
    max_body_bytes: usize,
    next_id: AtomicU64,
    draining: AtomicBool,
}

impl Runtime {
    pub fn new(identity: Identity, max_body_bytes: usize) -> Self {
        Runtime {
            app: RwLock::new(None),
            identity,
            max_body_bytes,
            next_id: AtomicU64::new(1),
            draining: AtomicBool::new(false),
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

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Handles one request whose body is still streaming.
    pub async fn handle<B>(&self, req: Request<B>, request_id: Option<String>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let start = Instant::now();
        let id = request_id.unwrap_or_else(|| {
            format!(
                "{:x}-{}",
                std::process::id(),
                self.next_id.fetch_add(1, Ordering::Relaxed)
            )
        });
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (mut response, route, component) = self.route(req).await;
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

    async fn route<B>(&self, req: Request<B>) -> (Response<Body>, Option<String>, Option<String>)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let app = self.current();
        let path = req.uri().path().to_string();
        if path == HEALTH_PATH {
            let ok = app.is_some() && !self.draining.load(Ordering::SeqCst);
            return match ok {
                true => (text(StatusCode::OK, "OK"), None, None),
                false => (
                    text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
                    None,
                    None,
                ),
            };
        }
        let Some(app) = app else {
            return (
                text(StatusCode::SERVICE_UNAVAILABLE, "no app loaded"),
                None,
                None,
            );
        };
        if path == INFO_PATH {
            let info = Info {
                version: self.identity.version,
                binary_sha256: self.identity.binary_sha256().await,
                primitive: self.identity.primitive,
                release: app.release.as_deref(),
                app: &app.name,
            };
            let mut r = text(
                StatusCode::OK,
                serde_json::to_string(&info).unwrap_or_default(),
            );
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            return (r, None, None);
        }
        let Some(m) = app.router.route(&path) else {
            return (text(StatusCode::NOT_FOUND, "Not Found"), None, None);
        };
        let route = m.raw_route.to_string();
        let component_id = m.component.to_string();
        let Some(prepared) = app.components.get(m.component) else {
            return (text(StatusCode::NOT_FOUND, "Not Found"), Some(route), None);
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
        spin_headers(&mut parts, &m);
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

/// Adds the headers Spin gives components and makes the URI absolute.
fn spin_headers(parts: &mut http::request::Parts, m: &crate::routing::RouteMatch<'_>) {
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
    let h = &mut parts.headers;
    for (name, value) in [
        ("spin-full-url", full.as_str()),
        ("spin-path-info", m.path_info.as_str()),
        ("spin-matched-route", m.raw_route),
        ("spin-raw-component-route", m.raw_route),
        ("spin-component-route", m.component_route),
        ("spin-base-path", "/"),
    ] {
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
