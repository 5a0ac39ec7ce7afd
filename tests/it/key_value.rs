//! The app's key-value stores provisioned by the stack, on the emulator: a DynamoDB table
//! per `key_value_stores` label (on demand, encrypted, tagged, partition key `PK`), IAM
//! scoped to those tables, and the runtime config that points wxrun at them, asserted with
//! boto3; a re-plan is empty; destroy waits out DynamoDB's DELETING; a lost state's tables
//! are swept by tags; nothing is left.

use crate::support::{Moto, Workspace};

const STACK: &str = "version: 1
name: kvt
region: us-east-1
app:
  manifest: app/spin.toml
network:
  vpc: new
  cidr: 10.43.0.0/16
  availability_zones: 2
compute:
  lambda:
    memory: 256
    arch: x86_64
";

fn workspace(moto: &Moto) -> Workspace {
    let ws = Workspace::with_moto(moto).with_app();
    ws.write(
        "app/spin.toml",
        "spin_manifest_version = 2\n[application]\nname = \"kv\"\n\
         [[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"a\"\n\
         [[trigger.http]]\nroute = \"/b/...\"\ncomponent = { source = \"c.wasm\", key_value_stores = [\"cache\"] }\n\
         [component.a]\nsource = \"c.wasm\"\nkey_value_stores = [\"default\", \"cache\"]\n",
    );
    ws.write("stack.yaml", STACK);
    ws
}

/// The stack's tables as boto3 describes them, by name.
fn tables(moto: &Moto) -> serde_json::Value {
    moto.boto(
        "d = client('dynamodb')\n\
         out = {}\n\
         for n in d.list_tables()['TableNames']:\n\
         \x20   t = d.describe_table(TableName=n)['Table']\n\
         \x20   tags = d.list_tags_of_resource(ResourceArn=t['TableArn'])['Tags']\n\
         \x20   out[n] = {'arn': t['TableArn'], 'key': t['KeySchema'], 'attrs': t['AttributeDefinitions'],\n\
         \x20     'billing': t.get('BillingModeSummary', {}).get('BillingMode'),\n\
         \x20     'sse': t.get('SSEDescription', {}).get('Status'), 'tags': {x['Key']: x['Value'] for x in tags}}\n\
         print(json.dumps(out))",
    )
}

/// Each table's status by name, `gone` when DynamoDB no longer knows it.
fn statuses(moto: &Moto) -> serde_json::Value {
    moto.boto(
        "d = client('dynamodb')\n\
         out = []\n\
         for n in ['kvt-kv-cache', 'kvt-kv-default']:\n\
         \x20   try: out.append(d.describe_table(TableName=n)['Table']['TableStatus'])\n\
         \x20   except d.exceptions.ResourceNotFoundException: out.append('gone')\n\
         print(json.dumps(out))",
    )
}

#[test]
fn key_value_labels_get_tables_scoped_iam_and_the_runtime_config() {
    let moto = Moto::start();
    let ws = workspace(&moto);
    let plan = ws.run(&["plan", "-f", "stack.yaml"]).ok();
    for t in [
        "aws.dynamodb_table.kv-cache",
        "aws.dynamodb_table.kv-default",
    ] {
        assert!(plan.stdout.contains(&format!("+ {t}")), "{}", plan.stdout);
    }
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();

    let t = tables(&moto);
    let mut names: Vec<&String> = t.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, ["kvt-kv-cache", "kvt-kv-default"]);
    for (name, table) in t.as_object().unwrap() {
        assert_eq!(
            table["key"],
            serde_json::json!([{"AttributeName": "PK", "KeyType": "HASH"}]),
            "{name}"
        );
        assert_eq!(
            table["attrs"],
            serde_json::json!([{"AttributeName": "PK", "AttributeType": "S"}])
        );
        assert_eq!(table["billing"], "PAY_PER_REQUEST");
        assert_eq!(table["sse"], "ENABLED");
        assert_eq!(table["tags"]["wxinfra:stack"], "kvt");
    }

    // The function knows its stores; its role may use exactly those tables.
    let seen = moto.boto(
        "l = client('lambda'); iam = client('iam')\n\
         f = [f for f in l.list_functions()['Functions'] if f['FunctionName'].startswith('kvt')][0]\n\
         role = f['Role'].rsplit('/', 1)[1]\n\
         doc = iam.get_role_policy(RoleName=role, PolicyName='wxinfra')['PolicyDocument']\n\
         doc = json.loads(doc) if isinstance(doc, str) else doc\n\
         st = [s for s in doc['Statement'] if s.get('Sid') == 'KeyValueTables']\n\
         print(json.dumps({'config': f['Environment']['Variables'].get('WXRUN_RUNTIME_CONFIG'), 'kv': st}))",
    );
    assert_eq!(
        seen["config"],
        "key_value_store = { 'cache' = { type = 'aws_dynamo', region = 'us-east-1', table = 'kvt-kv-cache' }, \
         'default' = { type = 'aws_dynamo', region = 'us-east-1', table = 'kvt-kv-default' } }"
    );
    let kv = &seen["kv"][0];
    assert_eq!(
        kv["Action"],
        serde_json::json!([
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:Scan"
        ])
    );
    assert_eq!(
        kv["Resource"],
        serde_json::json!([t["kvt-kv-cache"]["arn"], t["kvt-kv-default"]["arn"]])
    );

    // What was applied reads back as applied.
    let again = ws.run(&["plan", "-f", "stack.yaml"]).ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    ws.run(&["diff", "-f", "stack.yaml"]).ok();

    // Capacity changed behind wxinfra's back is put back in place: the store keeps its data.
    moto.boto(
        "d = client('dynamodb')\n\
         d.put_item(TableName='kvt-kv-cache', Item={'PK': {'S': 'k'}, 'VAL': {'B': b'v'}})\n\
         d.update_table(TableName='kvt-kv-cache', BillingMode='PROVISIONED',\n\
         \x20   ProvisionedThroughput={'ReadCapacityUnits': 1, 'WriteCapacityUnits': 1})\n\
         print(json.dumps(None))",
    );
    let drift = ws.run(&["plan", "-f", "stack.yaml"]).ok();
    assert!(
        drift.stdout.contains("~ aws.dynamodb_table.kv-cache")
            && drift.stdout.contains("billing_mode"),
        "{}",
        drift.stdout
    );
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let kept = moto.boto(
        "d = client('dynamodb')\n\
         t = d.describe_table(TableName='kvt-kv-cache')['Table']\n\
         item = d.get_item(TableName='kvt-kv-cache', Key={'PK': {'S': 'k'}}).get('Item')\n\
         print(json.dumps([t['BillingModeSummary']['BillingMode'], item is not None]))",
    );
    assert_eq!(kept, serde_json::json!(["PAY_PER_REQUEST", true]));

    // Destroy returns once DynamoDB has deleted the tables (MOTO_STRICT_DYNAMODB_STATUS holds
    // them DELETING a while), so an apply right after can make them again under their names.
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(statuses(&moto), serde_json::json!(["gone", "gone"]));
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(statuses(&moto), serde_json::json!(["ACTIVE", "ACTIVE"]));

    // A lost state: destroy finds the tables by name and tag.
    std::fs::remove_file(ws.path().join(".wxinfra/kvt.state.json")).unwrap();
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(statuses(&moto), serde_json::json!(["gone", "gone"]));
    assert_eq!(tables(&moto), serde_json::json!({}));
}
