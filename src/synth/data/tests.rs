use super::*;
use crate::artifacts::RELEASE;
use crate::graph::Graph;
use crate::stack::LoadedStack;
use crate::synth::testing::artifacts;

fn loaded(dir: &std::path::Path, network: &str) -> LoadedStack {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/spin.toml"), "spin_manifest_version = 2\n").unwrap();
    let yaml = format!(
        "version: 1\nname: demo\napp:\n  manifest: app/spin.toml\n{network}compute:\n  ec2:\n    count: 1\n  fargate:\n    cpu: 256\n    memory: 512\n  lambda:\n    memory: 512\n    log_retention_days: 7\n"
    );
    std::fs::write(dir.join("stack.yaml"), yaml).unwrap();
    crate::stack::load(&dir.join("stack.yaml")).unwrap()
}

fn graph(network: &str, a: &Artifacts) -> Graph {
    let d = tempfile::tempdir().unwrap();
    crate::synth::aws(&loaded(d.path(), network), a).unwrap()
}

const R1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const R2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn a_mount_target_per_subnet_depends_on_the_file_system() {
    let g = graph("", &artifacts(R1, &[]));
    let mts: Vec<_> = g
        .nodes
        .values()
        .filter(|n| n.kind == "aws.efs_mount_target")
        .collect();
    assert_eq!(
        mts.iter().map(|n| n.address.as_str()).collect::<Vec<_>>(),
        [
            "aws.efs_mount_target.public-a",
            "aws.efs_mount_target.public-b"
        ]
    );
    for mt in mts {
        let deps = mt.depends_on();
        assert!(deps.contains("aws.efs_file_system.app"), "{deps:?}");
        assert!(deps.contains("aws.security_group.efs"), "{deps:?}");
    }
    // A looked-up VPC: one mount target per subnet of the lookup's list.
    let g = graph(
        "network:\n  vpc: default\n  availability_zones: 3\n",
        &artifacts(R1, &[]),
    );
    let subnets: Vec<_> = g
        .nodes
        .values()
        .filter(|n| n.kind == "aws.efs_mount_target")
        .map(|n| n.props["subnet_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        subnets,
        [
            "${aws.vpc_lookup.default.subnet_ids.0}",
            "${aws.vpc_lookup.default.subnet_ids.1}",
            "${aws.vpc_lookup.default.subnet_ids.2}"
        ]
    );
}

/// Destroy deletes dependents first: mount targets (and the access point) before the file
/// system, the instance profile before its role — AWS refuses the other order.
#[test]
fn destroy_order_follows_references() {
    use crate::plan::{Action, build::build};
    use crate::state::{ResourceState, State, Status};
    let g = graph("", &artifacts(R1, &[]));
    let mut state = State::new("demo");
    for n in g.nodes.values() {
        state.resources.insert(
            n.address.clone(),
            ResourceState {
                kind: n.kind.clone(),
                status: Status::Created,
                id: Some(n.address.clone()),
                props: n.props.clone(),
                outputs: Default::default(),
                depends_on: n.depends_on(),
                token: None,
                ignore_changes: Default::default(),
            },
        );
    }
    let plan = build(
        &Graph::default(),
        &state,
        &Default::default(),
        &crate::provider::Registry::default(),
    )
    .unwrap();
    assert!(plan.resources.iter().all(|r| r.action == Action::Delete));
    let pos = |a: &str| plan.resources.iter().position(|r| r.address == a).unwrap();
    assert!(pos("aws.efs_mount_target.public-a") < pos("aws.efs_file_system.app"));
    assert!(pos("aws.efs_mount_target.public-b") < pos("aws.efs_file_system.app"));
    assert!(pos("aws.efs_access_point.app") < pos("aws.efs_file_system.app"));
    assert!(pos("aws.iam_instance_profile.ec2") < pos("aws.iam_role.ec2"));
    assert!(pos("aws.release.app") < pos("aws.s3_bucket.artifacts"));
    assert!(pos(&format!("aws.s3_object.{}", bundle_name(R1))) < pos("aws.s3_bucket.artifacts"));
}

#[test]
fn an_app_only_change_touches_only_the_bundle_and_the_pointer() {
    let before = graph("", &artifacts(R1, &[]));
    // What apply's artifacts step computes after one release: R1 is retained.
    let after = graph("", &artifacts(R2, &[R1]));
    let added: Vec<_> = after
        .nodes
        .keys()
        .filter(|a| !before.nodes.contains_key(*a))
        .collect();
    let removed: Vec<_> = before
        .nodes
        .keys()
        .filter(|a| !after.nodes.contains_key(*a))
        .collect();
    let changed: Vec<_> = after
        .nodes
        .iter()
        .filter(|(a, n)| before.nodes.get(*a).is_some_and(|b| b.props != n.props))
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(added, [&format!("aws.s3_object.{}", bundle_name(R2))]);
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(changed, [RELEASE]);
    let release = &after.nodes[RELEASE];
    assert_eq!(release.props["release_id"], R2);
    assert_eq!(release.props["key"], "releases/current");
    assert_eq!(
        release.props["bundle_key"],
        format!("${{aws.s3_object.{}.key}}", bundle_name(R2))
    );
}

/// Collects every `Resource` of every inline policy as (role, sid, resource).
fn resources(g: &Graph) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for n in g.nodes.values().filter(|n| n.kind == "aws.iam_role") {
        for doc in n.props["policies"].as_object().unwrap().values() {
            for st in doc["Statement"].as_array().unwrap() {
                let rs = match &st["Resource"] {
                    Value::Array(a) => a.clone(),
                    v => vec![v.clone()],
                };
                for r in rs {
                    out.push((
                        n.address.clone(),
                        st["Sid"].as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn policies_are_scoped_except_where_aws_has_no_resource() {
    let g = graph("", &artifacts(R1, &[]));
    let stars: Vec<_> = resources(&g)
        .into_iter()
        .filter(|(_, _, r)| r.contains('*') && !r.contains("${"))
        .collect();
    assert_eq!(
        stars
            .iter()
            .map(|(a, s, _)| (a.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        [
            ("aws.iam_role.ecs-execution", "EcrLogin"),
            ("aws.iam_role.lambda", "VpcNetworkInterfaces"),
        ]
    );
    for (role, sid, r) in resources(&g) {
        match sid.as_str() {
            "EfsThroughAccessPoint" => assert_eq!(r, "${aws.efs_file_system.app.arn}"),
            "ReadArtifacts" => assert!(
                r == "${aws.s3_bucket.artifacts.arn}/releases/*"
                    || (role == "aws.iam_role.ec2"
                        && r == "${aws.s3_bucket.artifacts.arn}/runtime/*"),
                "{role}: {r}"
            ),
            "ListArtifacts" => assert_eq!(r, "${aws.s3_bucket.artifacts.arn}"),
            "WriteLogs" => assert!(
                r.starts_with("${aws.log_group.") && r.ends_with(".arn}:*"),
                "{r}"
            ),
            "EcrPull" => assert!(r.ends_with(":repository/demo-runtime"), "{r}"),
            _ => {}
        }
    }
    // The access point condition is on every EFS grant.
    for n in g.nodes.values().filter(|n| n.kind == "aws.iam_role") {
        let doc = &n.props["policies"]["wxinfra"];
        for st in doc["Statement"].as_array().unwrap() {
            if st["Sid"] == "EfsThroughAccessPoint" {
                assert_eq!(
                    st["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"],
                    "${aws.efs_access_point.app.arn}"
                );
            }
        }
    }
}

#[test]
fn names_stay_within_aws_limits() {
    let g = graph("", &artifacts(R1, &[]));
    for n in g.nodes.values() {
        match n.kind.as_str() {
            "aws.iam_role" | "aws.iam_instance_profile" => {
                let name = n.props["name"].as_str().unwrap();
                assert!(crate::aws::iam_role::valid_name(name), "{name}");
                assert_eq!(n.props["path"], "/wxinfra/demo/");
            }
            "aws.log_group" => {
                let name = n.props["name"].as_str().unwrap();
                assert!(crate::aws::log_group::valid_name(name), "{name}");
            }
            _ => {}
        }
    }
    let lambda = &g.nodes["aws.log_group.lambda"];
    assert_eq!(lambda.props["retention_days"], 7);
    assert_eq!(
        g.nodes["aws.log_group.fargate"].props["retention_days"],
        LOG_RETENTION_DAYS
    );
}

#[test]
fn only_configured_primitives_get_roles_and_log_groups() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("app")).unwrap();
    std::fs::write(
        d.path().join("app/spin.toml"),
        "spin_manifest_version = 2\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("stack.yaml"),
        "version: 1\nname: lo\napp:\n  manifest: app/spin.toml\ncompute:\n  lambda:\n    memory: 256\n",
    )
    .unwrap();
    let s = crate::stack::load(&d.path().join("stack.yaml")).unwrap();
    let g = crate::synth::aws(&s, &artifacts(R1, &[])).unwrap();
    let roles: Vec<_> = g
        .nodes
        .keys()
        .filter(|a| a.starts_with("aws.iam_") || a.starts_with("aws.log_group"))
        .collect();
    assert_eq!(roles, ["aws.iam_role.lambda", "aws.log_group.lambda"]);
}

#[test]
fn ec2_gets_no_log_group_nor_log_permissions_since_nothing_on_it_ships_logs() {
    let g = graph("", &artifacts(R1, &[]));
    let groups: Vec<_> = g
        .nodes
        .keys()
        .filter(|a| a.starts_with("aws.log_group."))
        .collect();
    assert_eq!(groups, ["aws.log_group.fargate", "aws.log_group.lambda"]);
    let ec2: Vec<_> = resources(&g)
        .into_iter()
        .filter(|(a, _, _)| a == "aws.iam_role.ec2")
        .map(|(_, sid, _)| sid)
        .collect();
    assert_eq!(
        ec2,
        [
            "EfsThroughAccessPoint",
            "ReadArtifacts",
            "ReadArtifacts",
            "ListArtifacts"
        ]
    );
}

#[test]
fn each_key_value_label_gets_a_table_that_only_the_runtimes_may_use_and_are_told_of() {
    let mut a = artifacts(R1, &[]);
    a.kv_labels = vec!["cache".into(), "default".into()];
    let g = graph("", &a);
    let t = &g.nodes["aws.dynamodb_table.kv-cache"];
    assert_eq!(
        t.props,
        json!({
            "name": "demo-kv-cache",
            "hash_key": "PK",
            "billing_mode": "PAY_PER_REQUEST",
            "encrypted": true,
            "tags": t.props["tags"],
        })
    );
    assert_eq!(t.props["tags"]["wxinfra:stack"], "demo");
    let tables = [
        "${aws.dynamodb_table.kv-cache.arn}",
        "${aws.dynamodb_table.kv-default.arn}",
    ];
    // The three runtime roles, and only they, may read and write exactly these tables.
    let mut granted: Vec<String> = Vec::new();
    for (role, sid, r) in resources(&g) {
        if sid == "KeyValueTables" {
            assert!(tables.contains(&r.as_str()), "{role}: {r}");
            granted.push(role);
        }
    }
    granted.dedup();
    assert_eq!(
        granted,
        [
            "aws.iam_role.ec2",
            "aws.iam_role.ecs-task",
            "aws.iam_role.lambda"
        ]
    );
    let role = &g.nodes["aws.iam_role.lambda"];
    let st = role.props["policies"]["wxinfra"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "KeyValueTables")
        .unwrap();
    assert_eq!(
        st["Action"],
        json!([
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:Scan"
        ])
    );
    // Every primitive is told which table backs which label, in Spin's runtime-config terms.
    let config = "key_value_store = { 'cache' = { type = 'aws_dynamo', region = '${aws.caller_identity.current.region}', table = '${aws.dynamodb_table.kv-cache.name}' }, 'default' = { type = 'aws_dynamo', region = '${aws.caller_identity.current.region}', table = '${aws.dynamodb_table.kv-default.name}' } }";
    let f = &g.nodes["aws.lambda_function.app"];
    assert_eq!(f.props["environment"]["WXRUN_RUNTIME_CONFIG"], config);
    let td = g
        .nodes
        .values()
        .find(|n| n.kind == "aws.ecs_task_definition")
        .unwrap();
    assert_eq!(
        td.props["container"]["environment"]["WXRUN_RUNTIME_CONFIG"],
        config
    );
    let ud = g.nodes["aws.launch_template.ec2"].props["user_data"]
        .as_str()
        .unwrap();
    assert!(
        ud.contains(&format!("Environment=\"WXRUN_RUNTIME_CONFIG={config}\"\n")),
        "{ud}"
    );
    // The config parses as the TOML Spin reads.
    let parsed: toml::Table = toml::from_str(config).unwrap();
    assert_eq!(
        parsed["key_value_store"]["default"]["type"].as_str(),
        Some("aws_dynamo")
    );
    // An app without stores gets neither tables nor the setting.
    let g = graph("", &artifacts(R1, &[]));
    assert!(!g.nodes.values().any(|n| n.kind == "aws.dynamodb_table"));
    assert!(
        g.nodes["aws.lambda_function.app"].props["environment"]
            .get("WXRUN_RUNTIME_CONFIG")
            .is_none()
    );
}
