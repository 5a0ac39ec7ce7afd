//! `aws.lb_target_group`: one target group per compute primitive (`instance` for EC2, `ip` for
//! Fargate, `lambda` for Lambda). Name prefix, target type, protocol, port and VPC force a new
//! group; the health check, Lambda's multi-value headers, the deregistration delay and tags
//! change in place.
//!
//! A group is named `<name_prefix>-<suffix>`, the suffix taken from the create's token, so a
//! replacement is made before its predecessor goes (create before destroy): the listener, the
//! Auto Scaling group, the ECS service and the Lambda registration move to the new group while
//! the old one still serves, and the old one is deleted last. Groups made before the prefix
//! existed are named exactly their prefix and are kept as they are.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct LbTargetGroup(pub std::sync::Arc<AwsContext>);

/// The target group's properties. A Lambda group has no protocol, port, VPC or
/// deregistration delay, and the others no multi-value headers: synth writes those as null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LbTargetGroupProps {
    /// The start of the group's name; create appends a suffix (see the module comment).
    pub name_prefix: String,
    /// What the group's targets are.
    pub target_type: TargetType,
    /// The protocol the load balancer speaks to the targets (`HTTP`).
    pub protocol: Option<String>,
    /// The port the targets listen on.
    pub port: Option<u16>,
    /// The VPC the targets are in.
    pub vpc_id: Option<String>,
    /// How the load balancer checks that a target serves.
    pub health_check: HealthCheck,
    /// Whether a Lambda target gets repeated headers and query parameters as lists.
    pub lambda_multi_value_headers: Option<bool>,
    /// Seconds in-flight requests may finish on a target being deregistered.
    pub deregistration_delay: Option<u32>,
}

typed!(LbTargetGroupProps, "aws.lb_target_group", "target group");

/// The kind of target a group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// EC2 instances, by instance id.
    Instance,
    /// IP addresses (Fargate tasks' network interfaces).
    Ip,
    /// One Lambda function (alias).
    Lambda,
}

impl From<TargetType> for TargetTypeEnum {
    fn from(t: TargetType) -> Self {
        match t {
            TargetType::Instance => TargetTypeEnum::Instance,
            TargetType::Ip => TargetTypeEnum::Ip,
            TargetType::Lambda => TargetTypeEnum::Lambda,
        }
    }
}

/// The health check of a group's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The path requested from each target.
    pub path: String,
    /// Seconds between two checks of a target.
    pub interval_seconds: i32,
    /// Seconds without an answer that fail a check.
    pub timeout_seconds: i32,
    /// Checks in a row that make an unhealthy target healthy.
    pub healthy_threshold: i32,
    /// Checks in a row that make a healthy target unhealthy.
    pub unhealthy_threshold: i32,
    /// The HTTP codes a healthy answer has (`200`).
    pub matcher: String,
}

const MULTI_VALUE: &str = "lambda.multi_value_headers.enabled";
/// Seconds ELB lets in-flight requests finish on a deregistered target (AWS's default, 300 s,
/// makes every destroy and replacement wait five minutes).
const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// How long a delete waits for ELB to let go of a group whose listener was just deleted.
const IN_USE: Duration = Duration::from_secs(300);

/// Sets a [`HealthCheck`] on a CreateTargetGroup or ModifyTargetGroup call.
macro_rules! with_health_check {
    ($call:expr, $hc:expr) => {{
        let hc: &HealthCheck = $hc;
        $call
            .health_check_path(&hc.path)
            .health_check_interval_seconds(hc.interval_seconds)
            .health_check_timeout_seconds(hc.timeout_seconds)
            .healthy_threshold_count(hc.healthy_threshold)
            .unhealthy_threshold_count(hc.unhealthy_threshold)
            .matcher(Matcher::builder().http_code(&hc.matcher).build())
    }};
}

fn outputs(tg: &TargetGroup) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(tg.target_group_arn()));
    o.insert("name".into(), json!(tg.target_group_name()));
    o
}

/// Health check settings as the `health_check` property.
fn health_check(tg: &TargetGroup) -> Value {
    json!({
        "path": tg.health_check_path(),
        "interval_seconds": tg.health_check_interval_seconds(),
        "timeout_seconds": tg.health_check_timeout_seconds(),
        "healthy_threshold": tg.healthy_threshold_count(),
        "unhealthy_threshold": tg.unhealthy_threshold_count(),
        "matcher": tg.matcher().and_then(|m| m.http_code()),
    })
}

/// Characters of a group name's suffix: 3 base-36 digits of the token fit the 32-character
/// limit after the longest prefix (`<20-character stack>-fargate`).
const SUFFIX_LEN: usize = 3;

/// The group name a create with `token` makes.
fn name(prefix: &str, token: &str) -> String {
    let mut n = u64::from_str_radix(&token[..token.len().min(12)], 16).unwrap_or(0);
    let suffix: String = (0..SUFFIX_LEN)
        .map(|_| {
            let d = (n % 36) as u32;
            n /= 36;
            char::from_digit(d, 36).unwrap_or('0')
        })
        .collect();
    format!("{prefix}-{suffix}")
}

/// The `name_prefix` a live group reads as: the applied prefix when its name carries it, and
/// for a group named before prefixes (or by hand) its whole name.
fn prefix_of(live_name: &str, applied: &Value) -> String {
    match applied["name_prefix"].as_str() {
        Some(p)
            if live_name
                .strip_prefix(p)
                .is_some_and(|rest| rest.len() == SUFFIX_LEN + 1 && rest.starts_with('-')) =>
        {
            p.to_string()
        }
        _ => live_name.to_string(),
    }
}

impl LbTargetGroup {
    async fn describe(&self, arn: &str) -> Result<Option<TargetGroup>, ProviderError> {
        Ok(found(
            self.0
                .elb
                .describe_target_groups()
                .target_group_arns(arn)
                .send()
                .await,
            |e| e.is_target_group_not_found_exception(),
        )?
        .and_then(|o| o.target_groups().first().cloned()))
    }

    /// Sets the attributes the properties name (Lambda's multi-value headers, the
    /// deregistration delay of instance and ip groups); nothing when they name none.
    async fn set_attributes(
        &self,
        arn: &str,
        props: &LbTargetGroupProps,
    ) -> Result<(), ProviderError> {
        let attributes = attributes(props);
        if attributes.is_empty() {
            return Ok(());
        }
        self.0
            .elb
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// The target group attributes the properties set, as ModifyTargetGroupAttributes takes them.
fn attributes(props: &LbTargetGroupProps) -> Vec<TargetGroupAttribute> {
    let attribute = |key: &str, value: String| {
        TargetGroupAttribute::builder()
            .key(key)
            .value(value)
            .build()
    };
    let multi_value = props
        .lambda_multi_value_headers
        .map(|on| attribute(MULTI_VALUE, on.to_string()));
    let delay = props
        .deregistration_delay
        .map(|s| attribute(DEREGISTRATION_DELAY, s.to_string()));
    multi_value.into_iter().chain(delay).collect()
}

#[async_trait]
impl Resource for LbTargetGroup {
    fn kind(&self) -> &'static str {
        LbTargetGroupProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "name_prefix" | "target_type" | "protocol" | "port" | "vpc_id"
        )
    }

    /// Each group has its own name (see the module comment), so two can exist at once.
    fn create_before_destroy(&self, _changed: &[String]) -> bool {
        true
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(tg) = self.describe(id).await? else {
            return Ok(None);
        };
        let lambda = tg.target_type() == Some(&TargetTypeEnum::Lambda);
        // Sent together: a no-change plan waits on each resource's round trips.
        let attrs = async {
            self.0
                .elb
                .describe_target_group_attributes()
                .target_group_arn(id)
                .send()
                .await
                .map_err(classify)
        };
        let (attrs, tags) = tokio::try_join!(attrs, tags::elb_read(&self.0.elb, id))?;
        let attr = |key: &str| {
            attrs
                .attributes()
                .iter()
                .find(|a| a.key() == Some(key))
                .and_then(|a| a.value())
        };
        // Lambda groups have multi-value headers and no deregistration delay; the others the
        // other way round.
        let multi_value = lambda.then(|| attr(MULTI_VALUE) == Some("true"));
        let delay = if lambda {
            None
        } else {
            attr(DEREGISTRATION_DELAY).and_then(|v| v.parse::<u64>().ok())
        };
        let props = json!({
            "name_prefix": prefix_of(tg.target_group_name().unwrap_or_default(), applied),
            "target_type": tg.target_type().map(|t| t.as_str()),
            // A Lambda target group has no protocol, port or VPC.
            "protocol": if lambda { None } else { tg.protocol().map(|p| p.as_str()) },
            "port": if lambda { None } else { tg.port() },
            "vpc_id": if lambda { None } else { tg.vpc_id() },
            "health_check": health_check(&tg),
            "lambda_multi_value_headers": multi_value,
            "deregistration_delay": delay,
            "tags": tags,
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&tg),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LbTargetGroupProps::from_value(req.props)?;
        let create = self
            .0
            .elb
            .create_target_group()
            .name(name(&p.name_prefix, req.token))
            .target_type(p.target_type.into())
            .set_protocol(p.protocol.as_deref().map(ProtocolEnum::from))
            .set_port(p.port.map(i32::from))
            .set_vpc_id(p.vpc_id.clone())
            .health_check_enabled(true);
        let out = with_health_check!(create, &p.health_check)
            .set_tags(Some(tags::elb_tags(req.props)))
            .send()
            .await
            .map_err(classify)?;
        let tg = out
            .target_groups()
            .first()
            .cloned()
            .ok_or_else(|| ProviderError::Api("CreateTargetGroup returned no group".into()))?;
        let arn = tg.target_group_arn().unwrap_or_default().to_string();
        self.set_attributes(&arn, &p).await?;
        Ok(Created {
            id: arn,
            outputs: outputs(&tg),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let want = LbTargetGroupProps::from_value(new)?;
        if changed.iter().any(|f| f == "health_check") {
            let modify = self.0.elb.modify_target_group().target_group_arn(id);
            with_health_check!(modify, &want.health_check)
                .send()
                .await
                .map_err(classify)?;
        }
        if changed
            .iter()
            .any(|f| f == "lambda_multi_value_headers" || f == "deregistration_delay")
        {
            self.set_attributes(id, &want).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::elb_update(&self.0.elb, id, old, new).await?;
        }
        let tg = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })?;
        Ok(outputs(&tg))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // A group already gone is deleted (a resent delete whose first answer was lost meets
        // TargetGroupNotFound). Right after the listener that forwarded to it is deleted, ELB
        // still reports it in use for a while.
        let elb = &self.0.elb;
        wait::delete_while_busy(
            "target group",
            IN_USE,
            || elb.delete_target_group().target_group_arn(id).send(),
            // DeleteTargetGroup models no not-found error: its code is all there is.
            |e| e.code() == Some("TargetGroupNotFound"),
            |e| e.is_resource_in_use_exception(),
        )
        .await
    }

    /// The group of this address whose name carries this create's token (its predecessor
    /// may still be there, tagged with the same address).
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let arns = tags::find_arns(
            &self.0.tagging,
            "elasticloadbalancing:targetgroup",
            stack,
            address,
        )
        .await?;
        let suffix = name("", token);
        for arn in arns {
            if let Some(tg) = self.describe(&arn).await?
                && tg.target_group_name().is_some_and(|n| n.ends_with(&suffix))
            {
                return Ok(Some(Created {
                    id: arn,
                    outputs: outputs(&tg),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_suffix_from_the_token_within_elbs_limit() {
        let token = "0123456789abcdef0123456789abcdef";
        let longest = name("abcdefghijklmnopqrst-fargate", token);
        assert_eq!(longest.len(), 32, "{longest}");
        assert_eq!(name("demo-ec2", token), name("demo-ec2", token));
        assert_ne!(
            name("demo-ec2", token),
            name("demo-ec2", "fedcba9876543210fedcba9876543210")
        );
        assert!(name("demo-ec2", token).starts_with("demo-ec2-"));
        assert!(
            name("", token)
                .chars()
                .skip(1)
                .all(|c| c.is_ascii_alphanumeric())
        );
    }

    #[test]
    fn a_group_reads_as_its_prefix_and_an_older_one_as_its_name() {
        let applied = json!({"name_prefix": "demo-ec2"});
        let made = name("demo-ec2", "00ff00ff00ff00ff00ff00ff00ff00ff");
        assert_eq!(prefix_of(&made, &applied), "demo-ec2");
        // Named before prefixes: its name is the prefix synth now asks for, so no change.
        assert_eq!(
            prefix_of("demo-ec2", &json!({"name": "demo-ec2"})),
            "demo-ec2"
        );
        assert_eq!(prefix_of("demo-ec2", &applied), "demo-ec2");
        // Another prefix is a real difference.
        assert_eq!(prefix_of("other-ec2-abc", &applied), "other-ec2-abc");
    }
}
