//! Who is serving: the primitive (`x-wxrun-served-by`), the binary's own
//! sha256 and version, for `/.well-known/wxrun/info`. Owns these facts only.

use serde::Serialize;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The compute primitive this process runs on; `Local` when nothing said
/// which (a laptop, a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    Ec2,
    Fargate,
    Lambda,
    K8s,
    Local,
}

/// `WXRUN_PRIMITIVE` held something else.
#[derive(Debug, thiserror::Error)]
#[error("unknown primitive {0:?} (expected ec2, fargate, lambda, k8s or local)")]
pub struct PrimitiveError(String);

impl FromStr for Primitive {
    type Err = PrimitiveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ec2" => Ok(Primitive::Ec2),
            "fargate" => Ok(Primitive::Fargate),
            "lambda" => Ok(Primitive::Lambda),
            "k8s" => Ok(Primitive::K8s),
            "local" => Ok(Primitive::Local),
            other => Err(PrimitiveError(other.to_string())),
        }
    }
}

impl Primitive {
    pub fn as_str(self) -> &'static str {
        match self {
            Primitive::Ec2 => "ec2",
            Primitive::Fargate => "fargate",
            Primitive::Lambda => "lambda",
            Primitive::K8s => "k8s",
            Primitive::Local => "local",
        }
    }
}

/// Facts fixed for the life of the process. The executable's hash is
/// computed once, when first asked for: hashing the 40 MB binary at start
/// took the CPU a cold start needs (a third of it on 2 cores).
#[derive(Debug, Clone)]
pub struct Identity {
    pub version: &'static str,
    pub primitive: Primitive,
    binary_sha256: Arc<tokio::sync::OnceCell<String>>,
}

impl Identity {
    /// The identity of this process.
    pub fn current(primitive: Primitive) -> Self {
        Identity {
            version: env!("CARGO_PKG_VERSION"),
            primitive,
            binary_sha256: Arc::default(),
        }
    }

    /// The sha256 of the running executable file (empty if unreadable).
    pub async fn binary_sha256(&self) -> &str {
        self.binary_sha256
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| {
                    match crate::digest::sha256_file_hex(Path::new("/proc/self/exe")) {
                        Ok(h) => h,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot hash /proc/self/exe");
                            String::new()
                        }
                    }
                })
                .await
                .unwrap_or_default()
            })
            .await
    }
}

/// The body of `/.well-known/wxrun/info`.
#[derive(Debug, Serialize)]
pub struct Info<'a> {
    pub version: &'a str,
    pub binary_sha256: &'a str,
    pub primitive: Primitive,
    pub release: Option<&'a str>,
    pub app: &'a str,
    /// Present while the release source cannot be reached: why, and that the release
    /// served is the one already on the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_unreachable: Option<&'a str>,
}
