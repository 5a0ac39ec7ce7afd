//! The Application Load Balancer: the balancer, one target group per configured primitive,
//! the listeners (HTTP, or HTTPS with a redirect and its certificate) and the endpoint.

use super::{HEALTH_PATH, Network, Synth, SynthError};
use crate::aws::acm_certificate::AcmCertificateProps;
use crate::aws::acm_certificate_validation::AcmCertificateValidationProps;
use crate::aws::internet_gateway::InternetGatewayProps;
use crate::aws::lb::LbProps;
use crate::aws::lb_listener::{DefaultAction, Forward, LbListenerProps, Redirect};
use crate::aws::lb_target_group::{HealthCheck, LbTargetGroupProps, TargetType};
use crate::aws::props::Typed;
use crate::aws::route53_record::{Alias, RecordValue, Route53RecordProps};
use crate::graph::Node;
use crate::stack::LoadBalancerSpec;

/// The balancer, internet-facing in the public subnets, once the VPC has its internet
/// gateway: AWS refuses one in a VPC with none ("InvalidSubnet: VPC … has no internet
/// gateway"). The gateway attachment is all it needs (CloudFormation's DependsOn guide names
/// it, not the routes), so it does not wait for the route table: compute does.
pub(super) fn load_balancer(s: &mut Synth, net: &Network) -> Result<Node, SynthError> {
    let spec = &s.stack.stack.load_balancer;
    let props = LbProps {
        name: format!("{}-alb", s.name()),
        scheme: "internet-facing".into(),
        subnets: net.subnet_ids.clone(),
        security_groups: vec![net.alb_sg.clone()],
        idle_timeout: spec.idle_timeout.value,
    };
    let gateway: Vec<&str> = net
        .internet
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with(InternetGatewayProps::KIND))
        .collect();
    Ok(s.add_typed_after("main", &props, true, &gateway)?)
}

/// The target group of each configured primitive, and the listener's weighted forward to
/// them, in a fixed order.
pub(super) struct TargetGroups {
    pub ec2: Option<Node>,
    pub fargate: Option<Node>,
    pub lambda: Option<Node>,
    pub forward: Vec<Forward>,
}

pub(super) fn target_groups(s: &mut Synth, net: &Network) -> Result<TargetGroups, SynthError> {
    let stack = s.name().to_string();
    let spec = s.stack.stack.clone();
    let c = &spec.compute;
    let mut forward = Vec::new();
    let mut group = |s: &mut Synth, name: &str, target_type: TargetType, weight: u32| {
        let lambda = target_type == TargetType::Lambda;
        let props = LbTargetGroupProps {
            name_prefix: format!("{stack}-{name}"),
            target_type,
            protocol: (!lambda).then(|| "HTTP".into()),
            port: (!lambda).then_some(spec.runtime.port.value),
            vpc_id: (!lambda).then(|| net.vpc_id.clone()),
            health_check: health_check(lambda),
            lambda_multi_value_headers: lambda.then_some(true),
            deregistration_delay: (!lambda)
                .then_some(spec.load_balancer.deregistration_delay.value),
        };
        let tg = s.add_typed(name, &props, true)?;
        forward.push(Forward {
            target_group_arn: tg.out("arn"),
            weight,
        });
        Ok::<_, SynthError>(tg)
    };
    let ec2 = (c.ec2.as_ref())
        .map(|e| group(s, "ec2", TargetType::Instance, e.value.weight.value))
        .transpose()?;
    let fargate = (c.fargate.as_ref())
        .map(|f| group(s, "fargate", TargetType::Ip, f.value.weight.value))
        .transpose()?;
    let lambda = (c.lambda.as_ref())
        .map(|l| group(s, "lambda", TargetType::Lambda, l.value.weight.value))
        .transpose()?;
    Ok(TargetGroups {
        ec2,
        fargate,
        lambda,
        forward,
    })
}

/// Health check settings; Lambda gets a longer timeout for cold starts.
fn health_check(lambda: bool) -> HealthCheck {
    let (interval, timeout) = if lambda { (35, 30) } else { (15, 5) };
    HealthCheck {
        path: HEALTH_PATH.into(),
        interval_seconds: interval,
        timeout_seconds: timeout,
        healthy_threshold: 2,
        unhealthy_threshold: 3,
        matcher: "200".into(),
    }
}

/// The listeners: one forwarding plain HTTP on `port`, or, with a certificate, one
/// forwarding HTTPS on `https_port` and one redirecting `port` to it. Returns the forwarding
/// listener's address.
pub(super) fn listeners(
    s: &mut Synth,
    lb: &Node,
    forward: Vec<Forward>,
) -> Result<String, SynthError> {
    let spec = s.stack.stack.load_balancer.clone();
    let http = |action: DefaultAction| LbListenerProps {
        load_balancer_arn: lb.out("arn"),
        port: spec.port.value,
        protocol: "HTTP".into(),
        certificate_arn: None,
        ssl_policy: None,
        action,
    };
    let Some(certificate) = certificate(s, &spec)? else {
        let main = s.add_typed("main", &http(DefaultAction::Forward(forward)), true)?;
        return Ok(main.address);
    };
    let https = LbListenerProps {
        load_balancer_arn: lb.out("arn"),
        port: spec.https_port.value,
        protocol: "HTTPS".into(),
        certificate_arn: Some(certificate),
        ssl_policy: Some(spec.ssl_policy.value.clone()),
        action: DefaultAction::Forward(forward),
    };
    let https = s.add_typed("https", &https, true)?;
    // Plain HTTP redirects only once HTTPS answers.
    let redirect = DefaultAction::Redirect(Redirect {
        protocol: "HTTPS".into(),
        port: spec.https_port.value,
        status_code: "HTTP_301".into(),
    });
    s.add_typed_after("main", &http(redirect), true, &[&https.address])?;
    if let (Some(domain), Some(zone)) = (&spec.domain, s.hosted_zone_id.clone()) {
        let alias = Route53RecordProps {
            zone_id: zone,
            name: domain.value.clone(),
            r#type: "A".into(),
            value: RecordValue::Alias {
                alias: Alias {
                    dns_name: lb.out("dns_name"),
                    zone_id: lb.out("zone_id"),
                    evaluate_target_health: true,
                },
            },
            allow_overwrite: None,
        };
        s.add_typed("alias", &alias, false)?;
    }
    Ok(https.address)
}

/// The HTTPS listener's certificate: the stack's `certificate_arn`, or a reference to the
/// issued certificate wxinfra requests for `domain` and validates in `hosted_zone`; `None`
/// without HTTPS.
fn certificate(s: &mut Synth, spec: &LoadBalancerSpec) -> Result<Option<String>, SynthError> {
    if let Some(arn) = &spec.certificate_arn {
        return Ok(Some(arn.value.clone()));
    }
    let (Some(domain), Some(zone)) = (&spec.domain, s.hosted_zone_id.clone()) else {
        return Ok(None);
    };
    let cert = AcmCertificateProps {
        domain_name: domain.value.trim_end_matches('.').into(),
        validation_method: "DNS".into(),
    };
    let cert = s.add_typed("main", &cert, true)?;
    // ACM's record for a domain is the same for every certificate of the account, so it may
    // be there already.
    let record = Route53RecordProps {
        zone_id: zone,
        name: cert.out("validation_record_name"),
        r#type: cert.out("validation_record_type"),
        value: RecordValue::Records {
            ttl: 300,
            records: vec![cert.out("validation_record_value")],
        },
        allow_overwrite: Some(true),
    };
    let record = s.add_typed("validation", &record, false)?;
    let validation = AcmCertificateValidationProps {
        certificate_arn: cert.out("arn"),
    };
    let validation = s.add_typed_after("main", &validation, false, &[&record.address])?;
    Ok(Some(validation.out("certificate_arn")))
}

/// Where clients reach the app: the domain or the load balancer's name, on the HTTPS port
/// when there is one.
pub(super) fn endpoint(spec: &LoadBalancerSpec, lb: &Node) -> String {
    let (scheme, port, default) = if spec.https() {
        ("https", spec.https_port.value, 443)
    } else {
        ("http", spec.port.value, 80)
    };
    let host = spec.domain.as_ref().map_or_else(
        || lb.out("dns_name"),
        |d| d.value.trim_end_matches('.').to_string(),
    );
    let port = if port == default {
        String::new()
    } else {
        format!(":{port}")
    };
    format!("{scheme}://{host}{port}")
}
