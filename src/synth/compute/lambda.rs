//! Lambda: the function (the runtime as `bootstrap` on `provided.al2023`, in the compute
//! subnets with the access point mounted), and what puts it behind its target group: the
//! invoke permission before the registration and, with provisioned concurrency, a warm alias.

use serde_json::Value;

use super::{APP_DIR, Shared, Synth, SynthError, need, runtime_env};
use crate::aws::lambda_alias::LambdaAliasProps;
use crate::aws::lambda_function::{Code, FileSystem, LambdaFunctionProps, Logging};
use crate::aws::lambda_permission::LambdaPermissionProps;
use crate::aws::lambda_provisioned_concurrency::ProvisionedConcurrencyProps;
use crate::aws::lb_target_attachment::LbTargetAttachmentProps;
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
    let Value::Object(environment) = runtime_env(at.data, "lambda") else {
        unreachable!("the runtime environment is an object literal")
    };
    let props = LambdaFunctionProps {
        function_name: format!("{}-app", s.name()),
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        architecture: l.arch.value.as_str().into(),
        // Validate bounds both (10240 MiB, 900 s).
        memory_size: l.memory.value as i32,
        timeout: l.timeout.value as i32,
        reserved_concurrency: l.reserved_concurrency.as_ref().map(|r| r.value),
        // Provisioned concurrency runs on a published version behind an alias.
        publish: l.provisioned_concurrency.is_some(),
        role: need(&at.data.lambda_role_arn, "Lambda role")?.into(),
        code: Code {
            s3_bucket: at.data.bucket.clone(),
            s3_key: zip_key.clone(),
            sha256: zip_sha256.clone(),
        },
        subnet_ids: at.net.compute_subnet_ids.clone(),
        security_group_ids: vec![at.net.compute_sg.clone()],
        file_system: Some(FileSystem {
            arn: at.data.efs_access_point_arn.clone(),
            mount_path: APP_DIR.into(),
        }),
        environment,
        // Without it Lambda writes to /aws/lambda/<name>, where the role may not.
        logging: Some(Logging {
            log_group: need(&at.data.lambda_log_group, "Lambda log group")?.into(),
            log_format: "Text".into(),
        }),
    };
    // No public IP in a VPC: releases come from S3 through the gateway endpoint, and the
    // log group must exist (with its retention) before the first invocation.
    Ok(s.add_typed_after("app", &props, true, &at.after(&[&at.data.s3_endpoint]))?)
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
    let permission = LambdaPermissionProps {
        function_name: f.out("name"),
        qualifier,
        // One statement per target group, so a new group's is added before the old one's
        // goes.
        statement_id: tg.out("name"),
        action: "lambda:InvokeFunction".into(),
        principal: "elasticloadbalancing.amazonaws.com".into(),
        source_arn: tg.out("arn"),
    };
    let permission = s.add_typed("alb", &permission, false)?;
    // ELB refuses to register a function it may not invoke: permission first.
    let after: Vec<&str> = std::iter::once(permission.address.as_str())
        .chain(warm.iter().map(String::as_str))
        .collect();
    let attachment = LbTargetAttachmentProps {
        target_group_arn: tg.out("arn"),
        target_id: target,
        port: None,
    };
    s.add_typed_after("lambda", &attachment, false, &after)?;
    Ok(())
}
