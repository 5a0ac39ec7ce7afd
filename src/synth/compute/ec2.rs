//! EC2: an Auto Scaling group launched from a template whose user data
//! (`userdata/user-data.sh.j2`) installs and starts the runtime.

use super::{Data, Runtime, Shared, Synth, SynthError, Tracking, need};
use crate::aws::autoscaling_group::AutoscalingGroupProps;
use crate::aws::autoscaling_policy::AutoscalingPolicyProps;
use crate::aws::launch_template::{LaunchTemplateProps, Metadata};
use crate::graph::Node;
use crate::stack::Ec2Spec;
use minijinja::{Environment, UndefinedBehavior, context};

/// EC2 through an Auto Scaling group: a launch template with everything an instance needs,
/// the group across the compute subnets in the EC2 target group (after the listener that
/// makes its health checks run), and with `scaling` a target-tracking policy that owns the
/// desired count from then on. Without `scaling`, `count` is min, max and desired.
pub(super) fn synth(s: &mut Synth, at: &Shared, e: &Ec2Spec, tg: &Node) -> Result<(), SynthError> {
    let stack = s.name().to_string();
    let runtime = at.data.runtime(e.arch.value)?;
    let script = user_data(&stack, at.data, runtime, at.port)?;
    // With the gateway endpoint on the route tables the binary and releases stay on the AWS
    // network, from public and private subnets alike.
    let template = LaunchTemplateProps {
        name: format!("{stack}-ec2"),
        instance_type: e.instance_type().to_string(),
        arch: e.arch.value.as_str().to_string(),
        security_group_ids: vec![at.net.compute_sg.clone()],
        instance_profile_arn: need(&at.data.ec2_instance_profile_arn, "EC2 instance profile")?
            .to_string(),
        user_data: script,
        // IMDSv2 only; one hop, since nothing runs in containers on the host.
        metadata: Metadata {
            http_tokens: "required".into(),
            hop_limit: 1,
        },
        tags: Default::default(),
    };
    let template = s.add_typed("ec2", &template, true)?;
    let (min, max) = e
        .scaling
        .as_ref()
        .map_or((e.count.value, e.count.value), |sc| {
            (sc.value.min.value, sc.value.max.value)
        });
    let group = AutoscalingGroupProps {
        name: format!("{stack}-ec2"),
        launch_template_id: template.out("id"),
        launch_template_version: template.out("version"),
        min_size: int(min),
        max_size: int(max),
        desired_capacity: int(e.count.value.max(min).min(max)),
        subnet_ids: at.net.compute_subnet_ids.clone(),
        target_group_arns: vec![tg.out("arn")],
        health_check_grace_period: int(e.warmup.value),
        instance_warmup: int(e.warmup.value),
        min_healthy_percentage: int(e.min_healthy_percent.value),
        tags: Default::default(),
    };
    // The group is what launches instances, so it, not the template, waits for what they
    // need at boot: the mount targets, the release, the routes, the S3 endpoint and the
    // runtime binary's object.
    let after = at.after(&[&at.data.s3_endpoint, &runtime.object, at.forwarding]);
    let group = s.add_typed_after("ec2", &group, true, &after)?;
    let Some(sc) = &e.scaling else {
        return Ok(());
    };
    if let Some(n) = s.graph.nodes.get_mut(&group.address) {
        n.ignore_changes.insert("desired_capacity".into());
    }
    let t = Tracking::of(&sc.value, "ASGAverageCPUUtilization", at.lb, tg)?;
    let policy = AutoscalingPolicyProps {
        group_name: group.out("name"),
        policy_name: format!("{stack}-ec2"),
        metric: t.metric,
        target_value: t.target_value,
        load_balancer_arn: t.load_balancer_arn,
        target_group_arn: t.target_group_arn,
    };
    s.add_typed("ec2", &policy, false)?;
    Ok(())
}

/// A count the stack bounds (validate) as an API integer.
fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
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
        include_str!("../../../userdata/user-data.sh.j2"),
    )?;
    env.add_template(
        "wxrun.service",
        include_str!("../../../userdata/wxrun.service.j2"),
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
