//! Lambda mode: the Runtime API loop (`lambda_http`, official) turning ALB
//! target-group events (single- or multi-value headers and query strings,
//! base64 bodies) into requests for `dispatch`, and responses back into ALB
//! responses (binary bodies base64-encoded by content type). Owns only the
//! event translation glue.

use crate::dispatch::Runtime;
use bytes::Bytes;
use http_body_util::Full;
use lambda_http::{RequestExt, service_fn};
use std::sync::Arc;

/// Serves Lambda invocations until the runtime stops the process.
pub async fn run(runtime: Arc<Runtime>) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(move |event: lambda_http::Request| {
        let runtime = runtime.clone();
        async move {
            let request_id = event.lambda_context_ref().map(|c| c.request_id.clone());
            let request = from_event(event);
            Ok::<_, std::convert::Infallible>(runtime.handle(request, request_id, None).await)
        }
    }))
    .await
}

/// The event's request with its (already decoded) body as bytes.
pub fn from_event(event: lambda_http::Request) -> http::Request<Full<Bytes>> {
    let (parts, body) = event.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    http::Request::from_parts(parts, Full::new(bytes))
}
