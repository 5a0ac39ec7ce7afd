//! The `aws_dynamo` key-value store (Spin 3.1's options) on moto's DynamoDB:
//! two wxrun processes share the table, one configured by Spin's runtime-config
//! file, one by the same settings inline in `WXRUN_RUNTIME_CONFIG` (as wxinfra
//! hands them to ECS and Lambda), and boto3 sees Spin's item layout (`PK` string
//! key, `VAL` binary value).

use crate::support::*;
use bytes::Bytes;

#[tokio::test(flavor = "multi_thread")]
async fn dynamo_store_is_shared_by_two_processes_in_spins_item_layout() {
    let moto = Moto::start().await;
    // A new table is CREATING for a moment, as in DynamoDB: the app starts once it is ACTIVE.
    moto.boto3(
        "ddb = session.client('dynamodb', endpoint_url=endpoint)\n\
         ddb.create_table(TableName='app-kv', \
         KeySchema=[{'AttributeName': 'PK', 'KeyType': 'HASH'}], \
         AttributeDefinitions=[{'AttributeName': 'PK', 'AttributeType': 'S'}], \
         BillingMode='PAY_PER_REQUEST')\n\
         ddb.get_waiter('table_exists').wait(TableName='app-kv', WaiterConfig={'Delay': 1})",
    );
    let tmp = tempfile::tempdir().unwrap();
    let manifest = spin_hosts_app(
        tmp.path(),
        &[("c", r#"key_value_stores = ["dyn", "missing"]"#)],
    );
    let config = runtime_config(
        tmp.path(),
        "[key_value_store.dyn]\ntype = \"aws_dynamo\"\nregion = \"us-east-1\"\ntable = \"app-kv\"\nconsistent_read = true\n\
         [key_value_store.missing]\ntype = \"aws_dynamo\"\nregion = \"us-east-1\"\ntable = \"no-such-table\"\n",
    );
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = serve_with_config(&manifest, &config, &env).await;
    let inline = "key_value_store = { dyn = { type = 'aws_dynamo', region = 'us-east-1', \
                  table = 'app-kv', consistent_read = true }, missing = { type = 'aws_dynamo', \
                  region = 'us-east-1', table = 'no-such-table' } }";
    let env_b: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("WXRUN_RUNTIME_CONFIG", inline)])
        .collect();
    let b = Server::start(&["--from", manifest.to_str().unwrap()], &env_b).await;

    let set = send(
        http::Method::POST,
        &a.url("/c/kv/dyn/set/k"),
        Bytes::from("from-a"),
    )
    .await
    .unwrap();
    assert_eq!(set.body, "ok:set", "{}", a.logs());
    assert_eq!(b.get("/c/kv/dyn/get/k").await.body, "ok:from-a");
    assert_eq!(b.get("/c/kv/dyn/exists/k").await.body, "ok:true");
    assert_eq!(b.get("/c/kv/dyn/keys/-").await.body, "ok:k");
    let item = moto.boto3(
        "item = session.client('dynamodb', endpoint_url=endpoint).get_item(TableName='app-kv', \
         Key={'PK': {'S': 'k'}}, ConsistentRead=True)['Item']\nprint(sorted(item), item['VAL']['B'].decode())",
    );
    assert_eq!(item, "['PK', 'VAL'] from-a");
    assert_eq!(a.get("/c/kv/dyn/delete/k").await.body, "ok:deleted");
    assert_eq!(b.get("/c/kv/dyn/get/k").await.body, "ok:none");

    // Atomics: decimal text in VAL, a conditional write per increment, and Spin's VER
    // version for compare-and-swap.
    atomics_agree(&a, &b, "c", "dyn").await;
    let item = moto.boto3(
        "d = session.client('dynamodb', endpoint_url=endpoint)\n\
         c = d.get_item(TableName='app-kv', Key={'PK': {'S': 'counter'}}, ConsistentRead=True)['Item']\n\
         s = d.get_item(TableName='app-kv', Key={'PK': {'S': 'c'}}, ConsistentRead=True)['Item']\n\
         print(c['VAL']['B'].decode(), s['VAL']['B'].decode(), 'VER' in s)",
    );
    assert_eq!(item, "35 v3 True");
    for server in [&a, &b] {
        let r = server.get("/c/kv/missing/get/k").await.body;
        assert!(
            r.starts_with("err:other(") && r.contains("ResourceNotFoundException"),
            "{r}"
        );
    }
}
