//! `compute.fargate.scaling` on the emulator, asserted with boto3: the service registered
//! with Application Auto Scaling between its bounds (tagged) with one target-tracking
//! policy; the desired count the scaler sets is neither planned back, reported as drift,
//! nor reset by an update of the service; metric, bounds and cooldowns change in place;
//! switching scaling off deregisters and returns the count to the stack's; destroy and the
//! lost-state sweep leave no target or policy.

use serde_json::Value;

use crate::support::{LocalRegistry, Moto, Workspace};

fn stack(memory: u32, scaling: &str) -> String {
    format!(
        "version: 1\nname: fs\nregion: us-east-1\napp:\n  manifest: app/spin.toml\nnetwork:\n  vpc: new\n  cidr: 10.45.0.0/16\n  availability_zones: 2\nruntime:\n  binary: bin/wxrun-{{arch}}\ncompute:\n  fargate:\n    cpu: 256\n    memory: {memory}\n    arch: x86_64\n    desired_count: 1\n{scaling}"
    )
}

const CPU: &str =
    "    scaling:\n      min: 2\n      max: 6\n      cpu: 60\n      scale_in_cooldown: 120\n";
const REQUESTS: &str = "    scaling:\n      min: 2\n      max: 8\n      requests_per_target: 500\n      scale_in_cooldown: 120\n";

/// The stack's scalable targets and policies, and the service's desired count, as boto3
/// reads them.
fn seen(moto: &Moto) -> Value {
    moto.boto(
        "aas = client('application-autoscaling')\n\
         targets = aas.describe_scalable_targets(ServiceNamespace='ecs')['ScalableTargets']\n\
         out = {'targets': [], 'policies': []}\n\
         for t in targets:\n\
         \x20   tags = aas.list_tags_for_resource(ResourceARN=t['ScalableTargetARN'])['Tags']\n\
         \x20   out['targets'].append({'id': t['ResourceId'], 'dim': t['ScalableDimension'], 'min': t['MinCapacity'], 'max': t['MaxCapacity'], 'stack': tags.get('wxinfra:stack')})\n\
         for p in aas.describe_scaling_policies(ServiceNamespace='ecs')['ScalingPolicies']:\n\
         \x20   c = p['TargetTrackingScalingPolicyConfiguration']\n\
         \x20   m = c['PredefinedMetricSpecification']\n\
         \x20   out['policies'].append({'name': p['PolicyName'], 'type': p['PolicyType'], 'metric': m['PredefinedMetricType'], 'label': m.get('ResourceLabel'), 'target': c['TargetValue'], 'in': c.get('ScaleInCooldown'), 'out': c.get('ScaleOutCooldown')})\n\
         s = client('ecs').describe_services(cluster='fs', services=['app'])['services']\n\
         out['desired'] = [x['desiredCount'] for x in s if x['status'] == 'ACTIVE']\n\
         lb = [x['LoadBalancerArn'] for x in client('elbv2').describe_load_balancers()['LoadBalancers']]\n\
         tg = [x['TargetGroupArn'] for x in client('elbv2').describe_target_groups()['TargetGroups']]\n\
         out['label'] = lb[0].split(':loadbalancer/')[1] + '/' + tg[0].rsplit(':', 1)[1] if lb and tg else None\n\
         print(json.dumps(out))",
    )
}

/// The stack's active task definition revisions, and the one the service runs.
fn revisions(moto: &Moto) -> Value {
    moto.boto(
        "ecs = client('ecs')\n\
         rev = lambda status: ecs.list_task_definitions(familyPrefix='fs-app', status=status)['taskDefinitionArns']\n\
         s = ecs.describe_services(cluster='fs', services=['app'])['services'][0]['taskDefinition']\n\
         print(json.dumps({'active': rev('ACTIVE'), 'service': s}))",
    )
}

/// What the scaler does between two applies.
fn scale_out_of_band(moto: &Moto, count: u32) {
    moto.boto(&format!(
        "client('ecs').update_service(cluster='fs', service='app', desiredCount={count})\nprint('null')"
    ));
}

#[test]
fn fargate_scales_between_bounds_and_its_count_is_left_to_the_scaler() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = Workspace::with_moto(&moto).with_static_runtime(&reg);
    let apply = |yaml: &str| {
        ws.write("stack.yaml", yaml);
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
            .ok()
    };
    let plan = |yaml: &str| {
        ws.write("stack.yaml", yaml);
        ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout
    };

    // desired_count 1 starts within the bounds, at 2.
    apply(&stack(512, CPU));
    let s = seen(&moto);
    assert_eq!(
        s["targets"],
        serde_json::json!([{"id": "service/fs/app", "dim": "ecs:service:DesiredCount", "min": 2, "max": 6, "stack": "fs"}]),
        "{s}"
    );
    assert_eq!(
        s["policies"],
        serde_json::json!([{"name": "fs-fargate", "type": "TargetTrackingScaling", "metric": "ECSServiceAverageCPUUtilization", "label": null, "target": 60.0, "in": 120, "out": null}]),
        "{s}"
    );
    assert_eq!(s["desired"], serde_json::json!([2]), "{s}");

    // The scaler's count is not a change to plan, nor drift.
    scale_out_of_band(&moto, 5);
    assert!(plan(&stack(512, CPU)).contains("No changes."));
    let diff = ws.run(&["diff", "-f", "stack.yaml"]).ok();
    assert!(diff.stdout.contains("No drift."), "{}", diff.stdout);

    // Metric, bounds and the task's memory change in place; the service's update keeps the
    // scaler's count.
    let p = plan(&stack(1024, REQUESTS));
    for line in [
        "~ aws.appautoscaling_policy.fargate",
        "~ aws.appautoscaling_target.fargate",
        "~ aws.ecs_service.app",
    ] {
        assert!(p.contains(line), "{line}:\n{p}");
    }
    assert!(!p.contains("-/+ aws.appautoscaling"), "{p}");
    assert!(!p.contains("desired_count"), "{p}");
    // The new task definition revision is registered first and the old one deregistered
    // only once the service runs the new one.
    assert!(p.contains("+/- aws.ecs_task_definition.app"), "{p}");
    let before = revisions(&moto);
    let out = apply(&stack(1024, REQUESTS)).stderr;
    let at = |line: &str| {
        out.find(line)
            .unwrap_or_else(|| panic!("{line} not in:\n{out}"))
    };
    assert!(at("aws.ecs_task_definition.app: created") < at("aws.ecs_service.app: updated"));
    assert!(at("aws.ecs_service.app: updated") < at("aws.ecs_task_definition.app: destroyed"));
    let after = revisions(&moto);
    assert_eq!(after["active"].as_array().unwrap().len(), 1, "{after}");
    assert_ne!(after["active"], before["active"], "{after}");
    assert_eq!(after["service"], after["active"][0], "{after}");
    let s = seen(&moto);
    assert_eq!(s["targets"][0]["max"], 8, "{s}");
    let policy = &s["policies"][0];
    assert_eq!(policy["metric"], "ALBRequestCountPerTarget", "{s}");
    assert_eq!(policy["label"], s["label"], "{s}");
    assert_eq!(policy["target"], 500.0, "{s}");
    assert_eq!(s["desired"], serde_json::json!([5]), "{s}");
    assert!(plan(&stack(1024, REQUESTS)).contains("No changes."));

    // Scaling off: deregistered, and the stack's count is the service's again.
    let p = plan(&stack(1024, ""));
    assert!(p.contains("- aws.appautoscaling_target.fargate"), "{p}");
    assert!(p.contains("- aws.appautoscaling_policy.fargate"), "{p}");
    assert!(p.contains("desired_count"), "{p}");
    apply(&stack(1024, ""));
    let s = seen(&moto);
    assert_eq!(s["targets"], serde_json::json!([]), "{s}");
    assert_eq!(s["policies"], serde_json::json!([]), "{s}");
    assert_eq!(s["desired"], serde_json::json!([1]), "{s}");

    // With scaling on again, a destroy that lost its state still finds the target (by the
    // stack's cluster) and its policy goes with it.
    apply(&stack(1024, CPU));
    assert_eq!(seen(&moto)["policies"].as_array().unwrap().len(), 1);
    std::fs::remove_file(ws.path().join(".wxinfra/fs.state.json")).unwrap();
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let s = seen(&moto);
    assert_eq!(s["targets"], serde_json::json!([]), "{s}");
    assert_eq!(s["policies"], serde_json::json!([]), "{s}");
    assert_eq!(s["desired"], serde_json::json!([]), "{s}");
}
