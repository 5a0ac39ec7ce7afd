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
