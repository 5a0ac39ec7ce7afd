//! `aws.lb_listener`: a listener of the load balancer. Its default action is a weighted
//! forward over the primitives' target groups (`forward`) or a redirect (`redirect:
//! {protocol, port, status_code}`, plain HTTP to HTTPS); an HTTPS listener carries
//! `certificate_arn` and `ssl_policy`. All of it changes in place (`ModifyListener`); only
//! another load balancer forces a new listener.

use async_trait::async_trait;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, ForwardActionConfig, Listener, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum, TargetGroupTuple,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, code, found};
use super::props::{Typed, typed};
use super::tags;
use super::wait;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};
use crate::stack::validate::MAX_WEIGHT;

pub struct LbListener(pub std::sync::Arc<AwsContext>);

/// The listener's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LbListenerProps {
    /// The load balancer the listener belongs to.
    pub load_balancer_arn: String,
    /// The port it listens on.
    pub port: u16,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// The server certificate of an HTTPS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    /// The TLS versions and ciphers an HTTPS listener accepts (an ELB security policy name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// What it does with every request.
    #[serde(flatten)]
    pub action: DefaultAction,
}

typed!(LbListenerProps, "aws.lb_listener", "listener");

/// A listener's default action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAction {
    /// Spread requests over target groups by weight.
    Forward(Vec<Forward>),
    /// Send clients elsewhere (plain HTTP to HTTPS).
    Redirect(Redirect),
}

/// One target group of a weighted forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    /// The group requests go to.
    pub target_group_arn: String,
    /// Its share of the requests, relative to the other groups' weights (0 sends none).
    pub weight: u32,
}

/// A redirect to the same host, path and query on another protocol and port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redirect {
    /// The protocol clients are sent to (`HTTPS`).
    pub protocol: String,
    /// The port clients are sent to.
    pub port: u16,
    /// `HTTP_301` (permanent) or `HTTP_302` (temporary).
    pub status_code: String,
}

/// A forward action takes at most this many target groups.
pub const MAX_FORWARD_GROUPS: usize = 5;

/// The weighted forward action over `groups`, checked against the limits ELB enforces:
/// 1..=5 groups, weights 0..=999.
pub fn forward_action(groups: &[Forward]) -> Result<Action, ProviderError> {
    if groups.is_empty() || groups.len() > MAX_FORWARD_GROUPS {
        return Err(ProviderError::Validation(format!(
            "a forward action takes 1 to {MAX_FORWARD_GROUPS} target groups, not {}",
            groups.len()
        )));
    }
    let mut tuples = Vec::new();
    for g in groups {
        let arn = &g.target_group_arn;
        if g.weight > MAX_WEIGHT {
            return Err(ProviderError::Validation(format!(
                "target group weight {} for {arn} is out of range 0..={MAX_WEIGHT}",
                g.weight
            )));
        }
        tuples.push(
            TargetGroupTuple::builder()
                .target_group_arn(arn)
                .weight(g.weight as i32)
                .build(),
        );
    }
    Ok(Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .set_target_groups(Some(tuples))
                .build(),
        )
        .build())
}

/// A redirect of every request to the same host, path and query on `redirect`'s protocol and
/// port.
fn redirect_action(redirect: &Redirect) -> Action {
    let config = RedirectActionConfig::builder()
        .protocol(&redirect.protocol)
        .port(redirect.port.to_string())
        .host("#{host}")
        .path("/#{path}")
        .query("#{query}")
        .status_code(RedirectActionStatusCodeEnum::from(
            redirect.status_code.as_str(),
        ))
        .build();
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(config)
        .build()
}

/// The ELB action of a listener's default action.
fn default_action(action: &DefaultAction) -> Result<Action, ProviderError> {
    match action {
        DefaultAction::Redirect(r) => Ok(redirect_action(r)),
        DefaultAction::Forward(groups) => forward_action(groups),
    }
}

/// The `redirect` property of a live listener, or null.
fn redirect_of(l: &Listener) -> Value {
    l.default_actions()
        .iter()
        .find_map(|a| a.redirect_config())
        .map(|r| {
            json!({
                "protocol": r.protocol(),
                "port": r.port().and_then(|p| p.parse::<u16>().ok()),
                "status_code": r.status_code().map(|c| c.as_str()),
            })
        })
        .unwrap_or(Value::Null)
}

/// The certificates of an HTTPS listener.
fn certificates(props: &LbListenerProps) -> Option<Vec<Certificate>> {
    props
        .certificate_arn
        .as_ref()
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
}

/// How long a create or change retries while ELB does not accept a just-issued certificate
/// yet: it answers `UnsupportedCertificate` or `CertificateNotFound` for a short while, and
/// the same call succeeds when retried (terraform-provider-aws #41789; aws-cdk #6081).
const CERTIFICATE_PROPAGATION: Duration = Duration::from_secs(120);

/// Whether ELB refused the listener's certificate as not (yet) usable.
fn certificate_not_accepted<E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    matches!(
        code(e),
        Some("UnsupportedCertificate" | "CertificateNotFound")
    )
}

/// The `forward` property of a live listener, in the order `applied` lists the groups.
fn forward_of(l: &Listener, applied: &Value) -> Value {
    let mut groups: Vec<(String, i64)> = l
        .default_actions()
        .iter()
        .filter(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .flat_map(|a| match a.forward_config() {
            Some(f) => f
                .target_groups()
                .iter()
                .map(|t| {
                    (
                        t.target_group_arn().unwrap_or_default().to_string(),
                        i64::from(t.weight().unwrap_or(1)),
                    )
                })
                .collect(),
            // A plain forward to one group carries no weights.
            None => a
                .target_group_arn()
                .map(|arn| vec![(arn.to_string(), 1)])
                .unwrap_or_default(),
        })
        .collect();
    let order: Vec<&str> = applied["forward"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["target_group_arn"].as_str())
        .collect();
    groups.sort_by_key(|(arn, _)| {
        (
            order.iter().position(|o| o == arn).unwrap_or(usize::MAX),
            arn.clone(),
        )
    });
    json!(
        groups
            .into_iter()
            .map(|(arn, weight)| json!({"target_group_arn": arn, "weight": weight}))
            .collect::<Vec<_>>()
    )
}

fn outputs(l: &Listener) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(l.listener_arn()));
    o
}

impl LbListener {
    async fn describe(&self, arn: &str) -> Result<Option<Listener>, ProviderError> {
        Ok(found(
            self.0
                .elb
                .describe_listeners()
                .listener_arns(arn)
                .send()
                .await,
            |e| e.is_listener_not_found_exception() || e.is_load_balancer_not_found_exception(),
        )?
        .and_then(|o| o.listeners().first().cloned()))
    }
}

#[async_trait]
impl Resource for LbListener {
    fn kind(&self) -> &'static str {
        LbListenerProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "load_balancer_arn"
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(l) = self.describe(id).await? else {
            return Ok(None);
        };
        let mut props = json!({
            "load_balancer_arn": l.load_balancer_arn(),
            "port": l.port(),
            "protocol": l.protocol().map(|p| p.as_str()),
            "tags": tags::elb_read(&self.0.elb, id).await?,
        });
        // Optional fields appear when they are live or were applied, so that a declared one
        // that went missing shows as drift and an undeclared absent one does not.
        let certificate = l
            .certificates()
            .first()
            .and_then(|c| c.certificate_arn())
            .map_or(Value::Null, |a| json!(a));
        let forward = forward_of(&l, applied);
        let forward = if forward.as_array().is_some_and(|f| f.is_empty()) {
            Value::Null
        } else {
            forward
        };
        for (field, live) in [
            ("forward", forward),
            ("redirect", redirect_of(&l)),
            ("certificate_arn", certificate),
            (
                "ssl_policy",
                l.ssl_policy().map_or(Value::Null, |p| json!(p)),
            ),
        ] {
            if !live.is_null() || applied.get(field).is_some() {
                props[field] = live;
            }
        }
        Ok(Some(Live {
            props,
            outputs: outputs(&l),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LbListenerProps::from_value(req.props)?;
        // CreateListener is idempotent for identical settings, so a re-run after a crash gets
        // the same listener back instead of a second one.
        let create = self
            .0
            .elb
            .create_listener()
            .load_balancer_arn(&p.load_balancer_arn)
            .protocol(ProtocolEnum::from(p.protocol.as_str()))
            .port(i32::from(p.port))
            .set_certificates(certificates(&p))
            .set_ssl_policy(p.ssl_policy.clone())
            .default_actions(default_action(&p.action)?)
            .set_tags(Some(tags::elb_tags(req.props)));
        let out =
            wait::while_propagating(CERTIFICATE_PROPAGATION, certificate_not_accepted, || {
                create.clone().send()
            })
            .await
            .map_err(classify)?;
        let l = out
            .listeners()
            .first()
            .cloned()
            .ok_or_else(|| ProviderError::Api("CreateListener returned no listener".into()))?;
        Ok(Created {
            id: l.listener_arn().unwrap_or_default().to_string(),
            outputs: outputs(&l),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| {
            matches!(
                f.as_str(),
                "port" | "protocol" | "forward" | "redirect" | "certificate_arn" | "ssl_policy"
            )
        }) {
            let want = LbListenerProps::from_value(new)?;
            let modify = self
                .0
                .elb
                .modify_listener()
                .listener_arn(id)
                .protocol(ProtocolEnum::from(want.protocol.as_str()))
                .port(i32::from(want.port))
                .set_certificates(certificates(&want))
                .set_ssl_policy(want.ssl_policy.clone())
                .default_actions(default_action(&want.action)?);
            wait::while_propagating(CERTIFICATE_PROPAGATION, certificate_not_accepted, || {
                modify.clone().send()
            })
            .await
            .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::elb_update(&self.0.elb, id, old, new).await?;
        }
        let mut o = Outputs::new();
        o.insert("arn".into(), json!(id));
        Ok(o)
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        accepted(
            self.0.elb.delete_listener().listener_arn(id).send().await,
            |e| e.is_listener_not_found_exception(),
        )?;
        Ok(())
    }

    // No orphan search (the default): CreateListener is idempotent (see `create`), so a
    // resumed create adopts the listener by creating again.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(arn: &str, weight: u32) -> Forward {
        Forward {
            target_group_arn: arn.into(),
            weight,
        }
    }

    fn groups(n: usize, weight: u32) -> Vec<Forward> {
        (0..n)
            .map(|i| group(&format!("arn:tg/{i}"), weight))
            .collect()
    }

    #[test]
    fn forward_carries_every_group_with_its_weight() {
        let a = forward_action(&[group("arn:tg/ec2", 3), group("arn:tg/lambda", 0)]).unwrap();
        let tgs = a.forward_config().unwrap().target_groups();
        assert_eq!(tgs.len(), 2);
        assert_eq!(tgs[0].target_group_arn(), Some("arn:tg/ec2"));
        assert_eq!(tgs[0].weight(), Some(3));
        assert_eq!(tgs[1].weight(), Some(0));
    }

    #[test]
    fn forward_allows_five_groups_and_weight_999() {
        assert!(forward_action(&groups(5, 999)).is_ok());
    }

    #[test]
    fn forward_rejects_a_sixth_group() {
        let e = forward_action(&groups(6, 1)).unwrap_err().to_string();
        assert!(e.contains("1 to 5 target groups, not 6"), "{e}");
    }

    #[test]
    fn forward_rejects_no_group() {
        assert!(forward_action(&[]).is_err());
    }

    #[test]
    fn a_redirect_keeps_host_path_and_query() {
        let p = LbListenerProps::from_value(&json!({
            "load_balancer_arn": "arn:lb", "port": 80, "protocol": "HTTP",
            "redirect": {"protocol": "HTTPS", "port": 443, "status_code": "HTTP_301"},
        }))
        .unwrap();
        let a = default_action(&p.action).unwrap();
        let r = a.redirect_config().unwrap();
        assert_eq!(a.r#type(), Some(&ActionTypeEnum::Redirect));
        assert_eq!(
            (r.protocol(), r.port(), r.host(), r.path(), r.query()),
            (
                Some("HTTPS"),
                Some("443"),
                Some("#{host}"),
                Some("/#{path}"),
                Some("#{query}")
            )
        );
        assert_eq!(
            r.status_code(),
            Some(&RedirectActionStatusCodeEnum::Http301)
        );
    }

    #[test]
    fn forward_rejects_weight_1000() {
        let e = forward_action(&groups(1, 1000)).unwrap_err().to_string();
        assert!(e.contains("out of range 0..=999"), "{e}");
    }
}
