//! A small, deterministic YAML writer for manifests: block style, two-space indent, keys in
//! the order the value holds them, strings quoted whenever a plain scalar could be read back
//! as anything else. No library defaults to drift between versions, so re-renders are
//! byte-identical.

use serde_json::Value;

/// One YAML document for `value` (a JSON object), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first key of a list item sits on the `- ` line already.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(k));
        out.push(':');
        entry(out, v, indent);
    }
}

/// The part after `key:` — a scalar on the same line, or a nested block.
fn entry(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            list(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn list(out: &mut String, a: &[Value], indent: usize) {
    for (i, item) in a.iter().enumerate() {
        // The first item of a nested list sits on its parent's `- ` line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => map(out, m, indent + 2),
            Value::Array(inner) if !inner.is_empty() => list(out, inner, indent + 2),
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else double-quoted
/// (JSON string syntax is valid YAML).
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings always serialize")
    }
}

fn is_plain_safe(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nil", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Anything starting like a number (or sign) is quoted: `1.0`, `0x1`, `1e3`, `.5`.
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if KEYWORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '@' | ':'))
        && !s.ends_with(':')
        && !s.contains(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_safe_quoting() {
        let v = json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/version": "0.1.0"}},
            "spec": {
                "empty": {},
                "list": [{"name": "a", "value": "true"}, {"name": "b", "n": 3}],
                "plain": ["ghcr.io/a/b:1", "8080", "", "a: b", "yes"],
                "nested": [[1, 2]],
            }
        });
        let want = "\
apiVersion: v1
metadata:
  name: x
  labels:
    app.kubernetes.io/version: \"0.1.0\"
spec:
  empty: {}
  list:
  - name: a
    value: \"true\"
  - name: b
    \"n\": 3
  plain:
  - ghcr.io/a/b:1
  - \"8080\"
  - \"\"
  - \"a: b\"
  - \"yes\"
  nested:
  - - 1
    - 2
";
        assert_eq!(to_yaml(&v), want);
    }
}
