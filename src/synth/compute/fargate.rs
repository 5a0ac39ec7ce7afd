//! ECS Fargate: the `wxrun` OCI image in the stack's ECR repository, the cluster, the task
//! definition (the access point mounted over TLS, read-only root, non-root user) and the
//! service behind its target group, with Application Auto Scaling when the stack scales it.

use serde_json::Value;

use super::{
    APP_DIR, HEALTH_PATH, RUNTIME_UID, Shared, Synth, SynthError, Tracking, need, runtime_env,
    serve_command,
};
use crate::aws::appautoscaling_policy::AppautoscalingPolicyProps;
use crate::aws::appautoscaling_target::AppautoscalingTargetProps;
use crate::aws::ecr_repository::EcrRepositoryProps;
use crate::aws::ecs_cluster::EcsClusterProps;
use crate::aws::ecs_service::{CircuitBreaker, EcsServiceProps, LoadBalancerProps};
use crate::aws::ecs_task_definition::{
    ContainerProps, EcsTaskDefinitionProps, EfsProps, HealthCheckProps,
};
use crate::aws::oci_image::OciImageProps;
use crate::graph::Node;
use crate::stack::{Arch, FargateSpec, ScalingSpec};

pub(super) fn synth(
    s: &mut Synth,
    at: &Shared,
    f: &FargateSpec,
    tg: &Node,
) -> Result<(), SynthError> {
    let image = image(s, at, f)?;
    let cluster = EcsClusterProps {
        cluster_name: s.name().to_string(),
    };
    let cluster = s.add_typed("main", &cluster, true)?;
    let td = task_definition(s, at, f, &image)?;
    let service = EcsServiceProps {
        service_name: "app".into(),
        cluster: cluster.out("arn"),
        task_definition: td.out("arn"),
        desired_count: match &f.scaling {
            // Application Auto Scaling would move it into the bounds at once.
            Some(sc) => f
                .desired_count
                .value
                .clamp(sc.value.min.value, sc.value.max.value),
            None => f.desired_count.value,
        },
        launch_type: "FARGATE".into(),
        platform_version: "LATEST".into(),
        subnets: at.net.compute_subnet_ids.clone(),
        security_groups: vec![at.net.compute_sg.clone()],
        // In public subnets tasks need a public IP to pull the image from ECR and ship logs
        // (private ones go through their NAT gateway); either way the compute security group
        // admits only the load balancer.
        assign_public_ip: at.net.compute_public,
        load_balancer: LoadBalancerProps {
            target_group_arn: tg.out("arn"),
            container_name: "wxrun".into(),
            container_port: at.port,
        },
        circuit_breaker: Some(CircuitBreaker {
            enable: true,
            rollback: true,
        }),
        health_check_grace_period_seconds: Some(60),
    };
    // ECS attaches only target groups that a listener already forwards to.
    let service = s.add_typed_after("app", &service, true, &at.after(&[at.forwarding]))?;
    if let Some(sc) = &f.scaling {
        scaling(s, &sc.value, &service, &cluster, at.lb, tg)?;
    }
    Ok(())
}

/// The runtime's image, packed from the binary the other primitives get, in the stack's
/// repository (immutable tags, scanned on push). It is the binary alone, with no command
/// (wxrun without one serves as its `WXRUN_*` environment says, as the Kubernetes image
/// does): the task definition gives the command. So the push, a deploy's slowest create,
/// starts once the repository exists rather than after the artifacts bucket, whose name the
/// command holds, and a new port or bucket is no new image.
fn image(s: &mut Synth, at: &Shared, f: &FargateSpec) -> Result<Node, SynthError> {
    let runtime = at.data.runtime(f.arch.value)?;
    let repo = EcrRepositoryProps {
        repository_name: format!("{}-runtime", s.name()),
        scan_on_push: true,
        image_tag_mutability: "IMMUTABLE".into(),
    };
    let repo = s.add_typed("runtime", &repo, true)?;
    let image = OciImageProps {
        repository_uri: repo.out("uri"),
        tag: runtime.sha256.clone(),
        binary: runtime.local_path.display().to_string(),
        binary_sha256: runtime.sha256.clone(),
        arch: f.arch.value.as_str().into(),
        user: RUNTIME_UID.to_string(),
        cmd: Vec::new(),
    };
    Ok(s.add_typed("runtime", &image, false)?)
}

fn task_definition(
    s: &mut Synth,
    at: &Shared,
    f: &FargateSpec,
    image: &Node,
) -> Result<Node, SynthError> {
    let Value::Object(environment) = runtime_env(at.data, "fargate") else {
        unreachable!("runtime_env builds an object")
    };
    let td = EcsTaskDefinitionProps {
        family: format!("{}-app", s.name()),
        cpu: f.cpu.value.to_string(),
        memory: f.memory.value.to_string(),
        cpu_architecture: ecs_arch(f.arch.value).into(),
        execution_role_arn: need(&at.data.ecs_execution_role_arn, "ECS execution role")?.into(),
        task_role_arn: need(&at.data.ecs_task_role_arn, "ECS task role")?.into(),
        container: ContainerProps {
            name: "wxrun".into(),
            image: image.out("uri"),
            port: at.port,
            command: serve_command(at.data, at.port),
            environment,
            user: RUNTIME_UID.to_string(),
            readonly_root_filesystem: true,
            scratch_paths: vec!["/tmp".into()],
            // The image has no shell or curl: wxrun probes its own health endpoint.
            health_check: Some(HealthCheckProps {
                command: vec![
                    "CMD".into(),
                    "/wxrun".into(),
                    "probe".into(),
                    "--addr".into(),
                    format!("127.0.0.1:{}", at.port),
                    "--path".into(),
                    HEALTH_PATH.into(),
                ],
                interval: 15,
                timeout: 5,
                retries: 3,
                start_period: 60,
            }),
            log_group: need(&at.data.fargate_log_group, "Fargate log group")?.into(),
        },
        efs: EfsProps {
            file_system_id: at.data.efs_file_system_id.clone(),
            access_point_id: at.data.efs_access_point_id.clone(),
            transit_encryption: "ENABLED".into(),
            mount_path: APP_DIR.into(),
        },
    };
    Ok(s.add_typed("app", &td, true)?)
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
    let target = AppautoscalingTargetProps {
        service_namespace: "ecs".into(),
        resource_id: format!("service/{}/{}", cluster.out("name"), service.out("name")),
        scalable_dimension: DIMENSION.into(),
        min_capacity: sc.min.value,
        max_capacity: sc.max.value,
    };
    let target = s.add_typed("fargate", &target, true)?;
    let t = Tracking::of(sc, "ECSServiceAverageCPUUtilization", lb, tg)?;
    let policy = AppautoscalingPolicyProps {
        policy_name: format!("{}-fargate", s.name()),
        service_namespace: "ecs".into(),
        resource_id: target.out("resource_id"),
        scalable_dimension: DIMENSION.into(),
        metric: t.metric,
        target_value: t.target_value,
        load_balancer_arn: t.load_balancer_arn,
        target_group_arn: t.target_group_arn,
        scale_in_cooldown: sc.scale_in_cooldown.as_ref().map(|c| c.value),
        scale_out_cooldown: sc.scale_out_cooldown.as_ref().map(|c| c.value),
    };
    s.add_typed("fargate", &policy, false)?;
    Ok(())
}
