//! `allowed_outbound_hosts` enforcement for outgoing HTTP from guests, as a
//! `WasiHttpHooks::send_request` that refuses what the manifest does not
//! allow. Owns the pattern syntax (`https://api.example.com`, `http://*:8080`,
//! `https://*.example.com`, `*://*:*`).

use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Why an `allowed_outbound_hosts` entry could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid allowed_outbound_hosts entry {0:?}: expected scheme://host[:port]")]
pub struct PatternError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    host: String,
    port: Option<String>,
}

/// The outbound rules of one component.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<Pattern>);

impl AllowedHosts {
    /// Parses the manifest entries; an empty list allows nothing.
    pub fn parse(entries: &[String]) -> Result<Self, PatternError> {
        let mut out = Vec::new();
        for e in entries {
            let (scheme, rest) = e.split_once("://").ok_or_else(|| PatternError(e.clone()))?;
            let rest = rest.trim_end_matches('/');
            if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
                return Err(PatternError(e.clone()));
            }
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (rest.to_string(), None),
            };
            out.push(Pattern {
                scheme: scheme.to_ascii_lowercase(),
                host: host.to_ascii_lowercase(),
                port,
            });
        }
        Ok(AllowedHosts(out))
    }

    /// Whether a request to `uri` may leave the guest.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 })
            .to_string();
        self.0.iter().any(|p| {
            (p.scheme == "*" || p.scheme == scheme)
                && host_matches(&p.host, &host)
                && match &p.port {
                    None => port == if scheme == "https" { "443" } else { "80" } || p.scheme == "*",
                    Some(pp) => pp == "*" || *pp == port,
                }
        })
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        _ if pattern == "*" => true,
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1),
        None => pattern == host,
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
        let allowed = self.allowed.allows(request.uri());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], uri: &str) -> bool {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&entries)
            .unwrap()
            .allows(&uri.parse().unwrap())
    }

    #[test]
    fn exact_host_default_port() {
        assert!(allows(&["https://example.com"], "https://example.com/x"));
        assert!(!allows(&["https://example.com"], "http://example.com/x"));
        assert!(!allows(
            &["https://example.com"],
            "https://example.com:8443/"
        ));
        assert!(!allows(&["https://example.com"], "https://evil.com/"));
        assert!(!allows(&[], "https://example.com/"));
    }

    #[test]
    fn wildcards() {
        assert!(allows(&["http://*:8080"], "http://127.0.0.1:8080/"));
        assert!(!allows(&["http://*:8080"], "http://127.0.0.1:8081/"));
        assert!(allows(
            &["https://*.example.com"],
            "https://api.example.com/"
        ));
        assert!(!allows(&["https://*.example.com"], "https://example.com/"));
        assert!(!allows(
            &["https://*.example.com"],
            "https://badexample.com/"
        ));
        assert!(allows(&["*://*:*"], "http://anything:1/"));
    }

    #[test]
    fn malformed_entries_are_errors() {
        assert!(AllowedHosts::parse(&["example.com".into()]).is_err());
        assert!(AllowedHosts::parse(&["https://example.com/path".into()]).is_err());
    }
}
