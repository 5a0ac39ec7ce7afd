//! A component's `allowed_outbound_hosts`, read and matched the way Spin 3
//! does it: `scheme://host[:port]` with `*` for any scheme, host or port,
//! `*.domain` subdomain wildcards, port ranges `a..b` (end excluded), CIDR
//! hosts (`*://127.0.0.0/24:8080`), `self` for requests back into the app,
//! and `{{ variable }}` templates resolved from the app's variables. Owns the
//! syntax and the decision; the callers (outbound HTTP, sockets, database
//! clients) only ask.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use url::Host;

/// Why an `allowed_outbound_hosts` entry could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AllowedHostError {
    #[error("{0:?} does not contain a scheme (e.g. 'http://' or '*://')")]
    NoScheme(String),
    #[error("{entry:?} is not an allowed outbound host: {reason}")]
    Invalid { entry: String, reason: String },
    #[error(
        "'insecure:allow-all' is not allowed: use '*://*:*' if you really want to allow all outbound traffic"
    )]
    InsecureAllowAll,
    #[error("{entry:?} refers to undefined variable {name:?}")]
    UndefinedVariable { entry: String, name: String },
}

/// The ports an entry allows when it names none: the scheme's well-known one.
fn well_known_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "postgres" => 5432,
        "mysql" => 3306,
        "redis" => 6379,
        "mqtt" => 1883,
        "http" => 80,
        "https" => 443,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    Subdomain(String),
    /// `self`: relative requests back into the app.
    ToSelf,
    Literal(Host),
    Cidr(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    Any,
    One(u16),
    Range(Range<u16>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// `None` is `*://`.
    scheme: Option<String>,
    host: HostRule,
    port: PortRule,
}

/// The outbound rules of one component; empty allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<Rule>);

impl AllowedHosts {
    /// Reads the manifest entries, expanding `{{ name }}` from `variables`
    /// (the app's resolved variables). An entry that expands to nothing (or
    /// to a bare `http://` / `https://`) is dropped, as Spin does for an
    /// optional endpoint left empty.
    pub fn parse(
        entries: &[String],
        variables: &HashMap<String, String>,
    ) -> Result<Self, AllowedHostError> {
        if entries.len() == 1 && entries[0] == "insecure:allow-all" {
            return Err(AllowedHostError::InsecureAllowAll);
        }
        let mut rules = Vec::new();
        for entry in entries {
            if !entry.contains("{{") {
                rules.push(Rule::parse(entry)?);
                continue;
            }
            let expanded = crate::variables::expand(entry, variables).map_err(|e| match e {
                crate::variables::TemplateError::Undefined(name) => {
                    AllowedHostError::UndefinedVariable {
                        entry: entry.clone(),
                        name,
                    }
                }
                crate::variables::TemplateError::Unterminated => AllowedHostError::Invalid {
                    entry: entry.clone(),
                    reason: "unterminated template".into(),
                },
            })?;
            if !matches!(expanded.as_str(), "" | "http://" | "https://") {
                rules.push(Rule::parse(&expanded)?);
            }
        }
        Ok(AllowedHosts(rules))
    }

    /// Whether anything at all may be reached.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `scheme://host[:port]` may be reached. `host` is a domain,
    /// an IPv4 address or a bracketed IPv6 address; a missing port is the
    /// scheme's well-known one.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Ok(host) = Host::parse(host) else {
            return false;
        };
        let Some(port) = port.or_else(|| well_known_port(scheme)) else {
            // Unknown scheme without a port: only `:*` rules can match.
            return self.0.iter().any(|r| {
                r.port == PortRule::Any && r.scheme_allows(scheme) && r.host_allows(&host)
            });
        };
        self.0
            .iter()
            .any(|r| r.scheme_allows(scheme) && r.host_allows(&host) && r.port_allows(port))
    }

    /// Whether an address such as `postgres://user:pw@db:5432/app` (or
    /// `db:5432`, read as `<scheme>://db:5432`) may be reached; unparsable
    /// addresses may not.
    pub fn allows_url(&self, address: &str, scheme: &str) -> bool {
        let parsed = url::Url::parse(address)
            .ok()
            .filter(|u| u.has_host())
            .or_else(|| url::Url::parse(&format!("{scheme}://{address}")).ok());
        match parsed.as_ref().and_then(|u| Some((u, u.host_str()?))) {
            Some((u, host)) => self.allows(u.scheme(), host, u.port()),
            None => false,
        }
    }

    /// Whether a socket may talk to `addr` (`scheme` is `tcp` or `udp`).
    pub fn allows_socket(&self, scheme: &str, addr: SocketAddr) -> bool {
        let host = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        self.allows(scheme, &host, Some(addr.port()))
    }

    /// Whether relative requests (to the app itself) are allowed for any of
    /// `schemes`: a `self` or `*` host rule.
    pub fn allows_relative(&self, schemes: &[&str]) -> bool {
        self.0.iter().any(|r| {
            schemes.iter().any(|s| r.scheme_allows(s))
                && matches!(r.host, HostRule::Any | HostRule::ToSelf)
        })
    }
}

impl Rule {
    fn parse(entry: &str) -> Result<Rule, AllowedHostError> {
        let invalid = |reason: String| AllowedHostError::Invalid {
            entry: entry.to_string(),
            reason,
        };
        let trimmed = entry.trim();
        let (scheme, rest) = trimmed
            .split_once("://")
            .ok_or_else(|| AllowedHostError::NoScheme(entry.to_string()))?;
        // The last `:` starts the port unless the whole rest is a host
        // (an IPv6 CIDR such as `::1/128` has colons of its own).
        let (host, port) = match rest.rsplit_once(':') {
            None => (rest, ""),
            Some((h, "")) => (h, ""),
            Some(_) if parse_host(rest).is_ok() => (rest, ""),
            Some((h, tail)) => match tail.split_once('/') {
                Some((_, path)) if !path.is_empty() => {
                    return Err(invalid("it has a path".into()));
                }
                Some((p, _)) => (h, p),
                None => (h, tail),
            },
        };
        let scheme = match scheme {
            "*" => None,
            s if s.starts_with('{') => {
                return Err(invalid("scheme lists are not supported".into()));
            }
            s if s.is_empty() || !s.chars().all(char::is_alphabetic) => {
                return Err(invalid(
                    "only alphabetic characters are allowed in a scheme".into(),
                ));
            }
            s => Some(s.to_string()),
        };
        let port = match port {
            "" => match scheme.as_deref().and_then(well_known_port) {
                Some(p) => PortRule::One(p),
                None => {
                    return Err(invalid(format!(
                        "no port was given and the scheme {:?} has no well-known port",
                        scheme.as_deref().unwrap_or("*")
                    )));
                }
            },
            "*" => PortRule::Any,
            p if p.starts_with('{') => return Err(invalid("port lists are not supported".into())),
            p => match p.split_once("..") {
                Some((start, end)) => {
                    let num = |s: &str| {
                        s.parse::<u16>()
                            .map_err(|_| invalid(format!("port range {p:?} contains a non-number")))
                    };
                    PortRule::Range(num(start)?..num(end)?)
                }
                None => PortRule::One(
                    p.parse()
                        .map_err(|_| invalid(format!("port {p:?} is not a number")))?,
                ),
            },
        };
        let host = parse_host(host).map_err(invalid)?;
        Ok(Rule { scheme, host, port })
    }

    fn scheme_allows(&self, scheme: &str) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme)
    }

    fn host_allows(&self, host: &Host) -> bool {
        match (&self.host, host) {
            (HostRule::Any, _) => true,
            (HostRule::Subdomain(suffix), Host::Domain(d)) => d.ends_with(suffix.as_str()),
            (HostRule::Literal(l), h) => l == h,
            (HostRule::Cidr(net), Host::Ipv4(ip)) => net.contains(&std::net::IpAddr::V4(*ip)),
            (HostRule::Cidr(net), Host::Ipv6(ip)) => net.contains(&std::net::IpAddr::V6(*ip)),
            // `self` is only for relative requests; the rest never match
            // across kinds (a CIDR never matches a name).
            _ => false,
        }
    }

    fn port_allows(&self, port: u16) -> bool {
        match &self.port {
            PortRule::Any => true,
            PortRule::One(p) => *p == port,
            PortRule::Range(r) => r.contains(&port),
        }
    }
}

fn parse_host(host: &str) -> Result<HostRule, String> {
    let host = host.trim();
    match host {
        "*" => return Ok(HostRule::Any),
        "self" | "self.alt" => return Ok(HostRule::ToSelf),
        _ => {}
    }
    if host.starts_with('{') {
        return Err("host lists are not supported".into());
    }
    if let Ok(net) = host.parse::<IpNet>() {
        return Ok(HostRule::Cidr(net.trunc()));
    }
    let host = host.strip_suffix('/').unwrap_or(host);
    if host.contains('/') {
        return Err("it must not include a path".into());
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err("wildcards are allowed only as prefixes".into());
        }
        return match Host::parse(domain) {
            Ok(Host::Domain(d)) => Ok(HostRule::Subdomain(format!(".{d}"))),
            Ok(_) => Err("a wildcard's suffix must be a domain".into()),
            Err(e) => Err(format!("invalid wildcard host {host:?}: {e}")),
        };
    }
    if host.contains('*') {
        return Err("wildcards are allowed only as subdomains".into());
    }
    Host::parse(host)
        .map(HostRule::Literal)
        .map_err(|e| format!("invalid host {host:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        let vars = HashMap::from([
            ("db_host".to_string(), "db.example.com".to_string()),
            ("empty".to_string(), String::new()),
        ]);
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&entries, &vars).unwrap()
    }

    fn url(entries: &[&str], u: &str) -> bool {
        hosts(entries).allows_url(u, "http")
    }

    #[test]
    fn exact_host_takes_the_schemes_default_port() {
        assert!(url(&["https://example.com"], "https://example.com/x"));
        assert!(!url(&["https://example.com"], "http://example.com/x"));
        assert!(!url(&["https://example.com"], "https://example.com:8443/"));
        assert!(!url(&["https://example.com"], "https://evil.com/"));
        assert!(!url(&[], "https://example.com/"));
        assert!(url(&["postgres://db"], "postgres://u:p@db/app"));
        assert!(!url(&["postgres://db"], "postgres://db:5433/app"));
        assert!(url(&["redis://cache:*"], "redis://cache:7000"));
        assert!(hosts(&["redis://cache"]).allows_url("cache", "redis"));
        assert!(!hosts(&["redis://cache"]).allows_url("not a url", "redis"));
    }

    #[test]
    fn wildcards_ranges_and_cidr() {
        assert!(url(&["http://*:8080"], "http://127.0.0.1:8080/"));
        assert!(!url(&["http://*:8080"], "http://127.0.0.1:8081/"));
        assert!(url(&["https://*.example.com"], "https://api.example.com/"));
        assert!(!url(&["https://*.example.com"], "https://example.com/"));
        assert!(!url(&["https://*.example.com"], "https://badexample.com/"));
        assert!(url(&["*://*:*"], "http://anything:1/"));
        assert!(url(&["http://h:8000..8002"], "http://h:8001/"));
        assert!(!url(&["http://h:8000..8002"], "http://h:8002/"));
        let cidr = hosts(&["*://127.0.0.0/24:8080"]);
        assert!(cidr.allows_socket("tcp", "127.0.0.9:8080".parse().unwrap()));
        assert!(!cidr.allows_socket("tcp", "127.0.1.9:8080".parse().unwrap()));
        assert!(!cidr.allows_socket("tcp", "127.0.0.9:8081".parse().unwrap()));
        assert!(!cidr.allows("http", "localhost", Some(8080)));
        let v6 = hosts(&["tcp://[::1]:9000", "udp://::1/128:53"]);
        assert!(v6.allows_socket("tcp", "[::1]:9000".parse().unwrap()));
        assert!(v6.allows_socket("udp", "[::1]:53".parse().unwrap()));
        assert!(!v6.allows_socket("udp", "[::1]:9000".parse().unwrap()));
    }

    #[test]
    fn templates_expand_from_app_variables() {
        let h = hosts(&["https://{{ db_host }}", "https://{{empty}}"]);
        assert!(h.allows_url("https://db.example.com/", "https"));
        assert_eq!(h.0.len(), 1, "an empty expansion is dropped");
        let e = AllowedHosts::parse(&["https://{{ nope }}".into()], &HashMap::new());
        assert!(
            matches!(e, Err(AllowedHostError::UndefinedVariable { name, .. }) if name == "nope")
        );
    }

    #[test]
    fn self_allows_only_relative_requests() {
        let h = hosts(&["http://self"]);
        assert!(h.allows_relative(&["http"]));
        assert!(!h.allows_relative(&["https"]));
        assert!(!h.allows_url("http://self/", "http"));
        assert!(hosts(&["*://*:*"]).allows_relative(&["https"]));
    }

    #[test]
    fn malformed_entries_are_errors() {
        let bad = |e: &str| AllowedHosts::parse(&[e.to_string()], &HashMap::new()).unwrap_err();
        assert!(matches!(bad("example.com"), AllowedHostError::NoScheme(_)));
        assert!(matches!(
            bad("https://example.com/path"),
            AllowedHostError::Invalid { .. }
        ));
        assert!(matches!(
            bad("tcp://example.com"),
            AllowedHostError::Invalid { .. }
        ));
        assert!(matches!(
            bad("*://example.com"),
            AllowedHostError::Invalid { .. }
        ));
        assert!(matches!(
            bad("https://ex*.com"),
            AllowedHostError::Invalid { .. }
        ));
        assert!(matches!(
            bad("h2c://example.com:80"),
            AllowedHostError::Invalid { .. }
        ));
        assert_eq!(
            bad("insecure:allow-all"),
            AllowedHostError::InsecureAllowAll
        );
    }
}
