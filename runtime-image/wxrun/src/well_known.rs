//! The paths wxrun answers itself, before routing: Spin's reserved
//! `/.well-known/spin/` prefix (`health`, and `info` with the app's name and
//! version, as Spin answers them; anything else under the prefix is 404 and
//! never reaches the app) and wxrun's own `/.well-known/wxrun/info`.

use crate::app::App;
use crate::dispatch::{Body, Runtime, text};
use crate::info::Info;
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

/// The prefix Spin reserves for itself.
pub const SPIN_PREFIX: &str = "/.well-known/spin/";
/// wxrun's identity path.
pub const INFO_PATH: &str = "/.well-known/wxrun/info";

/// Spin's answer to `/.well-known/spin/info`.
#[derive(Debug, Serialize)]
struct AppInfo<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

/// The answer for `path` when it is a well-known path, else `None`.
pub async fn answer(runtime: &Runtime, path: &str, app: Option<&App>) -> Option<Response<Body>> {
    let spin = path.strip_prefix(SPIN_PREFIX);
    if spin == Some("health") {
        return Some(match app.is_some() && !runtime.is_draining() {
            true => text(StatusCode::OK, "OK"),
            false => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        });
    }
    if spin.is_none() && path != INFO_PATH {
        return None;
    }
    let Some(app) = app else {
        return Some(text(StatusCode::SERVICE_UNAVAILABLE, "no app loaded"));
    };
    let body = match spin {
        Some("info") => serde_json::to_vec_pretty(&AppInfo {
            name: &app.name,
            version: app.version.as_deref(),
        }),
        Some(_) => return Some(text(StatusCode::NOT_FOUND, "")),
        None => {
            let identity = runtime.identity();
            let source_unreachable = runtime.source_error();
            serde_json::to_vec(&Info {
                version: identity.version,
                binary_sha256: identity.binary_sha256().await,
                primitive: identity.primitive,
                release: app.release.as_deref(),
                app: &app.name,
                source_unreachable: source_unreachable.as_deref(),
            })
        }
    };
    let mut r = text(StatusCode::OK, body.unwrap_or_default());
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Some(r)
}
