//! IAM-style policy documents as properties: built as JSON values in synth, sent as strings,
//! and read back into the same shape so plans converge and drift shows field by field.

use serde_json::{Value, json};

use crate::provider::ProviderError;

/// A policy document from its statements.
pub fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A policy document as read from an API. IAM returns documents URL-encoded (RFC 3986);
/// other services return plain JSON. Decoding is tried only when the text is not JSON.
pub fn parse(text: &str) -> Result<Value, ProviderError> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|e| ProviderError::Api(format!("policy document is not UTF-8: {e}")))?;
    serde_json::from_str(&decoded)
        .map_err(|e| ProviderError::Api(format!("policy document is not JSON: {e}: {decoded}")))
}

/// The statement that refuses any request not made over TLS.
pub fn deny_insecure_transport(resources: Value) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
}

/// Whether a document holds a Deny-without-TLS statement (how `read` turns a live policy
/// back into an `enforce_tls` flag).
pub fn denies_insecure_transport(doc: &Value) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && matches!(
                &s["Condition"]["Bool"]["aws:SecureTransport"],
                Value::String(v) if v == "false"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_url_encoded_documents_decode_to_the_same_value() {
        let doc = document(vec![
            json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/releases/*"}),
        ]);
        let text = doc.to_string();
        let encoded: String =
            percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(parse(&encoded).unwrap(), doc);
        assert_eq!(parse(&text).unwrap(), doc);
    }

    #[test]
    fn tls_deny_is_recognised() {
        let doc = document(vec![deny_insecure_transport(json!("arn:aws:s3:::b"))]);
        assert!(denies_insecure_transport(&doc));
        assert!(!denies_insecure_transport(&document(vec![])));
    }
}
