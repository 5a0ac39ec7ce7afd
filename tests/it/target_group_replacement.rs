//! A new runtime port replaces the EC2 and Fargate target groups create before destroy, on the
//! emulator, asserted with boto3: each new group is made under a new name beside the old one,
//! the listener, the Auto Scaling group and the ECS service (in place, not replaced) move to
//! it, the listener never forwards to a group that is gone, and the old groups are deleted
//! last; a second plan has nothing to do and destroy leaves nothing.

use serde_json::{Value, json};

use crate::support::{LocalRegistry, Moto, Workspace};

fn stack(port: u16) -> String {
    format!(
        "version: 1\nname: tr\nregion: us-east-1\napp:\n  manifest: app/spin.toml\nnetwork:\n  vpc: new\n  cidr: 10.47.0.0/16\n  availability_zones: 2\nruntime:\n  port: {port}\n  binary: bin/wxrun-{{arch}}\ncompute:\n  ec2:\n    count: 2\n    arch: x86_64\n  fargate:\n    cpu: 256\n    memory: 512\n    arch: x86_64\n    desired_count: 1\n"
    )
}

/// The target groups (name, port, registered targets), what the listener forwards to, the
/// Auto Scaling group's groups and the ECS service's, by target group name.
fn seen(moto: &Moto) -> Value {
    moto.boto(
        "elb = client('elbv2')\n\
         tgs = {t['TargetGroupArn']: t for t in elb.describe_target_groups()['TargetGroups']}\n\
         name = lambda arn: tgs[arn]['TargetGroupName'] if arn in tgs else 'gone'\n\
         lb = elb.describe_load_balancers()['LoadBalancers'][0]['LoadBalancerArn']\n\
         l = elb.describe_listeners(LoadBalancerArn=lb)['Listeners'][0]\n\
         g = client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups'][0]\n\
         s = client('ecs').describe_services(cluster='tr', services=['app'])['services']\n\
         print(json.dumps({\n\
         \x20 'groups': {t['TargetGroupName']: [t['Port'], len(elb.describe_target_health(TargetGroupArn=a)['TargetHealthDescriptions'])] for a, t in tgs.items()},\n\
         \x20 'forward': sorted(name(f['TargetGroupArn']) for f in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']),\n\
         \x20 'asg': [name(a) for a in g['TargetGroupARNs']],\n\
         \x20 'service': [[x['serviceArn'], [name(b['targetGroupArn']) for b in x['loadBalancers']]] for x in s if x['status'] == 'ACTIVE'],\n\
         }))",
    )
}

/// Runs `during` (an apply) while boto3 checks every 100 ms that each group the listener
/// forwards to exists; gives the groups it saw forwarded to that did not.
fn forwarded_but_gone_during(moto: &Moto, during: impl FnOnce() + Send) -> Value {
    let flag = tempfile::NamedTempFile::new().unwrap();
    let finished = flag.path().with_extension("done");
    let watch = format!(
        "import os, time\n\
         elb = client('elbv2')\n\
         lb = elb.describe_load_balancers()['LoadBalancers'][0]['LoadBalancerArn']\n\
         gone, deadline = set(), time.time() + 300\n\
         while time.time() < deadline and not os.path.exists('{finished}'):\n\
         \x20   l = elb.describe_listeners(LoadBalancerArn=lb)['Listeners'][0]\n\
         \x20   for f in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']:\n\
         \x20       try:\n\
         \x20           elb.describe_target_groups(TargetGroupArns=[f['TargetGroupArn']])\n\
         \x20       except elb.exceptions.TargetGroupNotFoundException:\n\
         \x20           gone.add(f['TargetGroupArn'])\n\
         \x20   time.sleep(0.1)\n\
         print(json.dumps(sorted(gone)))",
        finished = finished.display()
    );
    std::thread::scope(|s| {
        let watcher = s.spawn(|| moto.boto(&watch));
        during();
        std::fs::write(&finished, "").unwrap();
        watcher.join().unwrap()
    })
}

#[test]
fn a_new_runtime_port_moves_everything_to_new_target_groups_before_the_old_go() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = Workspace::with_moto(&moto).with_static_runtime(&reg);
    let apply = || {
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
            .ok()
    };

    ws.write("stack.yaml", &stack(8080));
    apply();
    let before = seen(&moto);
    let names: Vec<String> = before["groups"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(names.len(), 2, "{before}");
    assert!(
        names.iter().any(|n| n.starts_with("tr-ec2-"))
            && names.iter().any(|n| n.starts_with("tr-fargate-")),
        "{before}"
    );
    let service = before["service"][0][0].clone();

    ws.write("stack.yaml", &stack(8081));
    let plan = ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout;
    for line in [
        "+/- aws.lb_target_group.ec2",
        "+/- aws.lb_target_group.fargate",
        "~ aws.lb_listener.main",
        "~ aws.autoscaling_group.ec2",
        "~ aws.ecs_service.app",
    ] {
        assert!(plan.contains(line), "{line}\n{plan}");
    }
    assert!(!plan.contains("-/+ aws.ecs_service.app"), "{plan}");

    let gone = forwarded_but_gone_during(&moto, || {
        apply();
    });
    assert_eq!(gone, json!([]));
    let after = seen(&moto);
    let groups = after["groups"].as_object().unwrap();
    assert_eq!(groups.len(), 2, "the old groups are deleted: {after}");
    assert!(
        groups.keys().all(|n| !names.contains(n)),
        "new names: {after}"
    );
    for (name, g) in groups {
        assert_eq!(g[0], 8081, "{name}: {after}");
        assert!(g[1].as_u64().unwrap() >= 1, "{name} has targets: {after}");
    }
    let mut forward: Vec<&String> = groups.keys().collect();
    forward.sort();
    assert_eq!(after["forward"], json!(forward), "{after}");
    assert!(
        after["asg"][0].as_str().unwrap().starts_with("tr-ec2-"),
        "{after}"
    );
    // The same service, moved in place.
    assert_eq!(after["service"][0][0], service, "{after}");
    assert!(
        after["service"][0][1][0]
            .as_str()
            .unwrap()
            .starts_with("tr-fargate-"),
        "{after}"
    );
    let again = ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout;
    assert!(again.contains("No changes."), "{again}");

    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(moto.tagged("tr"), Vec::<String>::new());
}
