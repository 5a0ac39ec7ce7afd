//! Registry credentials as the Docker CLI finds them (and which hosts are spoken to over
//! plain HTTP), shared by `wxinfra publish` (push) and
//! `wxrun` (pulling `oci://` releases with a Kubernetes `dockerconfigjson` pull secret):
//!
//! - the config is `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (a missing
//!   file means anonymous access);
//! - `credHelpers.<host>` names a helper for that host, else `credsStore` one for all hosts;
//!   `docker-credential-<helper> get` reads the host on stdin and prints
//!   `{"Username": …, "Secret": …}`; a helper that knows nothing of the host falls back to
//!   `auths`, as the Docker CLI's native store does;
//! - `auths.<host>.auth` is base64 `user:password` (or `username`/`password` fields); keys
//!   may also be URLs (`https://index.docker.io/v1/`), matched by their host.
//!
//! An identity token (a helper's `<token>` user, or `identitytoken`) is an OAuth refresh
//! token, which the registry protocol clients here do not exchange: such entries are treated
//! as no credentials (anonymous), as Spin does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

/// A user name and password (or token) for HTTP basic auth against a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("credential helper {program}: {message}")]
    Helper { program: String, message: String },
}

/// Whether a registry `host[:port]` is this machine: such registries (local and test ones)
/// are spoken to over plain HTTP, as Docker treats loopback registries as insecure.
pub fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The Docker config file this process would use.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Credentials for `host` (`registry.example.com[:port]`) from the default Docker config.
pub fn credentials(host: &str) -> Result<Option<Credentials>, AuthError> {
    match default_config_path() {
        Some(p) => credentials_from(&p, host),
        None => Ok(None),
    }
}

/// Credentials for `host` from the Docker config at `path` (none when it does not exist).
pub fn credentials_from(path: &Path, host: &str) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AuthError::Config {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let config: Value = serde_json::from_slice(&text).map_err(|e| AuthError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    resolve(&config, host, &|helper, host| {
        run_helper(&format!("docker-credential-{helper}"), host)
    })
    .map_err(|message| AuthError::Config {
        path: path.to_path_buf(),
        message,
    })
}

type Helper<'a> = &'a dyn Fn(&str, &str) -> Result<Option<Credentials>, AuthError>;

fn resolve(config: &Value, host: &str, helper: Helper) -> Result<Option<Credentials>, String> {
    let named = config["credHelpers"][host]
        .as_str()
        .or_else(|| config["credsStore"].as_str())
        .filter(|h| !h.is_empty());
    if let Some(h) = named
        && let Some(c) = helper(h, host).map_err(|e| e.to_string())?
    {
        return Ok(Some(c));
    }
    let Some(auths) = config["auths"].as_object() else {
        return Ok(None);
    };
    let entry = auths.get(host).or_else(|| {
        auths
            .iter()
            .find(|(k, _)| key_host(k) == host)
            .map(|(_, v)| v)
    });
    let Some(entry) = entry else {
        return Ok(None);
    };
    if let (Some(u), Some(p)) = (entry["username"].as_str(), entry["password"].as_str()) {
        return Ok(Some(Credentials {
            username: u.into(),
            password: p.into(),
        }));
    }
    let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|e| format!("auths.{host}.auth is not base64: {e}"))?;
    let decoded = String::from_utf8_lossy(&decoded);
    let (u, p) = decoded
        .split_once(':')
        .ok_or_else(|| format!("auths.{host}.auth is not base64 of user:password"))?;
    Ok(Some(Credentials {
        username: u.into(),
        password: p.into(),
    }))
}

/// The host of an `auths` key that is a URL (`https://host/v1/`), else the key itself.
fn key_host(key: &str) -> &str {
    let rest = key.split_once("://").map_or(key, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Runs `program get` with `host` on stdin. A helper that has nothing for the host answers
/// "credentials not found" and exits non-zero: that is `None`, not an error.
fn run_helper(program: &str, host: &str) -> Result<Option<Credentials>, AuthError> {
    let err = |message: String| AuthError::Helper {
        program: program.to_string(),
        message,
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(host.as_bytes())
            .map_err(|e| err(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(err(said.trim().to_string()));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| err(e.to_string()))?;
    let (Some(u), Some(p)) = (v["Username"].as_str(), v["Secret"].as_str()) else {
        return Err(err("answer has no Username and Secret".into()));
    };
    if u == "<token>" {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: u.into(),
        password: p.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn creds(u: &str, p: &str) -> Option<Credentials> {
        Some(Credentials {
            username: u.into(),
            password: p.into(),
        })
    }

    fn no_helper(_: &str, _: &str) -> Result<Option<Credentials>, AuthError> {
        panic!("no helper is configured")
    }

    #[test]
    fn only_loopback_registries_use_plain_http() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(!is_loopback("123456789012.dkr.ecr.us-east-1.amazonaws.com"));
    }

    #[test]
    fn auths_by_host_or_url_key() {
        let config = json!({"auths": {
            "r.example:5000": {"auth": "dTE6cDE="},
            "https://index.docker.io/v1/": {"username": "u2", "password": "p2"},
            "empty.example": {}
        }});
        assert_eq!(
            resolve(&config, "r.example:5000", &no_helper).unwrap(),
            creds("u1", "p1")
        );
        assert_eq!(
            resolve(&config, "index.docker.io", &no_helper).unwrap(),
            creds("u2", "p2")
        );
        assert_eq!(resolve(&config, "empty.example", &no_helper).unwrap(), None);
        assert_eq!(resolve(&config, "other.example", &no_helper).unwrap(), None);
    }

    #[test]
    fn helpers_win_and_fall_back_to_auths() {
        let config = json!({
            "credsStore": "store",
            "credHelpers": {"ecr.example": "ecr"},
            "auths": {"file.example": {"auth": "dTE6cDE="}}
        });
        let helper = |name: &str, host: &str| -> Result<Option<Credentials>, AuthError> {
            Ok(match (name, host) {
                ("ecr", "ecr.example") => creds("AWS", "tok"),
                ("store", "store.example") => creds("s", "p"),
                _ => None,
            })
        };
        assert_eq!(
            resolve(&config, "ecr.example", &helper).unwrap(),
            creds("AWS", "tok")
        );
        assert_eq!(
            resolve(&config, "store.example", &helper).unwrap(),
            creds("s", "p")
        );
        assert_eq!(
            resolve(&config, "file.example", &helper).unwrap(),
            creds("u1", "p1")
        );
    }

    #[test]
    fn a_real_helper_program_is_run_with_the_host_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-test");
        std::fs::write(
            &helper,
            "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread host\n\
             if [ \"$host\" = r.example ]; then echo '{\"Username\":\"u\",\"Secret\":\"s\"}';\n\
             elif [ \"$host\" = t.example ]; then echo '{\"Username\":\"<token>\",\"Secret\":\"x\"}';\n\
             else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let program = helper.to_str().unwrap();
        assert_eq!(run_helper(program, "r.example").unwrap(), creds("u", "s"));
        assert_eq!(run_helper(program, "t.example").unwrap(), None);
        assert_eq!(run_helper(program, "x.example").unwrap(), None);
        let missing = dir.path().join("config.json");
        assert_eq!(credentials_from(&missing, "r.example").unwrap(), None);
    }
}
