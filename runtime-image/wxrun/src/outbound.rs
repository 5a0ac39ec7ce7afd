//! `allowed_outbound_hosts` enforcement for outgoing HTTP from guests, as a
//! `WasiHttpHooks::send_request` that refuses what the component may not
//! reach (the rules themselves live in `allowed_hosts`).

use crate::allowed_hosts::AllowedHosts;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Whether a request to `uri` may leave the guest.
fn allows(allowed: &AllowedHosts, uri: &http::Uri) -> bool {
    match (uri.scheme_str(), uri.host()) {
        (Some(scheme), Some(host)) => {
            allowed.allows(&scheme.to_ascii_lowercase(), host, uri.port_u16())
        }
        _ => false,
    }
}

/// The `wasi:http` hooks of one request's store.
#[derive(Clone, Default)]
pub struct OutboundHooks {
    pub allowed: Arc<AllowedHosts>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        drop(fut);
        let allowed = allows(&self.allowed, request.uri());
        Box::new(async move {
            use http_body_util::BodyExt;
            if !allowed {
                tracing::warn!(uri = %request.uri(), "outbound request denied by allowed_outbound_hosts");
                return Err(Error::HttpRequestDenied);
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}
