//! Finds what a lost state forgot: resources tagged `wxinfra:stack=<name>`, deleted in an
//! order AWS accepts (dependents first) through each kind's own `delete`.
//!
//! [`ORDER`] is the whole policy: one line per kind, a finder that lists the stack's
//! resources of that kind by tag, and the tagging-API resource types the line covers. After
//! the sweep, the tagging API is asked for anything left whose type no line covers, so a kind
//! without a sweep line is reported instead of silently surviving a destroy.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::classify;
use super::tags::STACK_TAG;
use crate::engine::Hooks;
use crate::engine::retry::{RetryPolicy, with_retry};
use crate::provider::{Provider, ProviderError};

/// A resource the sweep found: its id and the properties its kind's `delete` needs.
pub type Found = (String, Value);

/// Lists one kind's resources of the stack, given every ARN the tagging API lists with the
/// stack's tag (read once per sweep).
type Finder =
    for<'a> fn(&'a AwsContext, &'a [String]) -> BoxFuture<'a, Result<Vec<Found>, ProviderError>>;

/// One kind the sweep handles.
pub struct Sweeper {
    pub kind: &'static str,
    /// Tagging-API resource types (`service:type`) this line deletes.
    pub arn_types: &'static [&'static str],
    pub find: Finder,
}

/// A line for a kind the tagging API lists, whose id `delete` takes is derived from the ARN.
macro_rules! tagged {
    ($kind:literal, $arn_type:literal, $id:expr) => {
        Sweeper {
            kind: $kind,
            arn_types: &[$arn_type],
            find: |_, arns| Box::pin(async move { Ok(tagged(arns, $arn_type, $id)) }),
        }
    };
}

/// Deletion order: everything a kind depends on comes after it. Listeners, target
/// registrations, Lambda permissions, S3 objects and OCI images go with their parents.
pub const ORDER: &[Sweeper] = &[
    // Deleting a group terminates its instances and deletes its scaling policies.
    Sweeper {
        kind: "aws.autoscaling_group",
        arn_types: &["autoscaling:autoScalingGroup"],
        find: |c, _| Box::pin(autoscaling_groups(c)),
    },
    // Deregistering a target deletes its scaling policies with it.
    Sweeper {
        kind: "aws.appautoscaling_target",
        arn_types: &["application-autoscaling:scalable-target"],
        find: |c, _| Box::pin(super::appautoscaling_target::stack_targets(c, &c.stack)),
    },
    Sweeper {
        kind: "aws.ecs_service",
        arn_types: &["ecs:service"],
        find: |_, arns| Box::pin(async move { Ok(tagged(arns, "ecs:service", ecs_service)) }),
    },
    tagged!("aws.lambda_function", "lambda:function", after_colon),
    tagged!("aws.lb", "elasticloadbalancing:loadbalancer", whole),
    tagged!("aws.lb_listener", "elasticloadbalancing:listener", whole),
    tagged!("aws.acm_certificate", "acm:certificate", whole),
    tagged!(
        "aws.lb_target_group",
        "elasticloadbalancing:targetgroup",
        whole
    ),
    tagged!("aws.instance", "ec2:instance", after_slash),
    Sweeper {
        kind: "aws.launch_template",
        arn_types: &["ec2:launch-template"],
        find: |c, _| Box::pin(launch_templates(c)),
    },
    tagged!("aws.ecs_cluster", "ecs:cluster", after_slash),
    tagged!("aws.ecs_task_definition", "ecs:task-definition", whole),
    Sweeper {
        kind: "aws.ecr_repository",
        arn_types: &["ecr:repository"],
        find: |c, _| Box::pin(ecr_repositories(c)),
    },
    tagged!("aws.vpc_endpoint", "ec2:vpc-endpoint", after_slash),
    tagged!(
        "aws.efs_access_point",
        "elasticfilesystem:access-point",
        after_slash
    ),
    Sweeper {
        kind: "aws.efs_mount_target",
        arn_types: &[],
        find: |c, arns| Box::pin(mount_targets(c, arns)),
    },
    tagged!(
        "aws.efs_file_system",
        "elasticfilesystem:file-system",
        after_slash
    ),
    tagged!("aws.s3_bucket", "s3", after_colon),
    tagged!("aws.log_group", "logs:log-group", log_group),
    Sweeper {
        kind: "aws.dynamodb_table",
        arn_types: &["dynamodb:table"],
        find: |c, _| Box::pin(dynamodb_tables(c)),
    },
    Sweeper {
        kind: "aws.iam_instance_profile",
        arn_types: &["iam:instance-profile"],
        find: |c, _| Box::pin(instance_profiles(c)),
    },
    Sweeper {
        kind: "aws.iam_role",
        arn_types: &["iam:role"],
        find: |c, _| Box::pin(roles(c)),
    },
    Sweeper {
        kind: "aws.security_group_rule",
        arn_types: &["ec2:security-group-rule"],
        find: |c, _| Box::pin(security_group_rules(c)),
    },
    tagged!("aws.security_group", "ec2:security-group", after_slash),
    Sweeper {
        kind: "aws.route_table_association",
        arn_types: &[],
        find: |c, _| Box::pin(route_table_associations(c)),
    },
    tagged!("aws.route_table", "ec2:route-table", after_slash),
    tagged!("aws.nat_gateway", "ec2:natgateway", after_slash),
    Sweeper {
        kind: "aws.eip",
        arn_types: &["ec2:elastic-ip"],
        find: |c, _| Box::pin(elastic_ips(c)),
    },
    tagged!("aws.internet_gateway", "ec2:internet-gateway", after_slash),
    tagged!("aws.subnet", "ec2:subnet", after_slash),
    tagged!("aws.vpc", "ec2:vpc", after_slash),
];

/// What a sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// (kind, id) of each resource deleted.
    pub deleted: Vec<(String, String)>,
    /// ARNs still tagged with the stack whose type no sweep line covers.
    pub uncovered: Vec<String>,
}

/// Deletes every resource still tagged with the stack, in [`ORDER`].
///
/// Every call is retried as the engine retries a step's (throttling, transient errors): the
/// sweep runs right after a destroy's burst of deletes, when AWS is most likely to throttle.
pub async fn sweep(
    ctx: &Arc<AwsContext>,
    retry: &RetryPolicy,
    hooks: &dyn Hooks,
) -> Result<Swept, ProviderError> {
    let provider = super::provider(ctx.clone());
    let mut swept = Swept::default();
    let arns = with_retry(retry, hooks, "sweep", || tagged_arns(ctx)).await?;
    for line in ORDER {
        let kind = provider.resource(line.kind).ok_or_else(|| {
            ProviderError::Api(format!("sweep line for unregistered kind {}", line.kind))
        })?;
        let found = with_retry(retry, hooks, line.kind, || (line.find)(ctx, &arns)).await?;
        for (id, props) in found {
            let address = format!("{} {id}", line.kind);
            // Deleted resources stay listed for a while (terminated instances, INACTIVE ECS
            // clusters and services); the kind's own read says they are gone. A read that
            // fails proves nothing, so the delete goes ahead and reports what is wrong.
            if let Ok(None) = with_retry(retry, hooks, &address, || kind.read(&id, &props)).await {
                continue;
            }
            with_retry(retry, hooks, &address, || kind.delete(&id, &props)).await?;
            swept.deleted.push((line.kind.to_string(), id));
        }
    }
    swept.uncovered = with_retry(retry, hooks, "sweep", || tagged_arns(ctx))
        .await?
        .into_iter()
        .filter(|arn| {
            let t = arn_type(arn);
            !ORDER.iter().any(|l| l.arn_types.contains(&t.as_str()))
        })
        .collect();
    Ok(swept)
}

/// `service:type` of an ARN, the tagging API's resource-type notation
/// (`arn:aws:ec2:r:a:vpc/vpc-1` → `ec2:vpc`; `arn:aws:s3:::bucket` → `s3`).
pub fn arn_type(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (service, resource) = (
        parts.get(2).copied().unwrap_or_default(),
        parts.get(5).copied().unwrap_or_default(),
    );
    match resource.find(['/', ':']) {
        Some(i) => format!("{service}:{}", &resource[..i]),
        None => service.to_string(),
    }
}

/// Every ARN the tagging API lists with the stack tag.
async fn tagged_arns(ctx: &AwsContext) -> Result<Vec<String>, ProviderError> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ctx
            .tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key(STACK_TAG)
                    .values(&ctx.stack)
                    .build(),
            )
            .set_pagination_token(token.take())
            .send()
            .await
            .map_err(classify)?;
        arns.extend(
            out.resource_tag_mapping_list()
                .iter()
                .filter_map(|m| m.resource_arn().map(str::to_string)),
        );
        match out.pagination_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(arns),
        }
    }
}

/// The stack's resources of one tagging-API type, with `delete`'s id derived by `id`.
fn tagged(arns: &[String], arn_type: &str, id: fn(&str) -> Option<Found>) -> Vec<Found> {
    arns.iter()
        .filter(|a| self::arn_type(a) == arn_type)
        .filter_map(|a| id(a))
        .collect()
}

fn whole(arn: &str) -> Option<Found> {
    Some((arn.to_string(), Value::Null))
}

/// `…:repository/name` → `name` (EC2, ECS clusters, ECR, EFS).
fn after_slash(arn: &str) -> Option<Found> {
    Some((arn.rsplit_once('/')?.1.to_string(), Value::Null))
}

/// `…:function:name` → `name`; `arn:aws:s3:::bucket` → `bucket`.
fn after_colon(arn: &str) -> Option<Found> {
    Some((arn.rsplit_once(':')?.1.to_string(), Value::Null))
}

/// `…:log-group:/wxinfra/s/lambda:*` → `/wxinfra/s/lambda`.
fn log_group(arn: &str) -> Option<Found> {
    let name = arn.split_once(":log-group:")?.1;
    Some((name.trim_end_matches(":*").to_string(), Value::Null))
}

/// `…:service/cluster/name`: the service's delete needs its cluster.
fn ecs_service(arn: &str) -> Option<Found> {
    let cluster = arn.rsplit('/').nth(1)?;
    Some((arn.to_string(), json!({"cluster": cluster})))
}

/// Mount targets carry no tags: those of the stack's file systems.
async fn mount_targets(ctx: &AwsContext, arns: &[String]) -> Result<Vec<Found>, ProviderError> {
    let mut out = Vec::new();
    for (fs, _) in tagged(arns, "elasticfilesystem:file-system", after_slash) {
        let mts = ctx
            .efs
            .describe_mount_targets()
            .file_system_id(&fs)
            .send()
            .await
            .map_err(classify)?;
        out.extend(ids(mts.mount_targets(), |m| Some(m.mount_target_id())));
    }
    Ok(out)
}

/// IAM is outside the tagging API: everything under the stack's path.
fn iam_path(ctx: &AwsContext) -> String {
    format!("/wxinfra/{}/", ctx.stack)
}

async fn instance_profiles(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .iam
        .list_instance_profiles()
        .path_prefix(iam_path(ctx))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(classify)?;
        out.extend(ids(page.instance_profiles(), |p| {
            Some(p.instance_profile_name())
        }));
    }
    Ok(out)
}

async fn roles(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .iam
        .list_roles()
        .path_prefix(iam_path(ctx))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        out.extend(ids(page.map_err(classify)?.roles(), |r| {
            Some(r.role_name())
        }));
    }
    Ok(out)
}

/// The stack's key-value tables, by name and stack tag (the tagging API does not list
/// DynamoDB tables everywhere it runs).
async fn dynamodb_tables(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let names = super::dynamodb_table::stack_tables(ctx, &ctx.stack).await?;
    Ok(names.into_iter().map(|n| (n, Value::Null)).collect())
}

async fn autoscaling_groups(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let groups = super::autoscaling_group::stack_groups(ctx, &ctx.stack).await?;
    Ok(ids(&groups, |g| g.auto_scaling_group_name()))
}

async fn launch_templates(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let ids = super::launch_template::stack_templates(ctx, &ctx.stack).await?;
    Ok(ids.into_iter().map(|i| (i, Value::Null)).collect())
}

fn stack_filter(ctx: &AwsContext) -> aws_sdk_ec2::types::Filter {
    super::tags::ec2_stack_filter(&ctx.stack)
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Option<&str>) -> Vec<Found> {
    items
        .iter()
        .filter_map(|i| Some((id(i)?.to_string(), Value::Null)))
        .collect()
}

async fn security_group_rules(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let mut out = Vec::new();
    let mut pages = ctx
        .ec2
        .describe_security_group_rules()
        .filters(stack_filter(ctx))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for r in page.map_err(classify)?.security_group_rules() {
            if let Some(id) = r.security_group_rule_id() {
                out.push((id.to_string(), super::security_group_rule::sweep_props(r)));
            }
        }
    }
    Ok(out)
}

/// The stack's ECR repositories, by their own tags.
async fn ecr_repositories(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    Ok(super::ecr_repository::tagged_repositories(ctx)
        .await?
        .into_iter()
        .filter(|(_, t)| t.get(STACK_TAG).and_then(Value::as_str) == Some(ctx.stack.as_str()))
        .filter_map(|(r, _)| Some((r.repository_name()?.to_string(), json!({}))))
        .collect())
}

/// The stack's Elastic IPs, by their own tags (not every tagging API lists addresses).
async fn elastic_ips(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_addresses()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| Some((a.allocation_id()?.to_string(), json!({}))))
        .collect())
}

/// Explicit associations of the stack's route tables (associations carry no tags).
async fn route_table_associations(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_route_tables()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(out
        .route_tables()
        .iter()
        .flat_map(|rt| rt.associations())
        .filter(|a| a.main() != Some(true))
        .filter_map(|a| {
            let id = a.route_table_association_id()?;
            Some((
                id.to_string(),
                json!({"route_table_id": a.route_table_id(), "subnet_id": a.subnet_id()}),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_types_follow_the_tagging_api_notation() {
        assert_eq!(arn_type("arn:aws:ec2:us-east-1:123:vpc/vpc-1"), "ec2:vpc");
        assert_eq!(
            arn_type("arn:aws:ec2:us-east-1:123:security-group-rule/sgr-1"),
            "ec2:security-group-rule"
        );
        assert_eq!(
            arn_type("arn:aws:logs:us-east-1:123:log-group:/wx/app"),
            "logs:log-group"
        );
        assert_eq!(arn_type("arn:aws:s3:::bucket"), "s3");
    }

    #[test]
    fn ids_come_from_arns_as_each_kind_deletes_them() {
        let id = |f: fn(&str) -> Option<Found>, arn: &str| f(arn).unwrap();
        assert_eq!(
            id(after_colon, "arn:aws:lambda:us-east-1:1:function:demo-app").0,
            "demo-app"
        );
        assert_eq!(
            id(after_colon, "arn:aws:s3:::demo-artifacts").0,
            "demo-artifacts"
        );
        assert_eq!(
            id(
                after_slash,
                "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-1"
            )
            .0,
            "fs-1"
        );
        assert_eq!(
            id(
                log_group,
                "arn:aws:logs:us-east-1:1:log-group:/wxinfra/demo/lambda:*"
            )
            .0,
            "/wxinfra/demo/lambda"
        );
        let (arn, props) = id(ecs_service, "arn:aws:ecs:us-east-1:1:service/demo/app");
        assert_eq!(arn, "arn:aws:ecs:us-east-1:1:service/demo/app");
        assert_eq!(props["cluster"], "demo");
    }

    #[test]
    fn every_kind_is_swept_before_what_it_depends_on() {
        let pos = |k: &str| ORDER.iter().position(|l| l.kind == k).unwrap();
        // (dependent, dependency) pairs as AWS enforces them.
        for (a, b) in [
            ("aws.lb_listener", "aws.lb_target_group"),
            ("aws.appautoscaling_target", "aws.ecs_service"),
            ("aws.ecs_service", "aws.ecs_cluster"),
            ("aws.ecs_service", "aws.lb_target_group"),
            ("aws.lambda_function", "aws.security_group"),
            ("aws.autoscaling_group", "aws.instance"),
            ("aws.autoscaling_group", "aws.launch_template"),
            ("aws.autoscaling_group", "aws.lb_target_group"),
            ("aws.launch_template", "aws.iam_instance_profile"),
            ("aws.instance", "aws.subnet"),
            ("aws.efs_mount_target", "aws.efs_file_system"),
            ("aws.efs_mount_target", "aws.security_group"),
            ("aws.efs_access_point", "aws.efs_file_system"),
            ("aws.vpc_endpoint", "aws.route_table"),
            ("aws.iam_instance_profile", "aws.iam_role"),
            ("aws.instance", "aws.iam_instance_profile"),
            ("aws.security_group_rule", "aws.security_group"),
            ("aws.security_group", "aws.vpc"),
            ("aws.route_table_association", "aws.route_table"),
            ("aws.route_table_association", "aws.subnet"),
            ("aws.route_table", "aws.internet_gateway"),
            ("aws.internet_gateway", "aws.vpc"),
            ("aws.subnet", "aws.vpc"),
        ] {
            assert!(pos(a) < pos(b), "{a} must be swept before {b}");
        }
    }
}
