//! AWS behaviours moto lacks, reproduced by the launcher's strictness rules
//! (scripts/moto_server.py), met by the kinds through the provider trait and asserted with
//! boto3.

use std::time::Duration;

use serde_json::{Value, json};

use crate::compute::{
    Kinds, assert_reads_back, ctx, fargate_lb, instance_props, lambda_prereqs, lambda_props,
    network, service_props, tags, tg_props,
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

/// [`fargate_lb`] plus an ECS cluster and a task definition made with boto3; the ARNs.
fn fargate_prereqs(moto: &Moto, net: &Value) -> Value {
    let mut pre = fargate_lb(moto, net);
    let ecs = moto.boto(
        "ecs = client('ecs')\n\
         cluster = ecs.create_cluster(clusterName='t')['cluster']['clusterArn']\n\
         td = ecs.register_task_definition(family='t-app', requiresCompatibilities=['FARGATE'], networkMode='awsvpc', cpu='256', memory='512', \
           containerDefinitions=[{'name': 'wxrun', 'image': 'wxrun', 'portMappings': [{'containerPort': 8080}]}])['taskDefinition']['taskDefinitionArn']\n\
         print(json.dumps({'cluster': cluster, 'td': td}))",
    );
    pre["cluster"] = ecs["cluster"].clone();
    pre["td"] = ecs["td"].clone();
    pre
}

fn service(net: &Value, pre: &Value, count: u64) -> Value {
    service_props(
        net,
        &pre["cluster"],
        pre["td"].as_str().unwrap(),
        &pre["tg"],
        count,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn fargate_service_create_returns_once_its_tasks_run() {
    let moto = Moto::start();
    let net = network(&moto);
    let pre = fargate_prereqs(&moto, &net);
    let kinds = Kinds::new(ctx(&moto).await);
    // The account's first cluster was created just now: its service-linked role is not
    // usable yet, and the first CreateService is refused (waited out as well).
    let (arn, _) = kinds
        .create(
            "aws.ecs_service",
            "aws.ecs_service.app",
            &service(&net, &pre, 1),
        )
        .await;
    let seen = moto.boto(&format!(
        "s = client('ecs').describe_services(cluster='t', services=['{arn}'])['services'][0]\n\
         print(json.dumps([s['runningCount'], s['desiredCount'], [d['rolloutState'] for d in s['deployments']]]))"
    ));
    assert_eq!(seen, json!([1, 1, ["COMPLETED"]]), "returned before steady");
}

#[tokio::test(flavor = "multi_thread")]
async fn target_groups_default_to_a_short_deregistration_delay() {
    let moto = Moto::start();
    let net = network(&moto);
    let kinds = Kinds::new(ctx(&moto).await);
    let mut tg = tg_props("ec2", "instance", net["vpc"].as_str().unwrap());
    tg["deregistration_delay"] = json!(30);
    let (arn, live) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.ec2", &tg)
        .await;
    assert_reads_back(&tg, &live, &[]);
    let delay = |moto: &Moto| {
        moto.boto(&format!(
            "a = client('elbv2').describe_target_group_attributes(TargetGroupArn='{arn}')['Attributes']\n\
             print(json.dumps({{x['Key']: x['Value'] for x in a}}['deregistration_delay.timeout_seconds']))"
        ))
    };
    assert_eq!(delay(&moto), "30");
    let mut tg2 = tg.clone();
    tg2["deregistration_delay"] = json!(5);
    kinds
        .update(
            "aws.lb_target_group",
            &arn,
            &tg,
            &tg2,
            &["deregistration_delay"],
        )
        .await;
    assert_eq!(delay(&moto), "5");
    // Lambda groups have no deregistration delay (ELB refuses the attribute for them).
    let mut lambda = tg_props("lambda", "lambda", "");
    lambda["deregistration_delay"] = Value::Null;
    let (_, live) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.lambda", &lambda)
        .await;
    assert_reads_back(&lambda, &live, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_wait_while_aws_still_holds_the_resource() {
    let moto = Moto::start();
    let net = network(&moto);
    let pre = fargate_prereqs(&moto, &net);
    let kinds = Kinds::new(ctx(&moto).await);
    let none = json!({});
    let svc = service(&net, &pre, 1);
    let (svc_arn, _) = kinds
        .create("aws.ecs_service", "aws.ecs_service.app", &svc)
        .await;

    // The deleted service's tasks are still stopping: ClusterContainsTasksException.
    kinds.delete("aws.ecs_service", &svc_arn, &svc).await;
    let cluster = pre["cluster"].as_str().unwrap();
    kinds.delete("aws.ecs_cluster", cluster, &none).await;

    // The listener is gone, but ELB reports its target group in use for a while.
    let tg = pre["tg"].as_str().unwrap();
    moto.boto(&format!(
        "client('elbv2').delete_listener(ListenerArn='{}')\nprint(json.dumps(None))",
        pre["listener"].as_str().unwrap()
    ));
    kinds.delete("aws.lb_target_group", tg, &none).await;

    // The load balancer is gone, but its network interfaces keep its subnets, security
    // group and VPC busy (DependencyViolation). The VPC delete starts first and waits for
    // the subnets as well.
    moto.boto(&format!(
        "client('elbv2').delete_load_balancer(LoadBalancerArn='{}')\nprint(json.dumps(None))",
        pre["lb"].as_str().unwrap()
    ));
    let vpc = net["vpc"].as_str().unwrap();
    let subnets: Vec<String> = serde_json::from_value(net["subnets"].clone()).unwrap();
    let others = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for sg in ["alb_sg", "compute_sg"] {
            let id = net[sg].as_str().unwrap();
            kinds.delete("aws.security_group", id, &none).await;
        }
        for s in &subnets {
            kinds.delete("aws.subnet", s, &none).await;
        }
    };
    let (vpc_deleted, ()) = tokio::join!(kinds.get("aws.vpc").delete(vpc, &none), others);
    vpc_deleted.unwrap();
    let left = moto.boto(&format!(
        "e = client('ec2'); ecs = client('ecs'); elb = client('elbv2')\n\
         print(json.dumps({{\n\
           'vpcs': [v['VpcId'] for v in e.describe_vpcs()['Vpcs'] if v['VpcId'] == '{vpc}'],\n\
           'tgs': [t['TargetGroupArn'] for t in elb.describe_target_groups()['TargetGroups']],\n\
           'clusters': [c['status'] for c in ecs.describe_clusters(clusters=['{cluster}'])['clusters']],\n\
         }}))"
    ));
    assert_eq!(left["vpcs"], json!([]));
    assert_eq!(left["tgs"], json!([]));
    assert!(
        left["clusters"] == json!([]) || left["clusters"] == json!(["INACTIVE"]),
        "{left}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn internet_facing_alb_is_refused_in_a_vpc_without_a_gateway() {
    let moto = Moto::start();
    let net = moto.boto(
        "ec2 = client('ec2')\n\
         vpc = ec2.create_vpc(CidrBlock='10.8.0.0/16')['Vpc']['VpcId']\n\
         azs = [z['ZoneName'] for z in ec2.describe_availability_zones()['AvailabilityZones']][:2]\n\
         subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f'10.8.{i}.0/24', AvailabilityZone=az)['Subnet']['SubnetId'] for i, az in enumerate(azs)]\n\
         sg = ec2.create_security_group(GroupName='alb', Description='alb', VpcId=vpc)['GroupId']\n\
         print(json.dumps({'vpc': vpc, 'subnets': subnets, 'sg': sg}))",
    );
    let kinds = Kinds::new(ctx(&moto).await);
    let lb = json!({
        "name": "t-alb", "scheme": "internet-facing", "subnets": net["subnets"],
        "security_groups": [net["sg"]], "idle_timeout": 60, "tags": tags("aws.lb.main"),
    });
    let refused = kinds.refused("aws.lb", "aws.lb.main", &lb).await;
    let vpc = net["vpc"].as_str().unwrap();
    assert!(
        refused.contains(&format!("InvalidSubnet: VPC {vpc} has no internet gateway")),
        "{refused}"
    );
    // With the gateway attached (what the graph orders first), the same request succeeds.
    moto.boto(&format!(
        "e = client('ec2')\n\
         igw = e.create_internet_gateway()['InternetGateway']['InternetGatewayId']\n\
         e.attach_internet_gateway(InternetGatewayId=igw, VpcId='{vpc}')\n\
         print(json.dumps(igw))"
    ));
    kinds.create("aws.lb", "aws.lb.main", &lb).await;
}

/// Lambda network interfaces in a subnet and group, as boto3 sees them: (id, status).
fn lambda_enis(moto: &Moto, subnet: &str) -> Vec<(String, String)> {
    let v = moto.boto(&format!(
        "enis = client('ec2').describe_network_interfaces(Filters=[{{'Name': 'subnet-id', 'Values': ['{subnet}']}}])['NetworkInterfaces']\n\
         print(json.dumps([[e['NetworkInterfaceId'], e['Status']] for e in enis if e['Description'].startswith('AWS Lambda VPC ENI')]))"
    ));
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_interfaces_outliving_their_function_are_deleted_before_its_subnets_and_group() {
    let moto = Moto::start();
    let net = network(&moto);
    let pre = lambda_prereqs(&moto);
    let kinds = Kinds::new(ctx(&moto).await);
    let f = lambda_props(&net, &pre);
    let (name, _) = kinds
        .create("aws.lambda_function", "aws.lambda_function.app", &f)
        .await;
    let subnet = net["subnets"][0].as_str().unwrap();
    let enis = lambda_enis(&moto, subnet);
    assert_eq!(enis.len(), 1, "{enis:?}");
    assert_eq!(enis[0].1, "in-use");

    // Moving the function to other subnets or groups replaces it: an update would leave the
    // old subnet's interface in use while that subnet is deleted first.
    let k = kinds.get("aws.lambda_function");
    assert!(k.forces_replacement("subnet_ids") && k.forces_replacement("security_group_ids"));

    // Right after the function is gone its interfaces are still in use (AWS: up to ~45 min),
    // so the subnet and group deletes wait for their release, then delete them, then go.
    kinds.delete("aws.lambda_function", &name, &f).await;
    assert_eq!(lambda_enis(&moto, subnet)[0].1, "in-use");
    for s in net["subnets"].as_array().unwrap() {
        kinds
            .delete("aws.subnet", s.as_str().unwrap(), &json!({}))
            .await;
    }
    kinds
        .delete(
            "aws.security_group",
            net["compute_sg"].as_str().unwrap(),
            &json!({}),
        )
        .await;
    let left = moto.boto(
        "enis = client('ec2').describe_network_interfaces()['NetworkInterfaces']\n\
         print(json.dumps([e['NetworkInterfaceId'] for e in enis if e['Description'].startswith('AWS Lambda VPC ENI')]))",
    );
    // The emulator never deletes them itself: these deletes were wxinfra's.
    assert_eq!(left, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn target_health_is_waited_for_and_what_the_balancer_cannot_judge_is_unknown() {
    use wxinfra::aws::target_health::{Verdict, check, wait};
    let moto = Moto::start();
    let net = network(&moto);
    let c = ctx(&moto).await;
    let kinds = Kinds::new(c.clone());
    let tg = tg_props("ec2", "instance", net["vpc"].as_str().unwrap());
    let (arn, _) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.ec2", &tg)
        .await;
    assert_eq!(
        check(&c, &arn).await.unwrap(),
        Verdict::Pending("no target registered".into())
    );

    // A new target is `initial` until its health checks pass (MOTO_STRICT_TARGET_HEALTH),
    // and the wait sees it through.
    let instance = moto.boto(&format!(
        "ec2 = client('ec2'); elb = client('elbv2')\n\
         ami = ec2.describe_images()['Images'][0]['ImageId']\n\
         i = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId='{}')['Instances'][0]['InstanceId']\n\
         elb.register_targets(TargetGroupArn='{arn}', Targets=[{{'Id': i, 'Port': 8080}}])\n\
         print(json.dumps(i))",
        net["subnets"][0].as_str().unwrap()
    ));
    let first = check(&c, &arn).await.unwrap();
    assert!(
        matches!(&first, Verdict::Pending(why) if why.contains("initial")),
        "{first:?}"
    );
    let mut seen = Vec::new();
    let groups = [("ec2".to_string(), arn.clone())];
    let last = wait(&c, &groups, Duration::from_secs(60), |_, v| {
        seen.push(v.clone())
    })
    .await
    .unwrap();
    assert_eq!(last, vec![Verdict::Healthy { targets: 1 }], "{seen:?}");

    // A stopped instance is `unused`: the balancer cannot judge it, so it is not healthy.
    moto.boto(&format!(
        "client('ec2').stop_instances(InstanceIds=[{instance}])\nprint('null')"
    ));
    let v = check(&c, &arn).await.unwrap();
    assert!(
        matches!(&v, Verdict::Unknown(why) if why.contains("stopped")),
        "{v:?}"
    );
}

/// A NAT gateway's state, as boto3 sees it.
fn nat_state(moto: &Moto, id: &str) -> String {
    moto.boto(&format!(
        "print(json.dumps(client('ec2').describe_nat_gateways(NatGatewayIds=['{id}'])['NatGateways'][0]['State']))"
    ))
    .as_str()
    .unwrap()
    .to_string()
}

/// A new Elastic IP for NAT gateway `az`, and that gateway's properties in `subnet`.
async fn nat_props(kinds: &Kinds, subnet: &str, az: &str) -> (String, Value) {
    let eip_address = format!("aws.eip.nat-{az}");
    let (eip, _) = kinds
        .create(
            "aws.eip",
            &eip_address,
            &json!({"tags": tags(&eip_address)}),
        )
        .await;
    let props = json!({
        "subnet_id": subnet, "allocation_id": eip,
        "tags": tags(&format!("aws.nat_gateway.{az}")),
    });
    (eip, props)
}

/// Deletes NAT gateway `id` behind wxinfra's back (as with a lost state), without waiting.
fn delete_nat(moto: &Moto, id: &str) {
    moto.boto(&format!(
        "client('ec2').delete_nat_gateway(NatGatewayId='{id}'); print('{{}}')"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn nat_gateways_are_waited_for_and_their_address_and_gateway_let_go_only_once_deleted() {
    let moto = Moto::start();
    let net = network(&moto);
    let kinds = Kinds::new(ctx(&moto).await);
    let subnet = net["subnets"][0].as_str().unwrap();
    let (eip, props) = nat_props(&kinds, subnet, "a").await;
    let (nat, _) = kinds
        .create("aws.nat_gateway", "aws.nat_gateway.a", &props)
        .await;
    // Create returns once the gateway can route, not while it is pending.
    assert_eq!(nat_state(&moto, &nat), "available");

    // Deleted behind wxinfra's back: the address is released and the gateway detached only
    // once AWS has finished deleting it, which each delete waits out.
    delete_nat(&moto, &nat);
    kinds.delete("aws.eip", &eip, &json!({})).await;
    assert_eq!(nat_state(&moto, &nat), "deleted");
    let igw = moto.boto(&format!(
        "print(json.dumps(client('ec2').describe_internet_gateways(Filters=[{{'Name': 'attachment.vpc-id', 'Values': ['{}']}}])['InternetGateways'][0]['InternetGatewayId']))",
        net["vpc"].as_str().unwrap()
    ));
    let (eip, props) = nat_props(&kinds, subnet, "a").await;
    let (nat, _) = kinds
        .create("aws.nat_gateway", "aws.nat_gateway.a", &props)
        .await;
    delete_nat(&moto, &nat);
    kinds
        .delete("aws.internet_gateway", igw.as_str().unwrap(), &json!({}))
        .await;
    assert_eq!(nat_state(&moto, &nat), "deleted");
    kinds.delete("aws.eip", &eip, &json!({})).await;

    // In a VPC with no internet gateway AWS fails the gateway; create says why.
    let (_, props) = nat_props(&kinds, subnet, "b").await;
    let failed = kinds
        .refused("aws.nat_gateway", "aws.nat_gateway.b", &props)
        .await;
    assert!(
        failed.contains("Gateway.NotAttached: Network vpc-")
            && failed.contains("has no Internet gateway attached"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_is_issued_only_once_its_record_is_in_the_zone_and_deleted_once_let_go() {
    let moto = Moto::start();
    let net = network(&moto);
    moto.boto("client('route53').create_hosted_zone(Name='example.com', CallerReference='t'); print('{}')");
    let kinds = Kinds::new(ctx(&moto).await);
    let (zone, _) = kinds
        .create(
            "aws.route53_zone_lookup",
            "aws.route53_zone_lookup.main",
            &json!({"name": "example.com"}),
        )
        .await;
    let cert_props = json!({"domain_name": "app.example.com", "validation_method": "DNS", "tags": tags("aws.acm_certificate.main")});
    // ACM names the validation record seconds after the request: create waits for it.
    let (arn, cert) = kinds
        .create(
            "aws.acm_certificate",
            "aws.acm_certificate.main",
            &cert_props,
        )
        .await;
    let out = &cert["outputs"];
    assert_eq!(out["validation_record_type"], "CNAME");
    let status = |moto: &Moto| {
        moto.boto(&format!(
            "print(json.dumps(client('acm').describe_certificate(CertificateArn='{arn}')['Certificate']['Status']))"
        ))
    };
    assert_eq!(status(&moto), "PENDING_VALIDATION");
    let record = json!({
        "zone_id": zone, "name": out["validation_record_name"], "type": "CNAME", "ttl": 300,
        "records": [out["validation_record_value"]], "allow_overwrite": true,
    });
    let (record_id, _) = kinds
        .create(
            "aws.route53_record",
            "aws.route53_record.validation",
            &record,
        )
        .await;
    let validation = json!({"certificate_arn": arn});
    kinds
        .create(
            "aws.acm_certificate_validation",
            "aws.acm_certificate_validation.main",
            &validation,
        )
        .await;
    assert_eq!(status(&moto), "ISSUED");

    // A record somebody else made under the name is not taken over.
    let alias = json!({"zone_id": zone, "name": "app.example.com", "type": "CNAME", "ttl": 60, "records": ["elsewhere.example.net"]});
    moto.boto(&format!(
        "client('route53').change_resource_record_sets(HostedZoneId='{}', ChangeBatch={{'Changes': [{{'Action': 'CREATE', 'ResourceRecordSet': {{'Name': 'app.example.com', 'Type': 'CNAME', 'TTL': 60, 'ResourceRecords': [{{'Value': 'theirs.example.net'}}]}}}}]}}); print('{{}}')",
        zone.as_str()
    ));
    let refused = kinds
        .refused("aws.route53_record", "aws.route53_record.alias", &alias)
        .await;
    assert!(
        refused.contains("already has a CNAME record for app.example.com"),
        "{refused}"
    );

    // The listener that used the certificate is gone, but ACM still says it is in use for a
    // while: delete waits that out.
    let lb = fargate_lb(&moto, &net);
    let (lb, tg) = (lb["lb"].as_str().unwrap(), lb["tg"].as_str().unwrap());
    let listener = moto.boto(&format!(
        "print(json.dumps(client('elbv2').create_listener(LoadBalancerArn='{lb}', Protocol='HTTPS', Port=443, Certificates=[{{'CertificateArn': '{arn}'}}], DefaultActions=[{{'Type': 'forward', 'TargetGroupArn': '{tg}'}}])['Listeners'][0]['ListenerArn']))"
    ));
    moto.boto(&format!(
        "client('elbv2').delete_listener(ListenerArn='{}'); print('{{}}')",
        listener.as_str().unwrap()
    ));
    kinds.delete("aws.acm_certificate", &arn, &cert_props).await;
    kinds
        .delete("aws.route53_record", &record_id, &record)
        .await;
    let left = moto.boto(&format!(
        "print(json.dumps(sorted(r['Type'] for r in client('route53').list_resource_record_sets(HostedZoneId='{}')['ResourceRecordSets']) + [c['CertificateArn'] for c in client('acm').list_certificates()['CertificateSummaryList']]))",
        zone.as_str()
    ));
    assert_eq!(
        left,
        json!(["CNAME", "NS", "SOA"]),
        "only the zone's own records and the stranger's are left"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_balancer_is_used_while_it_provisions_and_the_health_proof_waits_for_it() {
    let moto = Moto::start();
    let net = network(&moto);
    let c = ctx(&moto).await;
    let kinds = Kinds::new(c.clone());
    let lb = json!({
        "name": "t-alb", "scheme": "internet-facing", "subnets": net["subnets"],
        "security_groups": [net["alb_sg"]], "idle_timeout": 60, "tags": tags("aws.lb.main"),
    });
    // The create returns with what its dependents need, not after the minutes AWS takes to
    // provision (MOTO_STRICT_LB_PROVISIONING)...
    let (lb_arn, live) = kinds.create("aws.lb", "aws.lb.main", &lb).await;
    assert!(
        live["outputs"]["dns_name"]
            .as_str()
            .unwrap()
            .contains("elb")
    );
    // ...and its target group and listener go ahead meanwhile, as AWS accepts them.
    let tg = tg_props("fargate", "ip", net["vpc"].as_str().unwrap());
    let (tg_arn, _) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.fargate", &tg)
        .await;
    let listener = json!({
        "load_balancer_arn": lb_arn, "port": 80, "protocol": "HTTP",
        "forward": [{"target_group_arn": tg_arn, "weight": 1}],
        "tags": tags("aws.lb_listener.main"),
    });
    kinds
        .create("aws.lb_listener", "aws.lb_listener.main", &listener)
        .await;
    let state = moto.boto(&format!(
        "lb = client('elbv2').describe_load_balancers(LoadBalancerArns=['{lb_arn}'])['LoadBalancers'][0]\n\
         print(json.dumps(lb['State']['Code']))"
    ));
    assert_eq!(state, "provisioning");
    // Apply's health proof waits for it, saying each state it meets.
    let said = std::sync::Mutex::new(Vec::new());
    let active = wxinfra::aws::lb::wait_active(&c, &lb_arn, Duration::from_secs(60), |s| {
        said.lock().unwrap().push(s.to_string())
    })
    .await
    .unwrap();
    assert!(active);
    assert_eq!(*said.lock().unwrap(), ["provisioning", "active"]);
    // With no time left, one look still answers.
    let gone_by = wxinfra::aws::lb::wait_active(&c, &lb_arn, Duration::ZERO, |_| {})
        .await
        .unwrap();
    assert!(gone_by, "an active load balancer is active at once");
}
