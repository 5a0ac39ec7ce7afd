//! AWS behaviours moto lacks, reproduced by the launcher's strictness rules
//! (scripts/moto_server.py), met by the kinds through the provider trait and asserted with
//! boto3.

use serde_json::{Value, json};

use crate::compute::{Kinds, assert_reads_back, ctx, lambda_prereqs, lambda_props, network};
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
