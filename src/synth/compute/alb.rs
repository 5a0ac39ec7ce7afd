//! The Application Load Balancer: the balancer, one target group per configured primitive,
//! the listeners (HTTP, or HTTPS with a redirect and its certificate) and the endpoint.

use serde_json::{Value, json};

use super::{HEALTH_PATH, Network, Synth, SynthError};
use crate::graph::Node;
use crate::stack::LoadBalancerSpec;

/// The balancer, internet-facing in the public subnets, once the VPC has its internet path.
pub(super) fn load_balancer(s: &mut Synth, net: &Network) -> Result<Node, SynthError> {
    let spec = &s.stack.stack.load_balancer;
    let props = json!({
        "name": format!("{}-alb", s.name()),
        "scheme": "internet-facing",
        "subnets": net.subnet_ids,
        "security_groups": [net.alb_sg],
        "idle_timeout": spec.idle_timeout.value,
    });
    let internet: Vec<&str> = net.internet.iter().map(String::as_str).collect();
    Ok(s.add_after("aws.lb", "main", props, true, &internet)?)
}

/// The target group of each configured primitive, and the listener's weighted forward to
/// them, in a fixed order.
pub(super) struct TargetGroups {
    pub ec2: Option<Node>,
    pub fargate: Option<Node>,
    pub lambda: Option<Node>,
    pub forward: Vec<Value>,
}

pub(super) fn target_groups(s: &mut Synth, net: &Network) -> Result<TargetGroups, SynthError> {
    let stack = s.name().to_string();
    let spec = s.stack.stack.clone();
    let c = &spec.compute;
    let mut forward = Vec::new();
    let mut group = |s: &mut Synth, name: &str, target_type: &str, weight: u32| {
        let lambda = target_type == "lambda";
        let port = spec.runtime.port.value;
        let delay = spec.load_balancer.deregistration_delay.value;
        let tg = s.add(
            "aws.lb_target_group",
            name,
            json!({
                "name_prefix": format!("{stack}-{name}"),
                "target_type": target_type,
                "protocol": if lambda { Value::Null } else { json!("HTTP") },
                "port": if lambda { Value::Null } else { json!(port) },
                "vpc_id": if lambda { Value::Null } else { json!(net.vpc_id) },
                "health_check": health_check(lambda),
                "lambda_multi_value_headers": if lambda { json!(true) } else { Value::Null },
                "deregistration_delay": if lambda { Value::Null } else { json!(delay) },
            }),
            true,
        )?;
        forward.push(json!({"target_group_arn": tg.out("arn"), "weight": weight}));
        Ok::<_, SynthError>(tg)
    };
    let ec2 = (c.ec2.as_ref())
        .map(|e| group(s, "ec2", "instance", e.value.weight.value))
        .transpose()?;
    let fargate = (c.fargate.as_ref())
        .map(|f| group(s, "fargate", "ip", f.value.weight.value))
        .transpose()?;
    let lambda = (c.lambda.as_ref())
        .map(|l| group(s, "lambda", "lambda", l.value.weight.value))
        .transpose()?;
    Ok(TargetGroups {
        ec2,
        fargate,
        lambda,
        forward,
    })
}

/// Health check settings; Lambda gets a longer timeout for cold starts.
fn health_check(lambda: bool) -> Value {
    let (interval, timeout) = if lambda { (35, 30) } else { (15, 5) };
    json!({
        "path": HEALTH_PATH,
        "interval_seconds": interval,
        "timeout_seconds": timeout,
        "healthy_threshold": 2,
        "unhealthy_threshold": 3,
        "matcher": "200",
    })
}

/// The listeners: one forwarding plain HTTP on `port`, or, with a certificate, one
/// forwarding HTTPS on `https_port` and one redirecting `port` to it. Returns the forwarding
/// listener's address.
pub(super) fn listeners(
    s: &mut Synth,
    lb: &Node,
    forward: Vec<Value>,
) -> Result<String, SynthError> {
    let spec = s.stack.stack.load_balancer.clone();
    let http = |action: (&str, Value)| {
        let mut p = json!({
            "load_balancer_arn": lb.out("arn"),
            "port": spec.port.value,
            "protocol": "HTTP",
        });
        p[action.0] = action.1;
        p
    };
    let Some(certificate) = certificate(s, &spec)? else {
        let main = s.add(
            "aws.lb_listener",
            "main",
            http(("forward", json!(forward))),
            true,
        )?;
        return Ok(main.address);
    };
    let https = s.add(
        "aws.lb_listener",
        "https",
        json!({
            "load_balancer_arn": lb.out("arn"),
            "port": spec.https_port.value,
            "protocol": "HTTPS",
            "certificate_arn": certificate,
            "ssl_policy": spec.ssl_policy.value,
            "forward": forward,
        }),
        true,
    )?;
    // Plain HTTP redirects only once HTTPS answers.
    let redirect =
        json!({"protocol": "HTTPS", "port": spec.https_port.value, "status_code": "HTTP_301"});
    s.add_after(
        "aws.lb_listener",
        "main",
        http(("redirect", redirect)),
        true,
        &[&https.address],
    )?;
    if let (Some(domain), Some(zone)) = (&spec.domain, s.hosted_zone_id.clone()) {
        s.add(
            "aws.route53_record",
            "alias",
            json!({
                "zone_id": zone,
                "name": domain.value,
                "type": "A",
                "alias": {"dns_name": lb.out("dns_name"), "zone_id": lb.out("zone_id"), "evaluate_target_health": true},
            }),
            false,
        )?;
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
    let cert = s.add(
        "aws.acm_certificate",
        "main",
        json!({"domain_name": domain.value.trim_end_matches('.'), "validation_method": "DNS"}),
        true,
    )?;
    let record = s.add(
        "aws.route53_record",
        "validation",
        json!({
            "zone_id": zone,
            "name": cert.out("validation_record_name"),
            "type": cert.out("validation_record_type"),
            "ttl": 300,
            "records": [cert.out("validation_record_value")],
            "allow_overwrite": true,
        }),
        false,
    )?;
    let validation = s.add_after(
        "aws.acm_certificate_validation",
        "main",
        json!({"certificate_arn": cert.out("arn")}),
        false,
        &[&record.address],
    )?;
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
