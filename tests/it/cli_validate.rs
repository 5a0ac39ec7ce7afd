//! `wxinfra validate`: every error path names file:line:col and says what to do; valid
//! stacks pass without any network.

use crate::support::Workspace;

const GOOD: &str = "version: 1
name: t
app:
  manifest: app/spin.toml
compute:
  lambda:
    memory: 512
";

/// Validates `yaml` and returns stderr, asserting failure.
fn fails(yaml: &str) -> String {
    let ws = Workspace::new().with_app();
    ws.write("stack.yaml", yaml);
    let r = ws.run(&["validate", "-f", "stack.yaml"]);
    assert_eq!(r.code, 1, "expected failure:\n{}\n{}", r.stdout, r.stderr);
    r.stderr
}

#[test]
fn valid_stack_passes_without_network() {
    let ws = Workspace::new().with_app();
    ws.write("stack.yaml", GOOD);
    // An endpoint nobody listens on: validate must not need it.
    let r = ws
        .command(&["validate", "-f", "stack.yaml"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("valid"));
}

#[test]
fn unknown_field_suggests_the_closest_one() {
    let err = fails(&GOOD.replace("compute:", "netwrok:\n  vpc: new\ncompute:"));
    assert!(
        err.contains("stack.yaml:5:1: unknown field `netwrok`"),
        "{err}"
    );
    assert!(err.contains("did you mean `network`?"), "{err}");
}

#[test]
fn wrong_type_points_at_the_value() {
    let err = fails(&GOOD.replace("memory: 512", "memory: lots"));
    assert!(err.contains("stack.yaml:7:13:"), "{err}");
}

#[test]
fn bad_cidr_is_reported_with_an_example() {
    let err = fails(&format!("{GOOD}network:\n  cidr: 10.0.0.300/16\n"));
    assert!(
        err.contains("stack.yaml:9:9: VPC CIDR `10.0.0.300/16` is not an IPv4 CIDR block"),
        "{err}"
    );
    assert!(err.contains("help: write it as address/prefix"), "{err}");
}

#[test]
fn overlapping_subnets_are_refused() {
    let err = fails(&format!(
        "{GOOD}network:\n  cidr: 10.0.0.0/16\n  public_subnets: [10.0.0.0/24, 10.0.0.128/25]\n"
    ));
    assert!(
        err.contains("subnet `10.0.0.128/25` overlaps `10.0.0.0/24`"),
        "{err}"
    );
    assert!(err.contains("stack.yaml:10:33:"), "{err}");
}

#[test]
fn subnet_outside_the_vpc_is_refused() {
    let err = fails(&format!(
        "{GOOD}network:\n  cidr: 10.0.0.0/16\n  public_subnets: [10.0.0.0/24, 10.9.0.0/24]\n"
    ));
    assert!(err.contains("is not inside the VPC block"), "{err}");
}

#[test]
fn weight_out_of_range() {
    let err = fails(&GOOD.replace("memory: 512", "memory: 512\n    weight: 1000"));
    assert!(
        err.contains("stack.yaml:8:13: weight 1000 is out of range"),
        "{err}"
    );
    assert!(err.contains("from 0 to 999"), "{err}");
}

#[test]
fn deregistration_delay_out_of_range() {
    let err = fails(&GOOD.replace(
        "compute:",
        "load_balancer:\n  deregistration_delay: 3601\ncompute:",
    ));
    assert!(
        err.contains("stack.yaml:6:25: deregistration_delay 3601 is out of range"),
        "{err}"
    );
    assert!(err.contains("from 0 to 3600"), "{err}");
}

#[test]
fn all_weights_zero_is_refused() {
    let err = fails(&GOOD.replace("memory: 512", "memory: 512\n    weight: 0"));
    assert!(err.contains("every target group weight is 0"), "{err}");
}

#[test]
fn name_over_the_aws_limit() {
    let err = fails(&GOOD.replace("name: t", "name: a-very-long-stack-name-for-aws"));
    assert!(
        err.contains(
            "stack.yaml:2:7: stack name `a-very-long-stack-name-for-aws` is 30 characters long"
        ),
        "{err}"
    );
}

#[test]
fn missing_app_manifest() {
    let err = fails(&GOOD.replace("app/spin.toml", "nowhere/spin.toml"));
    assert!(err.contains("stack.yaml:4:13: app manifest"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn fargate_cpu_memory_pair() {
    let err = fails(&GOOD.replace(
        "  lambda:\n    memory: 512",
        "  fargate:\n    cpu: 256\n    memory: 4096",
    ));
    assert!(
        err.contains("Fargate does not offer cpu 256 with memory 4096 MiB"),
        "{err}"
    );
    assert!(err.contains("allows memory [512, 1024, 2048]"), "{err}");
}

#[test]
fn fargate_scaling_mistakes_are_each_reported_where_they_are() {
    let scaling = |body: &str| {
        fails(&GOOD.replace(
            "  lambda:\n    memory: 512",
            &format!("  fargate:\n    scaling:\n{body}"),
        ))
    };
    let err = scaling("      min: 4\n      max: 2\n      cpu: 60\n");
    assert!(
        err.contains("stack.yaml:9:12: fargate.scaling.max 2 is below its min 4"),
        "{err}"
    );
    let err = scaling("      max: 3\n");
    assert!(
        err.contains("stack.yaml:8:7: fargate.scaling has no metric to track"),
        "{err}"
    );
    assert!(err.contains("add `cpu: 60`"), "{err}");
    let err = scaling("      max: 3\n      cpu: 60\n      requests_per_target: 100\n");
    assert!(
        err.contains(
            "stack.yaml:10:28: fargate.scaling tracks one metric, not both cpu and requests_per_target"
        ),
        "{err}"
    );
    let err = scaling("      max: 3\n      cpu: 160\n");
    assert!(
        err.contains("stack.yaml:9:12: fargate.scaling.cpu 160 is out of range"),
        "{err}"
    );
}

#[test]
fn ec2_scaling_and_refresh_mistakes_are_each_reported_where_they_are() {
    let ec2 = |body: &str| {
        fails(&GOOD.replace(
            "  lambda:\n    memory: 512",
            &format!("  ec2:\n    instance_type: t4g.small\n{body}"),
        ))
    };
    let err = ec2("    scaling:\n      max: 3\n      cpu: 60\n      scale_in_cooldown: 30\n");
    assert!(
        err.contains("stack.yaml:11:26: EC2 Auto Scaling target tracking takes no cooldowns"),
        "{err}"
    );
    assert!(err.contains("`ec2.warmup`"), "{err}");
    let err = ec2("    scaling:\n      min: 5\n      max: 3\n      requests_per_target: 100\n");
    assert!(
        err.contains("stack.yaml:10:12: ec2.scaling.max 3 is below its min 5"),
        "{err}"
    );
    let err = ec2("    min_healthy_percent: 120\n");
    assert!(
        err.contains("stack.yaml:8:26: ec2.min_healthy_percent 120 is out of range"),
        "{err}"
    );
}

#[test]
fn provisioned_concurrency_above_the_reservation_is_reported_where_it_is() {
    let err = fails(&GOOD.replace(
        "memory: 512",
        "memory: 512\n    reserved_concurrency: 5\n    provisioned_concurrency: 8",
    ));
    assert!(
        err.contains(
            "stack.yaml:9:30: provisioned_concurrency 8 is above the function's reserved_concurrency 5"
        ),
        "{err}"
    );
    let err = fails(&GOOD.replace("memory: 512", "memory: 512\n    provisioned_concurrency: 0"));
    assert!(
        err.contains("lambda.provisioned_concurrency 0 is out of range"),
        "{err}"
    );
}

#[test]
fn lambda_memory_limits() {
    let err = fails(&GOOD.replace("memory: 512", "memory: 64"));
    assert!(err.contains("lambda.memory 64 is out of range"), "{err}");
}

#[test]
fn instance_type_must_match_arch() {
    let err = fails(&GOOD.replace(
        "  lambda:\n    memory: 512",
        "  ec2:\n    instance_type: t3.small\n    arch: arm64",
    ));
    assert!(
        err.contains("instance type `t3.small` is not arm64"),
        "{err}"
    );
}

#[test]
fn runtime_port_3000_is_refused() {
    let err = fails(&format!("{GOOD}runtime:\n  port: 3000\n"));
    assert!(err.contains("runtime port 3000 is not usable"), "{err}");
}

#[test]
fn existing_vpc_needs_ids() {
    let err = fails(&format!("{GOOD}network:\n  vpc: existing\n"));
    assert!(err.contains("`vpc: existing` needs `vpc_id`"), "{err}");
}

#[test]
fn several_errors_are_reported_together() {
    let err = fails(&GOOD.replace("memory: 512", "memory: 64\n    timeout: 0"));
    assert!(
        err.contains("lambda.memory") && err.contains("lambda.timeout"),
        "{err}"
    );
    assert!(
        err.contains("2 errors in the stack file; nothing was changed"),
        "{err}"
    );
}

#[test]
fn invalid_yaml_syntax() {
    let err = fails("version: 1\nname: [t\n");
    assert!(err.contains("stack.yaml:"), "{err}");
}

#[test]
fn missing_file() {
    let ws = Workspace::new();
    let r = ws.run(&["validate", "-f", "nope.yaml"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot read the stack file"),
        "{}",
        r.stderr
    );
}

#[test]
fn kubernetes_only_stack_plans_without_aws() {
    let ws = Workspace::new().with_app();
    ws.write("stack.yaml", "version: 1\nname: k\napp:\n  manifest: app/spin.toml\nkubernetes:\n  namespace: k\n  image: example.com/wxrun:1\n  release: {source: s3://releases/k}\n");
    // No region, no credentials, no endpoint: nothing may reach for AWS.
    let r = ws
        .command(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains("no AWS resources"));
    let r = ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn kubernetes_release_bucket_named_as_the_stacks_must_be_its_artifact_bucket() {
    let k8s = |src: &str| {
        format!(
            "{GOOD}region: us-east-1\nkubernetes:\n  namespace: t\n  image: ghcr.io/acme/wxrun:1\n  release:\n    source: {src}\n"
        )
    };
    let err = fails(&k8s("s3://t-wxinfra-artifacts/releases"));
    assert!(
        err.contains("stack.yaml:13:13: release source bucket `t-wxinfra-artifacts` reads as this stack's, but apply never creates it"),
        "{err}"
    );
    assert!(
        err.contains("s3://t-artifacts-<account>-us-east-1/releases"),
        "{err}"
    );
    // Another region's artifact bucket is not the one this stack's apply creates.
    fails(&k8s("s3://t-artifacts-123456789012-eu-west-1/releases"));
    // The artifact bucket (any account) and a bucket under another name pass.
    for ok in [
        "s3://t-artifacts-123456789012-us-east-1/releases",
        "s3://acme-releases/t",
    ] {
        let ws = Workspace::new().with_app();
        ws.write("stack.yaml", &k8s(ok));
        ws.run(&["validate", "-f", "stack.yaml"]).ok();
    }
}

#[test]
fn demo_stacks_kubernetes_release_source_is_the_bucket_its_apply_creates() {
    let path = crate::support::repo().join("stacks/demo.yaml");
    let loaded = wxinfra::stack::load(&path).unwrap();
    let s = &loaded.stack;
    let release = s.kubernetes.as_ref().unwrap().release.as_ref().unwrap();
    // The emulator's account, which the demo runs in (scripts/demo.sh).
    let bucket = wxinfra::aws::s3_bucket::bucket_name(
        &s.name.value,
        "123456789012",
        &s.region.as_ref().unwrap().value,
    );
    assert_eq!(release.source.value, format!("s3://{bucket}/releases"));
}

#[test]
fn https_and_private_subnet_mistakes_are_each_reported_where_they_are() {
    let stack = "version: 1
name: t
region: us-east-1
app:
  manifest: app/spin.toml
network:
  vpc: default
  compute_subnets: private
  nat_gateways: 3
load_balancer:
  port: 443
  certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc
  domain: app.example.org
  hosted_zone: example.com
  ssl_policy: TLS13
compute:
  lambda: {}
";
    let err = fails(stack);
    for want in [
        "stack.yaml:8:20: `compute_subnets: private` needs `vpc: new`",
        "stack.yaml:12:20: the certificate is in eu-west-1, the load balancer in us-east-1",
        "stack.yaml:13:11: `domain` and `certificate_arn` both give the listener a certificate",
        "stack.yaml:13:11: `app.example.org` is not inside the hosted zone `example.com`",
        "stack.yaml:15:15: `TLS13` is not an ELB security policy",
        // The HTTPS listener's default port, written nowhere, meets `port: 443`.
        "stack.yaml:11:9: HTTPS port 443 must differ from `port`",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }

    let err = fails(&GOOD.replace(
        "compute:",
        "network:\n  cidr: 10.0.0.0/24\n  compute_subnets: private\n  nat_gateways: 3\nload_balancer:\n  hosted_zone: example.com\n  domain: app\ncompute:",
    ));
    for want in [
        "stack.yaml:7:20: the VPC block `10.0.0.0/24` has no room for 2 private subnets",
        "stack.yaml:8:17: nat_gateways 3 is out of range",
        "stack.yaml:11:11: `app` is not a domain name: it needs at least two labels",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    let err = fails(&GOOD.replace(
        "compute:",
        "load_balancer:\n  hosted_zone: example.com\ncompute:",
    ));
    assert!(
        err.contains("stack.yaml:6:16: `hosted_zone` is only used with `domain`"),
        "{err}"
    );
    let err = fails(&GOOD.replace(
        "compute:",
        "load_balancer:\n  domain: app.example.com\ncompute:",
    ));
    assert!(
        err.contains("stack.yaml:6:11: `domain` needs `hosted_zone`"),
        "{err}"
    );

    // Both, written well, pass.
    let ws = Workspace::new().with_app();
    ws.write(
        "stack.yaml",
        &GOOD.replace("compute:", "network:\n  compute_subnets: private\n  nat_gateways: 2\nload_balancer:\n  domain: App.Example.com.\n  hosted_zone: example.com\ncompute:"),
    );
    ws.run(&["validate", "-f", "stack.yaml"]).ok();
}
