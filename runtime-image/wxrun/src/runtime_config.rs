//! Spin's runtime-config file (`--runtime-config-file`), read as Spin reads
//! it: `state_dir`, `[key_value_store.<label>]` and `[sqlite_database.<label>]`
//! tables and `[llm_compute]`, each with a `type` and that type's options. Relative store paths are
//! relative to the file's directory, database paths to the working directory
//! (as in Spin). Owns the file format, not the stores.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why the runtime config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    #[error("cannot read runtime config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// A `[key_value_store.<label>]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum KeyValueStore {
    /// A local SQLite file (in memory without a `path`).
    #[serde(rename = "spin")]
    Spin { path: Option<PathBuf> },
    #[serde(rename = "redis")]
    Redis { url: String },
    /// Spin 3.1's DynamoDB store: items keyed by the string attribute `PK`.
    #[serde(rename = "aws_dynamo")]
    AwsDynamo {
        region: String,
        table: String,
        #[serde(default)]
        consistent_read: bool,
        access_key: Option<String>,
        secret_key: Option<String>,
        token: Option<String>,
    },
}

/// A `[sqlite_database.<label>]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum SqliteDatabase {
    /// A local SQLite file (in memory without a `path`).
    #[serde(rename = "spin")]
    Spin { path: Option<PathBuf> },
}

/// `[llm_compute]`: where Spin's LLM interface sends its calls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LlmCompute {
    /// Spin's local engine (wxrun carries none).
    Spin,
    /// An inference server over HTTP, with a bearer token.
    RemoteHttp {
        #[serde(deserialize_with = "absolute_url")]
        url: url::Url,
        auth_token: String,
        #[serde(default)]
        api_type: LlmApi,
    },
}

fn absolute_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<url::Url, D::Error> {
    let text = String::deserialize(d)?;
    url::Url::parse(&text).map_err(|e| serde::de::Error::custom(format!("url {text:?}: {e}")))
}

/// The remote engine's API: Spin's own (`/infer`, `/embed`) or OpenAI's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmApi {
    #[default]
    Default,
    OpenAi,
}

/// The parts of Spin's runtime config that wxrun uses. Any other top-level
/// key is an error, as in Spin (which rejects keys it does not use).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Where the default stores live; `""` means none (in-memory).
    pub state_dir: Option<String>,
    #[serde(default)]
    pub key_value_store: BTreeMap<String, KeyValueStore>,
    #[serde(default)]
    pub sqlite_database: BTreeMap<String, SqliteDatabase>,
    pub llm_compute: Option<LlmCompute>,
}

impl RuntimeConfig {
    /// Reads the file at `path`, making its relative paths absolute.
    pub fn load(path: &Path) -> Result<RuntimeConfig, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|message| RuntimeConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses `text`, resolving relative paths against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<RuntimeConfig, String> {
        let mut config: RuntimeConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let absolute = |p: &mut Option<PathBuf>| {
            if let Some(path) = p.as_mut().filter(|p| p.is_relative()) {
                *path = base.join(&*path);
            }
        };
        for store in config.key_value_store.values_mut() {
            if let KeyValueStore::Spin { path } = store {
                absolute(path);
            }
        }
        // Spin resolves a database's relative path against the working
        // directory, not the file's.
        for db in config.sqlite_database.values_mut() {
            let SqliteDatabase::Spin { path: Some(path) } = db else {
                continue;
            };
            *path = std::path::absolute(&*path).map_err(|e| e.to_string())?;
        }
        if let Some(dir) = config.state_dir.as_mut().filter(|d| !d.is_empty()) {
            *dir = base.join(&*dir).to_string_lossy().into_owned();
        }
        Ok(config)
    }

    /// The state directory: the file's `state_dir` (`""`: none), else
    /// `default` (Spin's `<app dir>/.spin`).
    pub fn state_dir(&self, default: Option<PathBuf>) -> Option<PathBuf> {
        match self.state_dir.as_deref() {
            Some("") => None,
            Some(dir) => Some(PathBuf::from(dir)),
            None => default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spins_store_types_with_paths_relative_to_the_file() {
        let c = RuntimeConfig::parse(
            r#"
[key_value_store.default]
type = "spin"
path = "data/kv.db"
[key_value_store.cache]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.dynamo]
type = "aws_dynamo"
region = "us-east-1"
table = "app-kv"
consistent_read = true
[sqlite_database.default]
type = "spin"
path = "/abs/app.db"
"#,
            Path::new("/etc/app"),
        )
        .unwrap();
        assert_eq!(
            c.key_value_store["default"],
            KeyValueStore::Spin {
                path: Some("/etc/app/data/kv.db".into())
            }
        );
        assert!(matches!(
            &c.key_value_store["dynamo"],
            KeyValueStore::AwsDynamo { consistent_read: true, table, .. } if table == "app-kv"
        ));
        assert_eq!(
            c.sqlite_database["default"],
            SqliteDatabase::Spin {
                path: Some("/abs/app.db".into())
            }
        );
        assert_eq!(
            c.state_dir(Some("/app/.spin".into())),
            Some("/app/.spin".into())
        );
    }

    #[test]
    fn unknown_types_and_keys_are_errors() {
        let base = Path::new("/");
        let e = RuntimeConfig::parse("[key_value_store.a]\ntype = \"memcached\"\n", base);
        assert!(e.unwrap_err().contains("memcached"));
        let e = RuntimeConfig::parse(
            "[key_value_store.a]\ntype = \"redis\"\nurl = \"x\"\nport = 1\n",
            base,
        );
        assert!(e.unwrap_err().contains("port"));
        let c = RuntimeConfig::parse("[llm_compute]\ntype = \"spin\"\n", base).unwrap();
        assert_eq!(c.llm_compute, Some(LlmCompute::Spin));
        let remote = "[llm_compute]\ntype = \"remote_http\"\nurl = \"https://ai.example\"\n";
        let e = RuntimeConfig::parse(remote, base);
        assert!(e.unwrap_err().contains("auth_token"));
        let e = RuntimeConfig::parse(
            &format!("{remote}auth_token = \"t\"\napi_type = \"x\"\n"),
            base,
        );
        assert!(e.unwrap_err().contains("open_ai"));
        let c = RuntimeConfig::parse("state_dir = \"\"\n", base).unwrap();
        assert_eq!(c.state_dir(Some("/app/.spin".into())), None);
    }
}
