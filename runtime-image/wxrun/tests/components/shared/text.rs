//! Text forms both Spin host test apps (`spin-hosts`, `spin4-hosts`) share,
//! so the tests assert one answer for both SDKs. Included with `#[path]`.

/// `kind:text` parameters as pairs (`n` alone is NULL).
pub fn kinds(params: &[String]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|p| match p.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.clone(), String::new()),
        })
        .collect()
}

/// A value, type or error in the SDK's Debug form without type prefixes
/// (`Int32(7)`, `Str`, `ConnectionFailed("...")`).
pub fn show(x: &impl std::fmt::Debug) -> String {
    let mut s = format!("{x:?}");
    for prefix in [
        "DbValue::",
        "DbDataType::",
        "QueryError::",
        "RangeBoundKind::",
        "Error::",
    ] {
        s = s.replace(prefix, "");
    }
    s
}
