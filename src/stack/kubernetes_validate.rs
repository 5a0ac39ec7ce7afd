//! Checks of the `kubernetes:` section that the API server would otherwise reject at apply time.

use serde_saphyr::Location;

use super::kubernetes::KubernetesSpec;

/// Reports each problem through `report(location, message, help)`.
pub fn check(k: &KubernetesSpec, report: &mut dyn FnMut(Location, String, String)) {
    if !is_dns_label(&k.namespace.value) {
        report(
            k.namespace.referenced,
            format!("namespace `{}` is not a valid Kubernetes name", k.namespace.value),
            "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit".into(),
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
    if k.image.value.trim().is_empty() || k.image.value.contains(char::is_whitespace) {
        report(
            k.image.referenced,
            format!("image `{}` is not an image reference", k.image.value),
            "e.g. ghcr.io/acme/wxrun:0.1.0".into(),
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
