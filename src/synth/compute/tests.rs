use super::*;
use crate::stack::load::parse;

const STACK: &str = "version: 1\nname: demo\napp:\n  manifest: spin.toml\n\
    load_balancer:\n  port: 8000\n\
    compute:\n  ec2:\n    count: 2\n    weight: 3\n  fargate:\n    weight: 0\n  lambda:\n    weight: 7\n";

fn loaded(yaml: &str) -> crate::stack::LoadedStack {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spin.toml"), "spin_manifest_version = 2\n").unwrap();
    parse(&dir.path().join("stack.yaml"), yaml).unwrap()
}

fn graph(yaml: &str) -> crate::graph::Graph {
    let loaded = loaded(yaml);
    let release = "1".repeat(64);
    crate::synth::aws(&loaded, &crate::synth::testing::artifacts(&release, &[])).unwrap()
}

#[test]
fn listener_forwards_to_each_primitive_with_its_weight() {
    let g = graph(STACK);
    let fwd = &g.nodes["aws.lb_listener.main"].props["forward"];
    assert_eq!(
        fwd,
        &json!([
            {"target_group_arn": "${aws.lb_target_group.ec2.arn}", "weight": 3},
            {"target_group_arn": "${aws.lb_target_group.fargate.arn}", "weight": 0},
            {"target_group_arn": "${aws.lb_target_group.lambda.arn}", "weight": 7},
        ])
    );
    assert_eq!(g.nodes["aws.lb_listener.main"].props["port"], 8000);
    for tg in ["ec2", "fargate", "lambda"] {
        let p = &g.nodes[&format!("aws.lb_target_group.{tg}")].props;
        assert_eq!(p["health_check"]["path"], HEALTH_PATH);
    }
    assert_eq!(
        g.nodes["aws.lb_target_group.lambda"].props["lambda_multi_value_headers"],
        true
    );
    // A short deregistration delay by default; Lambda groups have none.
    assert_eq!(
        g.nodes["aws.lb_target_group.ec2"].props["deregistration_delay"],
        30
    );
    assert_eq!(
        g.nodes["aws.lb_target_group.lambda"].props["deregistration_delay"],
        Value::Null
    );
    let g = graph(&STACK.replace("port: 8000", "port: 8000\n  deregistration_delay: 5"));
    assert_eq!(
        g.nodes["aws.lb_target_group.fargate"].props["deregistration_delay"],
        5
    );
}

#[test]
fn endpoint_names_the_port_unless_80() {
    let g = graph(STACK);
    assert_eq!(
        g.outputs["endpoint"],
        json!("http://${aws.lb.main.dns_name}:8000")
    );
    let g = graph(&STACK.replace("port: 8000", "port: 80"));
    assert_eq!(
        g.outputs["endpoint"],
        json!("http://${aws.lb.main.dns_name}")
    );
}

#[test]
fn only_configured_primitives_get_resources() {
    let yaml = "version: 1\nname: demo\napp:\n  manifest: spin.toml\ncompute:\n  lambda: {}\n";
    let g = graph(yaml);
    assert!(g.nodes.contains_key("aws.lambda_function.app"));
    assert!(!g.nodes.contains_key("aws.lb_target_group.ec2"));
    assert!(!g.nodes.contains_key("aws.ecs_service.app"));
    assert!(!g.nodes.keys().any(|a| a.starts_with("aws.instance.")));
    assert_eq!(
        g.nodes["aws.lb_listener.main"].props["forward"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn lambda_is_registered_only_after_its_invoke_permission() {
    let g = graph(STACK);
    let deps = g.nodes["aws.lb_target_attachment.lambda"].depends_on();
    assert!(deps.contains("aws.lambda_permission.alb"), "{deps:?}");
    let perm = &g.nodes["aws.lambda_permission.alb"].props;
    assert_eq!(perm["principal"], "elasticloadbalancing.amazonaws.com");
    assert_eq!(perm["source_arn"], "${aws.lb_target_group.lambda.arn}");
}

#[test]
fn the_default_instance_type_follows_the_architecture() {
    let ty = |arch: &str| {
        let yaml = STACK.replace("count: 2\n", &format!("count: 2\n    arch: {arch}\n"));
        let loaded = loaded(&yaml);
        let ec2 = loaded.stack.compute.ec2.as_ref().unwrap();
        ec2.value.instance_type().to_string()
    };
    assert_eq!(ty("arm64"), "t4g.small");
    assert_eq!(ty("x86_64"), "t3.small");
    assert_eq!(
        graph(STACK).nodes["aws.launch_template.ec2"].props["instance_type"],
        "t4g.small"
    );
}

#[test]
fn provisioned_concurrency_puts_the_load_balancer_on_a_warm_alias() {
    let g = graph(STACK);
    assert!(!g.nodes.contains_key("aws.lambda_alias.live"));
    assert_eq!(g.nodes["aws.lambda_function.app"].props["publish"], false);
    assert_eq!(
        g.nodes["aws.lb_target_attachment.lambda"].props["target_id"],
        "${aws.lambda_function.app.arn}"
    );

    let g = graph(&STACK.replace(
        "    weight: 7\n",
        "    weight: 7\n    provisioned_concurrency: 3\n",
    ));
    assert_eq!(g.nodes["aws.lambda_function.app"].props["publish"], true);
    let alias = &g.nodes["aws.lambda_alias.live"].props;
    assert_eq!(
        alias["function_version"],
        "${aws.lambda_function.app.version}"
    );
    let warm = &g.nodes["aws.lambda_provisioned_concurrency.live"].props;
    assert_eq!(warm["qualifier"], "${aws.lambda_alias.live.name}");
    assert_eq!(warm["provisioned_concurrent_executions"], 3);
    // The permission is the alias's, and the alias is registered once it is warm.
    let perm = &g.nodes["aws.lambda_permission.alb"].props;
    assert_eq!(perm["qualifier"], "${aws.lambda_alias.live.name}");
    let attach = &g.nodes["aws.lb_target_attachment.lambda"];
    assert_eq!(attach.props["target_id"], "${aws.lambda_alias.live.arn}");
    let deps = attach.depends_on();
    assert!(
        deps.contains("aws.lambda_permission.alb")
            && deps.contains("aws.lambda_provisioned_concurrency.live"),
        "{deps:?}"
    );
}

#[test]
fn destroy_deletes_the_service_before_its_cluster() {
    // Deletes run dependents first (reverse topological order): the service depends on
    // the cluster, and its delete waits for INACTIVE, so the cluster delete that follows
    // never meets an active service.
    let g = graph(STACK);
    let order = g.dag().unwrap().topo_order().unwrap();
    let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
    assert!(pos("aws.ecs_cluster.main") < pos("aws.ecs_service.app"));
    assert!(pos("aws.lb_listener.main") < pos("aws.ecs_service.app"));
    assert!(pos("aws.ecs_task_definition.app") < pos("aws.ecs_service.app"));
}

#[test]
fn a_scaled_service_leaves_its_count_to_a_target_tracking_policy() {
    let g = graph(&STACK.replace(
        "  fargate:\n    weight: 0\n",
        "  fargate:\n    weight: 0\n    desired_count: 9\n    scaling:\n      min: 2\n      max: 4\n      requests_per_target: 800\n      scale_out_cooldown: 30\n",
    ));
    let service = &g.nodes["aws.ecs_service.app"];
    assert_eq!(
        service.props["desired_count"], 4,
        "started within the bounds"
    );
    assert!(service.ignore_changes.contains("desired_count"));
    let target = &g.nodes["aws.appautoscaling_target.fargate"].props;
    assert_eq!(
        target["resource_id"],
        "service/${aws.ecs_cluster.main.name}/${aws.ecs_service.app.name}"
    );
    assert_eq!(
        (
            target["min_capacity"].clone(),
            target["max_capacity"].clone()
        ),
        (json!(2), json!(4))
    );
    assert_eq!(target["tags"]["wxinfra:stack"], "demo");
    let policy = &g.nodes["aws.appautoscaling_policy.fargate"].props;
    assert_eq!(
        policy["resource_id"],
        "${aws.appautoscaling_target.fargate.resource_id}"
    );
    assert_eq!(policy["metric"], "ALBRequestCountPerTarget");
    assert_eq!(policy["target_value"], json!(800.0));
    assert_eq!(policy["load_balancer_arn"], "${aws.lb.main.arn}");
    assert_eq!(
        policy["target_group_arn"],
        "${aws.lb_target_group.fargate.arn}"
    );
    assert_eq!(policy["scale_out_cooldown"], 30);
    assert_eq!(policy["scale_in_cooldown"], Value::Null);

    // Without scaling the count is the stack's and plan compares it.
    let plain = graph(STACK);
    assert!(plain.nodes["aws.ecs_service.app"].ignore_changes.is_empty());
    assert!(
        !plain
            .nodes
            .contains_key("aws.appautoscaling_target.fargate")
    );
}

#[test]
fn internet_facing_alb_waits_for_the_gateway_and_compute_for_the_public_routes() {
    let g = graph(STACK);
    let deps = g.nodes["aws.lb.main"].depends_on();
    assert!(deps.contains("aws.internet_gateway.main"), "{deps:?}");
    assert!(!deps.iter().any(|d| d.contains("route_table")), "{deps:?}");
    // Compute in the public subnets reaches ECR and package mirrors through the gateway
    // route: the instances' group and the service start after it.
    for compute in ["aws.autoscaling_group.ec2", "aws.ecs_service.app"] {
        let deps = g.nodes[compute].depends_on();
        for d in [
            "aws.route_table.public",
            "aws.route_table_association.public-a",
            "aws.route_table_association.public-b",
        ] {
            assert!(
                deps.contains(d),
                "{compute} does not wait for {d}: {deps:?}"
            );
        }
    }
    // An adopted VPC already has its way out: nothing to wait for but the lookup.
    let g = graph(&STACK.replace("app:", "network:\n  vpc: default\napp:"));
    let deps = g.nodes["aws.lb.main"].depends_on();
    assert!(
        deps.iter()
            .all(|d| d.starts_with("aws.security_group.") || d == "aws.vpc_lookup.default"),
        "{deps:?}"
    );
}

#[test]
fn lambda_logs_to_the_stack_log_group() {
    let g = graph(STACK);
    let f = &g.nodes["aws.lambda_function.app"];
    assert_eq!(
        f.props["logging"],
        json!({"log_group": "${aws.log_group.lambda.name}", "log_format": "Text"})
    );
    assert!(f.depends_on().contains("aws.log_group.lambda"));
}

#[test]
fn primitives_reach_s3_as_the_graph_shows() {
    let g = graph(STACK);
    for a in ["aws.lambda_function.app", "aws.autoscaling_group.ec2"] {
        assert!(
            g.nodes[a].depends_on().contains("aws.vpc_endpoint.s3"),
            "{a}"
        );
    }
    // The template launches nothing: it is made beside the network and the uploads, and the
    // group waits for the binary its instances fetch.
    let deps = g.nodes["aws.launch_template.ec2"].depends_on();
    assert!(
        !deps.iter().any(|d| d.starts_with("aws.vpc_endpoint.")
            || d.starts_with("aws.route_table")
            || d.starts_with("aws.efs_mount_target.")
            || d.starts_with("aws.release.")
            || d.starts_with("aws.s3_object.")),
        "{deps:?}"
    );
    assert!(
        g.nodes["aws.autoscaling_group.ec2"]
            .depends_on()
            .contains("aws.s3_object.runtime-arm64")
    );
    // Nothing serves before the release exists and EFS is mountable in every subnet.
    for a in [
        "aws.lambda_function.app",
        "aws.autoscaling_group.ec2",
        "aws.ecs_service.app",
    ] {
        let deps = g.nodes[a].depends_on();
        for d in [
            "aws.release.app",
            "aws.efs_mount_target.public-a",
            "aws.efs_mount_target.public-b",
        ] {
            assert!(deps.contains(d), "{a} does not wait for {d}: {deps:?}");
        }
    }
    assert_eq!(
        g.nodes["aws.ecs_service.app"].props["assign_public_ip"],
        true
    );
}

#[test]
fn task_definition_runs_the_image_by_digest_with_efs_over_tls() {
    let g = graph(STACK);
    let td = &g.nodes["aws.ecs_task_definition.app"].props;
    assert_eq!(td["container"]["image"], "${aws.oci_image.runtime.uri}");
    // The image is the binary alone: pushed as soon as its repository exists, whatever the
    // bucket or port; the task definition says how to serve.
    let image = &g.nodes["aws.oci_image.runtime"];
    assert_eq!(
        image.depends_on().into_iter().collect::<Vec<_>>(),
        ["aws.ecr_repository.runtime"]
    );
    assert_eq!(image.props["cmd"], json!([]));
    assert_eq!(td["container"]["command"][0], "serve");
    assert_eq!(
        td["container"]["command"][4],
        "s3://${aws.s3_bucket.artifacts.id}/releases"
    );
    assert_eq!(
        td["efs"]["access_point_id"],
        "${aws.efs_access_point.app.id}"
    );
    assert_eq!(td["efs"]["transit_encryption"], "ENABLED");
    assert_eq!(td["container"]["environment"]["WXRUN_PRIMITIVE"], "fargate");
    assert_eq!(td["container"]["user"], "65532");
    assert_eq!(
        td["container"]["health_check"]["command"],
        json!([
            "CMD",
            "/wxrun",
            "probe",
            "--addr",
            "127.0.0.1:8080",
            "--path",
            HEALTH_PATH
        ])
    );
}

#[test]
fn ec2_runs_as_an_auto_scaling_group_launched_from_a_template() {
    let g = graph(STACK);
    let lt = &g.nodes["aws.launch_template.ec2"].props;
    assert_eq!(lt["name"], "demo-ec2");
    assert_eq!(lt["metadata"]["http_tokens"], "required");
    assert_eq!(
        lt["instance_profile_arn"],
        "${aws.iam_instance_profile.ec2.arn}"
    );
    assert_eq!(lt["tags"]["wxinfra:stack"], "demo");
    let group = &g.nodes["aws.autoscaling_group.ec2"];
    let p = &group.props;
    assert_eq!(p["launch_template_id"], "${aws.launch_template.ec2.id}");
    assert_eq!(
        p["launch_template_version"],
        "${aws.launch_template.ec2.version}"
    );
    // `count` is min, max and desired.
    assert_eq!(
        [&p["min_size"], &p["max_size"], &p["desired_capacity"]],
        [&json!(2), &json!(2), &json!(2)]
    );
    assert_eq!(
        p["subnet_ids"],
        json!(["${aws.subnet.public-a.id}", "${aws.subnet.public-b.id}"])
    );
    assert_eq!(
        p["target_group_arns"],
        json!(["${aws.lb_target_group.ec2.arn}"])
    );
    assert_eq!(p["min_healthy_percentage"], 100);
    assert_eq!(p["health_check_grace_period"], 120);
    // The group waits for healthy instances, which needs the listener's health checks.
    assert!(group.depends_on().contains("aws.lb_listener.main"));
    assert!(group.ignore_changes.is_empty());
    assert!(!g.nodes.contains_key("aws.autoscaling_policy.ec2"));
    assert!(
        !g.nodes
            .keys()
            .any(|a| a.starts_with("aws.instance.") || a.contains("attachment.ec2"))
    );
}

#[test]
fn a_scaled_group_leaves_its_count_to_a_target_tracking_policy() {
    let g = graph(&STACK.replace(
        "    count: 2\n",
        "    count: 9\n    warmup: 45\n    min_healthy_percent: 50\n    scaling:\n      min: 2\n      max: 4\n      cpu: 55\n",
    ));
    let group = &g.nodes["aws.autoscaling_group.ec2"];
    let p = &group.props;
    assert_eq!(
        [&p["min_size"], &p["max_size"], &p["desired_capacity"]],
        [&json!(2), &json!(4), &json!(4)],
        "started within the bounds"
    );
    assert_eq!(
        [&p["instance_warmup"], &p["min_healthy_percentage"]],
        [&json!(45), &json!(50)]
    );
    assert!(group.ignore_changes.contains("desired_capacity"));
    let policy = &g.nodes["aws.autoscaling_policy.ec2"].props;
    assert_eq!(
        policy,
        &json!({
            "group_name": "${aws.autoscaling_group.ec2.name}",
            "policy_name": "demo-ec2",
            "metric": "ASGAverageCPUUtilization",
            "target_value": 55.0,
            "load_balancer_arn": null,
            "target_group_arn": null,
        })
    );
}

#[test]
fn user_data_mounts_efs_verifies_the_binary_and_enables_the_unit() {
    let g = graph(STACK);
    let ud = g.nodes["aws.launch_template.ec2"].props["user_data"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ud.contains(
        "mount -t efs -o tls,iam,accesspoint='${aws.efs_access_point.app.id}' '${aws.efs_file_system.app.id}:/'"
    ));
    // The binary's key and digest are known before its upload, so they are literals.
    assert!(ud.contains(
        "readonly BINARY_URL='s3://${aws.s3_bucket.artifacts.id}/runtime/wxrun-arm64-bin'"
    ));
    assert!(ud.contains("readonly BINARY_SHA256='bin'"));
    assert!(ud.contains("Restart=always"));
    assert!(ud.contains("User=wxrun"));
    assert!(ud.contains("RequiresMountsFor=/mnt/app"));
    assert!(ud.contains(
        "ExecStart=/usr/local/bin/wxrun serve --app-dir /mnt/app --source s3://${aws.s3_bucket.artifacts.id}/releases --listen 0.0.0.0:8080"
    ));
    assert!(!ud.contains("cfn-signal"));
}

const EDGE: &str = "  domain: app.example.com\n  hosted_zone: example.com\n";

#[test]
fn a_domain_gets_a_validated_certificate_an_https_listener_a_redirect_and_an_alias() {
    let g = graph(&STACK.replace("  port: 8000\n", &format!("  port: 80\n{EDGE}")));
    let zone = "${aws.route53_zone_lookup.main.id}";
    // The zone is looked up before anything is made: a missing zone changes nothing.
    assert!(
        g.nodes["aws.vpc.main"]
            .depends_on()
            .contains("aws.route53_zone_lookup.main")
    );
    let cert = &g.nodes["aws.acm_certificate.main"].props;
    assert_eq!(
        (&cert["domain_name"], &cert["validation_method"]),
        (&json!("app.example.com"), &json!("DNS"))
    );
    let record = &g.nodes["aws.route53_record.validation"].props;
    assert_eq!(record["zone_id"], zone);
    assert_eq!(
        record["name"],
        "${aws.acm_certificate.main.validation_record_name}"
    );
    assert_eq!(
        record["records"],
        json!(["${aws.acm_certificate.main.validation_record_value}"])
    );
    let validation = &g.nodes["aws.acm_certificate_validation.main"];
    assert!(
        validation
            .depends_on()
            .contains("aws.route53_record.validation")
    );

    let https = &g.nodes["aws.lb_listener.https"];
    assert_eq!(https.props["protocol"], "HTTPS");
    assert_eq!(https.props["port"], 443);
    assert_eq!(
        https.props["certificate_arn"],
        "${aws.acm_certificate_validation.main.certificate_arn}"
    );
    assert_eq!(https.props["ssl_policy"], crate::stack::DEFAULT_SSL_POLICY);
    assert_eq!(https.props["forward"].as_array().unwrap().len(), 3);
    let main = &g.nodes["aws.lb_listener.main"];
    assert_eq!(
        (&main.props["protocol"], &main.props["port"]),
        (&json!("HTTP"), &json!(80))
    );
    assert_eq!(
        main.props["redirect"],
        json!({"protocol": "HTTPS", "port": 443, "status_code": "HTTP_301"})
    );
    assert!(main.props.get("forward").is_none());
    assert!(main.depends_on().contains("aws.lb_listener.https"));
    // ECS attaches its group once the listener that forwards to it exists.
    assert!(
        g.nodes["aws.ecs_service.app"]
            .depends_on()
            .contains("aws.lb_listener.https")
    );

    let alias = &g.nodes["aws.route53_record.alias"].props;
    assert_eq!(
        alias["alias"],
        json!({"dns_name": "${aws.lb.main.dns_name}", "zone_id": "${aws.lb.main.zone_id}", "evaluate_target_health": true})
    );
    assert_eq!(
        (&alias["name"], &alias["type"]),
        (&json!("app.example.com"), &json!("A"))
    );
    assert_eq!(g.outputs["endpoint"], "https://app.example.com");
    // Clients may reach both ports.
    for rule in ["alb-in-0", "alb-in-https-0"] {
        assert!(
            g.nodes
                .contains_key(&format!("aws.security_group_rule.{rule}")),
            "{rule}"
        );
    }
    assert_eq!(
        g.nodes["aws.security_group_rule.alb-in-https-0"].props["from_port"],
        443
    );
}

#[test]
fn a_certificate_arn_is_used_as_given_with_nothing_requested() {
    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    let g = graph(&STACK.replace(
        "  port: 8000\n",
        &format!("  port: 8000\n  https_port: 8443\n  certificate_arn: {arn}\n"),
    ));
    assert_eq!(
        g.nodes["aws.lb_listener.https"].props["certificate_arn"],
        arn
    );
    assert!(
        !g.nodes
            .keys()
            .any(|a| a.contains("acm") || a.contains("route53"))
    );
    assert_eq!(
        g.outputs["endpoint"],
        "https://${aws.lb.main.dns_name}:8443"
    );
}

#[test]
fn private_compute_subnets_sit_behind_nat_gateways_and_the_alb_stays_public() {
    let g = graph(&STACK.replace(
        "app:",
        "network:\n  compute_subnets: private\n  nat_gateways: 2\napp:",
    ));
    let private = json!(["${aws.subnet.private-a.id}", "${aws.subnet.private-b.id}"]);
    assert_eq!(
        g.nodes["aws.lb.main"].props["subnets"],
        json!(["${aws.subnet.public-a.id}", "${aws.subnet.public-b.id}"])
    );
    assert_eq!(
        g.nodes["aws.lambda_function.app"].props["subnet_ids"],
        private
    );
    assert_eq!(
        g.nodes["aws.autoscaling_group.ec2"].props["subnet_ids"],
        private
    );
    let svc = &g.nodes["aws.ecs_service.app"].props;
    assert_eq!(
        (&svc["subnets"], &svc["assign_public_ip"]),
        (&private, &json!(false))
    );
    assert_eq!(
        g.nodes["aws.efs_mount_target.private-a"].props["subnet_id"],
        "${aws.subnet.private-a.id}"
    );
    assert!(!g.nodes.contains_key("aws.efs_mount_target.public-a"));
    for (az, public) in [("a", "public-a"), ("b", "public-b")] {
        let subnet = &g.nodes[&format!("aws.subnet.private-{az}")].props;
        assert_eq!(subnet["map_public_ip_on_launch"], false);
        let nat = &g.nodes[&format!("aws.nat_gateway.{az}")];
        assert_eq!(
            nat.props["subnet_id"],
            format!("${{aws.subnet.{public}.id}}")
        );
        assert_eq!(
            nat.props["allocation_id"],
            format!("${{aws.eip.nat-{az}.allocation_id}}")
        );
        // A NAT gateway made before the internet gateway is attached fails.
        assert!(nat.depends_on().contains("aws.internet_gateway.main"));
        assert_eq!(
            g.nodes[&format!("aws.route_table.private-{az}")].props["routes"],
            json!([{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": format!("${{aws.nat_gateway.{az}.id}}")}])
        );
        // Compute starts once its way out exists.
        for c in [
            "aws.autoscaling_group.ec2",
            "aws.lambda_function.app",
            "aws.ecs_service.app",
        ] {
            assert!(
                g.nodes[c]
                    .depends_on()
                    .contains(&format!("aws.route_table_association.private-{az}")),
                "{c} does not wait for private-{az}'s route"
            );
        }
    }
    assert_eq!(
        g.nodes["aws.subnet.private-a"].props["cidr_block"],
        "10.42.128.0/24"
    );
    // The S3 gateway endpoint serves the private route tables too.
    assert_eq!(
        g.nodes["aws.vpc_endpoint.s3"].props["route_table_ids"],
        json!([
            "${aws.route_table.public.id}",
            "${aws.route_table.private-a.id}",
            "${aws.route_table.private-b.id}"
        ])
    );
    // One NAT gateway serves every AZ unless asked for more.
    let g = graph(&STACK.replace("app:", "network:\n  compute_subnets: private\napp:"));
    assert!(!g.nodes.contains_key("aws.nat_gateway.b"));
    assert_eq!(
        g.nodes["aws.route_table.private-b"].props["routes"][0]["nat_gateway_id"],
        "${aws.nat_gateway.a.id}"
    );
}
