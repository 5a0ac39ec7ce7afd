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

/// A Redis `execute`'s arguments from whitespace-separated text, integers as
/// `int64`; a macro because each SDK has its own `RedisParameter`.
macro_rules! redis_args {
    ($param:ident, $text:expr) => {
        $text
            .split_whitespace()
            .map(|a| match a.parse::<i64>() {
                Ok(i) => $param::Int64(i),
                Err(_) => $param::Binary(a.as_bytes().to_vec()),
            })
            .collect::<Vec<_>>()
    };
}

/// A Redis `execute`'s answer as `nil`, `status:…`, `int:…` and `bin:…`
/// joined by commas; a macro because each SDK has its own `RedisResult`.
macro_rules! redis_results {
    ($result:ident, $results:expr) => {
        $results
            .iter()
            .map(|r| match r {
                $result::Nil => "nil".to_string(),
                $result::Status(s) => format!("status:{s}"),
                $result::Int64(i) => format!("int:{i}"),
                $result::Binary(b) => format!("bin:{}", String::from_utf8_lossy(b)),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
}
