//! Who is serving: the primitive (`x-wxrun-served-by`), the binary's own
//! sha256 and version, for `/.well-known/wxrun/info`. Owns these facts only.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// The compute primitive this process runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    Ec2,
    Fargate,
    Lambda,
    K8s,
}

/// `WXRUN_PRIMITIVE` held something else.
#[derive(Debug, thiserror::Error)]
#[error("unknown primitive {0:?} (expected ec2, fargate, lambda or k8s)")]
pub struct PrimitiveError(String);

impl FromStr for Primitive {
    type Err = PrimitiveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ec2" => Ok(Primitive::Ec2),
            "fargate" => Ok(Primitive::Fargate),
            "lambda" => Ok(Primitive::Lambda),
            "k8s" => Ok(Primitive::K8s),
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
        }
    }
}

/// Facts fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Identity {
    pub version: &'static str,
    pub binary_sha256: String,
    pub primitive: Primitive,
}

impl Identity {
    /// Hashes the running executable (`/proc/self/exe`).
    pub fn current(primitive: Primitive) -> std::io::Result<Self> {
        let exe =
            std::fs::read("/proc/self/exe").or_else(|_| std::fs::read(std::env::current_exe()?))?;
        Ok(Identity {
            version: env!("CARGO_PKG_VERSION"),
            binary_sha256: hex::encode(Sha256::digest(&exe)),
            primitive,
        })
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
}
