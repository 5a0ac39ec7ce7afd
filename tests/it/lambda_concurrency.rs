//! `compute.lambda.reserved_concurrency` on the emulator, asserted with boto3: reserved at
//! create, changed and given back in place (never a new function), and a reservation AWS
//! refuses (MOTO_STRICT_LAMBDA_CONCURRENCY: 100 of the account's 1000 stay unreserved)
//! fails the apply with AWS's message and leaves the function as it was.

use crate::support::{Moto, Workspace};

fn stack(reserved: Option<u32>) -> String {
    let line = reserved.map_or(String::new(), |n| {
        format!("    reserved_concurrency: {n}\n")
    });
    format!(
        "version: 1\nname: lc\nregion: us-east-1\napp:\n  manifest: app/spin.toml\nnetwork:\n  vpc: new\n  cidr: 10.44.0.0/16\n  availability_zones: 2\ncompute:\n  lambda:\n    memory: 256\n    arch: x86_64\n{line}"
    )
}

/// The function's reserved concurrency (`None`: none), as boto3 reads it.
fn seen(moto: &Moto) -> Option<i64> {
    moto.boto(
        "c = client('lambda').get_function_concurrency(FunctionName='lc-app')\n\
         print(json.dumps(c.get('ReservedConcurrentExecutions')))",
    )
    .as_i64()
}

#[test]
fn reserved_concurrency_is_set_changed_and_given_back_in_place() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    let apply = |reserved: Option<u32>| {
        ws.write("stack.yaml", &stack(reserved));
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
    };
    apply(Some(50)).ok();
    assert_eq!(seen(&moto), Some(50));
    // Changed and given back in place (`~`), never by replacing the function.
    for (reserved, want) in [(Some(60), Some(60)), (None, None)] {
        ws.write("stack.yaml", &stack(reserved));
        let plan = ws.run(&["plan", "-f", "stack.yaml"]).ok();
        assert!(
            plan.stdout.contains("~ aws.lambda_function.app")
                && plan.stdout.contains("reserved_concurrency")
                && !plan.stdout.contains("-/+"),
            "{}",
            plan.stdout
        );
        apply(reserved).ok();
        assert_eq!(seen(&moto), want);
    }

    // 950 would leave 50 of the account's 1000 unreserved: AWS refuses, nothing changes.
    let refused = apply(Some(950));
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "decreases account's UnreservedConcurrentExecution below its minimum value of [100]"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(seen(&moto), None);
    ws.write("stack.yaml", &stack(None));
    let again = ws.run(&["plan", "-f", "stack.yaml"]).ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
}

fn warm_stack(memory: u32, provisioned: Option<u32>) -> String {
    let line = provisioned.map_or(String::new(), |n| {
        format!("    provisioned_concurrency: {n}\n")
    });
    stack(None).replace("memory: 256\n", &format!("memory: {memory}\n{line}"))
}

/// The alias, its provisioned concurrency, the function's versions, what the load balancer
/// invokes and the alias's policy, as boto3 reads them.
fn warm(moto: &Moto) -> serde_json::Value {
    moto.boto(
        "lam = client('lambda')\n\
         out = {'versions': [v['Version'] for v in lam.list_versions_by_function(FunctionName='lc-app')['Versions']]}\n\
         aliases = lam.list_aliases(FunctionName='lc-app')['Aliases']\n\
         out['aliases'] = {a['Name']: a['FunctionVersion'] for a in aliases}\n\
         try:\n\
         \x20   c = lam.get_provisioned_concurrency_config(FunctionName='lc-app', Qualifier='live')\n\
         \x20   out['provisioned'] = [c['RequestedProvisionedConcurrentExecutions'], c['Status']]\n\
         except lam.exceptions.ProvisionedConcurrencyConfigNotFoundException:\n\
         \x20   out['provisioned'] = None\n\
         except lam.exceptions.ResourceNotFoundException:\n\
         \x20   out['provisioned'] = None\n\
         elb = client('elbv2')\n\
         tg = [t['TargetGroupArn'] for t in elb.describe_target_groups()['TargetGroups'] if t['TargetType'] == 'lambda'][0]\n\
         out['targets'] = [d['Target']['Id'].rsplit(':function:', 1)[1] for d in elb.describe_target_health(TargetGroupArn=tg)['TargetHealthDescriptions']]\n\
         def sources(**q):\n\
         \x20   try:\n\
         \x20       p = json.loads(lam.get_policy(FunctionName='lc-app', **q)['Policy'])\n\
         \x20   except lam.exceptions.ResourceNotFoundException:\n\
         \x20       return []\n\
         \x20   return [s['Condition']['ArnLike']['AWS:SourceArn'] == tg for s in p['Statement']]\n\
         out['alias_policy'] = sources(Qualifier='live') if 'live' in out['aliases'] else []\n\
         out['function_policy'] = sources()\n\
         print(json.dumps(out))",
    )
}

#[test]
fn provisioned_concurrency_keeps_a_warm_alias_in_front_of_each_new_version() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    let plan = |yaml: &str| {
        ws.write("stack.yaml", yaml);
        ws.run(&["plan", "-f", "stack.yaml"]).ok().stdout
    };
    let apply = |yaml: &str| {
        ws.write("stack.yaml", yaml);
        ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
            .ok()
    };

    // The load balancer invokes the alias (with the alias's own permission) once version 1's
    // environments are allocated.
    apply(&warm_stack(256, Some(2)));
    let w = warm(&moto);
    assert_eq!(w["aliases"], serde_json::json!({"live": "1"}), "{w}");
    assert_eq!(w["provisioned"], serde_json::json!([2, "READY"]), "{w}");
    assert_eq!(w["targets"], serde_json::json!(["lc-app:live"]), "{w}");
    assert_eq!(w["alias_policy"], serde_json::json!([true]), "{w}");
    assert_eq!(w["function_policy"], serde_json::json!([]), "{w}");

    // A new configuration is a new version the alias moves to in place: the registration
    // stays, the old version goes once the alias has left it.
    let out = plan(&warm_stack(320, Some(2)));
    assert!(
        out.contains("~ aws.lambda_function.app")
            && out.contains("~ aws.lambda_alias.live")
            && out.contains("function_version")
            && !out.contains("aws.lb_target_attachment")
            && !out.contains("-/+"),
        "{out}"
    );
    apply(&warm_stack(320, Some(2)));
    let w = warm(&moto);
    assert_eq!(w["aliases"], serde_json::json!({"live": "2"}), "{w}");
    assert_eq!(w["versions"], serde_json::json!(["$LATEST", "2"]), "{w}");
    assert_eq!(w["provisioned"], serde_json::json!([2, "READY"]), "{w}");
    assert_eq!(w["targets"], serde_json::json!(["lc-app:live"]), "{w}");
    assert!(plan(&warm_stack(320, Some(2))).contains("No changes."));

    // An apply stopped between its update and its publish leaves `$LATEST` ahead of the
    // alias's version (here made out of band): the next plan publishes it and moves the alias.
    moto.boto(
        "client('lambda').update_function_configuration(FunctionName='lc-app', MemorySize=384)\n\
         print('null')",
    );
    let out = plan(&warm_stack(384, Some(2)));
    assert!(
        out.contains("~ publish = false -> true") && out.contains("~ aws.lambda_alias.live"),
        "{out}"
    );
    apply(&warm_stack(384, Some(2)));
    assert_eq!(warm(&moto)["aliases"], serde_json::json!({"live": "3"}));

    // The count changes in place.
    let out = plan(&warm_stack(384, Some(3)));
    assert!(
        out.contains("~ aws.lambda_provisioned_concurrency.live") && !out.contains("-/+"),
        "{out}"
    );
    apply(&warm_stack(384, Some(3)));
    assert_eq!(warm(&moto)["provisioned"], serde_json::json!([3, "READY"]));

    // Without it, the function itself is the target again and the alias goes.
    apply(&warm_stack(384, None));
    let w = warm(&moto);
    assert_eq!(w["aliases"], serde_json::json!({}), "{w}");
    assert_eq!(w["provisioned"], serde_json::Value::Null, "{w}");
    assert_eq!(w["targets"], serde_json::json!(["lc-app"]), "{w}");
    assert_eq!(w["function_policy"], serde_json::json!([true]), "{w}");
    assert!(plan(&warm_stack(384, None)).contains("No changes."));

    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let left = moto.boto("print(json.dumps(len(client('lambda').list_functions()['Functions'])))");
    assert_eq!(left, 0);
}
