//! Compute and traffic: the ALB with one target group per configured primitive and a
//! weighted listener, the Lambda function (+ invoke permission before its registration), the
//! ECS Fargate cluster/task definition/service on the `wxrun` OCI image, and an EC2 Auto
//! Scaling group launched from a template with user data from `userdata/`. Data-side resources (EFS, bucket, roles, log groups, the
//! S3 endpoint) reach compute as references through [`Data`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::{Environment, UndefinedBehavior, context};
use serde_json::{Value, json};

use super::data;
use super::network::Network;
use super::{Synth, SynthError};
use crate::artifacts::Artifacts;
use crate::graph::{GraphError, Node};
use crate::stack::{Arch, Ec2Spec, LoadBalancerSpec, ScalingSpec};

/// Where every primitive mounts the EFS access point.
pub const APP_DIR: &str = "/mnt/app";
/// The runtime's health endpoint; the target groups probe it (never `/`, which is the app's).
pub const HEALTH_PATH: &str = "/.well-known/spin/health";
pub use crate::oci::image::RUNTIME_UID;

/// The runtime binary of one architecture: references to its object in the bucket, and the
/// local file (packed into the OCI image).
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    pub key: String,
    pub sha256: String,
    pub local_path: PathBuf,
    pub local_sha256: String,
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
                    key: node.out("key"),
                    sha256: node.out("sha256"),
                    local_path: local.path.clone(),
                    local_sha256: local.sha256.clone(),
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

/// Health check settings; Lambda gets a longer timeout for cold starts.
fn health_check(lambda: bool) -> Value {
    let (interval, timeout) = if lambda { (35, 30) } else { (15, 5) };
    json!({
        "path": HEALTH_PATH,
        "interval_seconds": interval,
        "timeout_seconds": timeout,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
        "matcher": "200",
    })
}

/// Lambda and ECS take `arm64`/`x86_64` and `ARM64`/`X86_64`.
fn ecs_arch(a: Arch) -> &'static str {
    match a {
        Arch::Arm64 => "ARM64",
        Arch::X86_64 => "X86_64",
    }
}

/// EC2 user data: the script of `userdata/user-data.sh.j2` with the systemd unit of
/// `userdata/wxrun.service.j2` inside. Values may be `${…}` references, resolved at apply.
pub fn user_data(
    stack: &str,
    data: &Data,
    runtime: &Runtime,
    port: u16,
) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.add_template(
        "user-data.sh",
        include_str!("../../userdata/user-data.sh.j2"),
    )?;
    env.add_template(
        "wxrun.service",
        include_str!("../../userdata/wxrun.service.j2"),
    )?;
    let unit = env.get_template("wxrun.service")?.render(context! {
        stack, port, source => data.source(), runtime_config => data.runtime_config,
    })?;
    env.get_template("user-data.sh")?.render(context! {
        stack,
        unit => unit.trim_end(),
        bucket => data.bucket,
        binary_key => runtime.key,
        binary_sha256 => runtime.sha256,
        file_system_id => data.efs_file_system_id,
        access_point_id => data.efs_access_point_id,
    })
}

/// Adds the compute and traffic nodes and the `endpoint` output.
pub fn synth(s: &mut Synth, net: &Network, data: &Data) -> Result<(), SynthError> {
    let stack = s.name().to_string();
    let spec = s.stack.stack.clone();
    let c = &spec.compute;
    let rt_port = spec.runtime.port.value;
    let dereg_delay = spec.load_balancer.deregistration_delay.value;

    let internet: Vec<&str> = net.internet.iter().map(String::as_str).collect();
    let lb = s.add_after(
        "aws.lb",
        "main",
        json!({
            "name": format!("{stack}-alb"),
            "scheme": "internet-facing",
            "subnets": net.subnet_ids,
            "security_groups": [net.alb_sg],
            "idle_timeout": spec.load_balancer.idle_timeout.value,
        }),
        true,
        &internet,
    )?;

    // One target group per configured primitive, in a fixed order.
    let mut forward = Vec::new();
    let mut group = |s: &mut Synth, name: &str, target_type: &str, weight: u32| {
        let lambda = target_type == "lambda";
        let tg = s.add(
            "aws.lb_target_group",
            name,
            json!({
                "name_prefix": format!("{stack}-{name}"),
                "target_type": target_type,
                "protocol": if lambda { Value::Null } else { json!("HTTP") },
                "port": if lambda { Value::Null } else { json!(rt_port) },
                "vpc_id": if lambda { Value::Null } else { json!(net.vpc_id) },
                "health_check": health_check(lambda),
                "lambda_multi_value_headers": if lambda { json!(true) } else { Value::Null },
                "deregistration_delay": if lambda { Value::Null } else { json!(dereg_delay) },
            }),
            true,
        )?;
        forward.push(json!({"target_group_arn": tg.out("arn"), "weight": weight}));
        Ok::<_, GraphError>(tg)
    };
    let ec2_tg = c
        .ec2
        .as_ref()
        .map(|e| group(s, "ec2", "instance", e.value.weight.value))
        .transpose()?;
    let fargate_tg = c
        .fargate
        .as_ref()
        .map(|f| group(s, "fargate", "ip", f.value.weight.value))
        .transpose()?;
    let lambda_tg = c
        .lambda
        .as_ref()
        .map(|l| group(s, "lambda", "lambda", l.value.weight.value))
        .transpose()?;

    let forwarding = listeners(s, &lb, forward)?;

    if let (Some(l), Some(tg)) = (&c.lambda, &lambda_tg) {
        let l = &l.value;
        let (zip_key, zip_sha256) = data
            .lambda_zip
            .as_ref()
            .ok_or(SynthError::Missing("Lambda package"))?;
        // No public IP in a VPC: releases come from S3 through the gateway endpoint, and the
        // log group must exist (with its retention) before the first invocation.
        let f = s.add_after(
            "aws.lambda_function",
            "app",
            json!({
                "function_name": format!("{stack}-app"),
                "runtime": "provided.al2023",
                "handler": "bootstrap",
                "architecture": l.arch.value.as_str(),
                "memory_size": l.memory.value,
                "timeout": l.timeout.value,
                "reserved_concurrency": l.reserved_concurrency.as_ref().map(|r| r.value),
                // Provisioned concurrency runs on a published version behind an alias.
                "publish": l.provisioned_concurrency.is_some(),
                "role": need(&data.lambda_role_arn, "Lambda role")?,
                "code": {
                    "s3_bucket": data.bucket,
                    "s3_key": zip_key,
                    "sha256": zip_sha256,
                },
                "subnet_ids": net.compute_subnet_ids,
                "security_group_ids": [net.compute_sg],
                "file_system": {"arn": data.efs_access_point_arn, "mount_path": APP_DIR},
                "environment": runtime_env(data, "lambda"),
                // Without it Lambda writes to /aws/lambda/<name>, where the role may not.
                "logging": {
                    "log_group": need(&data.lambda_log_group, "Lambda log group")?,
                    "log_format": "Text",
                },
            }),
            true,
            &compute_after(data, net, &[&data.s3_endpoint]),
        )?;
        // With provisioned concurrency the load balancer invokes the `live` alias, whose
        // environments are warm, and is registered once they are.
        let (target, qualifier, warm) = match &l.provisioned_concurrency {
            Some(n) => {
                let alias = s.add(
                    "aws.lambda_alias",
                    "live",
                    json!({
                        "function_name": f.out("name"),
                        "name": "live",
                        "function_version": f.out("version"),
                    }),
                    false,
                )?;
                let warm = s.add(
                    "aws.lambda_provisioned_concurrency",
                    "live",
                    json!({
                        "function_name": f.out("name"),
                        "qualifier": alias.out("name"),
                        "provisioned_concurrent_executions": n.value,
                    }),
                    false,
                )?;
                (
                    alias.out("arn"),
                    Some(alias.out("name")),
                    vec![warm.address],
                )
            }
            None => (f.out("arn"), None, Vec::new()),
        };
        let permission = s.add(
            "aws.lambda_permission",
            "alb",
            json!({
                "function_name": f.out("name"),
                "qualifier": qualifier,
                // One statement per target group, so a new group's is added before the old
                // one's goes.
                "statement_id": tg.out("name"),
                "action": "lambda:InvokeFunction",
                "principal": "elasticloadbalancing.amazonaws.com",
                "source_arn": tg.out("arn"),
            }),
            false,
        )?;
        // ELB refuses to register a function it may not invoke: permission first.
        let after: Vec<&str> = std::iter::once(permission.address.as_str())
            .chain(warm.iter().map(String::as_str))
            .collect();
        s.add_after(
            "aws.lb_target_attachment",
            "lambda",
            json!({"target_group_arn": tg.out("arn"), "target_id": target, "port": null}),
            false,
            &after,
        )?;
    }

    if let (Some(f), Some(tg)) = (&c.fargate, &fargate_tg) {
        let f = &f.value;
        let runtime = data.runtime(f.arch.value)?;
        let repo = s.add(
            "aws.ecr_repository",
            "runtime",
            json!({
                "repository_name": format!("{stack}-runtime"),
                "scan_on_push": true,
                "image_tag_mutability": "IMMUTABLE",
            }),
            true,
        )?;
        let image = s.add(
            "aws.oci_image",
            "runtime",
            json!({
                "repository_uri": repo.out("uri"),
                "tag": runtime.local_sha256,
                "binary": runtime.local_path.display().to_string(),
                "binary_sha256": runtime.local_sha256,
                "arch": f.arch.value.as_str(),
                "user": RUNTIME_UID.to_string(),
                "cmd": serve_command(data, rt_port),
            }),
            false,
        )?;
        let cluster = s.add(
            "aws.ecs_cluster",
            "main",
            json!({"cluster_name": stack}),
            true,
        )?;
        let td = s.add(
            "aws.ecs_task_definition",
            "app",
            json!({
                "family": format!("{stack}-app"),
                "cpu": f.cpu.value.to_string(),
                "memory": f.memory.value.to_string(),
                "cpu_architecture": ecs_arch(f.arch.value),
                "execution_role_arn": need(&data.ecs_execution_role_arn, "ECS execution role")?,
                "task_role_arn": need(&data.ecs_task_role_arn, "ECS task role")?,
                "container": {
                    "name": "wxrun",
                    "image": image.out("uri"),
                    "port": rt_port,
                    "command": serve_command(data, rt_port),
                    "environment": runtime_env(data, "fargate"),
                    "user": RUNTIME_UID.to_string(),
                    "readonly_root_filesystem": true,
                    "scratch_paths": ["/tmp"],
                    // The image has no shell or curl: wxrun probes its own health endpoint.
                    "health_check": {
                        "command": ["CMD", "/wxrun", "probe", "--addr", format!("127.0.0.1:{rt_port}"), "--path", HEALTH_PATH],
                        "interval": 15,
                        "timeout": 5,
                        "retries": 3,
                        "start_period": 60,
                    },
                    "log_group": need(&data.fargate_log_group, "Fargate log group")?,
                },
                "efs": {
                    "file_system_id": data.efs_file_system_id,
                    "access_point_id": data.efs_access_point_id,
                    "transit_encryption": "ENABLED",
                    "mount_path": APP_DIR,
                },
            }),
            true,
        )?;
        // ECS attaches only target groups that a listener already forwards to.
        let service = s.add_after(
            "aws.ecs_service",
            "app",
            json!({
                "service_name": "app",
                "cluster": cluster.out("arn"),
                "task_definition": td.out("arn"),
                "desired_count": match &f.scaling {
                    // Application Auto Scaling would move it into the bounds at once.
                    Some(sc) => f.desired_count.value.clamp(sc.value.min.value, sc.value.max.value),
                    None => f.desired_count.value,
                },
                "launch_type": "FARGATE",
                "platform_version": "LATEST",
                "subnets": net.compute_subnet_ids,
                "security_groups": [net.compute_sg],
                // In public subnets tasks need a public IP to pull the image from ECR and
                // ship logs (private ones go through their NAT gateway); either way the
                // compute security group admits only the load balancer.
                "assign_public_ip": net.compute_public,
                "load_balancer": {
                    "target_group_arn": tg.out("arn"),
                    "container_name": "wxrun",
                    "container_port": rt_port,
                },
                "circuit_breaker": {"enable": true, "rollback": true},
                "health_check_grace_period_seconds": 60,
            }),
            true,
            &compute_after(data, net, &[&forwarding]),
        )?;
        if let Some(sc) = &f.scaling {
            fargate_scaling(s, &sc.value, &service, &cluster, &lb, tg)?;
        }
    }

    if let (Some(e), Some(tg)) = (&c.ec2, &ec2_tg) {
        ec2_group(s, &e.value, data, net, &lb, tg, &forwarding, rt_port)?;
    }

    s.output("endpoint", json!(endpoint(&spec.load_balancer, &lb)));
    Ok(())
}

/// Where clients reach the app: the domain or the load balancer's name, on the HTTPS port
/// when there is one.
fn endpoint(spec: &LoadBalancerSpec, lb: &Node) -> String {
    let (scheme, port, default) = if spec.https() {
        ("https", spec.https_port.value, 443)
    } else {
        ("http", spec.port.value, 80)
    };
    let host = spec.domain.as_ref().map_or_else(
        || lb.out("dns_name"),
        |d| d.value.trim_end_matches('.').to_string(),
    );
    let port = if port == default {
        String::new()
    } else {
        format!(":{port}")
    };
    format!("{scheme}://{host}{port}")
}

/// `ready` plus the network's `compute_ready` plus `more`: what a compute node starts after.
fn compute_after<'a>(data: &'a Data, net: &'a Network, more: &[&'a str]) -> Vec<&'a str> {
    let mut after = data.after(more);
    after.extend(net.compute_ready.iter().map(String::as_str));
    after
}

/// Application Auto Scaling for the Fargate service: a scalable target between the bounds
/// and one target-tracking policy. The service's desired count is theirs from then on, so
/// plan no longer compares it.
fn fargate_scaling(
    s: &mut Synth,
    sc: &ScalingSpec,
    service: &Node,
    cluster: &Node,
    lb: &Node,
    tg: &Node,
) -> Result<(), SynthError> {
    const DIMENSION: &str = "ecs:service:DesiredCount";
    if let Some(n) = s.graph.nodes.get_mut(&service.address) {
        n.ignore_changes.insert("desired_count".into());
    }
    let target = s.add(
        "aws.appautoscaling_target",
        "fargate",
        json!({
            "service_namespace": "ecs",
            "resource_id": format!("service/{}/{}", cluster.out("name"), service.out("name")),
            "scalable_dimension": DIMENSION,
            "min_capacity": sc.min.value,
            "max_capacity": sc.max.value,
        }),
        true,
    )?;
    let mut policy = json!({
        "policy_name": format!("{}-fargate", s.name()),
        "service_namespace": "ecs",
        "resource_id": target.out("resource_id"),
        "scalable_dimension": DIMENSION,
    });
    tracking(&mut policy, sc, "ECSServiceAverageCPUUtilization", lb, tg)?;
    let cooldown = |c: &Option<serde_saphyr::Spanned<u32>>| c.as_ref().map(|c| c.value);
    policy["scale_in_cooldown"] = json!(cooldown(&sc.scale_in_cooldown));
    policy["scale_out_cooldown"] = json!(cooldown(&sc.scale_out_cooldown));
    s.add("aws.appautoscaling_policy", "fargate", policy, false)?;
    Ok(())
}

/// EC2 through an Auto Scaling group: a launch template with everything an instance needs,
/// the group across the compute subnets in the EC2 target group (after the listener that
/// makes its health checks run), and with `scaling` a target-tracking policy that owns the
/// desired count from then on. Without `scaling`, `count` is min, max and desired.
#[allow(clippy::too_many_arguments)]
fn ec2_group(
    s: &mut Synth,
    e: &Ec2Spec,
    data: &Data,
    net: &Network,
    lb: &Node,
    tg: &Node,
    forwarding: &str,
    rt_port: u16,
) -> Result<(), SynthError> {
    let stack = s.name().to_string();
    let script = user_data(&stack, data, data.runtime(e.arch.value)?, rt_port)?;
    // With the gateway endpoint on the route tables the binary and releases stay on the AWS
    // network, from public and private subnets alike.
    let template = s.add_after(
        "aws.launch_template",
        "ec2",
        json!({
            "name": format!("{stack}-ec2"),
            "instance_type": e.instance_type(),
            "arch": e.arch.value.as_str(),
            "security_group_ids": [net.compute_sg],
            "instance_profile_arn": need(&data.ec2_instance_profile_arn, "EC2 instance profile")?,
            "user_data": script,
            // IMDSv2 only; one hop, since nothing runs in containers on the host.
            "metadata": {"http_tokens": "required", "hop_limit": 1},
        }),
        true,
        &compute_after(data, net, &[&data.s3_endpoint]),
    )?;
    let (min, max) = e
        .scaling
        .as_ref()
        .map_or((e.count.value, e.count.value), |sc| {
            (sc.value.min.value, sc.value.max.value)
        });
    let group = s.add_after(
        "aws.autoscaling_group",
        "ec2",
        json!({
            "name": format!("{stack}-ec2"),
            "launch_template_id": template.out("id"),
            "launch_template_version": template.out("version"),
            "min_size": min,
            "max_size": max,
            "desired_capacity": e.count.value.max(min).min(max),
            "subnet_ids": net.compute_subnet_ids,
            "target_group_arns": [tg.out("arn")],
            "health_check_grace_period": e.warmup.value,
            "instance_warmup": e.warmup.value,
            "min_healthy_percentage": e.min_healthy_percent.value,
        }),
        true,
        &[forwarding],
    )?;
    let Some(sc) = &e.scaling else {
        return Ok(());
    };
    if let Some(n) = s.graph.nodes.get_mut(&group.address) {
        n.ignore_changes.insert("desired_capacity".into());
    }
    let mut policy = json!({
        "group_name": group.out("name"),
        "policy_name": format!("{stack}-ec2"),
    });
    tracking(&mut policy, &sc.value, "ASGAverageCPUUtilization", lb, tg)?;
    s.add("aws.autoscaling_policy", "ec2", policy, false)?;
    Ok(())
}

/// The target-tracking fields of a policy: the metric the stack chose (`cpu_metric` names
/// CPU for the primitive) with its target value.
fn tracking(
    policy: &mut Value,
    sc: &ScalingSpec,
    cpu_metric: &str,
    lb: &Node,
    tg: &Node,
) -> Result<(), SynthError> {
    let (metric, target, lb_arn, tg_arn) = match (&sc.cpu, &sc.requests_per_target) {
        (Some(cpu), _) => (cpu_metric, cpu.value, Value::Null, Value::Null),
        (None, Some(r)) => (
            "ALBRequestCountPerTarget",
            r.value,
            json!(lb.out("arn")),
            json!(tg.out("arn")),
        ),
        (None, None) => return Err(SynthError::Missing("scaling metric")),
    };
    policy["metric"] = json!(metric);
    // A float, as Auto Scaling reads it back, so plan compares like with like.
    policy["target_value"] = json!(f64::from(target));
    policy["load_balancer_arn"] = lb_arn;
    policy["target_group_arn"] = tg_arn;
    Ok(())
}

/// The listeners: one forwarding plain HTTP on `port`, or, with a certificate, one
/// forwarding HTTPS on `https_port` and one redirecting `port` to it. Returns the forwarding
/// listener's address.
fn listeners(s: &mut Synth, lb: &Node, forward: Vec<Value>) -> Result<String, SynthError> {
    let spec = s.stack.stack.load_balancer.clone();
    let http = |action: (&str, Value)| {
        let mut p = json!({
            "load_balancer_arn": lb.out("arn"),
            "port": spec.port.value,
            "protocol": "HTTP",
        });
        p[action.0] = action.1;
        p
    };
    let Some(certificate) = certificate(s, &spec)? else {
        let main = s.add(
            "aws.lb_listener",
            "main",
            http(("forward", json!(forward))),
            true,
        )?;
        return Ok(main.address);
    };
    let https = s.add(
        "aws.lb_listener",
        "https",
        json!({
            "load_balancer_arn": lb.out("arn"),
            "port": spec.https_port.value,
            "protocol": "HTTPS",
            "certificate_arn": certificate,
            "ssl_policy": spec.ssl_policy.value,
            "forward": forward,
        }),
        true,
    )?;
    // Plain HTTP redirects only once HTTPS answers.
    let redirect =
        json!({"protocol": "HTTPS", "port": spec.https_port.value, "status_code": "HTTP_301"});
    s.add_after(
        "aws.lb_listener",
        "main",
        http(("redirect", redirect)),
        true,
        &[&https.address],
    )?;
    if let (Some(domain), Some(zone)) = (&spec.domain, s.hosted_zone_id.clone()) {
        s.add(
            "aws.route53_record",
            "alias",
            json!({
                "zone_id": zone,
                "name": domain.value,
                "type": "A",
                "alias": {"dns_name": lb.out("dns_name"), "zone_id": lb.out("zone_id"), "evaluate_target_health": true},
            }),
            false,
        )?;
    }
    Ok(https.address)
}

/// The HTTPS listener's certificate: the stack's `certificate_arn`, or a reference to the
/// issued certificate wxinfra requests for `domain` and validates in `hosted_zone`; `None`
/// without HTTPS.
fn certificate(s: &mut Synth, spec: &LoadBalancerSpec) -> Result<Option<String>, SynthError> {
    if let Some(arn) = &spec.certificate_arn {
        return Ok(Some(arn.value.clone()));
    }
    let (Some(domain), Some(zone)) = (&spec.domain, s.hosted_zone_id.clone()) else {
        return Ok(None);
    };
    let cert = s.add(
        "aws.acm_certificate",
        "main",
        json!({"domain_name": domain.value.trim_end_matches('.'), "validation_method": "DNS"}),
        true,
    )?;
    let record = s.add(
        "aws.route53_record",
        "validation",
        json!({
            "zone_id": zone,
            "name": cert.out("validation_record_name"),
            "type": cert.out("validation_record_type"),
            "ttl": 300,
            "records": [cert.out("validation_record_value")],
            "allow_overwrite": true,
        }),
        false,
    )?;
    let validation = s.add_after(
        "aws.acm_certificate_validation",
        "main",
        json!({"certificate_arn": cert.out("arn")}),
        false,
        &[&record.address],
    )?;
    Ok(Some(validation.out("certificate_arn")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::load::parse;

    const STACK: &str = "version: 1\nname: demo\napp:\n  manifest: spin.toml\n\
        load_balancer:\n  port: 8000\n\
        compute:\n  ec2:\n    count: 2\n    weight: 3\n  fargate:\n    weight: 0\n  lambda:\n    weight: 7\n";

    fn loaded(yaml: &str) -> crate::stack::load::LoadedStack {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spin.toml"), "spin_manifest_version = 2\n").unwrap();
        parse(&dir.path().join("stack.yaml"), yaml).unwrap()
    }

    fn graph(yaml: &str) -> crate::graph::Graph {
        let loaded = loaded(yaml);
        let release = "1".repeat(64);
        crate::synth::aws(&loaded, &crate::synth::testing::artifacts(&release, &[])).unwrap()
    }

    #[test]
    fn listener_forwards_to_each_primitive_with_its_weight() {
        let g = graph(STACK);
        let fwd = &g.nodes["aws.lb_listener.main"].props["forward"];
        assert_eq!(
            fwd,
            &json!([
                {"target_group_arn": "${aws.lb_target_group.ec2.arn}", "weight": 3},
                {"target_group_arn": "${aws.lb_target_group.fargate.arn}", "weight": 0},
                {"target_group_arn": "${aws.lb_target_group.lambda.arn}", "weight": 7},
            ])
        );
        assert_eq!(g.nodes["aws.lb_listener.main"].props["port"], 8000);
        for tg in ["ec2", "fargate", "lambda"] {
            let p = &g.nodes[&format!("aws.lb_target_group.{tg}")].props;
            assert_eq!(p["health_check"]["path"], HEALTH_PATH);
        }
        assert_eq!(
            g.nodes["aws.lb_target_group.lambda"].props["lambda_multi_value_headers"],
            true
        );
        // A short deregistration delay by default; Lambda groups have none.
        assert_eq!(
            g.nodes["aws.lb_target_group.ec2"].props["deregistration_delay"],
            30
        );
        assert_eq!(
            g.nodes["aws.lb_target_group.lambda"].props["deregistration_delay"],
            Value::Null
        );
        let g = graph(&STACK.replace("port: 8000", "port: 8000\n  deregistration_delay: 5"));
        assert_eq!(
            g.nodes["aws.lb_target_group.fargate"].props["deregistration_delay"],
            5
        );
    }

    #[test]
    fn endpoint_names_the_port_unless_80() {
        let g = graph(STACK);
        assert_eq!(
            g.outputs["endpoint"],
            json!("http://${aws.lb.main.dns_name}:8000")
        );
        let g = graph(&STACK.replace("port: 8000", "port: 80"));
        assert_eq!(
            g.outputs["endpoint"],
            json!("http://${aws.lb.main.dns_name}")
        );
    }

    #[test]
    fn only_configured_primitives_get_resources() {
        let yaml = "version: 1\nname: demo\napp:\n  manifest: spin.toml\ncompute:\n  lambda: {}\n";
        let g = graph(yaml);
        assert!(g.nodes.contains_key("aws.lambda_function.app"));
        assert!(!g.nodes.contains_key("aws.lb_target_group.ec2"));
        assert!(!g.nodes.contains_key("aws.ecs_service.app"));
        assert!(!g.nodes.keys().any(|a| a.starts_with("aws.instance.")));
        assert_eq!(
            g.nodes["aws.lb_listener.main"].props["forward"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn lambda_is_registered_only_after_its_invoke_permission() {
        let g = graph(STACK);
        let deps = g.nodes["aws.lb_target_attachment.lambda"].depends_on();
        assert!(deps.contains("aws.lambda_permission.alb"), "{deps:?}");
        let perm = &g.nodes["aws.lambda_permission.alb"].props;
        assert_eq!(perm["principal"], "elasticloadbalancing.amazonaws.com");
        assert_eq!(perm["source_arn"], "${aws.lb_target_group.lambda.arn}");
    }

    #[test]
    fn the_default_instance_type_follows_the_architecture() {
        let ty = |arch: &str| {
            let yaml = STACK.replace("count: 2\n", &format!("count: 2\n    arch: {arch}\n"));
            let loaded = loaded(&yaml);
            let ec2 = loaded.stack.compute.ec2.as_ref().unwrap();
            ec2.value.instance_type().to_string()
        };
        assert_eq!(ty("arm64"), "t4g.small");
        assert_eq!(ty("x86_64"), "t3.small");
        assert_eq!(
            graph(STACK).nodes["aws.launch_template.ec2"].props["instance_type"],
            "t4g.small"
        );
    }

    #[test]
    fn provisioned_concurrency_puts_the_load_balancer_on_a_warm_alias() {
        let g = graph(STACK);
        assert!(!g.nodes.contains_key("aws.lambda_alias.live"));
        assert_eq!(g.nodes["aws.lambda_function.app"].props["publish"], false);
        assert_eq!(
            g.nodes["aws.lb_target_attachment.lambda"].props["target_id"],
            "${aws.lambda_function.app.arn}"
        );

        let g = graph(&STACK.replace(
            "    weight: 7\n",
            "    weight: 7\n    provisioned_concurrency: 3\n",
        ));
        assert_eq!(g.nodes["aws.lambda_function.app"].props["publish"], true);
        let alias = &g.nodes["aws.lambda_alias.live"].props;
        assert_eq!(
            alias["function_version"],
            "${aws.lambda_function.app.version}"
        );
        let warm = &g.nodes["aws.lambda_provisioned_concurrency.live"].props;
        assert_eq!(warm["qualifier"], "${aws.lambda_alias.live.name}");
        assert_eq!(warm["provisioned_concurrent_executions"], 3);
        // The permission is the alias's, and the alias is registered once it is warm.
        let perm = &g.nodes["aws.lambda_permission.alb"].props;
        assert_eq!(perm["qualifier"], "${aws.lambda_alias.live.name}");
        let attach = &g.nodes["aws.lb_target_attachment.lambda"];
        assert_eq!(attach.props["target_id"], "${aws.lambda_alias.live.arn}");
        let deps = attach.depends_on();
        assert!(
            deps.contains("aws.lambda_permission.alb")
                && deps.contains("aws.lambda_provisioned_concurrency.live"),
            "{deps:?}"
        );
    }

    #[test]
    fn destroy_deletes_the_service_before_its_cluster() {
        // Deletes run dependents first (reverse topological order): the service depends on
        // the cluster, and its delete waits for INACTIVE, so the cluster delete that follows
        // never meets an active service.
        let g = graph(STACK);
        let order = g.dag().unwrap().topo_order().unwrap();
        let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
        assert!(pos("aws.ecs_cluster.main") < pos("aws.ecs_service.app"));
        assert!(pos("aws.lb_listener.main") < pos("aws.ecs_service.app"));
        assert!(pos("aws.ecs_task_definition.app") < pos("aws.ecs_service.app"));
    }

    #[test]
    fn a_scaled_service_leaves_its_count_to_a_target_tracking_policy() {
        let g = graph(&STACK.replace(
            "  fargate:\n    weight: 0\n",
            "  fargate:\n    weight: 0\n    desired_count: 9\n    scaling:\n      min: 2\n      max: 4\n      requests_per_target: 800\n      scale_out_cooldown: 30\n",
        ));
        let service = &g.nodes["aws.ecs_service.app"];
        assert_eq!(
            service.props["desired_count"], 4,
            "started within the bounds"
        );
        assert!(service.ignore_changes.contains("desired_count"));
        let target = &g.nodes["aws.appautoscaling_target.fargate"].props;
        assert_eq!(
            target["resource_id"],
            "service/${aws.ecs_cluster.main.name}/${aws.ecs_service.app.name}"
        );
        assert_eq!(
            (
                target["min_capacity"].clone(),
                target["max_capacity"].clone()
            ),
            (json!(2), json!(4))
        );
        assert_eq!(target["tags"]["wxinfra:stack"], "demo");
        let policy = &g.nodes["aws.appautoscaling_policy.fargate"].props;
        assert_eq!(
            policy["resource_id"],
            "${aws.appautoscaling_target.fargate.resource_id}"
        );
        assert_eq!(policy["metric"], "ALBRequestCountPerTarget");
        assert_eq!(policy["target_value"], json!(800.0));
        assert_eq!(policy["load_balancer_arn"], "${aws.lb.main.arn}");
        assert_eq!(
            policy["target_group_arn"],
            "${aws.lb_target_group.fargate.arn}"
        );
        assert_eq!(policy["scale_out_cooldown"], 30);
        assert_eq!(policy["scale_in_cooldown"], Value::Null);

        // Without scaling the count is the stack's and plan compares it.
        let plain = graph(STACK);
        assert!(plain.nodes["aws.ecs_service.app"].ignore_changes.is_empty());
        assert!(
            !plain
                .nodes
                .contains_key("aws.appautoscaling_target.fargate")
        );
    }

    #[test]
    fn internet_facing_alb_waits_for_the_gateway_and_public_routes() {
        let g = graph(STACK);
        let deps = g.nodes["aws.lb.main"].depends_on();
        for d in [
            "aws.internet_gateway.main",
            "aws.route_table.public",
            "aws.route_table_association.public-a",
            "aws.route_table_association.public-b",
        ] {
            assert!(deps.contains(d), "the ALB does not wait for {d}: {deps:?}");
        }
        // An adopted VPC already has its way out: nothing to wait for but the lookup.
        let g = graph(&STACK.replace("app:", "network:\n  vpc: default\napp:"));
        let deps = g.nodes["aws.lb.main"].depends_on();
        assert!(
            deps.iter()
                .all(|d| d.starts_with("aws.security_group.") || d == "aws.vpc_lookup.default"),
            "{deps:?}"
        );
    }

    #[test]
    fn lambda_logs_to_the_stack_log_group() {
        let g = graph(STACK);
        let f = &g.nodes["aws.lambda_function.app"];
        assert_eq!(
            f.props["logging"],
            json!({"log_group": "${aws.log_group.lambda.name}", "log_format": "Text"})
        );
        assert!(f.depends_on().contains("aws.log_group.lambda"));
    }

    #[test]
    fn primitives_reach_s3_as_the_graph_shows() {
        let g = graph(STACK);
        for a in ["aws.lambda_function.app", "aws.launch_template.ec2"] {
            assert!(
                g.nodes[a].depends_on().contains("aws.vpc_endpoint.s3"),
                "{a}"
            );
        }
        // Nothing serves before the release exists and EFS is mountable in every subnet.
        for a in [
            "aws.lambda_function.app",
            "aws.launch_template.ec2",
            "aws.ecs_service.app",
        ] {
            let deps = g.nodes[a].depends_on();
            for d in [
                "aws.release.app",
                "aws.efs_mount_target.public-a",
                "aws.efs_mount_target.public-b",
            ] {
                assert!(deps.contains(d), "{a} does not wait for {d}: {deps:?}");
            }
        }
        assert_eq!(
            g.nodes["aws.ecs_service.app"].props["assign_public_ip"],
            true
        );
    }

    #[test]
    fn task_definition_runs_the_image_by_digest_with_efs_over_tls() {
        let g = graph(STACK);
        let td = &g.nodes["aws.ecs_task_definition.app"].props;
        assert_eq!(td["container"]["image"], "${aws.oci_image.runtime.uri}");
        assert_eq!(
            td["efs"]["access_point_id"],
            "${aws.efs_access_point.app.id}"
        );
        assert_eq!(td["efs"]["transit_encryption"], "ENABLED");
        assert_eq!(td["container"]["environment"]["WXRUN_PRIMITIVE"], "fargate");
        assert_eq!(td["container"]["user"], "65532");
        assert_eq!(
            td["container"]["health_check"]["command"],
            json!([
                "CMD",
                "/wxrun",
                "probe",
                "--addr",
                "127.0.0.1:8080",
                "--path",
                HEALTH_PATH
            ])
        );
    }

    #[test]
    fn ec2_runs_as_an_auto_scaling_group_launched_from_a_template() {
        let g = graph(STACK);
        let lt = &g.nodes["aws.launch_template.ec2"].props;
        assert_eq!(lt["name"], "demo-ec2");
        assert_eq!(lt["metadata"]["http_tokens"], "required");
        assert_eq!(
            lt["instance_profile_arn"],
            "${aws.iam_instance_profile.ec2.arn}"
        );
        assert_eq!(lt["tags"]["wxinfra:stack"], "demo");
        let group = &g.nodes["aws.autoscaling_group.ec2"];
        let p = &group.props;
        assert_eq!(p["launch_template_id"], "${aws.launch_template.ec2.id}");
        assert_eq!(
            p["launch_template_version"],
            "${aws.launch_template.ec2.version}"
        );
        // `count` is min, max and desired.
        assert_eq!(
            [&p["min_size"], &p["max_size"], &p["desired_capacity"]],
            [&json!(2), &json!(2), &json!(2)]
        );
        assert_eq!(
            p["subnet_ids"],
            json!(["${aws.subnet.public-a.id}", "${aws.subnet.public-b.id}"])
        );
        assert_eq!(
            p["target_group_arns"],
            json!(["${aws.lb_target_group.ec2.arn}"])
        );
        assert_eq!(p["min_healthy_percentage"], 100);
        assert_eq!(p["health_check_grace_period"], 120);
        // The group waits for healthy instances, which needs the listener's health checks.
        assert!(group.depends_on().contains("aws.lb_listener.main"));
        assert!(group.ignore_changes.is_empty());
        assert!(!g.nodes.contains_key("aws.autoscaling_policy.ec2"));
        assert!(
            !g.nodes
                .keys()
                .any(|a| a.starts_with("aws.instance.") || a.contains("attachment.ec2"))
        );
    }

    #[test]
    fn a_scaled_group_leaves_its_count_to_a_target_tracking_policy() {
        let g = graph(&STACK.replace(
            "    count: 2\n",
            "    count: 9\n    warmup: 45\n    min_healthy_percent: 50\n    scaling:\n      min: 2\n      max: 4\n      cpu: 55\n",
        ));
        let group = &g.nodes["aws.autoscaling_group.ec2"];
        let p = &group.props;
        assert_eq!(
            [&p["min_size"], &p["max_size"], &p["desired_capacity"]],
            [&json!(2), &json!(4), &json!(4)],
            "started within the bounds"
        );
        assert_eq!(
            [&p["instance_warmup"], &p["min_healthy_percentage"]],
            [&json!(45), &json!(50)]
        );
        assert!(group.ignore_changes.contains("desired_capacity"));
        let policy = &g.nodes["aws.autoscaling_policy.ec2"].props;
        assert_eq!(
            policy,
            &json!({
                "group_name": "${aws.autoscaling_group.ec2.name}",
                "policy_name": "demo-ec2",
                "metric": "ASGAverageCPUUtilization",
                "target_value": 55.0,
                "load_balancer_arn": null,
                "target_group_arn": null,
            })
        );
    }

    #[test]
    fn user_data_mounts_efs_verifies_the_binary_and_enables_the_unit() {
        let g = graph(STACK);
        let ud = g.nodes["aws.launch_template.ec2"].props["user_data"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(ud.contains(
            "mount -t efs -o tls,iam,accesspoint='${aws.efs_access_point.app.id}' '${aws.efs_file_system.app.id}:/'"
        ));
        assert!(ud.contains("readonly BINARY_SHA256='${aws.s3_object.runtime-arm64.sha256}'"));
        assert!(ud.contains("Restart=always"));
        assert!(ud.contains("User=wxrun"));
        assert!(ud.contains("RequiresMountsFor=/mnt/app"));
        assert!(ud.contains(
            "ExecStart=/usr/local/bin/wxrun serve --app-dir /mnt/app --source s3://${aws.s3_bucket.artifacts.id}/releases --listen 0.0.0.0:8080"
        ));
        assert!(!ud.contains("cfn-signal"));
    }

    const EDGE: &str = "  domain: app.example.com\n  hosted_zone: example.com\n";

    #[test]
    fn a_domain_gets_a_validated_certificate_an_https_listener_a_redirect_and_an_alias() {
        let g = graph(&STACK.replace("  port: 8000\n", &format!("  port: 80\n{EDGE}")));
        let zone = "${aws.route53_zone_lookup.main.id}";
        // The zone is looked up before anything is made: a missing zone changes nothing.
        assert!(
            g.nodes["aws.vpc.main"]
                .depends_on()
                .contains("aws.route53_zone_lookup.main")
        );
        let cert = &g.nodes["aws.acm_certificate.main"].props;
        assert_eq!(
            (&cert["domain_name"], &cert["validation_method"]),
            (&json!("app.example.com"), &json!("DNS"))
        );
        let record = &g.nodes["aws.route53_record.validation"].props;
        assert_eq!(record["zone_id"], zone);
        assert_eq!(
            record["name"],
            "${aws.acm_certificate.main.validation_record_name}"
        );
        assert_eq!(
            record["records"],
            json!(["${aws.acm_certificate.main.validation_record_value}"])
        );
        let validation = &g.nodes["aws.acm_certificate_validation.main"];
        assert!(
            validation
                .depends_on()
                .contains("aws.route53_record.validation")
        );

        let https = &g.nodes["aws.lb_listener.https"];
        assert_eq!(https.props["protocol"], "HTTPS");
        assert_eq!(https.props["port"], 443);
        assert_eq!(
            https.props["certificate_arn"],
            "${aws.acm_certificate_validation.main.certificate_arn}"
        );
        assert_eq!(https.props["ssl_policy"], crate::stack::DEFAULT_SSL_POLICY);
        assert_eq!(https.props["forward"].as_array().unwrap().len(), 3);
        let main = &g.nodes["aws.lb_listener.main"];
        assert_eq!(
            (&main.props["protocol"], &main.props["port"]),
            (&json!("HTTP"), &json!(80))
        );
        assert_eq!(
            main.props["redirect"],
            json!({"protocol": "HTTPS", "port": 443, "status_code": "HTTP_301"})
        );
        assert!(main.props.get("forward").is_none());
        assert!(main.depends_on().contains("aws.lb_listener.https"));
        // ECS attaches its group once the listener that forwards to it exists.
        assert!(
            g.nodes["aws.ecs_service.app"]
                .depends_on()
                .contains("aws.lb_listener.https")
        );

        let alias = &g.nodes["aws.route53_record.alias"].props;
        assert_eq!(
            alias["alias"],
            json!({"dns_name": "${aws.lb.main.dns_name}", "zone_id": "${aws.lb.main.zone_id}", "evaluate_target_health": true})
        );
        assert_eq!(
            (&alias["name"], &alias["type"]),
            (&json!("app.example.com"), &json!("A"))
        );
        assert_eq!(g.outputs["endpoint"], "https://app.example.com");
        // Clients may reach both ports.
        for rule in ["alb-in-0", "alb-in-https-0"] {
            assert!(
                g.nodes
                    .contains_key(&format!("aws.security_group_rule.{rule}")),
                "{rule}"
            );
        }
        assert_eq!(
            g.nodes["aws.security_group_rule.alb-in-https-0"].props["from_port"],
            443
        );
    }

    #[test]
    fn a_certificate_arn_is_used_as_given_with_nothing_requested() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        let g = graph(&STACK.replace(
            "  port: 8000\n",
            &format!("  port: 8000\n  https_port: 8443\n  certificate_arn: {arn}\n"),
        ));
        assert_eq!(
            g.nodes["aws.lb_listener.https"].props["certificate_arn"],
            arn
        );
        assert!(
            !g.nodes
                .keys()
                .any(|a| a.contains("acm") || a.contains("route53"))
        );
        assert_eq!(
            g.outputs["endpoint"],
            "https://${aws.lb.main.dns_name}:8443"
        );
    }

    #[test]
    fn private_compute_subnets_sit_behind_nat_gateways_and_the_alb_stays_public() {
        let g = graph(&STACK.replace(
            "app:",
            "network:\n  compute_subnets: private\n  nat_gateways: 2\napp:",
        ));
        let private = json!(["${aws.subnet.private-a.id}", "${aws.subnet.private-b.id}"]);
        assert_eq!(
            g.nodes["aws.lb.main"].props["subnets"],
            json!(["${aws.subnet.public-a.id}", "${aws.subnet.public-b.id}"])
        );
        assert_eq!(
            g.nodes["aws.lambda_function.app"].props["subnet_ids"],
            private
        );
        assert_eq!(
            g.nodes["aws.autoscaling_group.ec2"].props["subnet_ids"],
            private
        );
        let svc = &g.nodes["aws.ecs_service.app"].props;
        assert_eq!(
            (&svc["subnets"], &svc["assign_public_ip"]),
            (&private, &json!(false))
        );
        assert_eq!(
            g.nodes["aws.efs_mount_target.private-a"].props["subnet_id"],
            "${aws.subnet.private-a.id}"
        );
        assert!(!g.nodes.contains_key("aws.efs_mount_target.public-a"));
        for (az, public) in [("a", "public-a"), ("b", "public-b")] {
            let subnet = &g.nodes[&format!("aws.subnet.private-{az}")].props;
            assert_eq!(subnet["map_public_ip_on_launch"], false);
            let nat = &g.nodes[&format!("aws.nat_gateway.{az}")];
            assert_eq!(
                nat.props["subnet_id"],
                format!("${{aws.subnet.{public}.id}}")
            );
            assert_eq!(
                nat.props["allocation_id"],
                format!("${{aws.eip.nat-{az}.allocation_id}}")
            );
            // A NAT gateway made before the internet gateway is attached fails.
            assert!(nat.depends_on().contains("aws.internet_gateway.main"));
            assert_eq!(
                g.nodes[&format!("aws.route_table.private-{az}")].props["routes"],
                json!([{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": format!("${{aws.nat_gateway.{az}.id}}")}])
            );
            // Compute starts once its way out exists.
            for c in [
                "aws.launch_template.ec2",
                "aws.lambda_function.app",
                "aws.ecs_service.app",
            ] {
                assert!(
                    g.nodes[c]
                        .depends_on()
                        .contains(&format!("aws.route_table_association.private-{az}")),
                    "{c} does not wait for private-{az}'s route"
                );
            }
        }
        assert_eq!(
            g.nodes["aws.subnet.private-a"].props["cidr_block"],
            "10.42.128.0/24"
        );
        // The S3 gateway endpoint serves the private route tables too.
        assert_eq!(
            g.nodes["aws.vpc_endpoint.s3"].props["route_table_ids"],
            json!([
                "${aws.route_table.public.id}",
                "${aws.route_table.private-a.id}",
                "${aws.route_table.private-b.id}"
            ])
        );
        // One NAT gateway serves every AZ unless asked for more.
        let g = graph(&STACK.replace("app:", "network:\n  compute_subnets: private\napp:"));
        assert!(!g.nodes.contains_key("aws.nat_gateway.b"));
        assert_eq!(
            g.nodes["aws.route_table.private-b"].props["routes"][0]["nat_gateway_id"],
            "${aws.nat_gateway.a.id}"
        );
    }
}
