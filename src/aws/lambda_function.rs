//! `aws.lambda_function`: the runtime as a Lambda function (`provided.al2023`, handler
//! `bootstrap`) from the zip in the artifact bucket, in the stack's subnets with the EFS
//! access point mounted. Only the name forces a new function: configuration changes go
//! through `UpdateFunctionConfiguration`, a new zip or architecture through
//! `UpdateFunctionCode`, each waiting (bounded) for `LastUpdateStatus: Successful`.
//!
//! With `publish`, every create and every change of code or configuration publishes a
//! version (`version` output) for an alias to point at; read reports `publish: false` while
//! `$LATEST` differs from the newest version (an apply stopped between update and publish),
//! so the next apply publishes it.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::types::{
    Architecture, Environment, FileSystemConfig, FunctionCode, FunctionConfiguration,
    LastUpdateStatus, LogFormat, LoggingConfig, Runtime, State, VpcConfig,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, Val, ordered_like, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The function's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaFunctionProps {
    /// The function's name, unique in the account and region.
    pub function_name: String,
    /// The Lambda runtime identifier (`provided.al2023`: a custom runtime on Amazon Linux).
    pub runtime: String,
    /// The entry point the runtime starts (`bootstrap` for a custom runtime).
    pub handler: String,
    /// The instruction set the function runs on (`arm64` or `x86_64`).
    pub architecture: String,
    /// Memory in MiB; Lambda allots CPU in proportion.
    pub memory_size: i32,
    /// Seconds an invocation may run before Lambda stops it.
    pub timeout: i32,
    /// Concurrent executions reserved for the function, which also cap it; none: the
    /// account's unreserved pool. Unsigned as the stack gives it (nothing bounds it there);
    /// the call saturates it to Lambda's 32-bit integer.
    pub reserved_concurrency: Option<u32>,
    /// Whether every change of code or configuration publishes a version; absent: no (graphs
    /// written by hand, e.g. the integration tests', leave it out).
    #[serde(default)]
    pub publish: bool,
    /// ARN of the IAM role the function runs as (its execution role).
    pub role: String,
    /// The deployment package in S3.
    pub code: Code,
    /// Subnets the function's network interfaces are placed in (`VpcConfig`); a looked-up
    /// VPC's are a reference until apply.
    pub subnet_ids: Val<Vec<String>>,
    /// Security groups of the function's network interfaces.
    pub security_group_ids: Vec<String>,
    /// The EFS access point the function mounts; none: no file system.
    pub file_system: Option<FileSystem>,
    /// Environment variables, name to string value; a map that keeps synth's order (a
    /// sorted one would reorder the graph's JSON).
    pub environment: serde_json::Map<String, Value>,
    /// Where the function logs; none: Lambda's default, `/aws/lambda/<name>`.
    pub logging: Option<Logging>,
}

/// A deployment package: a zip object in S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Code {
    /// The bucket holding the zip.
    pub s3_bucket: String,
    /// The zip's object key.
    pub s3_key: String,
    /// The zip's SHA-256 in hex, which Lambda reports back (in base64) as `CodeSha256`; a
    /// new hash is new code.
    pub sha256: String,
}

/// An EFS file system mount (`FileSystemConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSystem {
    /// ARN of the EFS access point the function connects through.
    pub arn: String,
    /// Where the file system appears in the function (under `/mnt/`).
    pub mount_path: String,
}

/// Where and how the function logs (`LoggingConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logging {
    /// Name of the CloudWatch Logs group the function writes to.
    pub log_group: String,
    /// `Text` or `JSON`: how Lambda formats its own log lines.
    pub log_format: String,
}

typed!(
    LambdaFunctionProps,
    "aws.lambda_function",
    "Lambda function"
);

pub struct LambdaFunction(pub std::sync::Arc<AwsContext>);

/// A VPC function creates its network interfaces before it turns Active: minutes, not hours.
const READY: Duration = Duration::from_secs(600);

/// Fields `UpdateFunctionConfiguration` changes.
const CONFIG_FIELDS: &[&str] = &[
    "runtime",
    "handler",
    "memory_size",
    "timeout",
    "role",
    "environment",
    "subnet_ids",
    "security_group_ids",
    "file_system",
    "logging",
];

/// Fields whose change makes a new version to publish.
const VERSIONED_FIELDS: &[&str] = &["code", "architecture", "publish"];

fn versioned(field: &str) -> bool {
    CONFIG_FIELDS.contains(&field) || VERSIONED_FIELDS.contains(&field)
}

/// The parts of a create/update request built from the properties, as values (tested below).
pub struct Request {
    pub runtime: Runtime,
    pub architecture: Architecture,
    pub environment: Environment,
    pub vpc: VpcConfig,
    pub file_systems: Vec<FileSystemConfig>,
    /// Where the function logs (`None` leaves Lambda's default, `/aws/lambda/<name>`).
    pub logging: Option<LoggingConfig>,
}

impl Request {
    pub fn from_props(p: &LambdaFunctionProps) -> Result<Self, ProviderError> {
        let env = p
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let file_systems = match &p.file_system {
            Some(fs) => vec![
                FileSystemConfig::builder()
                    .arn(&fs.arn)
                    .local_mount_path(&fs.mount_path)
                    .build()
                    .map_err(|e| ProviderError::Validation(e.to_string()))?,
            ],
            None => Vec::new(),
        };
        Ok(Self {
            runtime: Runtime::from(p.runtime.as_str()),
            architecture: Architecture::from(p.architecture.as_str()),
            environment: Environment::builder().set_variables(Some(env)).build(),
            vpc: VpcConfig::builder()
                .set_subnet_ids(Some(p.subnet_ids.known("subnet_ids")?.clone()))
                .set_security_group_ids(Some(p.security_group_ids.clone()))
                .build(),
            file_systems,
            logging: p.logging.as_ref().map(|l| {
                LoggingConfig::builder()
                    .log_group(&l.log_group)
                    .log_format(LogFormat::from(l.log_format.as_str()))
                    .build()
            }),
        })
    }
}

/// Lambda reports the code's sha256 in base64; the property holds it in hex.
fn hex_sha256(b64: &str) -> Option<String> {
    aws_smithy_types::base64::decode(b64).ok().map(hex::encode)
}

fn outputs(c: &FunctionConfiguration, version: Option<&str>) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(c.function_arn()));
    o.insert("name".into(), json!(c.function_name()));
    if let Some(v) = version {
        o.insert("version".into(), json!(v));
    }
    o
}

/// What a configuration (of `$LATEST` or a version) says, as properties.
fn config_props(c: &FunctionConfiguration, applied: &Value) -> Value {
    // S3 bucket and key are not readable back; the code's hash is.
    let sha = c.code_sha256().and_then(hex_sha256);
    let code = if sha.is_some() && applied["code"]["sha256"].as_str() == sha.as_deref() {
        applied["code"].clone()
    } else {
        json!({"sha256": sha})
    };
    let vpc = c.vpc_config();
    let env = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| {
            v.iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default();
    json!({
        "function_name": c.function_name(),
        "runtime": c.runtime().map(|r| r.as_str()),
        "handler": c.handler(),
        "architecture": c.architectures().first().map(|a| a.as_str()),
        "memory_size": c.memory_size(),
        "timeout": c.timeout(),
        "role": c.role(),
        "code": code,
        "subnet_ids": ordered_like(vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(), applied, "subnet_ids"),
        "security_group_ids": ordered_like(vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default(), applied, "security_group_ids"),
        "file_system": c.file_system_configs().first().map(|fs| json!({"arn": fs.arn(), "mount_path": fs.local_mount_path()})),
        "environment": env,
        "logging": c.logging_config().map(|l| json!({"log_group": l.log_group(), "log_format": l.log_format().map(|f| f.as_str())})),
    })
}

/// Whether `$LATEST` and a version hold the same code and configuration.
fn same_version(latest: &Value, version: &Value) -> bool {
    CONFIG_FIELDS
        .iter()
        .chain(&["code", "architecture"])
        .all(|f| latest[f] == version[f])
}

impl LambdaFunction {
    async fn get(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_lambda::operation::get_function::GetFunctionOutput>, ProviderError>
    {
        self.get_qualified(name, None).await
    }

    /// The function (`None`), or one of its versions.
    async fn get_qualified(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<aws_sdk_lambda::operation::get_function::GetFunctionOutput>, ProviderError>
    {
        found(
            self.0
                .lambda
                .get_function()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_string))
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )
    }

    /// Waits until the function is Active and its last update (if any) succeeded.
    async fn settled(&self, name: &str) -> Result<FunctionConfiguration, ProviderError> {
        self.settled_qualified(name, None).await
    }

    /// Waits until the function (`None`) or one of its versions is Active and its last update
    /// (if any) succeeded.
    async fn settled_qualified(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfiguration, ProviderError> {
        wait::until("Lambda function to settle", READY, || async {
            let Some(f) = self.get_qualified(name, qualifier).await? else {
                return Ok(None);
            };
            let Some(c) = f.configuration().cloned() else {
                return Ok(None);
            };
            if c.state() == Some(&State::Failed)
                || c.last_update_status() == Some(&LastUpdateStatus::Failed)
            {
                return Err(ProviderError::Api(format!(
                    "Lambda function {name} failed: {}",
                    c.last_update_status_reason()
                        .or(c.state_reason())
                        .unwrap_or("no reason given")
                )));
            }
            let active = matches!(c.state(), None | Some(State::Active));
            let updated = matches!(
                c.last_update_status(),
                None | Some(LastUpdateStatus::Successful)
            );
            Ok((active && updated).then_some(c))
        })
        .await
    }

    /// The newest published version's number, if there is one.
    async fn newest_version(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let mut pages = self
            .0
            .lambda
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        let mut newest: Option<u64> = None;
        while let Some(page) = pages.next().await {
            for v in page.map_err(classify)?.versions() {
                if let Some(n) = v.version().and_then(|v| v.parse::<u64>().ok()) {
                    newest = newest.max(Some(n));
                }
            }
        }
        Ok(newest.map(|n| n.to_string()))
    }

    /// Publishes what `$LATEST` holds now (`c`) as a version, once it is Active; Lambda
    /// answers with the newest version instead when nothing changed since it.
    async fn publish(
        &self,
        name: &str,
        c: &FunctionConfiguration,
    ) -> Result<String, ProviderError> {
        let out = self
            .0
            .lambda
            .publish_version()
            .function_name(name)
            .set_code_sha256(c.code_sha256().map(str::to_string))
            .send()
            .await
            .map_err(classify)?;
        let version = out.version().unwrap_or_default().to_string();
        self.settled_qualified(name, Some(&version)).await?;
        Ok(version)
    }

    /// The version `outputs` reports: a new one when `publish` asks for it, else the newest.
    async fn version(
        &self,
        name: &str,
        p: &LambdaFunctionProps,
        c: &FunctionConfiguration,
        publish_now: bool,
    ) -> Result<Option<String>, ProviderError> {
        if !p.publish {
            return Ok(None);
        }
        if publish_now {
            return self.publish(name, c).await.map(Some);
        }
        self.newest_version(name).await
    }

    /// The function's reserved concurrency, if it has one.
    async fn reserved(&self, name: &str) -> Result<Option<i32>, ProviderError> {
        let out = self
            .0
            .lambda
            .get_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.reserved_concurrent_executions())
    }

    /// Reserves `reserved_concurrency` for the function, or gives back what it had.
    async fn reserve(&self, name: &str, p: &LambdaFunctionProps) -> Result<(), ProviderError> {
        match p.reserved_concurrency {
            Some(n) => {
                self.0
                    .lambda
                    .put_function_concurrency()
                    .function_name(name)
                    .reserved_concurrent_executions(i32::try_from(n).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(classify)?;
            }
            None => {
                self.0
                    .lambda
                    .delete_function_concurrency()
                    .function_name(name)
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for LambdaFunction {
    fn kind(&self) -> &'static str {
        LambdaFunctionProps::KIND
    }

    fn updates_output(&self, output: &str, changed: &[String]) -> bool {
        output == "version" && changed.iter().any(|f| versioned(f))
    }

    fn forces_replacement(&self, field: &str) -> bool {
        // A function moved to other subnets or groups keeps its old network interfaces in use
        // until AWS moves it, and a replaced subnet or group is deleted before its dependents
        // are updated: the old one would wait on interfaces that only the update releases.
        // Deleting the function first releases them (lambda_enis).
        matches!(field, "function_name" | "subnet_ids" | "security_group_ids")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(f) = self.get(id).await? else {
            return Ok(None);
        };
        let Some(c) = f.configuration() else {
            return Ok(None);
        };
        let mut props = config_props(c, applied);
        props["reserved_concurrency"] = json!(self.reserved(id).await?);
        props["tags"] = f.tags().map(tags::from_map).unwrap_or_else(|| json!({}));
        props["publish"] = json!(false);
        let mut version = None;
        if applied["publish"].as_bool() == Some(true) {
            version = self.newest_version(id).await?;
            let published = match &version {
                Some(v) => self
                    .get_qualified(id, Some(v))
                    .await?
                    .and_then(|f| f.configuration().map(|v| config_props(v, applied)))
                    .is_some_and(|v| same_version(&props, &v)),
                None => false,
            };
            props["publish"] = json!(published);
        }
        Ok(Some(Live {
            props,
            outputs: outputs(c, version.as_deref()),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LambdaFunctionProps::from_value(req.props)?;
        let r = Request::from_props(&p)?;
        let name = p.function_name.as_str();
        let call = self
            .0
            .lambda
            .create_function()
            .function_name(name)
            .runtime(r.runtime)
            .handler(&p.handler)
            .architectures(r.architecture)
            .role(&p.role)
            .code(
                FunctionCode::builder()
                    .s3_bucket(&p.code.s3_bucket)
                    .s3_key(&p.code.s3_key)
                    .build(),
            )
            .memory_size(p.memory_size)
            .timeout(p.timeout)
            .environment(r.environment)
            .vpc_config(r.vpc)
            .set_file_system_configs(Some(r.file_systems))
            .set_logging_config(r.logging)
            .set_tags(Some(tags::map(req.props)));
        // A role created moments ago may not have reached Lambda yet.
        match wait::while_iam_propagates(|| call.clone().send()).await {
            Ok(_) => {}
            // Function names are unique: a re-run after a crash finds its own function.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_conflict_exception()) =>
            {
                let found = self.find_orphan(req.stack, req.address, req.token).await?;
                if found.is_none() {
                    return Err(classify(e));
                }
            }
            Err(e) => return Err(classify(e)),
        }
        self.reserve(name, &p).await?;
        let c = self.settled(name).await?;
        let version = self.version(name, &p, &c, true).await?;
        Ok(Created {
            id: name.to_string(),
            outputs: outputs(&c, version.as_deref()),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = LambdaFunctionProps::from_value(new)?;
        let r = Request::from_props(&p)?;
        if changed.iter().any(|f| CONFIG_FIELDS.contains(&f.as_str())) {
            let call = self
                .0
                .lambda
                .update_function_configuration()
                .function_name(id)
                .runtime(r.runtime)
                .handler(&p.handler)
                .role(&p.role)
                .memory_size(p.memory_size)
                .timeout(p.timeout)
                .environment(r.environment)
                .vpc_config(r.vpc)
                .set_file_system_configs(Some(r.file_systems))
                .set_logging_config(r.logging);
            wait::while_iam_propagates(|| call.clone().send())
                .await
                .map_err(classify)?;
            self.settled(id).await?;
        }
        if changed.iter().any(|f| f == "code" || f == "architecture") {
            self.0
                .lambda
                .update_function_code()
                .function_name(id)
                .s3_bucket(&p.code.s3_bucket)
                .s3_key(&p.code.s3_key)
                .architectures(r.architecture)
                .send()
                .await
                .map_err(classify)?;
            self.settled(id).await?;
        }
        if changed.iter().any(|f| f == "reserved_concurrency") {
            self.reserve(id, &p).await?;
        }
        let c = self.settled(id).await?;
        if changed.iter().any(|f| f == "tags") {
            let arn = c.function_arn().unwrap_or_default();
            let want = tags::map(new);
            let gone: Vec<String> = tags::map(old)
                .into_keys()
                .filter(|k| !want.contains_key(k))
                .collect();
            if !gone.is_empty() {
                self.0
                    .lambda
                    .untag_resource()
                    .resource(arn)
                    .set_tag_keys(Some(gone))
                    .send()
                    .await
                    .map_err(classify)?;
            }
            self.0
                .lambda
                .tag_resource()
                .resource(arn)
                .set_tags(Some(want))
                .send()
                .await
                .map_err(classify)?;
        }
        let publish_now = changed.iter().any(|f| versioned(f));
        let version = self.version(id, &p, &c, publish_now).await?;
        Ok(outputs(&c, version.as_deref()))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        accepted(
            self.0
                .lambda
                .delete_function()
                .function_name(id)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )?;
        Ok(())
    }

    /// An interrupted create may have stopped before its reservation or its publish; both
    /// are safe to repeat (a publish with nothing new answers the newest version).
    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        let p = LambdaFunctionProps::from_value(props)?;
        self.reserve(&adopted.id, &p).await?;
        let c = self.settled(&adopted.id).await?;
        let version = self.version(&adopted.id, &p, &c, true).await?;
        Ok(Created {
            outputs: outputs(&c, version.as_deref()),
            ..adopted
        })
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let Some(arn) = tags::find_arn(&self.0.tagging, "lambda:function", stack, address).await?
        else {
            return Ok(None);
        };
        let Some(f) = self.get(&arn).await? else {
            return Ok(None);
        };
        let Some(c) = f.configuration() else {
            return Ok(None);
        };
        Ok(Some(Created {
            id: c.function_name().unwrap_or_default().to_string(),
            outputs: outputs(c, None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props() -> LambdaFunctionProps {
        LambdaFunctionProps::from_value(&json!({
            "function_name": "demo-app",
            "runtime": "provided.al2023",
            "handler": "bootstrap",
            "architecture": "arm64",
            "memory_size": 512,
            "timeout": 30,
            "reserved_concurrency": null,
            "publish": false,
            "role": "arn:aws:iam::1:role/demo-lambda",
            "code": {"s3_bucket": "demo-artifacts", "s3_key": "lambda.zip", "sha256": "e3b0"},
            "subnet_ids": ["subnet-a", "subnet-b"],
            "security_group_ids": ["sg-compute"],
            "file_system": {"arn": "arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1", "mount_path": "/mnt/app"},
            "environment": {"WXRUN_APP_DIR": "/mnt/app", "WXRUN_PRIMITIVE": "lambda"},
            "logging": {"log_group": "/wxinfra/demo/lambda", "log_format": "Text"},
        }))
        .unwrap()
    }

    /// moto drops FileSystemConfigs, so the request itself is what proves the mount is asked for.
    #[test]
    fn request_mounts_the_access_point_at_mnt_app() {
        let r = Request::from_props(&props()).unwrap();
        assert_eq!(r.file_systems.len(), 1);
        assert_eq!(
            r.file_systems[0].arn(),
            "arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1"
        );
        assert_eq!(r.file_systems[0].local_mount_path(), "/mnt/app");
    }

    #[test]
    fn request_carries_vpc_memory_timeout_arch_and_env() {
        let p = props();
        let r = Request::from_props(&p).unwrap();
        assert_eq!(r.vpc.subnet_ids(), ["subnet-a", "subnet-b"]);
        assert_eq!(r.vpc.security_group_ids(), ["sg-compute"]);
        // The calls take them straight from the properties.
        assert_eq!((p.memory_size, p.timeout), (512, 30));
        assert_eq!(r.architecture, Architecture::Arm64);
        assert_eq!(r.runtime, Runtime::Providedal2023);
        let vars = r.environment.variables().unwrap();
        assert_eq!(vars["WXRUN_PRIMITIVE"], "lambda");
        let logging = r.logging.unwrap();
        assert_eq!(logging.log_group(), Some("/wxinfra/demo/lambda"));
        assert_eq!(logging.log_format(), Some(&LogFormat::Text));
    }

    #[test]
    fn code_hash_is_compared_in_hex() {
        // sha256("") in base64 and hex.
        assert_eq!(
            hex_sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }
}
