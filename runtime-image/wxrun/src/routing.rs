//! Spin's HTTP routing rules on top of `routefinder` (as Spin itself does):
//! a trailing `/...` is a wildcard (`/*`), exact routes beat wildcards, the
//! most specific (longest) match wins, a duplicated route keeps its last
//! declaration, and private routes are never reachable. Owns matching only.

use crate::manifest::{Manifest, Route};
use std::collections::BTreeMap;

/// Why a route table could not be built.
#[derive(Debug, thiserror::Error)]
#[error("component {component:?}: route {route:?} is not a valid route: {message}")]
pub struct RouteError {
    pub route: String,
    pub component: String,
    pub message: String,
}

/// A matched route: which component, and the request facts Spin passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub component: &'a str,
    /// The route as written in `spin.toml` (`/hello/...`).
    pub raw_route: &'a str,
    /// The route as Spin matched it: one trailing `/` dropped (`/` is ``).
    pub based_route: &'a str,
    /// The route without its wildcard suffix (`/hello`).
    pub component_route: &'a str,
    /// The part of the path the trailing wildcard matched, keeping a
    /// trailing `/` as Spin does (`/x/y`, `/`, or empty).
    pub path_info: String,
    /// Each `:name` segment's value, in route order.
    pub params: Vec<(String, String)>,
}

#[derive(Debug)]
struct Entry {
    component: String,
    raw_route: String,
    based_route: String,
    component_route: String,
}

/// The compiled route table of one app.
#[derive(Debug)]
pub struct Router {
    inner: routefinder::Router<usize>,
    entries: Vec<Entry>,
}

impl Router {
    /// Builds the table from the manifest's `[[trigger.http]]` entries.
    pub fn from_manifest(manifest: &Manifest) -> Result<Self, RouteError> {
        Self::new(manifest.triggers.iter().filter_map(|t| match &t.route {
            Route::Path(p) => Some((p.as_str(), t.component.as_str())),
            Route::Private => None,
        }))
    }

    /// Builds the table from `(route, component)` pairs in declaration order.
    pub fn new<'a>(
        routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RouteError> {
        // Keyed by the routefinder form so that a later duplicate replaces an
        // earlier one, as in Spin.
        let mut unique: BTreeMap<String, Entry> = BTreeMap::new();
        for (raw, component) in routes {
            // Spin's `sanitize`: a single trailing slash is not part of the route.
            let based = raw.strip_suffix('/').unwrap_or(raw);
            let pattern = match based.strip_suffix("/...") {
                Some(prefix) => format!("{prefix}/*"),
                None => based.to_string(),
            };
            unique.insert(
                pattern,
                Entry {
                    component: component.to_string(),
                    raw_route: raw.to_string(),
                    based_route: based.to_string(),
                    component_route: raw.strip_suffix("/...").unwrap_or(raw).to_string(),
                },
            );
        }
        let mut inner = routefinder::Router::new();
        let mut entries = Vec::new();
        for (pattern, entry) in unique {
            inner
                .add(pattern.as_str(), entries.len())
                .map_err(|message| RouteError {
                    route: entry.raw_route.clone(),
                    component: entry.component.clone(),
                    message,
                })?;
            entries.push(entry);
        }
        Ok(Router { inner, entries })
    }

    /// The component serving `path`, if any route matches.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let m = self.inner.best_match(path)?;
        let entry = &self.entries[*m.handler()];
        let captures = m.captures();
        // routefinder drops a trailing slash; Spin gives it back.
        let path_info = match (captures.wildcard(), path.ends_with('/')) {
            (None, _) | (Some(""), false) => String::new(),
            (Some(""), true) => "/".to_string(),
            (Some(w), false) => format!("/{w}"),
            (Some(w), true) => format!("/{w}/"),
        };
        Some(RouteMatch {
            component: &entry.component,
            raw_route: &entry.raw_route,
            based_route: &entry.based_route,
            component_route: &entry.component_route,
            path_info,
            params: captures
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        })
    }
}

/// The header Spin passes a `:name` segment's value in: `spin-path-match-`
/// and the name, lower-cased, with `_` written as `-`.
pub fn param_header(name: &str) -> String {
    format!(
        "spin-path-match-{}",
        name.to_ascii_lowercase().replace('_', "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&'static str, &'static str)]) -> Router {
        Router::new(routes.iter().copied()).unwrap()
    }

    fn component(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component.to_string())
    }

    #[test]
    fn exact_beats_wildcard() {
        let r = router(&[("/...", "catchall"), ("/api", "exact")]);
        assert_eq!(component(&r, "/api").as_deref(), Some("exact"));
        assert_eq!(component(&r, "/api/x").as_deref(), Some("catchall"));
        assert_eq!(component(&r, "/other").as_deref(), Some("catchall"));
    }

    #[test]
    fn longest_prefix_wins() {
        let r = router(&[("/a/...", "short"), ("/a/b/...", "long"), ("/...", "root")]);
        assert_eq!(component(&r, "/a/b/c").as_deref(), Some("long"));
        assert_eq!(component(&r, "/a/c").as_deref(), Some("short"));
        assert_eq!(component(&r, "/z").as_deref(), Some("root"));
    }

    #[test]
    fn wildcard_matches_its_own_base() {
        let r = router(&[("/hello/...", "hello")]);
        assert_eq!(component(&r, "/hello").as_deref(), Some("hello"));
        assert_eq!(component(&r, "/hello/").as_deref(), Some("hello"));
        assert_eq!(component(&r, "/hellox"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn exact_routes_do_not_match_deeper_paths() {
        let r = router(&[("/only", "only")]);
        assert_eq!(component(&r, "/only/more"), None);
    }

    #[test]
    fn duplicate_routes_keep_the_last_declaration() {
        let r = router(&[("/dup/...", "first"), ("/dup/...", "second")]);
        assert_eq!(component(&r, "/dup/x").as_deref(), Some("second"));
    }

    #[test]
    fn path_info_and_component_route() {
        let r = router(&[("/hello/...", "hello"), ("/exact", "exact")]);
        let m = r.route("/hello/a/b").unwrap();
        assert_eq!(m.raw_route, "/hello/...");
        assert_eq!(m.component_route, "/hello");
        assert_eq!(m.path_info, "/a/b");
        let m = r.route("/exact").unwrap();
        assert_eq!(m.path_info, "");
    }

    /// Spin's `test_http_routing` (route `/users/:userid/...`).
    #[test]
    fn path_info_keeps_trailing_slashes_and_params_are_captured() {
        let r = router(&[("/users/:userid/...", "u"), ("/test/...", "t")]);
        for (path, info) in [
            ("/users/42", ""),
            ("/users/42/", "/"),
            ("/users/42/hello", "/hello"),
            ("/users/42/hello/", "/hello/"),
        ] {
            let m = r.route(path).unwrap();
            assert_eq!(m.path_info, info, "{path}");
            assert_eq!(m.params, vec![("userid".to_string(), "42".to_string())]);
        }
        assert_eq!(r.route("/test/").unwrap().path_info, "/");
        assert!(r.route("/test/a").unwrap().params.is_empty());
    }

    #[test]
    fn based_route_drops_one_trailing_slash() {
        let r = router(&[("/", "root"), ("/dir/", "dir"), ("/w/...", "w")]);
        assert_eq!(r.route("/").unwrap().based_route, "");
        assert_eq!(r.route("/dir").unwrap().based_route, "/dir");
        assert_eq!(r.route("/dir").unwrap().raw_route, "/dir/");
        assert_eq!(r.route("/w/x").unwrap().based_route, "/w/...");
    }

    #[test]
    fn param_headers_are_named_as_in_spin() {
        assert_eq!(param_header("userid"), "spin-path-match-userid");
        assert_eq!(param_header("user_id"), "spin-path-match-user-id");
        assert_eq!(param_header("ID"), "spin-path-match-id");
    }

    #[test]
    fn private_routes_are_unreachable() {
        let manifest = crate::manifest::Manifest::parse(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = { private = true }\ncomponent = \"a\"\n[component.a]\nsource = \"a.wasm\"\n",
            std::path::Path::new("/app"),
        )
        .unwrap();
        let r = Router::from_manifest(&manifest).unwrap();
        assert_eq!(component(&r, "/"), None);
        assert_eq!(component(&r, "/a"), None);
    }
}
