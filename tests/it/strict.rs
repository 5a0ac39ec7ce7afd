//! AWS behaviours moto lacks, reproduced by the launcher's strictness rules
//! (scripts/moto_server.py), met by the kinds through the provider trait and asserted with
//! boto3.

use serde_json::{Value, json};

use crate::compute::{
    Kinds, assert_reads_back, ctx, instance_props, lambda_prereqs, lambda_props, network, tags,
};
use crate::support::Moto;

/// The test function, logging as `logging` says.
fn function(net: &Value, pre: &Value, logging: Value) -> Value {
    let mut f = lambda_props(net, pre);
    f["logging"] = logging;
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_logs_to_the_stack_log_group() {
    let moto = Moto::start();
    let net = network(&moto);
    let pre = lambda_prereqs(&moto);
    let kinds = Kinds::new(ctx(&moto).await);
    let logging = |group: &str| json!({"log_group": group, "log_format": "Text"});
    let f1 = function(&net, &pre, logging("/wxinfra/t/lambda"));
    let (name, live) = kinds
        .create("aws.lambda_function", "aws.lambda_function.app", &f1)
        .await;
    assert_reads_back(&f1, &live, &[]);
    let group = |moto: &Moto| {
        moto.boto(
            "c = client('lambda').get_function_configuration(FunctionName='t-app')\n\
             print(json.dumps(c['LoggingConfig']))",
        )
    };
    // Not /aws/lambda/t-app, Lambda's default, where the role may not write.
    assert_eq!(
        group(&moto),
        json!({"LogFormat": "Text", "LogGroup": "/wxinfra/t/lambda"})
    );

    // A new group is an in-place update, and read covers it (so diff shows drift).
    let f2 = function(&net, &pre, logging("/wxinfra/t/other"));
    kinds
        .update("aws.lambda_function", &name, &f1, &f2, &["logging"])
        .await;
    assert_eq!(group(&moto)["LogGroup"], "/wxinfra/t/other");
    let live = kinds.live("aws.lambda_function", &name, &f2).await;
    assert_eq!(live["logging"], f2["logging"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn default_egress_is_revoked_though_a_fresh_listing_shows_none() {
    let moto = Moto::start();
    let net = network(&moto);
    let kinds = Kinds::new(ctx(&moto).await);
    let props = json!({
        "vpc_id": net["vpc"],
        "group_name": "t-fresh",
        "description": "fresh",
        "default_egress": false,
        "tags": tags("aws.security_group.fresh"),
    });
    let (id, live) = kinds
        .create("aws.security_group", "aws.security_group.fresh", &props)
        .await;
    // A listing right after create may show no egress rules at all (once); the second one
    // tells the truth.
    let egress = moto.boto(&format!(
        "e = client('ec2')\n\
         look = lambda: e.describe_security_groups(GroupIds=['{id}'])['SecurityGroups'][0]['IpPermissionsEgress']\n\
         look()\n\
         print(json.dumps(look()))"
    ));
    assert_eq!(
        egress,
        json!([]),
        "the default allow-all egress rule is left"
    );
    assert_reads_back(&props, &live, &[]);

    // A default rule put back shows as drift and is revoked by the update.
    moto.boto(&format!(
        "client('ec2').authorize_security_group_egress(GroupId='{id}', IpPermissions=[{{'IpProtocol': '-1', 'IpRanges': [{{'CidrIp': '0.0.0.0/0'}}]}}])\n\
         print(json.dumps(None))"
    ));
    let live = kinds.live("aws.security_group", &id, &props).await;
    assert_eq!(live["default_egress"], true);
    kinds
        .update(
            "aws.security_group",
            &id,
            &live,
            &props,
            &["default_egress"],
        )
        .await;
    let live = kinds.live("aws.security_group", &id, &props).await;
    assert_eq!(live["default_egress"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_or_instance_profile_not_yet_propagated_is_waited_for() {
    let moto = Moto::start();
    let net = network(&moto);
    // Created right now: the first use is refused as AWS does while IAM propagates.
    let pre = lambda_prereqs(&moto);
    let profile = moto.boto(
        "print(json.dumps(client('iam').create_instance_profile(InstanceProfileName='t-ec2')['InstanceProfile']['Arn']))",
    );
    let kinds = Kinds::new(ctx(&moto).await);
    let f = function(&net, &pre, json!(null));
    kinds
        .create("aws.lambda_function", "aws.lambda_function.app", &f)
        .await;
    // (werkzeug may colour the request line, so the status is matched apart from it)
    let refused = moto
        .log()
        .lines()
        .any(|l| l.contains("POST /2015-03-31/functions HTTP/1.1") && l.contains("\" 400 "));
    assert!(refused, "moto did not refuse the first CreateFunction");
    let instance = instance_props(&net, &profile, "t4g.small", "#!/bin/bash\necho test\n");
    let (id, _) = kinds
        .create("aws.instance", "aws.instance.ec2-0", &instance)
        .await;
    let seen = moto.boto(&format!(
        "i = client('ec2').describe_instances(InstanceIds=['{id}'])['Reservations'][0]['Instances'][0]\n\
         print(json.dumps(i['IamInstanceProfile']['Arn']))"
    ));
    assert_eq!(seen, profile);
}
