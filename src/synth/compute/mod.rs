//! Compute and traffic: the ALB with one target group per configured primitive and a
//! weighted listener ([`alb`]), the Lambda function ([`lambda`]), the ECS Fargate service on
//! the `wxrun` OCI image ([`fargate`]), and the EC2 Auto Scaling group ([`ec2`]). Data-side
//! resources (EFS, bucket, roles, log groups, the S3 endpoint) reach compute as references
//! through [`Data`].

mod alb;
mod ec2;
mod fargate;
mod lambda;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::data;
use super::network::Network;
use super::{Synth, SynthError};
use crate::artifacts::Artifacts;
use crate::graph::Node;
use crate::stack::{Arch, ScalingSpec};

pub use ec2::user_data;

/// Where every primitive mounts the EFS access point.
pub const APP_DIR: &str = "/mnt/app";
/// The runtime's health endpoint; the target groups probe it (never `/`, which is the app's).
pub const HEALTH_PATH: &str = "/.well-known/spin/health";
pub use crate::oci::image::RUNTIME_UID;

/// The runtime binary of one architecture: the local file (packed into the OCI image) and its
/// object in the bucket.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    /// The object's key and the file's sha256, both known before the upload: what names them
    /// (the instances' template) need not wait for it, only what launches instances.
    pub key: String,
    pub sha256: String,
    /// Address of the object's node.
    pub object: String,
    pub local_path: PathBuf,
}

/// What compute takes from the data side: references (`${…}`) and addresses. Role and log
/// group fields are `None` when the data side made none, i.e. the primitive is not configured.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub efs_file_system_id: String,
    pub efs_access_point_id: String,
    pub efs_access_point_arn: String,
    /// The artifact bucket's name.
    pub bucket: String,
    pub runtime: BTreeMap<&'static str, Runtime>,
    /// Key and sha256 of the Lambda deployment package.
    pub lambda_zip: Option<(String, String)>,
    /// Addresses every primitive starts after (no value flows): the EFS mount targets
    /// (available before anything mounts) and the release pointer (the app exists before
    /// anything serves it).
    pub ready: Vec<String>,
    /// Address of the S3 gateway endpoint: the path to the bucket from inside the VPC.
    pub s3_endpoint: String,
    pub lambda_role_arn: Option<String>,
    pub ecs_execution_role_arn: Option<String>,
    pub ecs_task_role_arn: Option<String>,
    pub ec2_instance_profile_arn: Option<String>,
    pub fargate_log_group: Option<String>,
    /// Name of the Lambda log group: the function logs there (its role may write nowhere
    /// else), and the reference orders the function after the group, which must exist with
    /// its retention before the first invocation.
    pub lambda_log_group: Option<String>,
    /// Spin's runtime config for the app's stores (`WXRUN_RUNTIME_CONFIG`), when it has any.
    pub runtime_config: Option<String>,
}

impl Data {
    /// The compute view of what `synth::data` added, for the artifacts built locally.
    pub fn new(d: &data::Data, artifacts: &Artifacts) -> Self {
        let arn = |n: &Option<Node>| n.as_ref().map(|n| n.out("arn"));
        let runtime = d
            .runtime
            .iter()
            .map(|(arch, node)| {
                let local = &artifacts.runtime[arch];
                let r = Runtime {
                    key: local.key.clone(),
                    sha256: local.sha256.clone(),
                    object: node.address.clone(),
                    local_path: local.path.clone(),
                };
                (*arch, r)
            })
            .collect();
        let mut ready: Vec<String> = d.mount_targets.iter().map(|n| n.address.clone()).collect();
        ready.push(d.release.address.clone());
        Self {
            efs_file_system_id: d.file_system.out("id"),
            efs_access_point_id: d.access_point.out("id"),
            efs_access_point_arn: d.access_point.out("arn"),
            bucket: d.bucket.out("id"),
            runtime,
            lambda_zip: d
                .lambda_zip
                .as_ref()
                .map(|z| (z.out("key"), z.out("sha256"))),
            ready,
            s3_endpoint: d.s3_endpoint.address.clone(),
            lambda_role_arn: arn(&d.roles.lambda),
            ecs_execution_role_arn: arn(&d.roles.ecs_execution),
            ecs_task_role_arn: arn(&d.roles.ecs_task),
            ec2_instance_profile_arn: arn(&d.roles.ec2_instance_profile),
            fargate_log_group: d.log_groups.fargate.as_ref().map(|g| g.out("name")),
            lambda_log_group: d.log_groups.lambda.as_ref().map(|g| g.out("name")),
            runtime_config: d.runtime_config(),
        }
    }

    /// `s3://<bucket>/releases`: where the runtime fetches releases and the `current` pointer.
    pub fn source(&self) -> String {
        format!("s3://{}/releases", self.bucket)
    }

    fn runtime(&self, arch: Arch) -> Result<&Runtime, SynthError> {
        self.runtime.get(arch.as_str()).ok_or(SynthError::Missing(
            "the runtime binary for this architecture",
        ))
    }

    /// `ready` plus `more`, as `add_after` takes them.
    fn after<'a>(&'a self, more: &[&'a str]) -> Vec<&'a str> {
        self.ready
            .iter()
            .map(String::as_str)
            .chain(more.iter().copied())
            .collect()
    }
}

/// A data-side value a configured primitive needs.
fn need<'a>(v: &'a Option<String>, what: &'static str) -> Result<&'a str, SynthError> {
    v.as_deref().ok_or(SynthError::Missing(what))
}

/// The runtime's environment on a primitive.
fn runtime_env(data: &Data, primitive: &str) -> Value {
    let mut env = json!({
        "WXRUN_APP_DIR": APP_DIR,
        "WXRUN_SOURCE": data.source(),
        "WXRUN_PRIMITIVE": primitive,
    });
    if let Some(config) = &data.runtime_config {
        env["WXRUN_RUNTIME_CONFIG"] = json!(config);
    }
    env
}

/// `serve` arguments every long-running primitive gets.
fn serve_command(data: &Data, port: u16) -> Vec<String> {
    vec![
        "serve".into(),
        "--app-dir".into(),
        APP_DIR.into(),
        "--source".into(),
        data.source(),
        "--listen".into(),
        format!("0.0.0.0:{port}"),
    ]
}

/// What every primitive's nodes hang off: the data side, the network, the load balancer and
/// its forwarding listener, and the runtime's port.
struct Shared<'a> {
    data: &'a Data,
    net: &'a Network,
    lb: &'a Node,
    /// Address of the listener that forwards to the target groups.
    forwarding: &'a str,
    port: u16,
}

impl Shared<'_> {
    /// `ready` plus the network's `compute_ready` plus `more`: what a compute node starts
    /// after.
    fn after<'a>(&'a self, more: &[&'a str]) -> Vec<&'a str> {
        let mut after = self.data.after(more);
        after.extend(self.net.compute_ready.iter().map(String::as_str));
        after
    }
}

/// Adds the compute and traffic nodes and the `endpoint` output.
pub fn synth(s: &mut Synth, net: &Network, data: &Data) -> Result<(), SynthError> {
    let spec = s.stack.stack.clone();
    let c = &spec.compute;
    let lb = alb::load_balancer(s, net)?;
    let groups = alb::target_groups(s, net)?;
    let forwarding = alb::listeners(s, &lb, groups.forward)?;
    let shared = Shared {
        data,
        net,
        lb: &lb,
        forwarding: &forwarding,
        port: spec.runtime.port.value,
    };
    if let (Some(l), Some(tg)) = (&c.lambda, &groups.lambda) {
        lambda::synth(s, &shared, &l.value, tg)?;
    }
    if let (Some(f), Some(tg)) = (&c.fargate, &groups.fargate) {
        fargate::synth(s, &shared, &f.value, tg)?;
    }
    if let (Some(e), Some(tg)) = (&c.ec2, &groups.ec2) {
        ec2::synth(s, &shared, &e.value, tg)?;
    }
    s.output("endpoint", json!(alb::endpoint(&spec.load_balancer, &lb)));
    Ok(())
}

/// What a target-tracking policy holds: the metric, its value, and for request counts the
/// load balancer and target group they are counted at.
struct Tracking {
    metric: String,
    /// A float, as Auto Scaling reads it back, so plan compares like with like.
    target_value: f64,
    load_balancer_arn: Option<String>,
    target_group_arn: Option<String>,
}

impl Tracking {
    /// The metric the stack chose (`cpu_metric` names CPU for the primitive) with its target
    /// value.
    fn of(sc: &ScalingSpec, cpu_metric: &str, lb: &Node, tg: &Node) -> Result<Self, SynthError> {
        let (metric, target, arns) = match (&sc.cpu, &sc.requests_per_target) {
            (Some(cpu), _) => (cpu_metric, cpu.value, None),
            (None, Some(r)) => (
                "ALBRequestCountPerTarget",
                r.value,
                Some((lb.out("arn"), tg.out("arn"))),
            ),
            (None, None) => return Err(SynthError::Missing("scaling metric")),
        };
        let (load_balancer_arn, target_group_arn) = arns.unzip();
        Ok(Tracking {
            metric: metric.into(),
            target_value: f64::from(target),
            load_balancer_arn,
            target_group_arn,
        })
    }
}
