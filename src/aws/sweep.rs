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
use crate::provider::{Provider, ProviderError};

/// A resource the sweep found: its id and the properties its kind's `delete` needs.
pub type Found = (String, Value);

type Finder = for<'a> fn(&'a AwsContext) -> BoxFuture<'a, Result<Vec<Found>, ProviderError>>;

/// One kind the sweep handles.
pub struct Sweeper {
    pub kind: &'static str,
    /// Tagging-API resource types (`service:type`) this line deletes.
    pub arn_types: &'static [&'static str],
    pub find: Finder,
}

/// Deletion order: everything a kind depends on comes after it.
pub const ORDER: &[Sweeper] = &[
    Sweeper {
        kind: "aws.security_group_rule",
        arn_types: &["ec2:security-group-rule"],
        find: |c| Box::pin(security_group_rules(c)),
    },
    Sweeper {
        kind: "aws.security_group",
        arn_types: &["ec2:security-group"],
        find: |c| Box::pin(security_groups(c)),
    },
    Sweeper {
        kind: "aws.route_table_association",
        arn_types: &[],
        find: |c| Box::pin(route_table_associations(c)),
    },
    Sweeper {
        kind: "aws.route_table",
        arn_types: &["ec2:route-table"],
        find: |c| Box::pin(route_tables(c)),
    },
    Sweeper {
        kind: "aws.internet_gateway",
        arn_types: &["ec2:internet-gateway"],
        find: |c| Box::pin(internet_gateways(c)),
    },
    Sweeper {
        kind: "aws.subnet",
        arn_types: &["ec2:subnet"],
        find: |c| Box::pin(subnets(c)),
    },
    Sweeper {
        kind: "aws.vpc",
        arn_types: &["ec2:vpc"],
        find: |c| Box::pin(vpcs(c)),
    },
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
pub async fn sweep(ctx: &Arc<AwsContext>) -> Result<Swept, ProviderError> {
    let provider = super::provider(ctx.clone());
    let mut swept = Swept::default();
    for line in ORDER {
        let kind = provider.resource(line.kind).ok_or_else(|| {
            ProviderError::Api(format!("sweep line for unregistered kind {}", line.kind))
        })?;
        for (id, props) in (line.find)(ctx).await? {
            kind.delete(&id, &props).await?;
            swept.deleted.push((line.kind.to_string(), id));
        }
    }
    swept.uncovered = tagged_arns(ctx)
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

fn stack_filter(ctx: &AwsContext) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{STACK_TAG}"))
        .values(&ctx.stack)
        .build()
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

async fn security_groups(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_security_groups()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(ids(out.security_groups(), |g| g.group_id()))
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

async fn route_tables(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_route_tables()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(ids(out.route_tables(), |r| r.route_table_id()))
}

async fn internet_gateways(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_internet_gateways()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(ids(out.internet_gateways(), |g| g.internet_gateway_id()))
}

async fn subnets(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_subnets()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(ids(out.subnets(), |s| s.subnet_id()))
}

async fn vpcs(ctx: &AwsContext) -> Result<Vec<Found>, ProviderError> {
    let out = ctx
        .ec2
        .describe_vpcs()
        .filters(stack_filter(ctx))
        .send()
        .await
        .map_err(classify)?;
    Ok(ids(out.vpcs(), |v| v.vpc_id()))
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
    fn every_kind_is_swept_before_what_it_depends_on() {
        let pos = |k: &str| ORDER.iter().position(|l| l.kind == k).unwrap();
        // (dependent, dependency) pairs as AWS enforces them.
        for (a, b) in [
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
