//! Lambda: the function (the runtime as `bootstrap` on `provided.al2023`, in the compute
//! subnets with the access point mounted), and what puts it behind its target group: the
//! invoke permission before the registration and, with provisioned concurrency, a warm alias.

use serde_json::json;

use super::{APP_DIR, Shared, Synth, SynthError, need, runtime_env};
use crate::aws::lambda_alias::LambdaAliasProps;
use crate::aws::lambda_provisioned_concurrency::ProvisionedConcurrencyProps;
use crate::graph::Node;
use crate::stack::LambdaSpec;

pub(super) fn synth(
    s: &mut Synth,
    at: &Shared,
    l: &LambdaSpec,
    tg: &Node,
) -> Result<(), SynthError> {
    let f = function(s, at, l)?;
    registration(s, l, &f, tg)
}

fn function(s: &mut Synth, at: &Shared, l: &LambdaSpec) -> Result<Node, SynthError> {
    let (zip_key, zip_sha256) = at
        .data
        .lambda_zip
        .as_ref()
        .ok_or(SynthError::Missing("Lambda package"))?;
    // No public IP in a VPC: releases come from S3 through the gateway endpoint, and the
    // log group must exist (with its retention) before the first invocation.
    Ok(s.add_after(
        "aws.lambda_function",
        "app",
        json!({
            "function_name": format!("{}-app", s.name()),
            "runtime": "provided.al2023",
            "handler": "bootstrap",
            "architecture": l.arch.value.as_str(),
            "memory_size": l.memory.value,
            "timeout": l.timeout.value,
            "reserved_concurrency": l.reserved_concurrency.as_ref().map(|r| r.value),
            // Provisioned concurrency runs on a published version behind an alias.
            "publish": l.provisioned_concurrency.is_some(),
            "role": need(&at.data.lambda_role_arn, "Lambda role")?,
            "code": {
                "s3_bucket": at.data.bucket,
                "s3_key": zip_key,
                "sha256": zip_sha256,
            },
            "subnet_ids": at.net.compute_subnet_ids,
            "security_group_ids": [at.net.compute_sg],
            "file_system": {"arn": at.data.efs_access_point_arn, "mount_path": APP_DIR},
            "environment": runtime_env(at.data, "lambda"),
            // Without it Lambda writes to /aws/lambda/<name>, where the role may not.
            "logging": {
                "log_group": need(&at.data.lambda_log_group, "Lambda log group")?,
                "log_format": "Text",
            },
        }),
        true,
        &at.after(&[&at.data.s3_endpoint]),
    )?)
}

/// The load balancer's way in: the function itself, or with provisioned concurrency the
/// `live` alias, which is registered once its environments are warm.
fn registration(s: &mut Synth, l: &LambdaSpec, f: &Node, tg: &Node) -> Result<(), SynthError> {
    let (target, qualifier, warm) = match &l.provisioned_concurrency {
        Some(n) => {
            let alias = LambdaAliasProps {
                function_name: f.out("name"),
                name: "live".into(),
                function_version: f.out("version"),
            };
            let alias = s.add_typed("live", &alias, false)?;
            let warm = ProvisionedConcurrencyProps {
                function_name: f.out("name"),
                qualifier: alias.out("name"),
                // Validate bounds it by Lambda's maximum (900).
                provisioned_concurrent_executions: n.value as i32,
            };
            let warm = s.add_typed("live", &warm, false)?;
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
    Ok(())
}
