//! References between resources inside property values: `${<address>.<output>}`, either a
//! whole string or embedded in one (`arn:aws:…:${aws.efs.main.id}`).

use serde_json::{Map, Value};

/// A reference to output `output` of the resource at `address`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref {
    pub address: String,
    pub output: String,
}

/// Splits `aws.vpc.main.id` into the 3-part address and the output path.
fn parse(inner: &str) -> Option<Ref> {
    let mut parts = inner.splitn(4, '.');
    let (p, k, n, o) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(Ref {
        address: format!("{p}.{k}.{n}"),
        output: o.to_string(),
    })
}

/// Every `${…}` span in a string, as (byte range, reference).
fn spans(s: &str) -> Vec<(std::ops::Range<usize>, Ref)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = s[from..].find("${").map(|i| i + from) {
        let Some(end) = s[start..].find('}').map(|i| i + start) else {
            break;
        };
        if let Some(r) = parse(&s[start + 2..end]) {
            out.push((start..end + 1, r));
        }
        from = end + 1;
    }
    out
}

/// All references in a value, in order of appearance.
pub fn refs_in(v: &Value) -> Vec<Ref> {
    let mut out = Vec::new();
    walk(v, &mut |s| out.extend(spans(s).into_iter().map(|(_, r)| r)));
    out
}

fn walk(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        Value::Object(m) => m.values().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// Replaces references with values from `lookup`. A whole-string reference takes the
/// output's JSON value as is (so lists stay lists); an embedded one is spliced as text.
/// Returns `None` when some referenced value is not known (yet).
pub fn resolve(v: &Value, lookup: &dyn Fn(&Ref) -> Option<Value>) -> Option<Value> {
    Some(match v {
        Value::String(s) => {
            let found = spans(s);
            if found.is_empty() {
                return Some(v.clone());
            }
            if found.len() == 1 && found[0].0 == (0..s.len()) {
                return lookup(&found[0].1);
            }
            let mut text = String::with_capacity(s.len());
            let mut last = 0;
            for (range, r) in found {
                text.push_str(&s[last..range.start]);
                match lookup(&r)? {
                    Value::String(x) => text.push_str(&x),
                    other => text.push_str(&other.to_string()),
                }
                last = range.end;
            }
            text.push_str(&s[last..]);
            Value::String(text)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve(x, lookup))
                .collect::<Option<_>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| resolve(x, lookup).map(|x| (k.clone(), x)))
                .collect::<Option<Map<_, _>>>()?,
        ),
        other => other.clone(),
    })
}

/// Like [`resolve`], but resolves field by field: fields whose value is not known yet are
/// left out of the result and their names returned, so a plan can say "known after apply".
pub fn resolve_fields(
    v: &Value,
    lookup: &dyn Fn(&Ref) -> Option<Value>,
) -> (Map<String, Value>, Vec<String>) {
    let mut known = Map::new();
    let mut unknown = Vec::new();
    if let Value::Object(m) = v {
        for (k, x) in m {
            match resolve(x, lookup) {
                Some(r) => {
                    known.insert(k.clone(), r);
                }
                None => unknown.push(k.clone()),
            }
        }
    }
    (known, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(r: &Ref) -> Option<Value> {
        match (r.address.as_str(), r.output.as_str()) {
            ("aws.vpc.main", "id") => Some(json!("vpc-1")),
            ("aws.subnet.all", "ids") => Some(json!(["s-1", "s-2"])),
            _ => None,
        }
    }

    #[test]
    fn whole_and_embedded_references_resolve() {
        let v = json!({"a": "${aws.vpc.main.id}", "b": "arn:${aws.vpc.main.id}/x", "c": "${aws.subnet.all.ids}"});
        assert_eq!(
            resolve(&v, &lookup).unwrap(),
            json!({"a": "vpc-1", "b": "arn:vpc-1/x", "c": ["s-1", "s-2"]})
        );
    }

    #[test]
    fn unknown_fields_are_reported_not_guessed() {
        let v = json!({"a": "${aws.vpc.main.id}", "b": "${aws.igw.x.id}"});
        let (known, unknown) = resolve_fields(&v, &lookup);
        assert_eq!(Value::Object(known), json!({"a": "vpc-1"}));
        assert_eq!(unknown, ["b"]);
    }
}
