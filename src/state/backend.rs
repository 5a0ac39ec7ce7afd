//! Which store keeps a stack's state: the stack file's `state:` section with
//! `--backend-config KEY=VALUE` overrides on top, checked by one set of rules that the stack
//! validator shares. Opening the chosen store is the only I/O here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::stack::model::{BackendKind, StateSpec};

use super::s3::{S3Store, Sse};
use super::store::{LocalStore, StateStore};

/// Keys `--backend-config` accepts (the `state:` fields).
pub const KEYS: &[&str] = &[
    "backend",
    "bucket",
    "key",
    "region",
    "endpoint",
    "encrypt",
    "kms_key_id",
];

/// Where an S3-kept state lives and how it is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub encrypt: bool,
    pub kms_key_id: Option<String>,
}

impl S3Config {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// The resolved choice: the local file, and the S3 settings when a bucket is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    pub kind: BackendKind,
    pub local: PathBuf,
    pub s3: Option<S3Config>,
}

/// A bad `--backend-config` value, or an S3 backend without a bucket.
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  help: {help}")]
pub struct ConfigError {
    pub message: String,
    pub help: String,
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> ConfigError {
    ConfigError {
        message: message.into(),
        help: help.into(),
    }
}

/// The key under which a stack keeps its state when `key` is not given.
pub fn default_key(stack: &str) -> String {
    format!("wxinfra/{stack}.state.json")
}

/// S3's bucket naming rules (general purpose buckets); the problem and a hint when broken.
pub fn check_bucket(b: &str) -> Result<(), (String, String)> {
    let chars_ok = b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&b.len()) && chars_ok && ends_ok && !b.contains("..") {
        Ok(())
    } else {
        Err((
            format!("`{b}` is not a valid S3 bucket name"),
            "3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit".into(),
        ))
    }
}

/// An object key wxinfra can keep the state (and `<key>.lock` beside it) under.
pub fn check_key(k: &str) -> Result<(), (String, String)> {
    if k.is_empty() || k.starts_with('/') || k.ends_with('/') || k.len() > 1000 {
        Err((
            format!("`{k}` is not a usable state object key"),
            "a relative key such as `wxinfra/demo.state.json` (no leading or trailing `/`, at most 1000 bytes)".into(),
        ))
    } else {
        Ok(())
    }
}

/// A custom endpoint must be https, or http on the loopback interface (an emulator):
/// the state holds resource ids and must not cross a network in the clear.
pub fn check_endpoint(e: &str) -> Result<(), (String, String)> {
    let uri: Option<http::Uri> = e.parse().ok();
    let scheme = uri.as_ref().and_then(|u| u.scheme_str());
    let host = uri.as_ref().and_then(|u| u.host()).unwrap_or_default();
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    match scheme {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if loopback => Ok(()),
        Some("http") => Err((
            format!("endpoint `{e}` is plain http"),
            "use https (plain http is accepted only on 127.0.0.1 for a local emulator)".into(),
        )),
        _ => Err((
            format!("`{e}` is not an endpoint URL"),
            "write it as https://host[:port]".into(),
        )),
    }
}

/// `encrypt: false` and a KMS key contradict each other.
pub fn check_encryption(encrypt: bool, kms_key_id: Option<&str>) -> Result<(), (String, String)> {
    match (encrypt, kms_key_id) {
        (false, Some(_)) => Err((
            "`kms_key_id` is set but `encrypt` is false".into(),
            "remove `encrypt: false` to encrypt with that key, or remove `kms_key_id`".into(),
        )),
        _ => Ok(()),
    }
}

/// Merges the stack's `state:` section with `--backend-config` overrides and `--state`.
pub fn resolve(
    stack: &str,
    spec: Option<&StateSpec>,
    overrides: &[String],
    state_path: Option<&Path>,
) -> Result<Backends, ConfigError> {
    let text = |o: Option<&serde_saphyr::Spanned<String>>| o.map(|s| s.value.clone());
    let mut kind = spec.map(|s| s.backend.value).unwrap_or_default();
    let mut bucket = spec.and_then(|s| text(s.bucket.as_ref()));
    let mut key = spec.and_then(|s| text(s.key.as_ref()));
    let mut region = spec.and_then(|s| text(s.region.as_ref()));
    let mut endpoint = spec.and_then(|s| text(s.endpoint.as_ref()));
    let mut encrypt = spec.and_then(|s| s.encrypt.as_ref().map(|e| e.value));
    let mut kms_key_id = spec.and_then(|s| text(s.kms_key_id.as_ref()));
    for o in overrides {
        let (k, v) = o.split_once('=').ok_or_else(|| {
            bad(
                format!("--backend-config `{o}` is not KEY=VALUE"),
                format!("keys: {}", KEYS.join(", ")),
            )
        })?;
        let checked = |r: Result<(), (String, String)>| {
            r.map_err(|(m, h)| bad(format!("--backend-config {k}: {m}"), h))
        };
        match k {
            "backend" => {
                kind = match v {
                    "local" => BackendKind::Local,
                    "s3" => BackendKind::S3,
                    _ => {
                        return Err(bad(
                            format!("--backend-config backend=`{v}` is not a backend"),
                            "use `local` or `s3`",
                        ));
                    }
                }
            }
            "bucket" => {
                checked(check_bucket(v))?;
                bucket = Some(v.into());
            }
            "key" => {
                checked(check_key(v))?;
                key = Some(v.into());
            }
            "region" => region = Some(v.into()),
            "endpoint" => {
                checked(check_endpoint(v))?;
                endpoint = Some(v.into());
            }
            "encrypt" => {
                encrypt = Some(v.parse().map_err(|_| {
                    bad(
                        format!("--backend-config encrypt=`{v}` is not a boolean"),
                        "use `true` or `false`",
                    )
                })?)
            }
            "kms_key_id" => kms_key_id = Some(v.into()),
            _ => {
                let help = match crate::stack::load::did_you_mean(k, KEYS) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("keys: {}", KEYS.join(", ")),
                };
                return Err(bad(format!("--backend-config: unknown key `{k}`"), help));
            }
        }
    }
    let encrypt = encrypt.unwrap_or(true);
    check_encryption(encrypt, kms_key_id.as_deref())
        .map_err(|(m, h)| bad(format!("state backend: {m}"), h))?;
    if kind == BackendKind::S3 && bucket.is_none() {
        return Err(bad(
            "the s3 state backend needs a bucket",
            "set `state: {bucket: ...}` in the stack file or pass --backend-config bucket=NAME",
        ));
    }
    let s3 = bucket.map(|bucket| S3Config {
        bucket,
        key: key.unwrap_or_else(|| default_key(stack)),
        region,
        endpoint,
        encrypt,
        kms_key_id,
    });
    let local = state_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| LocalStore::default_for(stack).path().to_path_buf());
    Ok(Backends { kind, local, s3 })
}

/// AWS settings the S3 store falls back on when its own are not given.
#[derive(Debug, Clone, Default)]
pub struct AwsDefaults {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Opens the S3 store for `cfg`: its own region/endpoint first, then the SDK's usual chain.
pub async fn open_s3(cfg: &S3Config, aws: &AwsDefaults) -> Arc<dyn StateStore> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = cfg.region.clone().or_else(|| aws.region.clone()) {
        loader = loader.region(aws_config::Region::new(r));
    }
    if let Some(p) = &aws.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &cfg.endpoint {
        loader = loader.endpoint_url(e);
    }
    let sdk = loader.load().await;
    // A custom endpoint (an S3-compatible store, an emulator) serves buckets by path.
    let custom = cfg.endpoint.is_some() || sdk.endpoint_url().is_some();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(custom)
            .build(),
    );
    let sse = match (cfg.encrypt, &cfg.kms_key_id) {
        (false, _) => None,
        (true, None) => Some(Sse::Aes256),
        (true, Some(k)) => Some(Sse::Kms(k.clone())),
    };
    Arc::new(S3Store::new(client, &cfg.bucket, &cfg.key, sse))
}

/// Opens the configured store.
pub async fn open(b: &Backends, aws: &AwsDefaults) -> Arc<dyn StateStore> {
    match (b.kind, &b.s3) {
        (BackendKind::S3, Some(cfg)) => open_s3(cfg, aws).await,
        _ => Arc::new(LocalStore::new(&b.local)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> StateSpec {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn local_is_the_default_and_s3_takes_its_key_from_the_stack_name() {
        let b = resolve("demo", None, &[], None).unwrap();
        assert_eq!(b.kind, BackendKind::Local);
        assert_eq!(b.local, Path::new(".wxinfra/demo.state.json"));
        assert!(b.s3.is_none());
        let s = spec("backend: s3\nbucket: team-state\n");
        let b = resolve("demo", Some(&s), &[], None).unwrap();
        let s3 = b.s3.unwrap();
        assert_eq!(s3.url(), "s3://team-state/wxinfra/demo.state.json");
        assert!(s3.encrypt);
    }

    #[test]
    fn overrides_win_and_bad_ones_are_named() {
        let s = spec("backend: s3\nbucket: team-state\nkey: a/b.json\n");
        let over = ["key=c/d.json".to_string(), "encrypt=false".to_string()];
        let s3 = resolve("demo", Some(&s), &over, None).unwrap().s3.unwrap();
        assert_eq!((s3.key.as_str(), s3.encrypt), ("c/d.json", false));

        let err = |o: &str| {
            resolve("demo", Some(&s), &[o.to_string()], None)
                .unwrap_err()
                .to_string()
        };
        assert!(err("bukcet=x").contains("did you mean `bucket`"));
        assert!(err("bucket=Bad_Name").contains("not a valid S3 bucket name"));
        assert!(err("endpoint=http://10.0.0.1:9000").contains("plain http"));
        let kms = [
            "encrypt=false".to_string(),
            "kms_key_id=alias/x".to_string(),
        ];
        let both = resolve("demo", Some(&s), &kms, None).unwrap_err();
        assert!(both.to_string().contains("`kms_key_id` is set"), "{both}");
        assert!(err("nonsense").contains("not KEY=VALUE"));
        let none = resolve("demo", None, &["backend=s3".into()], None).unwrap_err();
        assert!(none.to_string().contains("needs a bucket"));
    }

    #[test]
    fn loopback_http_endpoints_only() {
        assert!(check_endpoint("http://127.0.0.1:5000").is_ok());
        assert!(check_endpoint("https://s3.example.com").is_ok());
        assert!(check_endpoint("s3.example.com").is_err());
        assert!(check_endpoint("http://example.com").is_err());
    }
}
