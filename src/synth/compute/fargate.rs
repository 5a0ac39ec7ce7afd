//! ECS Fargate: the `wxrun` OCI image in the stack's ECR repository, the cluster, the task
//! definition (the access point mounted over TLS, read-only root, non-root user) and the
//! service behind its target group, with Application Auto Scaling when the stack scales it.

use serde_json::json;

use super::{
    APP_DIR, HEALTH_PATH, RUNTIME_UID, Shared, Synth, SynthError, need, runtime_env, serve_command,
    tracking,
};
use crate::graph::Node;
use crate::stack::{Arch, FargateSpec, ScalingSpec};

pub(super) fn synth(
    s: &mut Synth,
    at: &Shared,
    f: &FargateSpec,
    tg: &Node,
) -> Result<(), SynthError> {
    let image = image(s, at, f)?;
    let cluster = s.add(
        "aws.ecs_cluster",
        "main",
        json!({"cluster_name": s.name()}),
        true,
    )?;
    let td = task_definition(s, at, f, &image)?;
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
            "subnets": at.net.compute_subnet_ids,
            "security_groups": [at.net.compute_sg],
            // In public subnets tasks need a public IP to pull the image from ECR and
            // ship logs (private ones go through their NAT gateway); either way the
            // compute security group admits only the load balancer.
            "assign_public_ip": at.net.compute_public,
            "load_balancer": {
                "target_group_arn": tg.out("arn"),
                "container_name": "wxrun",
                "container_port": at.port,
            },
            "circuit_breaker": {"enable": true, "rollback": true},
            "health_check_grace_period_seconds": 60,
        }),
        true,
        &at.after(&[at.forwarding]),
    )?;
    if let Some(sc) = &f.scaling {
        scaling(s, &sc.value, &service, &cluster, at.lb, tg)?;
    }
    Ok(())
}

/// The runtime's image, packed from the binary the other primitives get, in the stack's
/// repository (immutable tags, scanned on push).
fn image(s: &mut Synth, at: &Shared, f: &FargateSpec) -> Result<Node, SynthError> {
    let runtime = at.data.runtime(f.arch.value)?;
    let repo = s.add(
        "aws.ecr_repository",
        "runtime",
        json!({
            "repository_name": format!("{}-runtime", s.name()),
            "scan_on_push": true,
            "image_tag_mutability": "IMMUTABLE",
        }),
        true,
    )?;
    Ok(s.add(
        "aws.oci_image",
        "runtime",
        json!({
            "repository_uri": repo.out("uri"),
            "tag": runtime.local_sha256,
            "binary": runtime.local_path.display().to_string(),
            "binary_sha256": runtime.local_sha256,
            "arch": f.arch.value.as_str(),
            "user": RUNTIME_UID.to_string(),
            "cmd": serve_command(at.data, at.port),
        }),
        false,
    )?)
}

fn task_definition(
    s: &mut Synth,
    at: &Shared,
    f: &FargateSpec,
    image: &Node,
) -> Result<Node, SynthError> {
    Ok(s.add(
        "aws.ecs_task_definition",
        "app",
        json!({
            "family": format!("{}-app", s.name()),
            "cpu": f.cpu.value.to_string(),
            "memory": f.memory.value.to_string(),
            "cpu_architecture": ecs_arch(f.arch.value),
            "execution_role_arn": need(&at.data.ecs_execution_role_arn, "ECS execution role")?,
            "task_role_arn": need(&at.data.ecs_task_role_arn, "ECS task role")?,
            "container": {
                "name": "wxrun",
                "image": image.out("uri"),
                "port": at.port,
                "command": serve_command(at.data, at.port),
                "environment": runtime_env(at.data, "fargate"),
                "user": RUNTIME_UID.to_string(),
                "readonly_root_filesystem": true,
                "scratch_paths": ["/tmp"],
                // The image has no shell or curl: wxrun probes its own health endpoint.
                "health_check": {
                    "command": ["CMD", "/wxrun", "probe", "--addr", format!("127.0.0.1:{}", at.port), "--path", HEALTH_PATH],
                    "interval": 15,
                    "timeout": 5,
                    "retries": 3,
                    "start_period": 60,
                },
                "log_group": need(&at.data.fargate_log_group, "Fargate log group")?,
            },
            "efs": {
                "file_system_id": at.data.efs_file_system_id,
                "access_point_id": at.data.efs_access_point_id,
                "transit_encryption": "ENABLED",
                "mount_path": APP_DIR,
            },
        }),
        true,
    )?)
}

/// Lambda and ECS take `arm64`/`x86_64` and `ARM64`/`X86_64`.
fn ecs_arch(a: Arch) -> &'static str {
    match a {
        Arch::Arm64 => "ARM64",
        Arch::X86_64 => "X86_64",
    }
}

/// Application Auto Scaling for the Fargate service: a scalable target between the bounds
/// and one target-tracking policy. The service's desired count is theirs from then on, so
/// plan no longer compares it.
fn scaling(
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
