//! `aws.ecs_task_definition`: the Fargate task — one `wxrun` container (the OCI image by
//! digest) with the EFS access point mounted at `/mnt/app` over TLS with IAM auth. Task
//! definitions are immutable: any change but tags forces a replacement, which registers a
//! new revision (create) and deregisters the old one (delete).

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EfsAuthorizationConfig,
    EfsAuthorizationConfigIam, EfsTransitEncryption, EfsVolumeConfiguration, HealthCheck,
    KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PortMapping,
    RuntimePlatform, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
    Volume,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::context::AwsContext;
use super::errors::{built, classify, found};
use super::props::{Typed, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The task definition's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsTaskDefinitionProps {
    /// The family the revisions are registered under (`<stack>-app`).
    pub family: String,
    /// The task's CPU units (`256`, `512`, ...), as the API takes them: a string.
    pub cpu: String,
    /// The task's memory in MiB, a string.
    pub memory: String,
    /// `ARM64` or `X86_64`: the platform Fargate runs the task on.
    pub cpu_architecture: String,
    /// The role ECS pulls the image and ships the logs with.
    pub execution_role_arn: String,
    /// The role the container's code (and the EFS mount's IAM auth) runs as.
    pub task_role_arn: String,
    /// The task's one container.
    pub container: ContainerProps,
    /// The EFS access point mounted into the container.
    pub efs: EfsProps,
}

typed!(
    EcsTaskDefinitionProps,
    "aws.ecs_task_definition",
    "ECS task definition"
);

/// The `wxrun` container of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerProps {
    /// The container's name; also the prefix of its log streams.
    pub name: String,
    /// The image, by digest (`<repository uri>@sha256:…`).
    pub image: String,
    /// The TCP port the runtime listens on, registered in the target group.
    pub port: u16,
    /// The command after the image's entrypoint.
    pub command: Vec<String>,
    /// Environment variables, name to value (strings), in the order synth wrote them: a
    /// sorted map would reorder the graph.
    pub environment: Map<String, Value>,
    /// The user the container runs as (a numeric uid, as a string).
    pub user: String,
    /// Whether the root filesystem is read-only (`scratch_paths` stay writable).
    pub readonly_root_filesystem: bool,
    /// Writable paths, each an empty task volume of its own.
    pub scratch_paths: Vec<String>,
    /// The container's own health check; none for containers without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckProps>,
    /// The CloudWatch Logs group the container's output goes to (`awslogs`).
    pub log_group: String,
}

/// A container health check: a command ECS runs in the container, times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckProps {
    /// `CMD` and the arguments; exit code 0 is healthy.
    pub command: Vec<String>,
    /// Seconds between checks.
    pub interval: i32,
    /// Seconds a check may take before it counts as failed.
    pub timeout: i32,
    /// Failed checks in a row that make the container unhealthy.
    pub retries: i32,
    /// Seconds after start during which failures do not count.
    pub start_period: i32,
}

/// The EFS access point the task mounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfsProps {
    /// The file system (`fs-…`).
    pub file_system_id: String,
    /// The access point (`fsap-…`) the mount goes through, with IAM authorisation.
    pub access_point_id: String,
    /// `ENABLED` (TLS between the task and EFS) or `DISABLED`.
    pub transit_encryption: String,
    /// Where the container sees the file system.
    pub mount_path: String,
}

pub struct EcsTaskDefinition(pub std::sync::Arc<AwsContext>);

const EFS_VOLUME: &str = "app";

fn outputs(td: &TaskDefinition) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(td.task_definition_arn()));
    o.insert("family".into(), json!(td.family()));
    o.insert("revision".into(), json!(td.revision()));
    o
}

/// The EFS volume: the access point, encrypted in transit as the property says, authorised
/// by the task role.
pub fn efs_volume(efs: &EfsProps) -> Result<Volume, ProviderError> {
    Ok(Volume::builder()
        .name(EFS_VOLUME)
        .efs_volume_configuration(
            EfsVolumeConfiguration::builder()
                .file_system_id(&efs.file_system_id)
                .transit_encryption(EfsTransitEncryption::from(efs.transit_encryption.as_str()))
                .authorization_config(
                    EfsAuthorizationConfig::builder()
                        .access_point_id(&efs.access_point_id)
                        .iam(EfsAuthorizationConfigIam::Enabled)
                        .build(),
                )
                .build()
                .map_err(|e| ProviderError::Validation(e.to_string()))?,
        )
        .build())
}

/// The container definition for the `container` property.
pub fn container(
    c: &ContainerProps,
    efs: &EfsProps,
    region: &str,
) -> Result<ContainerDefinition, ProviderError> {
    let env = c
        .environment
        .iter()
        .map(|(k, v)| {
            KeyValuePair::builder()
                .name(k)
                .value(v.as_str().unwrap_or_default())
                .build()
        })
        .collect();
    let mut mounts = vec![
        MountPoint::builder()
            .source_volume(EFS_VOLUME)
            .container_path(&efs.mount_path)
            .read_only(false)
            .build(),
    ];
    for (i, path) in c.scratch_paths.iter().enumerate() {
        mounts.push(
            MountPoint::builder()
                .source_volume(format!("scratch-{i}"))
                .container_path(path)
                .read_only(false)
                .build(),
        );
    }
    Ok(ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(i32::from(c.port))
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .set_command(Some(c.command.clone()))
        .set_environment(Some(env))
        .user(&c.user)
        .readonly_root_filesystem(c.readonly_root_filesystem)
        .set_mount_points(Some(mounts))
        .set_health_check(c.health_check.as_ref().map(health_check).transpose()?)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", &c.log_group)
                .options("awslogs-region", region)
                .options("awslogs-stream-prefix", &c.name)
                .build()
                .map_err(|e| ProviderError::Validation(e.to_string()))?,
        )
        .build())
}

/// The container's health check, as ECS takes it.
fn health_check(h: &HealthCheckProps) -> Result<HealthCheck, ProviderError> {
    HealthCheck::builder()
        .set_command(Some(h.command.clone()))
        .interval(h.interval)
        .timeout(h.timeout)
        .retries(h.retries)
        .start_period(h.start_period)
        .build()
        .map_err(built)
}

/// Adds the container's health check to its properties when it has one (the property is
/// absent, not null, for containers without).
fn with_health_check(c: &ContainerDefinition, mut props: Value) -> Value {
    if let Some(h) = c.health_check() {
        props["health_check"] = json!({
            "command": h.command(),
            "interval": h.interval(),
            "timeout": h.timeout(),
            "retries": h.retries(),
            "start_period": h.start_period(),
        });
    }
    props
}

/// A live task definition in the shape of the properties.
fn props_of(td: &TaskDefinition, tags: &[aws_sdk_ecs::types::Tag]) -> Value {
    let c = td.container_definitions().first();
    let efs = td
        .volumes()
        .iter()
        .find(|v| v.name() == Some(EFS_VOLUME))
        .and_then(|v| v.efs_volume_configuration());
    let efs_path = c.and_then(|c| {
        c.mount_points()
            .iter()
            .find(|m| m.source_volume() == Some(EFS_VOLUME))
            .and_then(|m| m.container_path())
    });
    let scratch: Vec<&str> = c
        .map(|c| {
            c.mount_points()
                .iter()
                .filter(|m| m.source_volume() != Some(EFS_VOLUME))
                .filter_map(|m| m.container_path())
                .collect()
        })
        .unwrap_or_default();
    let env: serde_json::Map<String, Value> = c
        .map(|c| {
            c.environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_string(), json!(kv.value()))))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "family": td.family(),
        "cpu": td.cpu(),
        "memory": td.memory(),
        "cpu_architecture": td.runtime_platform().and_then(|p| p.cpu_architecture()).map(|a| a.as_str()),
        "execution_role_arn": td.execution_role_arn(),
        "task_role_arn": td.task_role_arn(),
        "container": c.map(|c| with_health_check(c, json!({
            "name": c.name(),
            "image": c.image(),
            "port": c.port_mappings().first().and_then(|p| p.container_port()),
            "command": c.command(),
            "environment": env,
            "user": c.user(),
            "readonly_root_filesystem": c.readonly_root_filesystem(),
            "scratch_paths": scratch,
            "log_group": c.log_configuration().and_then(|l| l.options()).and_then(|o| o.get("awslogs-group")),
        }))),
        "efs": efs.map(|e| json!({
            "file_system_id": e.file_system_id(),
            "access_point_id": e.authorization_config().and_then(|a| a.access_point_id()),
            "transit_encryption": e.transit_encryption().map(|t| t.as_str()),
            "mount_path": efs_path,
        })),
        "tags": tags::from_ecs(tags),
    })
}

#[async_trait]
impl Resource for EcsTaskDefinition {
    fn kind(&self) -> &'static str {
        EcsTaskDefinitionProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field != "tags"
    }

    /// A new revision is registered before the old one is deregistered, once the service
    /// runs the new one.
    fn create_before_destroy(&self, _changed: &[String]) -> bool {
        true
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        // ECS reports an unknown revision as a client error, not a typed not-found.
        let Some(out) = found(
            self.0
                .ecs
                .describe_task_definition()
                .task_definition(id)
                .include(TaskDefinitionField::Tags)
                .send()
                .await,
            |e| e.is_client_exception(),
        )?
        else {
            return Ok(None);
        };
        Ok(out
            .task_definition()
            .filter(|td| td.status() != Some(&TaskDefinitionStatus::Inactive))
            .map(|td| Live {
                props: props_of(td, out.tags()),
                outputs: outputs(td),
            }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EcsTaskDefinitionProps::from_value(req.props)?;
        let mut volumes = vec![efs_volume(&p.efs)?];
        for i in 0..p.container.scratch_paths.len() {
            volumes.push(Volume::builder().name(format!("scratch-{i}")).build());
        }
        let out = self
            .0
            .ecs
            .register_task_definition()
            .family(&p.family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(&p.cpu)
            .memory(&p.memory)
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::from(p.cpu_architecture.as_str()))
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .execution_role_arn(&p.execution_role_arn)
            .task_role_arn(&p.task_role_arn)
            .container_definitions(container(&p.container, &p.efs, &self.0.region)?)
            .set_volumes(Some(volumes))
            .set_tags(Some(tags::ecs_tags(req.props)))
            .customize()
            .config_override(super::context::ecs_send_once())
            .send()
            .await
            .map_err(classify)?;
        let td = out
            .task_definition()
            .ok_or_else(|| ProviderError::Api("RegisterTaskDefinition returned nothing".into()))?;
        Ok(Created {
            id: td.task_definition_arn().unwrap_or_default().to_string(),
            outputs: outputs(td),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        tags::ecs_update(&self.0.ecs, id, old, new).await?;
        let out = self
            .0
            .ecs
            .describe_task_definition()
            .task_definition(id)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.task_definition().map(outputs).unwrap_or_default())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // Deregistering makes the revision INACTIVE (running tasks keep it); deleting it then
        // removes it for good, so nothing tagged with the stack outlives a destroy.
        found(
            self.0
                .ecs
                .deregister_task_definition()
                .task_definition(id)
                .send()
                .await,
            |e| e.is_client_exception(),
        )?;
        let out = self
            .0
            .ecs
            .delete_task_definitions()
            .task_definitions(id)
            .send()
            .await
            .map_err(classify)?;
        // Already deleted (a resent delete whose first answer was lost): gone is success.
        let gone = |r: &str| r.contains("MISSING") || r.contains("does not exist");
        match out.failures().first() {
            Some(f) if f.reason().is_some_and(|r| !gone(r)) => Err(ProviderError::Api(format!(
                "deleting task definition {id}: {}",
                f.reason().unwrap_or_default()
            ))),
            _ => Ok(()),
        }
    }

    /// The newest ACTIVE revision tagged with this stack and address.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let Some(arn) =
            tags::find_arn(&self.0.tagging, "ecs:task-definition", stack, address).await?
        else {
            return Ok(None);
        };
        Ok(self.read(&arn, &Value::Null).await?.map(|l| Created {
            id: arn,
            outputs: l.outputs,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn efs() -> EfsProps {
        EfsProps {
            file_system_id: "fs-1".into(),
            access_point_id: "fsap-1".into(),
            transit_encryption: "ENABLED".into(),
            mount_path: "/mnt/app".into(),
        }
    }

    #[test]
    fn efs_volume_uses_the_access_point_with_tls_and_iam() {
        let v = efs_volume(&efs()).unwrap();
        let e = v.efs_volume_configuration().unwrap();
        assert_eq!(e.file_system_id(), "fs-1");
        assert_eq!(e.transit_encryption(), Some(&EfsTransitEncryption::Enabled));
        let auth = e.authorization_config().unwrap();
        assert_eq!(auth.access_point_id(), Some("fsap-1"));
        assert_eq!(auth.iam(), Some(&EfsAuthorizationConfigIam::Enabled));
    }

    #[test]
    fn container_is_non_root_read_only_and_logs_to_its_group() {
        let props: ContainerProps = serde_json::from_value(
            json!({"name": "wxrun", "image": "r/x@sha256:1", "port": 8080, "user": "65532",
                    "readonly_root_filesystem": true, "command": ["serve"], "scratch_paths": ["/tmp"],
                    "environment": {"WXRUN_PRIMITIVE": "fargate"}, "log_group": "/wx/fargate"}),
        )
        .unwrap();
        let c = container(&props, &efs(), "eu-west-1").unwrap();
        assert_eq!(c.user(), Some("65532"));
        assert_eq!(c.readonly_root_filesystem(), Some(true));
        let opts = c.log_configuration().unwrap().options().unwrap();
        assert_eq!(opts["awslogs-group"], "/wx/fargate");
        assert_eq!(opts["awslogs-region"], "eu-west-1");
        let paths: Vec<_> = c
            .mount_points()
            .iter()
            .filter_map(|m| m.container_path())
            .collect();
        assert_eq!(paths, ["/mnt/app", "/tmp"]);
    }
}
