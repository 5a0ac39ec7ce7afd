//! Semantic checks of a parsed stack: pure, no network. Each rule mirrors a limit AWS or
//! the runtime enforces, so a bad value fails here instead of halfway through an apply.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_saphyr::Spanned;

use super::diag::StackDiagnostic;
use super::model::{
    Arch, BackendKind, LoadedStack, ScalingSpec, Stack, StateSpec, SubnetPlacement, VpcMode,
};

/// Longest stack name: it prefixes names such as `<name>-fargate` target groups (32 chars).
pub const MAX_NAME_LEN: usize = 20;
/// ALB forward actions take at most five target groups, weights 0..=999.
pub const MAX_WEIGHT: u32 = 999;
/// Upper bound of a scaling range: well inside ECS's 5,000 tasks per service, and a guard
/// against a typo that would scale a bill.
pub const MAX_SCALE: u32 = 1000;
/// Upper bound of provisioned concurrency: the default account quota leaves 900 of its 1,000
/// to reserve, and every environment is billed by the hour, so a typo costs.
pub const MAX_PROVISIONED: u32 = 900;
pub const LAMBDA_MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10240;
pub const LAMBDA_TIMEOUT_S: std::ops::RangeInclusive<u32> = 1..=900;
/// CloudWatch Logs accepts only these retention periods.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// EFS lifecycle `TransitionToIA` values, in days (0 = never).
pub const EFS_IA_DAYS: &[u32] = &[0, 1, 7, 14, 30, 60, 90, 180, 270, 365];

/// Collects problems into a list so one run reports all of them.
struct Checker<'a> {
    stack: &'a LoadedStack,
    problems: Vec<StackDiagnostic>,
}

impl Checker<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, message: impl Into<String>, help: impl Into<String>) {
        self.problems.push(StackDiagnostic::new(
            &self.stack.path,
            at.referenced,
            message,
            help,
        ));
    }

    fn range(&mut self, at: &Spanned<u32>, what: &str, range: std::ops::RangeInclusive<u32>) {
        if !range.contains(&at.value) {
            let (lo, hi) = (range.start(), range.end());
            self.err(
                at,
                format!("{what} {} is out of range", at.value),
                format!("use a value from {lo} to {hi}"),
            );
        }
    }

    /// `at`, written in the file but meaningless unless `needs` holds: an error saying so.
    fn only_with<T>(&mut self, at: &Spanned<T>, needs: bool, what: &str, help: &str) {
        if !needs && given(at) {
            self.err(
                at,
                format!("{what} is only used {help}"),
                format!("remove it, or use it {help}"),
            );
        }
    }

    fn cidr(&mut self, at: &Spanned<String>, what: &str) -> Option<Ipv4Net> {
        match at.value.parse::<Ipv4Net>() {
            Ok(net) if net.network() == net.addr() => Some(net),
            Ok(net) => {
                self.err(
                    at,
                    format!("{what} `{}` has host bits set", at.value),
                    format!("did you mean `{}`?", net.trunc()),
                );
                None
            }
            Err(_) => {
                self.err(
                    at,
                    format!("{what} `{}` is not an IPv4 CIDR block", at.value),
                    "write it as address/prefix, e.g. 10.42.0.0/16",
                );
                None
            }
        }
    }
}

/// Returns every problem found, in file order; empty means valid.
pub fn validate(loaded: &LoadedStack) -> Vec<StackDiagnostic> {
    let mut c = Checker {
        stack: loaded,
        problems: Vec::new(),
    };
    let s = &loaded.stack;
    check_identity(&mut c, s);
    check_app(&mut c, loaded);
    check_network(&mut c, s);
    check_services(&mut c, s);
    check_compute(&mut c, s);
    if let Some(st) = &s.state {
        check_state(&mut c, st);
    }
    if let Some(k8s) = &s.kubernetes {
        check_release_bucket(&mut c, s, k8s);
        super::kubernetes_validate::check(k8s, &mut |at, msg, help| {
            c.problems
                .push(StackDiagnostic::new(&loaded.path, at, msg, help))
        });
    }
    c.problems.sort_by_key(|d| (d.line, d.column));
    c.problems
}

/// A Kubernetes release source on S3 whose bucket reads as this stack's (`<stack>-…`) must be
/// the artifact bucket `apply` creates, `<stack>-artifacts-<account>-<region>`: any other
/// such name is a bucket nobody creates, which anyone may register and fill with releases.
fn check_release_bucket(c: &mut Checker, s: &Stack, k8s: &super::kubernetes::KubernetesSpec) {
    let Some(r) = k8s.release.as_ref().filter(|r| r.endpoint.is_none()) else {
        return;
    };
    let stack = s.name.value.as_str();
    let Some(bucket) = r
        .source
        .value
        .strip_prefix("s3://")
        .map(|b| b.split('/').next().unwrap_or(""))
    else {
        return;
    };
    let region = s.region.as_ref().map(|r| r.value.as_str());
    if bucket.starts_with(&format!("{stack}-")) && !is_artifact_bucket(stack, region, bucket) {
        let example =
            crate::aws::s3_bucket::bucket_name(stack, "<account>", region.unwrap_or("<region>"));
        c.err(
            &r.source,
            format!(
                "release source bucket `{bucket}` reads as this stack's, but apply never creates it (anyone could register it)"
            ),
            format!(
                "use the artifact bucket apply creates, s3://{example}/releases, or a bucket you own"
            ),
        );
    }
}

/// Whether `bucket` is the artifact bucket apply creates for `stack` in some account (in
/// `region`, when the stack names one).
fn is_artifact_bucket(stack: &str, region: Option<&str>, bucket: &str) -> bool {
    let Some(at) = bucket.rfind("-artifacts-") else {
        return false;
    };
    let Some((account, in_region)) = bucket[at + "-artifacts-".len()..].split_once('-') else {
        return false;
    };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && region.is_none_or(|r| r == in_region)
        && crate::aws::s3_bucket::bucket_name(stack, account, in_region) == bucket
}

/// The `state:` section, by the same rules `--backend-config` overrides are checked with.
fn check_state(c: &mut Checker, st: &StateSpec) {
    use crate::state::backend;
    let mut rule = |at: &Spanned<String>, r: Result<(), (String, String)>| {
        if let Err((msg, help)) = r {
            c.err(at, msg, help);
        }
    };
    if let Some(b) = &st.bucket {
        rule(b, backend::check_bucket(&b.value));
    }
    if let Some(k) = &st.key {
        rule(k, backend::check_key(&k.value));
    }
    if let Some(e) = &st.endpoint {
        rule(e, backend::check_endpoint(&e.value));
    }
    if let Some(k) = &st.kms_key_id {
        let encrypt = st.encrypt.as_ref().is_none_or(|e| e.value);
        rule(k, backend::check_encryption(encrypt, Some(&k.value)));
    }
    if st.backend.value == BackendKind::S3 && st.bucket.is_none() {
        c.err(
            &st.backend,
            "the s3 state backend needs a bucket",
            "add `bucket: NAME` to the `state:` section (or pass --backend-config bucket=NAME)",
        );
    }
    if st.backend.value == BackendKind::Local {
        let s3_only = [
            ("bucket", &st.bucket),
            ("key", &st.key),
            ("region", &st.region),
            ("endpoint", &st.endpoint),
            ("kms_key_id", &st.kms_key_id),
        ];
        for (name, field) in s3_only {
            if let Some(f) = field {
                c.err(
                    f,
                    format!("`{name}` applies to the s3 backend, but `backend` is local"),
                    "set `backend: s3`, or remove the field",
                );
            }
        }
    }
}

fn check_identity(c: &mut Checker, s: &Stack) {
    if s.version.value != 1 {
        c.err(
            &s.version,
            format!("unsupported stack file version {}", s.version.value),
            "this wxinfra reads `version: 1`",
        );
    }
    let name = &s.name.value;
    let valid_chars = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_lowercase())
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        && !name.ends_with('-');
    if !valid_chars {
        c.err(&s.name, format!("stack name `{name}` is not a valid name"), "use lowercase letters, digits and `-`, starting with a letter (it prefixes AWS resource names)");
    } else if name.len() > MAX_NAME_LEN {
        c.err(&s.name, format!("stack name `{name}` is {} characters long", name.len()), format!("use at most {MAX_NAME_LEN}: AWS limits load balancer and target group names to 32 characters and wxinfra adds suffixes"));
    }
    if let Some(region) = &s.region {
        let r = &region.value;
        let ok = r.split('-').count() >= 3
            && r.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
        if !ok {
            c.err(
                region,
                format!("`{r}` is not an AWS region name"),
                "e.g. us-east-1 or eu-central-1",
            );
        }
    }
    for (key, value) in &s.tags {
        if key.starts_with("aws:") || key.starts_with("wxinfra:") {
            c.err(
                value,
                format!("tag key `{key}` uses a reserved prefix"),
                "keys starting with `aws:` or `wxinfra:` are set by AWS and wxinfra",
            );
        } else if key.len() > 128 || value.value.len() > 256 {
            c.err(
                value,
                format!("tag `{key}` is too long"),
                "AWS allows keys up to 128 and values up to 256 characters",
            );
        }
    }
}

fn check_app(c: &mut Checker, loaded: &LoadedStack) {
    let manifest = &loaded.stack.app.manifest;
    let path = loaded.resolve(&manifest.value);
    if !path.is_file() {
        c.err(
            manifest,
            format!("app manifest `{}` does not exist", path.display()),
            "point `app.manifest` at a spin.toml, relative to the stack file",
        );
    }
    // The runtime binary (`runtime.binary`, with `{arch}`) is a build output: `plan` and
    // `apply` require it (see `artifacts`), `validate` does not.
}

fn check_network(c: &mut Checker, s: &Stack) {
    let n = &s.network;
    for cidr in &n.ingress_cidrs {
        c.cidr(cidr, "ingress CIDR");
    }
    match n.vpc.value {
        VpcMode::Existing => {
            match &n.vpc_id {
                None => c.err(
                    &n.vpc,
                    "`vpc: existing` needs `vpc_id`",
                    "add `vpc_id: vpc-…` next to `vpc: existing`",
                ),
                Some(id) if !is_aws_id(&id.value, "vpc") => c.err(
                    id,
                    format!("`{}` is not a VPC id", id.value),
                    "VPC ids look like vpc-0123456789abcdef0",
                ),
                Some(_) => {}
            }
            if n.subnet_ids.len() < 2 {
                c.err(
                    &n.vpc,
                    "`vpc: existing` needs at least two `subnet_ids`",
                    "an Application Load Balancer needs subnets in two availability zones",
                );
            }
            for id in &n.subnet_ids {
                if !is_aws_id(&id.value, "subnet") {
                    c.err(
                        id,
                        format!("`{}` is not a subnet id", id.value),
                        "subnet ids look like subnet-0123456789abcdef0",
                    );
                }
            }
        }
        VpcMode::Default | VpcMode::New => {
            if let Some(id) = &n.vpc_id {
                c.err(
                    id,
                    "`vpc_id` is only used with `vpc: existing`",
                    "remove it, or set `vpc: existing`",
                );
            }
            if let Some(id) = n.subnet_ids.first() {
                c.err(
                    id,
                    "`subnet_ids` are only used with `vpc: existing`",
                    "remove them, or set `vpc: existing`",
                );
            }
        }
    }
    let private = n.compute_subnets.value == SubnetPlacement::Private;
    if private && n.vpc.value != VpcMode::New {
        c.err(&n.compute_subnets, "`compute_subnets: private` needs `vpc: new`", "wxinfra builds private subnets, NAT gateways and their routes only in a VPC it creates; with an existing VPC, list its private subnets' ids in `subnet_ids` and keep the load balancer's reachability in mind");
    }
    c.only_with(
        &n.nat_gateways,
        private,
        "`nat_gateways`",
        "with `compute_subnets: private`",
    );
    if let Some(first) = n.private_subnets.first() {
        c.only_with(
            first,
            private,
            "`private_subnets`",
            "with `compute_subnets: private`",
        );
    }
    if n.vpc.value != VpcMode::New {
        return;
    }
    c.range(&n.availability_zones, "availability_zones", 2..=6);
    let Some(vpc) = c.cidr(&n.cidr, "VPC CIDR") else {
        return;
    };
    if !(16..=24).contains(&vpc.prefix_len()) {
        c.err(&n.cidr, format!("VPC CIDR prefix /{} is outside /16../24", vpc.prefix_len()), "AWS accepts VPC blocks from /16 to /28; wxinfra needs room for one subnet per AZ, so /16 to /24");
    }
    if !n.public_subnets.is_empty() && n.public_subnets.len() != n.availability_zones.value as usize
    {
        c.err(&n.public_subnets[0], format!("{} public subnets for {} availability zones", n.public_subnets.len(), n.availability_zones.value), "give one subnet CIDR per availability zone, or leave `public_subnets` out to derive them");
    }
    let mut seen: Vec<Ipv4Net> = Vec::new();
    check_subnets(c, vpc, &n.public_subnets, &mut seen);
    if private {
        check_private(c, s, vpc, &mut seen);
    }
}

/// Explicit subnet CIDRs: each inside the VPC block, of a size AWS accepts, overlapping none
/// of `seen` (which receives them).
fn check_subnets(
    c: &mut Checker,
    vpc: Ipv4Net,
    subnets: &[Spanned<String>],
    seen: &mut Vec<Ipv4Net>,
) {
    for sub in subnets {
        let Some(net) = c.cidr(sub, "subnet CIDR") else {
            continue;
        };
        if !vpc.contains(&net) {
            c.err(
                sub,
                format!("subnet `{net}` is not inside the VPC block `{vpc}`"),
                "pick a subnet CIDR inside `network.cidr`",
            );
        } else if !(16..=28).contains(&net.prefix_len()) {
            c.err(
                sub,
                format!("subnet prefix /{} is outside /16../28", net.prefix_len()),
                "AWS subnets are /16 to /28",
            );
        } else if let Some(other) = seen.iter().find(|o| o.contains(&net) || net.contains(*o)) {
            c.err(
                sub,
                format!("subnet `{net}` overlaps `{other}`"),
                "subnet CIDRs in one VPC must not overlap",
            );
        }
        seen.push(net);
    }
}

/// Private compute subnets: one per AZ, explicit or derived from the VPC block's upper half,
/// clear of the public ones; and NAT gateways for them.
fn check_private(c: &mut Checker, s: &Stack, vpc: Ipv4Net, seen: &mut Vec<Ipv4Net>) {
    let n = &s.network;
    let azs = n.availability_zones.value;
    c.range(&n.nat_gateways, "nat_gateways", 1..=azs.max(1));
    if !n.private_subnets.is_empty() {
        if n.private_subnets.len() != azs as usize {
            c.err(&n.private_subnets[0], format!("{} private subnets for {azs} availability zones", n.private_subnets.len()), "give one subnet CIDR per availability zone, or leave `private_subnets` out to derive them");
        }
        check_subnets(c, vpc, &n.private_subnets, seen);
        return;
    }
    let derived = private_subnet_cidrs(s);
    let clash = derived.len() != azs as usize
        || derived.iter().any(|net| {
            !vpc.contains(net) || seen.iter().any(|o| o.contains(net) || net.contains(o))
        });
    if clash {
        c.err(
            &n.compute_subnets,
            format!(
                "the VPC block `{vpc}` has no room for {azs} private subnets beside the public ones"
            ),
            "use a larger `network.cidr` (a /16 to /22), or list `private_subnets`",
        );
    }
}

/// Whether the file wrote this value (defaults have no place in it).
fn given<T>(at: &Spanned<T>) -> bool {
    at.referenced != serde_saphyr::Location::UNKNOWN
}

/// The HTTPS listener: a certificate of the stack's region, or a domain inside the hosted
/// zone that validates it; a port of its own; one of ELB's security policies.
fn check_https(c: &mut Checker, s: &Stack) {
    let lb = &s.load_balancer;
    let https = lb.https();
    c.only_with(
        &lb.https_port,
        https,
        "`https_port`",
        "with `certificate_arn` or `domain`",
    );
    c.only_with(
        &lb.ssl_policy,
        https,
        "`ssl_policy`",
        "with `certificate_arn` or `domain`",
    );
    if let (Some(_), Some(domain)) = (&lb.certificate_arn, &lb.domain) {
        c.err(domain, "`domain` and `certificate_arn` both give the listener a certificate", format!("keep `certificate_arn` (and point your DNS at the load balancer yourself), or drop it to have wxinfra request and validate one for `{}`", domain.value));
    }
    if let Some(arn) = &lb.certificate_arn {
        match acm_arn_region(&arn.value) {
            None => c.err(arn, format!("`{}` is not an ACM certificate ARN", arn.value), "ACM certificate ARNs look like arn:aws:acm:us-east-1:123456789012:certificate/<id>"),
            Some(region) => {
                if let Some(stack_region) = s.region.as_ref().filter(|r| r.value != region) {
                    c.err(arn, format!("the certificate is in {region}, the load balancer in {}", stack_region.value), "a load balancer takes only certificates of its own region: request or import one there");
                }
            }
        }
    }
    match (&lb.domain, &lb.hosted_zone) {
        (Some(domain), Some(zone)) => {
            let (d, z) = (domain.value.trim_end_matches('.'), zone.value.trim_end_matches('.'));
            if let Err(why) = dns_name(d) {
                c.err(domain, format!("`{}` is not a domain name: {why}", domain.value), "use a name such as app.example.com");
            } else if dns_name(z).is_err() {
                c.err(zone, format!("`{}` is not a hosted zone name", zone.value), "give the zone's domain name, e.g. example.com");
            } else if !(d.eq_ignore_ascii_case(z) || d.to_ascii_lowercase().ends_with(&format!(".{}", z.to_ascii_lowercase()))) {
                c.err(domain, format!("`{d}` is not inside the hosted zone `{z}`"), "name a zone that contains the domain, e.g. `hosted_zone: example.com` for app.example.com");
            }
        }
        (Some(domain), None) => c.err(domain, "`domain` needs `hosted_zone`", "name the public Route 53 hosted zone that holds the domain, e.g. `hosted_zone: example.com`: the certificate is validated there and the name pointed at the load balancer"),
        (None, Some(zone)) => c.err(zone, "`hosted_zone` is only used with `domain`", "add `domain: <name in the zone>`, or remove it"),
        (None, None) => {}
    }
    if https {
        if lb.https_port.value == 0 || lb.https_port.value == lb.port.value {
            // A default HTTPS port has no place in the file: point at `port`, which meets it.
            let at = if given(&lb.https_port) {
                lb.https_port.referenced
            } else {
                lb.port.referenced
            };
            c.err(&Spanned::new((), at, at), format!("HTTPS port {} must differ from `port` and be 1 to 65535", lb.https_port.value), "`port` redirects plain HTTP to the HTTPS listener: give them different ports (80 and 443 by default)");
        }
        if !lb.ssl_policy.value.starts_with("ELBSecurityPolicy-") {
            c.err(
                &lb.ssl_policy,
                format!("`{}` is not an ELB security policy", lb.ssl_policy.value),
                format!(
                    "use one of ELB's predefined policies, e.g. {}",
                    super::model::DEFAULT_SSL_POLICY
                ),
            );
        }
    }
}

/// The region of an ACM certificate ARN, when `arn` is one.
fn acm_arn_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let ok = arn_ == "arn"
        && partition.starts_with("aws")
        && service == "acm"
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|ch| ch.is_ascii_digit())
        && resource
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty());
    ok.then_some(region)
}

/// Checks a host name as DNS and ACM take it: 2+ labels of letters, digits and inner
/// hyphens, 63 characters a label, 253 in all (ACM: at most 64 for the certificate's name).
fn dns_name(name: &str) -> Result<(), String> {
    if name.len() > 64 {
        return Err(format!(
            "{} characters; ACM certificates take at most 64",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels".into());
    }
    for l in labels {
        if l.is_empty() || l.len() > 63 {
            return Err("a label is empty or longer than 63 characters".into());
        }
        if l.starts_with('-')
            || l.ends_with('-')
            || !l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            return Err(format!(
                "label `{l}` may hold only letters, digits and inner hyphens"
            ));
        }
    }
    Ok(())
}

fn is_aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|hex| {
            (8..=17).contains(&hex.len()) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
        })
}

fn check_services(c: &mut Checker, s: &Stack) {
    let t = &s.efs.throughput_mode;
    if !["elastic", "bursting"].contains(&t.value.as_str()) {
        c.err(
            t,
            format!("EFS throughput mode `{}` is not supported", t.value),
            "use `elastic` or `bursting`",
        );
    }
    let ia = &s.efs.transition_to_ia_days;
    if !EFS_IA_DAYS.contains(&ia.value) {
        c.err(
            ia,
            format!("EFS cannot move files to IA after {} days", ia.value),
            format!("use one of {EFS_IA_DAYS:?} (0 = never)"),
        );
    }
    let port = &s.load_balancer.port;
    if port.value == 0 {
        c.err(
            port,
            "listener port 0 is not a port",
            "use 80, 443 or another port from 1 to 65535",
        );
    }
    c.range(&s.load_balancer.idle_timeout, "idle_timeout", 1..=4000);
    c.range(
        &s.load_balancer.deregistration_delay,
        "deregistration_delay",
        0..=3600,
    );
    check_https(c, s);
    let rt = &s.runtime.port;
    if rt.value < 1024 || rt.value == 3000 || rt.value == 9001 {
        c.err(rt, format!("runtime port {} is not usable", rt.value), "wxrun runs unprivileged (ports >= 1024); 3000 belongs to the Lambda Insights extension and 9001 to the Lambda Runtime API; the default is 8080");
    }
}

fn check_compute(c: &mut Checker, s: &Stack) {
    let cm = &s.compute;
    if cm.ec2.is_none() && cm.fargate.is_none() && cm.lambda.is_none() && s.kubernetes.is_none() {
        c.err(
            &s.name,
            "the stack runs the app nowhere",
            "add `compute.ec2`, `compute.fargate`, `compute.lambda` or a `kubernetes` section",
        );
    }
    let mut weights = Vec::new();
    if let Some(ec2) = &cm.ec2 {
        let e = &ec2.value;
        c.range(&e.count, "ec2.count", 1..=20);
        c.range(&e.warmup, "ec2.warmup", 0..=7200);
        c.range(&e.min_healthy_percent, "ec2.min_healthy_percent", 0..=100);
        weights.push(&e.weight);
        if let Some(sc) = &e.scaling {
            check_scaling(c, sc, "ec2.scaling");
            // EC2 target tracking has no cooldowns: it waits out each instance's warmup.
            for cooldown in [&sc.value.scale_in_cooldown, &sc.value.scale_out_cooldown]
                .into_iter()
                .flatten()
            {
                c.err(
                    cooldown,
                    "EC2 Auto Scaling target tracking takes no cooldowns",
                    "remove it; new instances count after `ec2.warmup` seconds",
                );
            }
        }
        if let Some(t) = &e.instance_type {
            check_instance_type(c, t, e.arch.value);
        }
    }
    if let Some(f) = &cm.fargate {
        let f = &f.value;
        c.range(&f.desired_count, "fargate.desired_count", 0..=100);
        weights.push(&f.weight);
        if let Some(sc) = &f.scaling {
            check_scaling(c, sc, "fargate.scaling");
        }
        if !fargate_pair_ok(f.cpu.value, f.memory.value) {
            let allowed = fargate_memory_for(f.cpu.value);
            let help = if allowed.is_empty() {
                "Fargate cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384".to_string()
            } else {
                format!(
                    "with cpu {} Fargate allows memory {}",
                    f.cpu.value,
                    describe(&allowed)
                )
            };
            c.err(
                &f.memory,
                format!(
                    "Fargate does not offer cpu {} with memory {} MiB",
                    f.cpu.value, f.memory.value
                ),
                help,
            );
        }
    }
    if let Some(l) = &cm.lambda {
        let l = &l.value;
        c.range(&l.memory, "lambda.memory", LAMBDA_MEMORY_MB);
        c.range(&l.timeout, "lambda.timeout", LAMBDA_TIMEOUT_S);
        weights.push(&l.weight);
        if let Some(p) = &l.provisioned_concurrency {
            c.range(p, "lambda.provisioned_concurrency", 1..=MAX_PROVISIONED);
            if let Some(r) = l
                .reserved_concurrency
                .as_ref()
                .filter(|r| p.value > r.value)
            {
                c.err(
                    p,
                    format!(
                        "provisioned_concurrency {} is above the function's reserved_concurrency {}",
                        p.value, r.value
                    ),
                    "Lambda cannot keep more environments ready than the function may run: lower it, or raise reserved_concurrency",
                );
            }
        }
        if !LOG_RETENTION_DAYS.contains(&l.log_retention_days.value) {
            c.err(
                &l.log_retention_days,
                format!(
                    "CloudWatch Logs cannot keep logs for {} days",
                    l.log_retention_days.value
                ),
                format!("use one of {LOG_RETENTION_DAYS:?}"),
            );
        }
    }
    for w in &weights {
        c.range(w, "weight", 0..=MAX_WEIGHT);
    }
    if !weights.is_empty() && weights.iter().all(|w| w.value == 0) {
        c.err(
            weights[0],
            "every target group weight is 0",
            "give at least one primitive a weight above 0, or the load balancer answers 503",
        );
    }
}

/// Bounds in order, and exactly one metric to track, within what AWS accepts.
fn check_scaling(c: &mut Checker, at: &Spanned<ScalingSpec>, what: &str) {
    let sc = &at.value;
    c.range(&sc.min, &format!("{what}.min"), 0..=MAX_SCALE);
    c.range(&sc.max, &format!("{what}.max"), 1..=MAX_SCALE);
    if sc.min.value > sc.max.value {
        c.err(
            &sc.max,
            format!(
                "{what}.max {} is below its min {}",
                sc.max.value, sc.min.value
            ),
            "make max at least min",
        );
    }
    match (&sc.cpu, &sc.requests_per_target) {
        (Some(cpu), None) => c.range(cpu, &format!("{what}.cpu"), 1..=100),
        (None, Some(r)) => c.range(r, &format!("{what}.requests_per_target"), 1..=1_000_000),
        (Some(_), Some(r)) => c.err(
            r,
            format!("{what} tracks one metric, not both cpu and requests_per_target"),
            "keep `cpu` (average CPU %) or `requests_per_target` (per minute), not both",
        ),
        (None, None) => c.err(
            at,
            format!("{what} has no metric to track"),
            "add `cpu: 60` (average CPU %) or `requests_per_target: 1000` (per minute)",
        ),
    }
    for cooldown in [&sc.scale_in_cooldown, &sc.scale_out_cooldown]
        .into_iter()
        .flatten()
    {
        c.range(cooldown, &format!("{what} cooldown"), 0..=86_400);
    }
}

fn check_instance_type(c: &mut Checker, at: &Spanned<String>, arch: Arch) {
    let Some((family, size)) = at.value.split_once('.') else {
        c.err(
            at,
            format!("`{}` is not an EC2 instance type", at.value),
            "instance types look like t4g.small or m7i.large",
        );
        return;
    };
    let gen_end = family.find(|ch: char| ch.is_ascii_digit());
    let ok_shape = gen_end.is_some()
        && !size.is_empty()
        && family
            .chars()
            .chain(size.chars())
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    if !ok_shape {
        c.err(
            at,
            format!("`{}` is not an EC2 instance type", at.value),
            "instance types look like t4g.small or m7i.large",
        );
        return;
    }
    // Graviton families carry a `g` after the generation digit (t4g, m7gd, c7gn).
    let suffix = family[gen_end.unwrap_or(0)..].trim_start_matches(|ch: char| ch.is_ascii_digit());
    let is_arm = suffix.contains('g') || family == "a1";
    if is_arm != (arch == Arch::Arm64) {
        c.err(
            at,
            format!("instance type `{}` is not {}", at.value, arch.as_str()),
            if arch == Arch::Arm64 {
                "use a Graviton type such as t4g.small, or set `arch: x86_64`"
            } else {
                "use an x86 type such as t3.small, or set `arch: arm64`"
            },
        );
    }
}

/// Memory sizes (MiB) Fargate offers for a cpu value; empty for an unknown cpu.
pub fn fargate_memory_for(cpu: u32) -> Vec<u32> {
    let (lo, hi, step) = match cpu {
        256 => return vec![512, 1024, 2048],
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return Vec::new(),
    };
    (lo..=hi).step_by(step as usize).collect()
}

pub fn fargate_pair_ok(cpu: u32, memory: u32) -> bool {
    fargate_memory_for(cpu).contains(&memory)
}

fn describe(values: &[u32]) -> String {
    if values.len() <= 4 {
        format!("{values:?}")
    } else {
        format!(
            "{}..{} in steps of {}",
            values[0],
            values[values.len() - 1],
            values[1] - values[0]
        )
    }
}

/// The subnet CIDRs of a new VPC: explicit ones, else consecutive /24s from the block's start.
pub fn subnet_cidrs(s: &Stack) -> Vec<Ipv4Net> {
    cidrs(s, &s.network.public_subnets, false)
}

/// The private compute subnets' CIDRs: `private_subnets`, or blocks of the public ones' size
/// from the start of the VPC block's upper half (so adding AZs never moves them).
pub fn private_subnet_cidrs(s: &Stack) -> Vec<Ipv4Net> {
    cidrs(s, &s.network.private_subnets, true)
}

fn cidrs(s: &Stack, explicit: &[Spanned<String>], upper_half: bool) -> Vec<Ipv4Net> {
    let n = &s.network;
    if !explicit.is_empty() {
        return explicit
            .iter()
            .filter_map(|c| c.value.parse().ok())
            .collect();
    }
    let Ok(vpc) = n.cidr.value.parse::<Ipv4Net>() else {
        return Vec::new();
    };
    let azs = n.availability_zones.value.max(1);
    // Enough prefix bits for one subnet per AZ, but never larger than a /24.
    let bits = (32 - (azs - 1).leading_zeros()) as u8;
    let prefix = 24.max(vpc.prefix_len() + bits).min(28);
    let size = 1u32 << (32 - prefix);
    let half = if upper_half {
        1u32 << 31u8.saturating_sub(vpc.prefix_len())
    } else {
        0
    };
    let base = u32::from(vpc.network()) + half;
    (0..azs)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::from(base + i * size), prefix).ok())
        .collect()
}
