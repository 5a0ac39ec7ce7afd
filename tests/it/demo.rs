//! The whole multi-compute stack: `stacks/demo.yaml` as shipped, applied to moto with the
//! static wxrun (the image pushed to a local registry), every resource and its wiring
//! asserted with boto3; then the edits the issue names produce exactly their plans, drift made
//! with boto3 is reported, and destroy leaves nothing.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{AwsProxy, LocalRegistry, Moto, Workspace, repo, static_wxrun};

const STACK: &str = "stacks/demo.yaml";

/// `stacks/demo.yaml` verbatim in a workspace, the hello app next to it (`spin.toml` copied
/// so a test can change the app, the built component linked), the static wxrun at the default
/// `runtime.binary` path, and image pushes going to `reg`.
fn demo(moto: &Moto, reg: &LocalRegistry) -> Workspace {
    let ws = Workspace::with_moto(moto).with_env("WXINFRA_OCI_REGISTRY", reg.host.clone());
    let hello = repo().join("examples/hello");
    let wasm = hello.join("app.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: run runtime-image/wxrun/tests/build-components.sh",
        wasm.display()
    );
    ws.write(STACK, &std::fs::read_to_string(repo().join(STACK)).unwrap());
    ws.write(
        "examples/hello/spin.toml",
        &std::fs::read_to_string(hello.join("spin.toml")).unwrap(),
    );
    link(&wasm, &ws.path().join("examples/hello/app.wasm"));
    link(
        &static_wxrun(),
        &ws.path().join("runtime-image/dist/wxrun-x86_64"),
    );
    ws
}

fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(from, to).unwrap();
}

fn apply(ws: &Workspace) {
    ws.run(&["apply", "-f", STACK, "--auto-approve"]).ok();
}

fn converged(ws: &Workspace, after: &str) {
    let r = ws.run(&["plan", "-f", STACK, "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "not converged {after}:\n{}\n{}",
        r.stdout, r.stderr
    );
}

/// The plan's actions other than no-op, as (address, action).
fn actions(ws: &Workspace) -> Vec<(String, String)> {
    let out = ws.run(&["plan", "-f", STACK, "--json"]).ok().stdout;
    let plan: Value = serde_json::from_str(&out).unwrap();
    plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] != "no_op")
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What an edit is called, the stack text it replaces and with what, and the plan it makes.
type Edit<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Load balancer, listener, target groups and their targets, as boto3 sees them.
const TRAFFIC: &str = "elb = client('elbv2')\n\
    lbs = elb.describe_load_balancers()['LoadBalancers']\n\
    assert len(lbs) == 1, lbs\n\
    lb = lbs[0]\n\
    ls = elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']\n\
    tgs = {t['TargetGroupName'].rsplit('-', 1)[0]: t for t in elb.describe_target_groups()['TargetGroups']}\n\
    targets = {n: [d['Target']['Id'] for d in elb.describe_target_health(TargetGroupArn=t['TargetGroupArn'])['TargetHealthDescriptions']] for n, t in tgs.items()}\n\
    attrs = {n: {a['Key']: a['Value'] for a in elb.describe_target_group_attributes(TargetGroupArn=t['TargetGroupArn'])['Attributes']} for n, t in tgs.items()}\n\
    print(json.dumps({'lb': lb, 'listeners': ls, 'tgs': tgs, 'targets': targets, 'attrs': attrs}, default=str))";

#[test]
fn demo_stack_applies_wired_converges_releases_and_destroys_clean() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = demo(&moto, &reg);
    // Apply waits for the load balancer's health checks and reports each primitive's.
    let r = ws.run(&["apply", "-f", STACK, "--auto-approve"]).ok();
    for p in ["ec2", "fargate", "lambda"] {
        assert!(
            r.stdout
                .contains(&format!("  {p} = healthy (1 of 1 targets)")),
            "{}\n{}",
            r.stdout,
            r.stderr
        );
    }

    let net = moto.boto(
        "ec2 = client('ec2')\n\
         f = [{'Name': 'tag:wxinfra:stack', 'Values': ['demo']}]\n\
         sgs = {g['Tags'][[t['Key'] for t in g['Tags']].index('wxinfra:address')]['Value']: g for g in ec2.describe_security_groups(Filters=f)['SecurityGroups']}\n\
         print(json.dumps({'subnets': sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=f)['Subnets']),\n\
           'sg': {a.split('.')[-1]: g['GroupId'] for a, g in sgs.items()},\n\
           'ingress': {a.split('.')[-1]: g['IpPermissions'] for a, g in sgs.items()}}))",
    );
    let sg = |n: &str| net["sg"][n].as_str().unwrap().to_string();

    // Security groups: the internet reaches only the ALB; compute admits only the ALB on the
    // runtime port; EFS admits only compute on NFS.
    let only_from = |name: &str, port: u16, source: &str| {
        let rules = net["ingress"][name].as_array().unwrap();
        assert_eq!(rules.len(), 1, "{name}: {rules:?}");
        assert_eq!(rules[0]["FromPort"], port, "{name}");
        assert_eq!(rules[0]["ToPort"], port, "{name}");
        assert_eq!(rules[0]["IpRanges"], json!([]), "{name}");
        assert_eq!(rules[0]["UserIdGroupPairs"][0]["GroupId"], source, "{name}");
    };
    only_from("compute", 8080, &sg("alb"));
    only_from("efs", 2049, &sg("compute"));

    // The ALB: internet-facing over the stack's subnets, one listener on 80 forwarding to the
    // three target groups with weight 1 each; health checks on the runtime's own endpoint.
    let t = moto.boto(TRAFFIC);
    assert_eq!(t["lb"]["Scheme"], "internet-facing");
    assert_eq!(t["lb"]["SecurityGroups"], json!([sg("alb")]));
    let mut lb_subnets: Vec<String> = t["lb"]["AvailabilityZones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["SubnetId"].as_str().unwrap().to_string())
        .collect();
    lb_subnets.sort();
    assert_eq!(json!(lb_subnets), net["subnets"]);
    assert_eq!(t["listeners"].as_array().unwrap().len(), 1);
    let listener = &t["listeners"][0];
    assert_eq!(listener["Port"], 80);
    let forward = &listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"];
    let tg_arn = |n: &str| t["tgs"][n]["TargetGroupArn"].as_str().unwrap().to_string();
    let mut weights: Vec<(String, i64)> = forward
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["TargetGroupArn"].as_str().unwrap().to_string(),
                g["Weight"].as_i64().unwrap(),
            )
        })
        .collect();
    weights.sort();
    let mut want = vec![
        (tg_arn("demo-ec2"), 1),
        (tg_arn("demo-fargate"), 1),
        (tg_arn("demo-lambda"), 1),
    ];
    want.sort();
    assert_eq!(weights, want);
    for (name, ty) in [
        ("demo-ec2", "instance"),
        ("demo-fargate", "ip"),
        ("demo-lambda", "lambda"),
    ] {
        let tg = &t["tgs"][name];
        assert_eq!(tg["TargetType"], ty, "{name}");
        assert_eq!(tg["HealthCheckPath"], "/.well-known/spin/health", "{name}");
    }
    assert_eq!(
        t["attrs"]["demo-lambda"]["lambda.multi_value_headers.enabled"],
        "true"
    );

    // Lambda: the same wxrun as `bootstrap`, in the VPC with the compute group, EFS at
    // /mnt/app through the access point, invocable by exactly the lambda target group.
    let l = moto.boto(
        "lam = client('lambda'); efs = client('efs')\n\
         c = lam.get_function(FunctionName='demo-app')['Configuration']\n\
         pol = json.loads(lam.get_policy(FunctionName='demo-app')['Policy'])\n\
         ap = efs.describe_access_points()['AccessPoints'][0]['AccessPointArn']\n\
         print(json.dumps({'c': c, 'policy': pol, 'ap': ap}, default=str))",
    );
    let c = &l["c"];
    assert_eq!(c["Runtime"], "provided.al2023");
    assert_eq!(c["Handler"], "bootstrap");
    assert_eq!(c["Architectures"], json!(["x86_64"]));
    assert_eq!(c["MemorySize"], 512);
    assert_eq!(c["Timeout"], 30);
    assert_eq!(c["VpcConfig"]["SecurityGroupIds"], json!([sg("compute")]));
    let mut fn_subnets: Vec<String> =
        serde_json::from_value(c["VpcConfig"]["SubnetIds"].clone()).unwrap();
    fn_subnets.sort();
    assert_eq!(json!(fn_subnets), net["subnets"]);
    assert_eq!(c["FileSystemConfigs"][0]["Arn"], l["ap"]);
    assert_eq!(c["FileSystemConfigs"][0]["LocalMountPath"], "/mnt/app");
    assert!(
        c["Role"]
            .as_str()
            .unwrap()
            .ends_with(":role/wxinfra/demo/demo-lambda")
    );
    let st = &l["policy"]["Statement"][0];
    assert_eq!(
        st["Principal"]["Service"],
        "elasticloadbalancing.amazonaws.com"
    );
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        tg_arn("demo-lambda")
    );
    assert_eq!(t["targets"]["demo-lambda"], json!([c["FunctionArn"]]));

    // Fargate: the task mounts the access point over TLS with IAM auth and runs the image
    // of the very binary the other primitives get; the service sits behind its target group.
    let bin = sha256_file(&static_wxrun());
    let e = moto.boto(
        "ecs = client('ecs')\n\
         s = ecs.describe_services(cluster='demo', services=['app'])['services'][0]\n\
         td = ecs.describe_task_definition(taskDefinition=s['taskDefinition'])['taskDefinition']\n\
         print(json.dumps({'s': s, 'td': td}, default=str))",
    );
    let (s, td) = (&e["s"], &e["td"]);
    assert_eq!(s["desiredCount"], 1);
    assert_eq!(s["launchType"], "FARGATE");
    assert_eq!(
        s["loadBalancers"][0]["targetGroupArn"],
        tg_arn("demo-fargate")
    );
    assert_eq!(s["loadBalancers"][0]["containerPort"], 8080);
    let vpc = &s["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["securityGroups"], json!([sg("compute")]));
    assert_eq!(vpc["assignPublicIp"], "ENABLED");
    assert_eq!(td["cpu"], "256");
    assert_eq!(td["memory"], "512");
    assert_eq!(td["networkMode"], "awsvpc");
    assert_eq!(td["runtimePlatform"]["cpuArchitecture"], "X86_64");
    let efs = &td["volumes"][0]["efsVolumeConfiguration"];
    assert_eq!(efs["transitEncryption"], "ENABLED");
    assert_eq!(efs["authorizationConfig"]["iam"], "ENABLED");
    assert!(
        efs["authorizationConfig"]["accessPointId"]
            .as_str()
            .unwrap()
            .starts_with("fsap-")
    );
    let container = &td["containerDefinitions"][0];
    assert_eq!(container["name"], "wxrun");
    assert_eq!(container["readonlyRootFilesystem"], true);
    // The image has only wxrun in it, so wxrun is its own health check.
    assert_eq!(
        container["healthCheck"]["command"],
        json!([
            "CMD",
            "/wxrun",
            "probe",
            "--addr",
            "127.0.0.1:8080",
            "--path",
            "/.well-known/spin/health"
        ])
    );
    let image = container["image"].as_str().unwrap().to_string();
    assert!(
        td["executionRoleArn"]
            .as_str()
            .unwrap()
            .ends_with("/demo-ecs-execution")
    );
    assert!(
        td["taskRoleArn"]
            .as_str()
            .unwrap()
            .ends_with("/demo-ecs-task")
    );

    // EC2: an Auto Scaling group in the EC2 target group with ELB health checks, launched
    // from a template with IMDSv2 only, the instance profile and the compute group; its
    // target-tracking policy counts the group's requests; the user data verifies exactly the
    // uploaded binary.
    let i = moto.boto(
        "ec2 = client('ec2'); asg = client('autoscaling')\n\
         g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=['demo-ec2'])['AutoScalingGroups'][0]\n\
         lt = g['LaunchTemplate']\n\
         v = ec2.describe_launch_template_versions(LaunchTemplateId=lt['LaunchTemplateId'], Versions=[lt['Version']])['LaunchTemplateVersions'][0]['LaunchTemplateData']\n\
         p = asg.describe_policies(AutoScalingGroupName='demo-ec2')['ScalingPolicies']\n\
         import base64\n\
         print(json.dumps({'g': g, 'lt': v, 'policies': p, 'ud': base64.b64decode(v['UserData']).decode()}, default=str))",
    );
    let (group, lt) = (&i["g"], &i["lt"]);
    assert_eq!(
        [
            &group["MinSize"],
            &group["MaxSize"],
            &group["DesiredCapacity"]
        ],
        [&json!(1), &json!(3), &json!(1)]
    );
    assert_eq!(group["HealthCheckType"], "ELB");
    assert_eq!(group["TargetGroupARNs"].as_array().unwrap().len(), 1);
    assert_eq!(lt["InstanceType"], "t3.small");
    assert_eq!(lt["MetadataOptions"]["HttpTokens"], "required");
    assert!(
        lt["IamInstanceProfile"]["Arn"]
            .as_str()
            .unwrap()
            .ends_with(":instance-profile/wxinfra/demo/demo-ec2")
    );
    assert_eq!(lt["SecurityGroupIds"], json!([sg("compute")]));
    let policy = &i["policies"][0]["TargetTrackingConfiguration"];
    assert_eq!(
        policy["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "ALBRequestCountPerTarget"
    );
    assert_eq!(policy["TargetValue"], 1000.0);
    let instances: Vec<&Value> = group["Instances"].as_array().unwrap().iter().collect();
    assert_eq!(instances.len(), 1);
    assert_eq!(
        t["targets"]["demo-ec2"],
        json!([instances[0]["InstanceId"]])
    );
    let ud = i["ud"].as_str().unwrap();
    assert!(
        ud.contains(&format!("readonly BINARY_SHA256='{bin}'")),
        "{ud}"
    );
    assert!(ud.contains(&format!("runtime/wxrun-x86_64-{bin}")), "{ud}");
    assert!(ud.contains("tls,iam,accesspoint=fsap-"), "{ud}");

    // The image in the registry is the binary's, tagged by its sha256, and the task runs it
    // by digest (a tag can move, a digest cannot).
    let tags = crate::support::skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/demo-runtime", reg.host),
    ]);
    assert_eq!(tags["Tags"], json!([bin]));
    let manifest = crate::support::skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/demo-runtime:{bin}", reg.host),
    ]);
    assert_eq!(
        image,
        format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-runtime@{}",
            manifest["Digest"].as_str().unwrap()
        )
    );

    converged(&ws, "after the first apply");

    // A new build of the app: one new release object and the pointer move, nothing else.
    let manifest = ws.path().join("examples/hello/spin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("HELLO_RELEASE = \"v1\"", "HELLO_RELEASE = \"v2\""),
    )
    .unwrap();
    let changes = actions(&ws);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes[0].0.starts_with("aws.s3_object.release-") && changes[0].1 == "create",
        "{changes:?}"
    );
    assert_eq!(changes[1], ("aws.release.app".into(), "update".into()));
    apply(&ws);
    converged(&ws, "after the release");

    // Destroy leaves nothing. 53: the 52 of the first apply plus the earlier release kept for rollback. The state
    // knew everything, so the sweep after it finds nothing more.
    let r = ws.run(&["destroy", "-f", STACK, "--auto-approve"]).ok();
    assert!(
        r.stderr
            .contains("Destroy complete! 53 destroyed, 0 more found by tags."),
        "{}",
        r.stderr
    );
    assert_nothing_left(&moto);
}

#[test]
fn demo_stack_edits_plan_exactly_and_drift_is_reported() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = demo(&moto, &reg);
    apply(&ws);

    // Drift made with boto3 on a listener weight, an SG rule and the Lambda memory.
    moto.boto(
        "elb = client('elbv2'); ec2 = client('ec2'); lam = client('lambda')\n\
         l = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()['LoadBalancers'][0]['LoadBalancerArn'])['Listeners'][0]\n\
         a = l['DefaultActions'][0]\n\
         for g in a['ForwardConfig']['TargetGroups']: g['Weight'] = 9\n\
         elb.modify_listener(ListenerArn=l['ListenerArn'], DefaultActions=[{'Type': 'forward', 'ForwardConfig': {'TargetGroups': a['ForwardConfig']['TargetGroups']}}])\n\
         f = [{'Name': 'tag:wxinfra:address', 'Values': ['aws.security_group_rule.efs-from-compute']}]\n\
         r = ec2.describe_security_group_rules(Filters=f)['SecurityGroupRules'][0]\n\
         ec2.revoke_security_group_ingress(GroupId=r['GroupId'], SecurityGroupRuleIds=[r['SecurityGroupRuleId']])\n\
         lam.update_function_configuration(FunctionName='demo-app', MemorySize=1024)\n\
         print('null')",
    );
    let r = ws.run(&["diff", "-f", STACK, "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    for a in [
        "aws.lb_listener.main",
        "aws.security_group_rule.efs-from-compute",
        "aws.lambda_function.app",
    ] {
        assert!(r.stdout.contains(a), "diff misses {a}:\n{}", r.stdout);
    }
    apply(&ws);
    converged(&ws, "after repairing drift");

    // Each edit: exactly the expected plan, then apply converges.
    let edits: &[Edit] = &[
        (
            "listener weights",
            "    weight: 1\n    # EC2 Auto Scaling",
            "    weight: 4\n    # EC2 Auto Scaling",
            &[("aws.lb_listener.main", "update")],
        ),
        (
            "Lambda memory",
            "  lambda:\n    memory: 512",
            "  lambda:\n    memory: 1024",
            &[("aws.lambda_function.app", "update")],
        ),
        // The scaler owns the count: the stack's starting value is not a change.
        (
            "Fargate desired count",
            "    desired_count: 1",
            "    desired_count: 2",
            &[],
        ),
        (
            "Fargate scaling bound",
            "      max: 4",
            "      max: 6",
            &[("aws.appautoscaling_target.fargate", "update")],
        ),
        (
            "instance type",
            "instance_type: t3.small",
            "instance_type: t3.medium",
            // A new template version, rolled out by an instance refresh.
            &[
                ("aws.launch_template.ec2", "update"),
                ("aws.autoscaling_group.ec2", "update"),
            ],
        ),
    ];
    for (what, from, to, want) in edits {
        let path = ws.path().join(STACK);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{what}: {from:?} not in the stack");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        assert_eq!(actions(&ws), pairs(want), "{what}");
        apply(&ws);
        converged(&ws, what);
    }
    let live = moto.boto(
        "elb = client('elbv2'); lam = client('lambda'); ecs = client('ecs'); ec2 = client('ec2')\n\
         l = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()['LoadBalancers'][0]['LoadBalancerArn'])['Listeners'][0]\n\
         tgs = {t['TargetGroupArn']: t['TargetGroupName'].rsplit('-', 1)[0] for t in elb.describe_target_groups()['TargetGroups']}\n\
         f = [{'Name': 'tag:wxinfra:stack', 'Values': ['demo']}, {'Name': 'instance-state-name', 'Values': ['pending', 'running']}]\n\
         print(json.dumps({'weights': {tgs[g['TargetGroupArn']]: g['Weight'] for g in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']},\n\
           'memory': lam.get_function_configuration(FunctionName='demo-app')['MemorySize'],\n\
           'desired': ecs.describe_services(cluster='demo', services=['app'])['services'][0]['desiredCount'],\n\
           'max': client('application-autoscaling').describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets'][0]['MaxCapacity'],\n\
           'types': [i['InstanceType'] for r in ec2.describe_instances(Filters=f)['Reservations'] for i in r['Instances']]}))",
    );
    assert_eq!(
        live,
        json!({"weights": {"demo-ec2": 4, "demo-fargate": 1, "demo-lambda": 1}, "memory": 1024, "desired": 1, "max": 6, "types": ["t3.medium"]})
    );
    ws.run(&["destroy", "-f", STACK, "--auto-approve"]).ok();
    assert_eq!(moto.tagged("demo"), Vec::<String>::new());
}

/// Destroy left nothing: no tagged resource, no role or profile under the stack's path, no
/// load balancer (so no listener), function, cluster, repository, bucket or file system.
fn assert_nothing_left(moto: &Moto) {
    assert_eq!(moto.tagged("demo"), Vec::<String>::new());
    let left = moto.boto(
        "iam = client('iam'); s3 = client('s3'); efs = client('efs'); logs = client('logs')\n\
         elb = client('elbv2'); lam = client('lambda'); ecs = client('ecs'); ecr = client('ecr'); ec2 = client('ec2')\n\
         live = [i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] != 'terminated']\n\
         print(json.dumps({'roles': iam.list_roles(PathPrefix='/wxinfra/demo/')['Roles'],\n\
           'profiles': iam.list_instance_profiles(PathPrefix='/wxinfra/demo/')['InstanceProfiles'],\n\
           'buckets': s3.list_buckets()['Buckets'], 'fs': efs.describe_file_systems()['FileSystems'],\n\
           'logs': logs.describe_log_groups(logGroupNamePrefix='/wxinfra/demo/')['logGroups'],\n\
           'lbs': elb.describe_load_balancers()['LoadBalancers'], 'tgs': elb.describe_target_groups()['TargetGroups'],\n\
           'functions': lam.list_functions()['Functions'],\n\
           'clusters': [c for c in ecs.describe_clusters(clusters=['demo'])['clusters'] if c['status'] != 'INACTIVE'],\n\
           'repos': ecr.describe_repositories()['repositories'], 'instances': live,\n\
           'groups': client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups'],\n\
           'templates': ec2.describe_launch_templates()['LaunchTemplates'],\n\
           'scalable_targets': client('application-autoscaling').describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets'],\n\
           'scaling_policies': client('application-autoscaling').describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies']}, default=str))",
    );
    for (k, v) in left.as_object().unwrap() {
        assert_eq!(v, &json!([]), "{k} left after destroy: {v}");
    }
}

/// How many of each kind exist, as boto3 counts them, for the kinds a retried create could
/// make twice.
const LIVE_COUNTS: &str = "ec2 = client('ec2'); elb = client('elbv2'); lam = client('lambda'); iam = client('iam'); r53 = client('route53')\n\
    efs = client('efs'); ecs = client('ecs'); logs = client('logs'); s3 = client('s3'); ecr = client('ecr')\n\
    f = [{'Name': 'tag:wxinfra:stack', 'Values': ['demo']}]\n\
    lbs = elb.describe_load_balancers()['LoadBalancers']\n\
    fss = efs.describe_file_systems()['FileSystems']\n\
    rts = ec2.describe_route_tables(Filters=f)['RouteTables']\n\
    print(json.dumps({\n\
      'aws.vpc': len(ec2.describe_vpcs(Filters=f)['Vpcs']),\n\
      'aws.subnet': len(ec2.describe_subnets(Filters=f)['Subnets']),\n\
      'aws.internet_gateway': len(ec2.describe_internet_gateways(Filters=f)['InternetGateways']),\n\
      'aws.route_table': len(rts),\n\
      'aws.route_table_association': sum(len([a for a in t['Associations'] if not a['Main']]) for t in rts),\n\
      'aws.security_group': len(ec2.describe_security_groups(Filters=f)['SecurityGroups']),\n\
      'aws.vpc_endpoint': len(ec2.describe_vpc_endpoints(Filters=f)['VpcEndpoints']),\n\
      'aws.instance': len([i for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] != 'terminated' and not any(t['Key'] == 'aws:autoscaling:groupName' for t in i.get('Tags', []))]),\n\
      'aws.launch_template': len(ec2.describe_launch_templates(Filters=f)['LaunchTemplates']),\n\
      'aws.autoscaling_group': len(client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups']),\n\
      'aws.autoscaling_policy': len(client('autoscaling').describe_policies()['ScalingPolicies']),\n\
      'aws.lb': len(lbs),\n\
      'aws.lb_listener': sum(len(elb.describe_listeners(LoadBalancerArn=b['LoadBalancerArn'])['Listeners']) for b in lbs),\n\
      'aws.lb_target_group': len(elb.describe_target_groups()['TargetGroups']),\n\
      'aws.lambda_function': len(lam.list_functions()['Functions']),\n\
      'aws.iam_role': len(iam.list_roles(PathPrefix='/wxinfra/demo/')['Roles']),\n\
      'aws.iam_instance_profile': len(iam.list_instance_profiles(PathPrefix='/wxinfra/demo/')['InstanceProfiles']),\n\
      'aws.log_group': len(logs.describe_log_groups(logGroupNamePrefix='/wxinfra/demo/')['logGroups']),\n\
      'aws.efs_file_system': len(fss),\n\
      'aws.efs_mount_target': sum(len(efs.describe_mount_targets(FileSystemId=x['FileSystemId'])['MountTargets']) for x in fss),\n\
      'aws.efs_access_point': len(efs.describe_access_points()['AccessPoints']),\n\
      'aws.ecs_cluster': len([c for c in ecs.describe_clusters(clusters=['demo'])['clusters'] if c['status'] == 'ACTIVE']),\n\
      'aws.ecs_service': len(ecs.list_services(cluster='demo')['serviceArns']),\n\
      'aws.ecs_task_definition': len(ecs.list_task_definitions(status='ACTIVE')['taskDefinitionArns']),\n\
      'aws.appautoscaling_target': len(client('application-autoscaling').describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets']),\n\
      'aws.appautoscaling_policy': len(client('application-autoscaling').describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies']),\n\
      'aws.s3_bucket': len(s3.list_buckets()['Buckets']),\n\
      'aws.ecr_repository': len(ecr.describe_repositories()['repositories']),\n\
      'aws.eip': len(ec2.describe_addresses(Filters=f)['Addresses']),\n\
      'aws.nat_gateway': len([n for n in ec2.describe_nat_gateways(Filters=f)['NatGateways'] if n['State'] in ('pending', 'available')]),\n\
      'aws.acm_certificate': len(client('acm').list_certificates()['CertificateSummaryList']),\n\
      'aws.route53_record': sum(len([r for r in r53.list_resource_record_sets(HostedZoneId=z['Id'])['ResourceRecordSets'] if r['Type'] not in ('NS', 'SOA')]) for z in r53.list_hosted_zones()['HostedZones'])}))";

/// Every call that makes or attaches something, by the name the proxy matches (query Action,
/// JSON operation, or REST method and path).
const CREATES: &str = "(Create|Run|Register|Attach|Associate|Authorize|Add|Put|Allocate|Request)[A-Za-z]*\
    |POST /2015-03-31/functions(/[^/]+/policy)?\
    |POST /2013-04-01/hostedzone/[^/]+/rrset/?\
    |POST /2015-02-01/(file-systems|mount-targets|access-points)\
    |PUT /[a-z0-9.-]+/?";

/// One apply and one destroy of the demo stack through a proxy that throttles 15% of calls,
/// fails 5% with a 5xx and loses the answer to 5% (carried out, the client told 503), each in
/// its service's wire format, and loses the first answer of every create: both succeed in one
/// run, nothing is made twice (boto3 counts every kind as the state has it) and nothing is
/// left.
#[test]
fn demo_stack_applies_and_destroys_in_one_run_through_faults() {
    let moto = Moto::start();
    one_run_through_faults(
        &moto,
        &std::fs::read_to_string(repo().join(STACK)).unwrap(),
        &[
            "CreateVpc",
            "CreateSubnet",
            "CreateInternetGateway",
            "CreateRouteTable",
            "CreateSecurityGroup",
            "CreateLaunchTemplate",
            "CreateAutoScalingGroup",
            "CreateRole",
            "AddRoleToInstanceProfile",
            "CreateLoadBalancer",
            "CreateTargetGroup",
            "CreateListener",
            "RegisterTaskDefinition",
            "CreateService",
            "RegisterScalableTarget",
            "PutScalingPolicy",
            "CreateLogGroup",
            "POST /2015-03-31/functions",
            "POST /2015-02-01/access-points",
            "POST /2015-02-01/file-systems",
        ],
        &["ec2", "query", "json", "rest-json", "rest-xml"],
    );
}

/// The same through the production edge: the certificate, its records and the NAT gateways
/// with their addresses are made once each, though their first answers are lost too.
#[test]
fn demo_stack_with_its_edge_applies_and_destroys_in_one_run_through_faults() {
    let moto = Moto::start();
    let zone = example_zone(&moto);
    one_run_through_faults(
        &moto,
        &edge_stack(),
        &[
            "AllocateAddress",
            "CreateNatGateway",
            "RequestCertificate",
            &format!("POST /2013-04-01/hostedzone/{zone}/rrset"),
        ],
        &["ec2", "json", "route53"],
    );
}

/// One apply and one destroy of `stack` through the fault proxy, both exiting 0; boto3 counts
/// each kind live as the state has it, nothing is left after destroy, every operation of
/// `must_lose` lost its first answer and every protocol of `protocols` met each fault.
fn one_run_through_faults(moto: &Moto, stack: &str, must_lose: &[&str], protocols: &[&str]) {
    let reg = LocalRegistry::start();
    let proxy = AwsProxy::start(
        moto.port,
        &[
            "--throttle",
            "0.15",
            "--server-error",
            "0.05",
            "--lost",
            "0.05",
            "--lose-first",
            CREATES,
        ],
    );
    let ws = demo(moto, &reg).with_env("AWS_ENDPOINT_URL", proxy.endpoint());
    ws.write(STACK, stack);
    let r = ws.run(&["apply", "-f", STACK, "--auto-approve"]);
    assert_eq!(r.code, 0, "apply failed through faults:\n{}", r.stderr);

    let state: Value =
        serde_json::from_slice(&std::fs::read(ws.path().join(".wxinfra/demo.state.json")).unwrap())
            .unwrap();
    let mut in_state = std::collections::BTreeMap::<String, u64>::new();
    for r in state["resources"].as_object().unwrap().values() {
        *in_state
            .entry(r["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let live = moto.boto(LIVE_COUNTS);
    for (kind, n) in live.as_object().unwrap() {
        assert_eq!(
            n.as_u64().unwrap(),
            in_state.get(kind).copied().unwrap_or(0),
            "{kind}: live vs state (a retried create made one twice?)"
        );
    }

    let r = ws.run(&["destroy", "-f", STACK, "--auto-approve"]);
    assert_eq!(r.code, 0, "destroy failed through faults:\n{}", r.stderr);
    assert_nothing_left(moto);

    // Every wire format met every fault (the proxy gives each protocol one of each first),
    // and the creates AWS makes idempotent and those it does not each lost an answer.
    let faults = proxy.faults();
    for op in must_lose {
        assert!(
            faults["lost_first"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o.as_str().map(|o| o.trim_end_matches('/')) == Some(op)),
            "{op} never lost an answer: {faults}"
        );
    }
    for proto in protocols {
        for kind in ["throttle", "server_error", "lost"] {
            assert!(
                faults[proto][kind].as_u64().unwrap_or(0) > 0,
                "no {kind} for {proto}: {faults}"
            );
        }
    }
}

fn sha256_file(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// The production edge on the demo stack: served under a domain of a Route 53 zone (a
/// DNS-validated ACM certificate, an HTTPS listener, plain HTTP redirected, an alias record)
/// with compute in private subnets behind two NAT gateways; then switched to a certificate
/// the user brings. boto3 checks each step; destroy leaves nothing, the zone as it was.
#[test]
fn demo_stack_served_over_https_from_private_subnets_applies_converges_and_destroys_clean() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = demo(&moto, &reg);
    let edge = edge_stack();
    ws.write(STACK, &edge);

    // The plan names every part of the edge before anything exists.
    let plan = ws.run(&["plan", "-f", STACK]).ok().stdout;
    for a in [
        "aws.route53_zone_lookup.main",
        "aws.acm_certificate.main",
        "aws.route53_record.validation",
        "aws.acm_certificate_validation.main",
        "aws.lb_listener.https",
        "aws.route53_record.alias",
        "aws.eip.nat-b",
        "aws.nat_gateway.b",
        "aws.subnet.private-b",
        "aws.route_table.private-b",
    ] {
        assert!(plan.contains(a), "plan does not show {a}:\n{plan}");
    }

    // A zone the account does not have stops the apply before anything is made.
    let r = ws.run(&["apply", "-f", STACK, "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("this account has no public Route 53 hosted zone named `example.com`"),
        "{}",
        r.stderr
    );
    assert_eq!(moto.tagged("demo"), Vec::<String>::new());

    example_zone(&moto);
    let r = ws.run(&["apply", "-f", STACK, "--auto-approve"]).ok();
    assert!(
        r.stdout.contains("endpoint = \"https://app.example.com\""),
        "{}",
        r.stdout
    );
    for p in ["ec2", "fargate", "lambda"] {
        assert!(
            r.stdout
                .contains(&format!("  {p} = healthy (1 of 1 targets)")),
            "{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    moto.boto(&format!(
        "{EDGE_SEEN}\n\
         assert set(subnets) == {{'public-a', 'public-b', 'private-a', 'private-b'}}, subnets\n\
         public = {{subnets['public-a'], subnets['public-b']}}; private = {{subnets['private-a'], subnets['private-b']}}\n\
         assert {{s['SubnetId'] for s in [x for x in ec2.describe_subnets()['Subnets'] if x['SubnetId'] in private] if s['MapPublicIpOnLaunch']}} == set()\n\
         assert sorted(n['SubnetId'] for n in nats) == sorted(public) and all(n['State'] == 'available' for n in nats), nats\n\
         assert len({{a['AllocationId'] for n in nats for a in n['NatGatewayAddresses']}}) == 2, nats\n\
         for az in 'ab':\n\
         \x20   routes = {{r.get('DestinationCidrBlock'): r for r in rts['aws.route_table.private-' + az]['Routes']}}\n\
         \x20   assert routes['0.0.0.0/0'].get('NatGatewayId') in [n['NatGatewayId'] for n in nats], routes\n\
         \x20   assert [a['SubnetId'] for a in rts['aws.route_table.private-' + az]['Associations']] == [subnets['private-' + az]]\n\
         assert {{s['SubnetId'] for s in lb['AvailabilityZones']}} == public, lb\n\
         assert {{i['SubnetId'] for i in instances}} <= private and all('PublicIpAddress' not in i for i in instances), instances\n\
         net = svc['networkConfiguration']['awsvpcConfiguration']\n\
         assert set(net['subnets']) == private and net['assignPublicIp'] == 'DISABLED', net\n\
         assert set(fn['VpcConfig']['SubnetIds']) == private, fn['VpcConfig']\n\
         assert {{m['SubnetId'] for m in mounts}} == private, mounts\n\
         assert set(s3_endpoint['RouteTableIds']) == {{r['RouteTableId'] for r in rts.values()}}, s3_endpoint\n\
         assert sorted(ls) == ['HTTP', 'HTTPS'], ls\n\
         https = ls['HTTPS']\n\
         assert https['Port'] == 443 and https['SslPolicy'] == 'ELBSecurityPolicy-TLS13-1-2-2021-06', https\n\
         assert [c['CertificateArn'] for c in https['Certificates']] == [c['CertificateArn'] for c in certs], (https, certs)\n\
         assert https['DefaultActions'][0]['Type'] == 'forward' and len(https['DefaultActions'][0]['ForwardConfig']['TargetGroups']) == 3\n\
         redirect = ls['HTTP']['DefaultActions'][0]\n\
         assert ls['HTTP']['Port'] == 80 and redirect['Type'] == 'redirect', ls['HTTP']\n\
         assert redirect['RedirectConfig']['Protocol'] == 'HTTPS' and redirect['RedirectConfig']['Port'] == '443' and redirect['RedirectConfig']['StatusCode'] == 'HTTP_301', redirect\n\
         assert len(certs) == 1 and certs[0]['DomainName'] == 'app.example.com' and certs[0]['Status'] == 'ISSUED', certs\n\
         alias = records[('app.example.com.', 'A')]['AliasTarget']\n\
         assert alias['DNSName'].rstrip('.') == lb['DNSName'] and alias['HostedZoneId'] == lb['CanonicalHostedZoneId'], alias\n\
         option = acm.describe_certificate(CertificateArn=certs[0]['CertificateArn'])['Certificate']['DomainValidationOptions'][0]['ResourceRecord']\n\
         assert [v['Value'] for v in records[(option['Name'], 'CNAME')]['ResourceRecords']] == [option['Value']]\n\
         assert {{p['FromPort'] for p in alb_ingress}} == {{80, 443}}, alb_ingress\n\
         print('{{}}')",
    ));
    converged(&ws, "after the edge apply");

    // A certificate the user brings replaces the requested one; wxinfra deletes its own once
    // the listener has let it go (ACM refuses while it is in use), and nothing else changes.
    let own = moto.boto(
        "acm = client('acm'); r53 = client('route53')\n\
         arn = acm.request_certificate(DomainName='www.example.com', ValidationMethod='DNS')['CertificateArn']\n\
         import time\n\
         for _ in range(50):\n\
         \x20   o = acm.describe_certificate(CertificateArn=arn)['Certificate']['DomainValidationOptions'][0]\n\
         \x20   if 'ResourceRecord' in o: break\n\
         \x20   time.sleep(0.2)\n\
         rr = o['ResourceRecord']\n\
         z = r53.list_hosted_zones_by_name(DNSName='example.com')['HostedZones'][0]['Id']\n\
         r53.change_resource_record_sets(HostedZoneId=z, ChangeBatch={'Changes': [{'Action': 'UPSERT', 'ResourceRecordSet': {'Name': rr['Name'], 'Type': 'CNAME', 'TTL': 60, 'ResourceRecords': [{'Value': rr['Value']}]}}]})\n\
         print(json.dumps(arn))",
    );
    let own = own.as_str().unwrap();
    ws.write(
        STACK,
        &edge.replace(
            "  domain: app.example.com\n  hosted_zone: example.com\n",
            &format!("  certificate_arn: {own}\n"),
        ),
    );
    let mut changes = actions(&ws);
    changes.sort();
    assert_eq!(
        changes,
        pairs(&[
            ("aws.acm_certificate.main", "delete"),
            ("aws.acm_certificate_validation.main", "delete"),
            ("aws.lb_listener.https", "update"),
            ("aws.route53_record.alias", "delete"),
            ("aws.route53_record.validation", "delete"),
            ("aws.route53_zone_lookup.main", "delete"),
        ])
    );
    let r = ws.run(&["apply", "-f", STACK, "--auto-approve"]).ok();
    assert!(
        r.stdout.contains("endpoint = \"https://demo-alb-"),
        "{}",
        r.stdout
    );
    converged(&ws, "after switching to the user's certificate");
    moto.boto(&format!(
        "{EDGE_SEEN}\n\
         assert [c['CertificateArn'] for c in certs] == ['{own}'], certs\n\
         assert [c['CertificateArn'] for c in ls['HTTPS']['Certificates']] == ['{own}'], ls\n\
         assert ('app.example.com.', 'A') not in records, records\n\
         print('{{}}')"
    ));

    ws.run(&["destroy", "-f", STACK, "--auto-approve"]).ok();
    assert_nothing_left(&moto);
    moto.boto(&format!(
        "{EDGE_SEEN}\n\
         assert nats == [] and eips == [] and subnets == {{}}, (nats, eips, subnets)\n\
         assert [c['CertificateArn'] for c in certs] == ['{own}'], 'the user certificate stays, ours goes'\n\
         assert sorted(t for _, t in records) == ['CNAME', 'NS', 'SOA'], 'only the zone and the user validation record are left'\n\
         print('{{}}')"
    ));
}

/// `stacks/demo.yaml` served at app.example.com of the zone example.com, compute in private
/// subnets behind two NAT gateways.
fn edge_stack() -> String {
    let shipped = std::fs::read_to_string(repo().join(STACK)).unwrap();
    let edge = shipped
        .replace(
            "  availability_zones: 2\n",
            "  availability_zones: 2\n  compute_subnets: private\n  nat_gateways: 2\n",
        )
        .replace(
            "load_balancer:\n  port: 80\n",
            "load_balancer:\n  port: 80\n  domain: app.example.com\n  hosted_zone: example.com\n",
        );
    assert_ne!(edge, shipped);
    edge
}

/// Makes the hosted zone `edge_stack` names; returns its id.
fn example_zone(moto: &Moto) -> String {
    let zone = moto.boto(
        "z = client('route53').create_hosted_zone(Name='example.com', CallerReference='t')['HostedZone']\n\
         print(json.dumps(z['Id'].split('/')[-1]))",
    );
    zone.as_str().unwrap().to_string()
}

/// The edge as boto3 sees it, for the assertions that follow it in one snippet.
const EDGE_SEEN: &str = "ec2 = client('ec2'); elb = client('elbv2'); acm = client('acm'); r53 = client('route53')\n\
    ecs = client('ecs'); lam = client('lambda'); efs = client('efs')\n\
    f = [{'Name': 'tag:wxinfra:stack', 'Values': ['demo']}]\n\
    def addr(o): return {t['Key']: t['Value'] for t in o.get('Tags', [])}.get('wxinfra:address', '')\n\
    subnets = {addr(s).split('.')[-1]: s['SubnetId'] for s in ec2.describe_subnets(Filters=f)['Subnets']}\n\
    nats = [n for n in ec2.describe_nat_gateways(Filters=f)['NatGateways'] if n['State'] != 'deleted']\n\
    eips = ec2.describe_addresses()['Addresses']\n\
    rts = {addr(r): r for r in ec2.describe_route_tables(Filters=f)['RouteTables']}\n\
    lbs = elb.describe_load_balancers()['LoadBalancers']\n\
    lb = lbs[0] if lbs else {}\n\
    ls = {l['Protocol']: l for l in elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']} if lb else {}\n\
    certs = acm.list_certificates()['CertificateSummaryList']\n\
    zone_id = r53.list_hosted_zones_by_name(DNSName='example.com')['HostedZones'][0]['Id']\n\
    records = {(r['Name'], r['Type']): r for r in r53.list_resource_record_sets(HostedZoneId=zone_id)['ResourceRecordSets']}\n\
    instances = [i for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] != 'terminated']\n\
    svcs = [s for s in ecs.describe_services(cluster='demo', services=['app'])['services'] if s['status'] != 'INACTIVE'] if lb else []\n\
    svc = svcs[0] if svcs else {}\n\
    fn = lam.get_function(FunctionName='demo-app')['Configuration'] if lb else {}\n\
    fss = efs.describe_file_systems()['FileSystems']\n\
    mounts = efs.describe_mount_targets(FileSystemId=fss[0]['FileSystemId'])['MountTargets'] if fss else []\n\
    s3_endpoint = ([e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['ServiceName'].endswith('.s3') and e['State'] != 'deleted'] or [{}])[0]\n\
    sgs = {addr(g): g for g in ec2.describe_security_groups(Filters=f)['SecurityGroups']}\n\
    alb_ingress = sgs['aws.security_group.alb']['IpPermissions'] if sgs else []";

/// A lost state of the edge stack: destroy finds the NAT gateways, their addresses and the
/// certificate by their tags and deletes them with the rest. Route 53 records carry no tags,
/// so the alias and validation records are what a lost state leaves behind.
#[test]
fn demo_stack_edge_forgotten_by_a_lost_state_is_swept_by_tags() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = demo(&moto, &reg);
    example_zone(&moto);
    ws.write(STACK, &edge_stack());
    apply(&ws);
    std::fs::remove_file(ws.path().join(".wxinfra/demo.state.json")).unwrap();
    let r = ws.run(&["destroy", "-f", STACK, "--auto-approve"]).ok();
    assert!(
        r.stdout.contains("more found by tags") || r.stderr.contains("more found by tags"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_nothing_left(&moto);
    moto.boto(&format!(
        "{EDGE_SEEN}\n\
         assert nats == [] and eips == [] and certs == [], (nats, eips, certs)\n\
         assert sorted(t for _, t in records) == ['A', 'CNAME', 'NS', 'SOA'], records\n\
         print('{{}}')"
    ));
}
