//! `compute.ec2` as an Auto Scaling group on the emulator, asserted with boto3: the launch
//! template, the group in its target group with ELB health checks, and the target-tracking
//! policy; an instance type change planned as `~ launch_template` plus an instance refresh
//! and rolled out with the target group never below the desired count of healthy instances;
//! the scaler's count left alone; bare instances of an older stack replaced create before
//! destroy; destroy and the lost-state sweep leave no group, template or instance.

use serde_json::{Value, json};

use crate::support::{Moto, Workspace};

fn stack(count: u32, instance_type: &str, scaling: &str) -> String {
    format!(
        "version: 1\nname: ea\nregion: us-east-1\napp:\n  manifest: app/spin.toml\nnetwork:\n  vpc: new\n  cidr: 10.46.0.0/16\n  availability_zones: 2\ncompute:\n  ec2:\n    count: {count}\n    instance_type: {instance_type}\n    arch: x86_64\n{scaling}"
    )
}

const SCALING: &str = "    scaling:\n      min: 1\n      max: 4\n      requests_per_target: 500\n";

/// The group, its template's version data, its policies and the target group's targets, as
/// boto3 reads them.
fn seen(moto: &Moto) -> Value {
    moto.boto(
        "ec2 = client('ec2'); asg = client('autoscaling'); elb = client('elbv2')\n\
         groups = asg.describe_auto_scaling_groups()['AutoScalingGroups']\n\
         out = {'groups': len(groups), 'templates': len(ec2.describe_launch_templates()['LaunchTemplates'])}\n\
         tg = [t['TargetGroupArn'] for t in elb.describe_target_groups()['TargetGroups']]\n\
         th = elb.describe_target_health(TargetGroupArn=tg[0])['TargetHealthDescriptions'] if tg else []\n\
         out['targets'] = sorted(t['Target']['Id'] for t in th)\n\
         out['healthy'] = sorted(t['Target']['Id'] for t in th if t['TargetHealth']['State'] == 'healthy')\n\
         out['running'] = sorted(i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] in ('pending', 'running'))\n\
         if groups:\n\
         \x20   g = groups[0]\n\
         \x20   lt = g['LaunchTemplate']\n\
         \x20   d = ec2.describe_launch_template_versions(LaunchTemplateId=lt['LaunchTemplateId'], Versions=[lt['Version']])['LaunchTemplateVersions'][0]['LaunchTemplateData']\n\
         \x20   out['group'] = {'min': g['MinSize'], 'max': g['MaxSize'], 'desired': g['DesiredCapacity'], 'health': g['HealthCheckType'], 'grace': g['HealthCheckGracePeriod'], 'warmup': g.get('DefaultInstanceWarmup'), 'tgs': g['TargetGroupARNs'] == tg, 'subnets': len(g['VPCZoneIdentifier'].split(',')), 'version': lt['Version'], 'tags': {t['Key']: t['Value'] for t in g['Tags']}}\n\
         \x20   out['instances'] = sorted([i['InstanceId'], i['LifecycleState'], i['InstanceType'], i['LaunchTemplate']['Version']] for i in g['Instances'])\n\
         \x20   out['template'] = {'type': d['InstanceType'], 'tokens': d['MetadataOptions']['HttpTokens'], 'hops': d['MetadataOptions']['HttpPutResponseHopLimit'], 'profile': d['IamInstanceProfile']['Arn'].split('/')[-1]}\n\
         \x20   out['policies'] = [{'name': p['PolicyName'], 'metric': p['TargetTrackingConfiguration']['PredefinedMetricSpecification']['PredefinedMetricType'], 'label': p['TargetTrackingConfiguration']['PredefinedMetricSpecification'].get('ResourceLabel'), 'target': p['TargetTrackingConfiguration']['TargetValue']} for p in asg.describe_policies(AutoScalingGroupName=g['AutoScalingGroupName'])['ScalingPolicies']]\n\
         \x20   lb = [x['LoadBalancerArn'] for x in elb.describe_load_balancers()['LoadBalancers']]\n\
         \x20   out['label'] = lb[0].split(':loadbalancer/')[1] + '/' + tg[0].rsplit(':', 1)[1]\n\
         print(json.dumps(out))",
    )
}

/// The group's instance ids, each asserted in service of `instance_type` on template
/// version `version`.
fn in_service(s: &Value, instance_type: &str, version: &str) -> Vec<String> {
    let want = json!(["InService", instance_type, version]);
    (s["instances"].as_array().unwrap().iter())
        .map(|i| {
            assert_eq!(json!(i.as_array().unwrap()[1..]), want, "{s}");
            i[0].as_str().unwrap().to_string()
        })
        .collect()
}

/// Runs `during` (an apply) while boto3 samples the EC2 target group every 100 ms until
/// `done` (a Python expression over `groups` and `th`, the target health) holds after it has
/// returned; gives the fewest healthy targets any sample saw.
fn fewest_healthy_during(moto: &Moto, done: &str, during: impl FnOnce() + Send) -> u64 {
    let flag = tempfile::NamedTempFile::new().unwrap();
    let finished = flag.path().with_extension("done");
    let watch = format!(
        "import os, time\n\
         asg = client('autoscaling'); elb = client('elbv2')\n\
         fewest, deadline = None, time.time() + 180\n\
         while time.time() < deadline:\n\
         \x20   tg = [t['TargetGroupArn'] for t in elb.describe_target_groups()['TargetGroups']]\n\
         \x20   th = elb.describe_target_health(TargetGroupArn=tg[0])['TargetHealthDescriptions'] if tg else []\n\
         \x20   healthy = len([t for t in th if t['TargetHealth']['State'] == 'healthy'])\n\
         \x20   groups = asg.describe_auto_scaling_groups()['AutoScalingGroups']\n\
         \x20   fewest = healthy if fewest is None else min(fewest, healthy)\n\
         \x20   if os.path.exists('{finished}') and ({done}):\n\
         \x20       break\n\
         \x20   time.sleep(0.1)\n\
         print(json.dumps(fewest))",
        finished = finished.display()
    );
    std::thread::scope(|s| {
        let watcher = s.spawn(|| moto.boto(&watch));
        during();
        std::fs::write(&finished, "").unwrap();
        let fewest = watcher.join().unwrap();
        let _ = std::fs::remove_file(&finished);
        fewest.as_u64().unwrap()
    })
}

#[test]
fn ec2_runs_as_a_group_and_a_new_instance_type_rolls_out_by_instance_refresh() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    let write = |yaml: &str| ws.write("stack.yaml", yaml);
    let apply = || {
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
            .ok()
    };
    let plan = || ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout;
    let destroyed = || {
        ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
            .ok();
        let s = seen(&moto);
        assert_eq!(
            (&s["groups"], &s["templates"], &s["running"]),
            (&json!(0), &json!(0), &json!([])),
            "{s}"
        );
        assert_eq!(moto.tagged("ea"), Vec::<String>::new());
    };

    // Two instances from the template, registered and healthy when apply returns.
    write(&stack(2, "t3.small", ""));
    apply();
    let s = seen(&moto);
    assert_eq!(
        s["group"],
        json!({"min": 2, "max": 2, "desired": 2, "health": "ELB", "grace": 120, "warmup": 120,
               "tgs": true, "subnets": 2, "version": "1",
               "tags": {"Name": "ea/aws.autoscaling_group.ec2", "wxinfra:stack": "ea",
                        "wxinfra:address": "aws.autoscaling_group.ec2"}}),
        "{s}"
    );
    assert_eq!(
        s["template"],
        json!({"type": "t3.small", "tokens": "required", "hops": 1, "profile": "ea-ec2"}),
        "{s}"
    );
    let first = in_service(&s, "t3.small", "1");
    assert_eq!(first.len(), 2, "{s}");
    assert_eq!(s["targets"], json!(first), "{s}");
    assert_eq!(s["healthy"], json!(first), "{s}");
    assert_eq!(s["policies"], json!([]), "{s}");
    assert!(plan().contains("No changes."));

    // A new instance type: a new template version and an instance refresh, no replacement.
    write(&stack(2, "t3.medium", ""));
    let p = plan();
    for line in [
        "~ aws.launch_template.ec2",
        "~ aws.autoscaling_group.ec2",
        "instance refresh",
        "launch_template_version",
    ] {
        assert!(p.contains(line), "{line}:\n{p}");
    }
    assert!(!p.contains("-/+") && !p.contains("aws.instance"), "{p}");
    let mut out = String::new();
    let fewest = fewest_healthy_during(
        &moto,
        "all(i['InstanceType'] == 't3.medium' for i in groups[0]['Instances']) and len(th) == 2",
        || out = apply().stderr,
    );
    assert!(fewest >= 2, "the target group fell to {fewest} healthy");
    // Apply said how far the refresh was while it waited.
    assert!(
        out.contains("aws.autoscaling_group.ec2: instance refresh") && out.contains("% done"),
        "{out}"
    );
    let s = seen(&moto);
    assert_eq!(s["group"]["version"], "2", "{s}");
    assert_eq!(s["template"]["type"], "t3.medium", "{s}");
    let second = in_service(&s, "t3.medium", "2");
    assert!(second.iter().all(|i| !first.contains(i)), "{s}");
    assert_eq!(s["targets"], json!(second), "{s}");
    assert_eq!(s["running"], json!(second), "old instances terminated: {s}");
    assert!(plan().contains("No changes."));

    // Scaling on: bounds change in place and a policy tracks requests per instance; the
    // count the scaler sets is neither planned back nor drift.
    write(&stack(2, "t3.medium", SCALING));
    let p = plan();
    assert!(p.contains("+ aws.autoscaling_policy.ec2"), "{p}");
    assert!(p.contains("~ aws.autoscaling_group.ec2"), "{p}");
    apply();
    let s = seen(&moto);
    assert_eq!(
        [&s["group"]["min"], &s["group"]["max"]],
        [&json!(1), &json!(4)],
        "{s}"
    );
    assert_eq!(
        s["policies"],
        json!([{"name": "ea-ec2", "metric": "ALBRequestCountPerTarget", "label": s["label"], "target": 500.0}]),
        "{s}"
    );
    moto.boto(
        "client('autoscaling').set_desired_capacity(AutoScalingGroupName='ea-ec2', DesiredCapacity=3)\nprint('null')",
    );
    assert!(plan().contains("No changes."));
    let diff = ws.run(&["diff", "-f", "stack.yaml"]).ok();
    assert!(diff.stdout.contains("No drift."), "{}", diff.stdout);

    // Destroy waits for the group's deletion: nothing is left.
    destroyed();

    // A destroy that lost its state finds the group and the template by their tags.
    write(&stack(1, "t3.small", SCALING));
    apply();
    std::fs::remove_file(ws.path().join(".wxinfra/ea.state.json")).unwrap();
    destroyed();
}

/// A stack applied before EC2 ran in a group: one bare instance registered in the target
/// group. The next apply creates the template and the group and deletes the instance only
/// once the group serves, so the target group never runs empty.
#[test]
fn bare_instances_are_replaced_by_the_group_create_before_destroy() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    ws.write("stack.yaml", &stack(1, "t3.small", ""));
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();

    // Make the older world: a bare instance in the target group instead of the group, and a
    // state that knows it as `aws.instance.ec2-0` with its registration.
    let old = moto.boto(
        "ec2 = client('ec2'); asg = client('autoscaling'); elb = client('elbv2')\n\
         g = asg.describe_auto_scaling_groups()['AutoScalingGroups'][0]\n\
         tg = g['TargetGroupARNs'][0]\n\
         lt = g['LaunchTemplate']['LaunchTemplateId']\n\
         subnet = g['VPCZoneIdentifier'].split(',')[0]\n\
         tags = [{'Key': 'wxinfra:stack', 'Value': 'ea'}, {'Key': 'wxinfra:address', 'Value': 'aws.instance.ec2-0'}]\n\
         i = ec2.run_instances(LaunchTemplate={'LaunchTemplateId': lt}, MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}])['Instances'][0]['InstanceId']\n\
         elb.register_targets(TargetGroupArn=tg, Targets=[{'Id': i, 'Port': 8080}])\n\
         asg.delete_auto_scaling_group(AutoScalingGroupName=g['AutoScalingGroupName'], ForceDelete=True)\n\
         import time\n\
         while asg.describe_auto_scaling_groups()['AutoScalingGroups']:\n\
         \x20   time.sleep(0.2)\n\
         ec2.delete_launch_template(LaunchTemplateId=lt)\n\
         while len([t for t in elb.describe_target_health(TargetGroupArn=tg)['TargetHealthDescriptions'] if t['TargetHealth']['State'] == 'healthy']) < 1:\n\
         \x20   time.sleep(0.2)\n\
         print(json.dumps({'instance': i, 'tg': tg, 'subnet': subnet}))",
    );
    let (instance, tg) = (
        old["instance"].as_str().unwrap(),
        old["tg"].as_str().unwrap(),
    );
    let path = ws.path().join(".wxinfra/ea.state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let resources = state["resources"].as_object_mut().unwrap();
    let template = resources.remove("aws.launch_template.ec2").unwrap();
    resources.remove("aws.autoscaling_group.ec2").unwrap();
    let mut props = template["props"].clone();
    props["subnet_ids"] = json!([old["subnet"]]);
    props["subnet_index"] = json!(0);
    resources.insert(
        "aws.instance.ec2-0".into(),
        json!({"kind": "aws.instance", "status": "created", "id": instance, "props": props,
               "outputs": {"id": instance}, "depends_on": template["depends_on"]}),
    );
    resources.insert(
        "aws.lb_target_attachment.ec2-0".into(),
        json!({"kind": "aws.lb_target_attachment", "status": "created", "id": format!("{tg}|{instance}"),
               "props": {"target_group_arn": tg, "target_id": instance, "port": 8080},
               "outputs": {"id": format!("{tg}|{instance}")},
               "depends_on": ["aws.instance.ec2-0", "aws.lb_target_group.ec2"]}),
    );
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    let p = ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout;
    for line in [
        "+ aws.launch_template.ec2",
        "+ aws.autoscaling_group.ec2",
        "- aws.instance.ec2-0",
        "- aws.lb_target_attachment.ec2-0",
    ] {
        assert!(p.contains(line), "{line}:\n{p}");
    }
    let fewest = fewest_healthy_during(&moto, "groups and len(th) == 1", || {
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
            .ok();
    });
    assert!(
        fewest >= 1,
        "the target group ran empty during the migration"
    );
    let s = seen(&moto);
    let ids: Vec<&Value> = s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i[0])
        .collect();
    assert_eq!(ids.len(), 1, "{s}");
    assert_eq!(s["targets"], json!(ids), "{s}");
    assert_eq!(
        s["running"],
        json!(ids),
        "the bare instance is terminated: {s}"
    );
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(moto.tagged("ea"), Vec::<String>::new());
}
