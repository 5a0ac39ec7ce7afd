//! EC2: an Auto Scaling group launched from a template whose user data
//! (`userdata/user-data.sh.j2`) installs and starts the runtime.

use minijinja::{Environment, UndefinedBehavior, context};
use serde_json::json;

use super::{Data, Runtime, Shared, Synth, SynthError, need, tracking};
use crate::graph::Node;
use crate::stack::Ec2Spec;

/// EC2 through an Auto Scaling group: a launch template with everything an instance needs,
/// the group across the compute subnets in the EC2 target group (after the listener that
/// makes its health checks run), and with `scaling` a target-tracking policy that owns the
/// desired count from then on. Without `scaling`, `count` is min, max and desired.
pub(super) fn synth(s: &mut Synth, at: &Shared, e: &Ec2Spec, tg: &Node) -> Result<(), SynthError> {
    let stack = s.name().to_string();
    let script = user_data(&stack, at.data, at.data.runtime(e.arch.value)?, at.port)?;
    // With the gateway endpoint on the route tables the binary and releases stay on the AWS
    // network, from public and private subnets alike.
    let template = s.add_after(
        "aws.launch_template",
        "ec2",
        json!({
            "name": format!("{stack}-ec2"),
            "instance_type": e.instance_type(),
            "arch": e.arch.value.as_str(),
            "security_group_ids": [at.net.compute_sg],
            "instance_profile_arn": need(&at.data.ec2_instance_profile_arn, "EC2 instance profile")?,
            "user_data": script,
            // IMDSv2 only; one hop, since nothing runs in containers on the host.
            "metadata": {"http_tokens": "required", "hop_limit": 1},
        }),
        true,
        &at.after(&[&at.data.s3_endpoint]),
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
            "subnet_ids": at.net.compute_subnet_ids,
            "target_group_arns": [tg.out("arn")],
            "health_check_grace_period": e.warmup.value,
            "instance_warmup": e.warmup.value,
            "min_healthy_percentage": e.min_healthy_percent.value,
        }),
        true,
        &[at.forwarding],
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
    tracking(
        &mut policy,
        &sc.value,
        "ASGAverageCPUUtilization",
        at.lb,
        tg,
    )?;
    s.add("aws.autoscaling_policy", "ec2", policy, false)?;
    Ok(())
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
