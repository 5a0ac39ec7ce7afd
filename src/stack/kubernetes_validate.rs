//! Checks of the `kubernetes:` section that the API server (or Flux, or the spin-operator)
//! would otherwise reject at apply time, each pointing at the offending value.

use serde_saphyr::{Location, Spanned};

use super::kubernetes::{K8sMode, KubernetesSpec};

/// Label keys wxinfra sets itself; the stack may not override them.
const RESERVED_LABEL_PREFIXES: &[&str] = &["app.kubernetes.io/", "wxinfra.dev/"];
/// Namespaces the cluster (or Flux) owns; the app never lives there.
const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "flux-system",
];
/// Resource names the runtime container may request.
const RESOURCE_NAMES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

type Report<'a> = dyn FnMut(Location, String, String) + 'a;

/// Reports each problem through `report(location, message, help)`.
pub fn check(k: &KubernetesSpec, report: &mut Report) {
    if !is_dns_label(&k.namespace.value) {
        report(
            k.namespace.referenced,
            format!("namespace `{}` is not a valid Kubernetes name", k.namespace.value),
            "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit".into(),
        );
    } else if SYSTEM_NAMESPACES.contains(&k.namespace.value.as_str()) {
        report(
            k.namespace.referenced,
            format!("namespace `{}` belongs to the cluster", k.namespace.value),
            "wxinfra creates, labels and prunes its namespace; give the app its own".into(),
        );
    }
    if let Some(r) = &k.replicas
        && !(0..=1000).contains(&r.value)
    {
        report(
            r.referenced,
            format!("replicas {} is out of range", r.value),
            "use 0 to 1000".into(),
        );
    }
    if let Some(i) = &k.image {
        image(i, report);
    }
    if let Some(r) = &k.runtime_image {
        runtime_image(r, report);
    }
    if let Some(res) = &k.resources {
        resources(res, report);
    }
    if let Some(s) = &k.runtime_config_secret {
        subdomain(s, "runtime config secret", report);
    }
    if let Some(i) = &k.ingress {
        if !is_dns_subdomain(i.host.value.strip_prefix("*.").unwrap_or(&i.host.value)) {
            report(
                i.host.referenced,
                format!("ingress host `{}` is not a valid host name", i.host.value),
                "use a lowercase DNS name such as app.example.com (a leading `*.` is allowed); no scheme, port or path".into(),
            );
        }
        if let Some(c) = &i.class {
            subdomain(c, "ingress class", report);
        }
    }
    if let Some(f) = &k.flux {
        flux(f, report);
    }
    for (key, value) in &k.labels {
        labels(key, value, report);
    }
    mode(k, report);
}

fn image(at: &Spanned<String>, report: &mut Report) {
    let v = &at.value;
    if v.trim().is_empty() || v.contains(char::is_whitespace) || v.contains("://") {
        report(
            at.referenced,
            format!("image `{v}` is not an image reference"),
            "e.g. ghcr.io/acme/wxrun:0.1.0 (no scheme)".into(),
        );
    }
}

/// `runtime_image`: where the built image goes, `HOST/REPO`; its tag and digest are wxinfra's.
fn runtime_image(at: &Spanned<String>, report: &mut Report) {
    let v = &at.value;
    let name = v.split_once('/').map(|(_, repo)| repo).unwrap_or("");
    if name.contains(':') || v.contains('@') || !is_oci_reference(&format!("{v}:t")) {
        report(
            at.referenced,
            format!("runtime_image `{v}` is not HOST/REPO"),
            "name the repository only, e.g. localhost:5001/wxrun: wxinfra tags the image with its binary's sha256 and the manifests name it by digest".into(),
        );
    }
}

fn resources(res: &super::kubernetes::ResourcesSpec, report: &mut Report) {
    for (what, map) in [("requests", &res.requests), ("limits", &res.limits)] {
        for (name, value) in map {
            if !RESOURCE_NAMES.contains(&name.as_str()) {
                report(
                    value.referenced,
                    format!("unknown resource `{name}` in {what}"),
                    format!("use one of {}", RESOURCE_NAMES.join(", ")),
                );
            } else if parse_quantity(&value.value).is_none() {
                report(
                    value.referenced,
                    format!(
                        "{what}.{name} `{}` is not a Kubernetes quantity",
                        value.value
                    ),
                    "write a number with an optional suffix: 250m, 0.5, 1, 128Mi, 1Gi, 500M".into(),
                );
            }
        }
    }
    for (name, req) in &res.requests {
        let (Some(limit), Some(r)) = (res.limits.get(name), parse_quantity(&req.value)) else {
            continue;
        };
        if let Some(l) = parse_quantity(&limit.value)
            && r > l
        {
            report(
                req.referenced,
                format!(
                    "requests.{name} `{}` is more than limits.{name} `{}`",
                    req.value, limit.value
                ),
                "a request may not exceed its limit; the API server rejects the pod".into(),
            );
        }
    }
}

fn flux(f: &super::kubernetes::FluxSpec, report: &mut Report) {
    let url = &f.url.value;
    let scheme_ok = ["https://", "http://", "ssh://"]
        .iter()
        .any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
    if !scheme_ok {
        report(
            f.url.referenced,
            format!("flux url `{url}` is not a Git URL Flux accepts"),
            "use https://host/org/repo or ssh://git@host/org/repo".into(),
        );
    }
    if let Some(b) = &f.branch
        && (b.value.is_empty() || b.value.contains(char::is_whitespace) || b.value.contains(".."))
    {
        report(
            b.referenced,
            format!("flux branch `{}` is not a branch name", b.value),
            "e.g. main".into(),
        );
    }
    let p = &f.path.value;
    if p.starts_with('/') || p.split('/').any(|c| c == "..") || p.contains(char::is_whitespace) {
        report(
            f.path.referenced,
            format!("flux path `{p}` is not a path inside the repository"),
            "use a relative path such as ./k8s/dist/<stack>".into(),
        );
    }
    if let Some(i) = &f.interval
        && !is_go_duration(&i.value)
    {
        report(
            i.referenced,
            format!("flux interval `{}` is not a duration", i.value),
            "use Go duration syntax: 30s, 1m, 10m30s, 1h".into(),
        );
    }
}

fn labels(key: &str, value: &Spanned<String>, report: &mut Report) {
    if RESERVED_LABEL_PREFIXES.iter().any(|p| key.starts_with(p)) {
        report(
            value.referenced,
            format!("label `{key}` is set by wxinfra"),
            "labels under app.kubernetes.io/ and wxinfra.dev/ are managed by wxinfra; pick another key".into(),
        );
    } else if !is_label_key(key) {
        report(
            value.referenced,
            format!("`{key}` is not a valid label key"),
            "use [prefix/]name: a DNS subdomain prefix, and a name of at most 63 letters, digits, `-`, `_`, `.`".into(),
        );
    } else if !is_label_value(&value.value) {
        report(
            value.referenced,
            format!("`{}` is not a valid label value", value.value),
            "use at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit".into(),
        );
    }
}

fn mode(k: &KubernetesSpec, report: &mut Report) {
    let at = k
        .mode
        .as_ref()
        .map(|m| m.referenced)
        .or(k
            .image
            .as_ref()
            .or(k.runtime_image.as_ref())
            .map(|i| i.referenced))
        .unwrap_or(k.namespace.referenced);
    match k.mode() {
        K8sMode::Deployment => {
            match (&k.image, &k.runtime_image) {
                (None, None) => report(
                    at,
                    "`mode: deployment` needs the runtime image".into(),
                    "set `runtime_image: HOST/REPO` (wxinfra builds wxrun's image and pushes it there) or `image: REF` (an image you provide)".into(),
                ),
                (Some(_), Some(r)) => report(
                    r.referenced,
                    "both `image` and `runtime_image`".into(),
                    "keep `runtime_image` to have wxinfra build the image, or `image` to run one you provide".into(),
                ),
                _ => {}
            }
            if let Some(s) = &k.spinkube {
                report(
                    s.app_image.referenced,
                    "`spinkube` settings without `mode: spinkube`".into(),
                    "set `mode: spinkube`, or remove the `spinkube` section".into(),
                );
            }
            let Some(r) = &k.release else {
                report(
                    at,
                    "`mode: deployment` needs `release.source`".into(),
                    "add `release: {source: s3://bucket/prefix}`: wxrun fetches the app's release bundles from there (see docs/kubernetes.md)".into(),
                );
                return;
            };
            release(r, report);
            if let Some(v) = &r.volume_size
                && parse_quantity(&v.value).is_none_or(|q| q <= 0.0)
            {
                report(
                    v.referenced,
                    format!(
                        "volume_size `{}` is not a positive Kubernetes quantity",
                        v.value
                    ),
                    "e.g. 1Gi or 512Mi".into(),
                );
            }
        }
        K8sMode::Spinkube => {
            if let Some(i) = k.image.as_ref().or(k.runtime_image.as_ref()) {
                report(
                    i.referenced,
                    "a runtime image with `mode: spinkube`".into(),
                    "the spin-operator runs the app's image (`spinkube.app_image`) on its own shim; remove `image`/`runtime_image`".into(),
                );
            }
            if let Some(r) = &k.release {
                report(
                    r.source.referenced,
                    "`release` settings with `mode: spinkube`".into(),
                    "a SpinApp runs the app's OCI image (`spinkube.app_image`); remove `release`"
                        .into(),
                );
            }
            let Some(s) = &k.spinkube else {
                report(
                    at,
                    "`mode: spinkube` needs `spinkube.app_image`".into(),
                    "push the app with `spin registry push` and set `spinkube: {app_image: REF}`"
                        .into(),
                );
                return;
            };
            image(&s.app_image, report);
            if let Some(e) = &s.executor {
                subdomain(e, "executor", report);
            }
            if let Some(rc) = &s.runtime_class {
                subdomain(rc, "runtime class", report);
            }
        }
    }
}

/// `release:` of `mode: deployment`: an S3 location with its S3 settings, or an `oci://`
/// reference with an optional pull secret.
fn release(r: &super::kubernetes::ReleaseSpec, report: &mut Report) {
    let src = &r.source.value;
    if let Some(reference) = src.strip_prefix("oci://") {
        if !is_oci_reference(reference) {
            report(
                r.source.referenced,
                format!("release source `{src}` is not an OCI reference with a tag or digest"),
                "write oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:DIGEST, e.g. oci://ghcr.io/acme/hello:v1"
                    .into(),
            );
        }
        for (field, name) in [
            (&r.endpoint, "endpoint"),
            (&r.region, "region"),
            (&r.credentials_secret, "credentials_secret"),
        ] {
            if let Some(f) = field {
                report(
                    f.referenced,
                    format!("`release.{name}` is an S3 setting, but the source is oci://"),
                    "remove it; a registry's credentials come from `release.pull_secret`".into(),
                );
            }
        }
        if let Some(s) = &r.pull_secret {
            subdomain(s, "pull secret", report);
        }
        if let Some(p) = &r.publish_to
            && (p.value.contains("://") || p.value.contains('@') || !is_oci_reference(&p.value))
        {
            report(
                p.referenced,
                format!("publish_to `{}` is not HOST/REPO:TAG", p.value),
                "name where this machine pushes the app, e.g. localhost:5001/hello:latest (no scheme, no digest)".into(),
            );
        }
        return;
    }
    for (field, name) in [
        (r.publish_to.as_ref().map(|p| p.referenced), "publish_to"),
        (r.plain_http.as_ref().map(|p| p.referenced), "plain_http"),
    ] {
        if let Some(at) = field {
            report(
                at,
                format!("`release.{name}` is for oci:// sources"),
                "remove it: an S3 store's endpoint says its scheme".into(),
            );
        }
    }
    let bucket = src
        .strip_prefix("s3://")
        .map(|r| r.split('/').next().unwrap_or(""));
    if !bucket.is_some_and(is_bucket_name) {
        report(
            r.source.referenced,
            format!("release source `{src}` is neither an S3 location nor an OCI reference"),
            "write s3://bucket/prefix (e.g. s3://acme-releases/hello) or oci://HOST/REPO:TAG"
                .into(),
        );
    }
    if let Some(s) = &r.pull_secret {
        report(
            s.referenced,
            "`release.pull_secret` is for oci:// sources".into(),
            "use `credentials_secret` for an S3 store".into(),
        );
    }
    if let Some(e) = &r.endpoint
        && !(e.value.starts_with("http://") || e.value.starts_with("https://"))
    {
        report(
            e.referenced,
            format!("release endpoint `{}` is not an http(s) URL", e.value),
            "e.g. http://minio.minio.svc:9000".into(),
        );
    }
    if let Some(s) = &r.credentials_secret {
        subdomain(s, "credentials secret", report);
    }
}

/// `HOST[:PORT]/REPO:TAG` or `HOST[:PORT]/REPO@sha256:HEX`, per the distribution spec's
/// grammar (lowercase repository path components, tags of at most 128 characters).
pub fn is_oci_reference(s: &str) -> bool {
    let (name, tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, None, Some(d)),
        None => match s.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((n, t)) => (n, Some(t), None),
            None => (s, None, None),
        },
    };
    let Some((host, repo)) = name.split_once('/') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let repo_ok = repo.split('/').all(|part| {
        !part.is_empty()
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
    });
    let tag_ok = tag.is_some_and(|t| {
        (1..=128).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    let digest_ok = digest
        .and_then(|d| d.strip_prefix("sha256:"))
        .is_some_and(|h| {
            h.len() == 64
                && h.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        });
    host_ok && repo_ok && (tag_ok || digest_ok)
}

fn subdomain(at: &Spanned<String>, what: &str, report: &mut Report) {
    if !is_dns_subdomain(&at.value) {
        report(
            at.referenced,
            format!("{what} `{}` is not a valid Kubernetes name", at.value),
            "use lowercase letters, digits, `-` and `.` (a DNS subdomain, at most 253 characters)"
                .into(),
        );
    }
}

/// RFC 1123 label: what Kubernetes accepts for namespaces and most names.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Go's `time.ParseDuration` subset Flux's CRDs accept: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
pub fn is_go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let int = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if int == 0 {
            return false;
        }
        rest = &rest[int..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.len() - frac.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if n == 0 {
                return false;
            }
            rest = &frac[n..];
        }
        rest = match ["ms", "s", "m", "h"]
            .iter()
            .find_map(|u| rest.strip_prefix(u))
        {
            Some(r) => r,
            None => return false,
        };
    }
    true
}

/// Parses a Kubernetes quantity (`resource.Quantity` syntax) into its value, or `None`
/// when the API server would reject it: `<sign><number><suffix>`, where the suffix is a
/// binary (`Ki`..`Ei`), decimal (`n`, `u`, `m`, ``, `k`, `M`..`E`) or `e<exp>` one.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let num_len = body.len()
        - body
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
    let (num, suffix) = body.split_at(num_len);
    let digits_ok = match num.split_once('.') {
        Some((int, frac)) => !frac.contains('.') && (!int.is_empty() || !frac.is_empty()),
        None => !num.is_empty(),
    };
    if !digits_ok || num == "." {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let e = exp.strip_prefix(['e', 'E'])?;
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            10f64.powi(e.parse().ok()?)
        }
    };
    Some(sign * value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_the_api_server_grammar() {
        for (q, v) in [
            ("100m", 0.1),
            ("1", 1.0),
            ("0.5", 0.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("128Mi", 134217728.0),
            ("1Gi", 1073741824.0),
            ("500M", 5e8),
            ("1e3", 1000.0),
            ("1E-3", 0.001),
            ("+2k", 2000.0),
        ] {
            assert_eq!(parse_quantity(q), Some(v), "{q}");
        }
        for bad in [
            "", "lots", "1.2.3", "128MB", "1mi", ".", "1e", "Mi", "1 Gi", "1e+",
        ] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        for ok in ["1m", "30s", "10m30s", "1.5h", "500ms"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "m", "5 m", "1d", "1.m"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }

    #[test]
    fn oci_references() {
        for ok in [
            "ghcr.io/acme/hello:v1",
            "127.0.0.1:5000/hello:0.1.0",
            &format!("r.example/a/b@sha256:{}", "a".repeat(64)),
        ] {
            assert!(is_oci_reference(ok), "{ok}");
        }
        for bad in [
            "ghcr.io/acme/hello",
            "hello:v1",
            "ghcr.io/Acme/hello:v1",
            "ghcr.io/acme/hello:",
            "ghcr.io/acme/hello@sha256:abc",
            "ghcr.io//hello:v1",
        ] {
            assert!(!is_oci_reference(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_labels() {
        assert!(is_dns_subdomain("hello.example.com"));
        assert!(!is_dns_subdomain("Hello.example.com"));
        assert!(!is_dns_subdomain("hello..com"));
        assert!(!is_dns_subdomain("http://x"));
        assert!(is_label_key("example.com/team"));
        assert!(!is_label_key("example.com/"));
        assert!(is_label_value("v1.2_3-x"));
        assert!(!is_label_value("-x"));
    }
}
