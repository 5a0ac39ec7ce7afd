//! Compute and traffic kinds against moto, driven through the provider trait (create, read,
//! update, delete) with prerequisites made by boto3, and asserted with boto3.

use std::sync::Arc;

use serde_json::{Value, json};
use wxinfra::aws::AwsContext;
use wxinfra::provider::{CreateRequest, Provider, Resource, UpdateRequest};

use crate::support::Moto;

const STACK: &str = "t";

pub(crate) async fn ctx(moto: &Moto) -> Arc<AwsContext> {
    use aws_sdk_ec2::config::{Credentials, Region};
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    Arc::new(AwsContext::from_config(STACK, config).unwrap())
}

/// A VPC with an internet gateway (AWS refuses an internet-facing ALB without one), two
/// subnets and the ALB and compute security groups, made with boto3.
pub(crate) fn network(moto: &Moto) -> Value {
    moto.boto(
        "ec2 = client('ec2')\n\
         vpc = ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']\n\
         igw = ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']\n\
         ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)\n\
         azs = [z['ZoneName'] for z in ec2.describe_availability_zones()['AvailabilityZones']][:2]\n\
         subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f'10.9.{i}.0/24', AvailabilityZone=az)['Subnet']['SubnetId'] for i, az in enumerate(azs)]\n\
         alb = ec2.create_security_group(GroupName='alb', Description='alb', VpcId=vpc)['GroupId']\n\
         compute = ec2.create_security_group(GroupName='compute', Description='compute', VpcId=vpc)['GroupId']\n\
         print(json.dumps({'vpc': vpc, 'subnets': subnets, 'alb_sg': alb, 'compute_sg': compute}))",
    )
}

pub(crate) fn tags(address: &str) -> Value {
    wxinfra::aws::tags::for_resource(STACK, address, &Default::default())
}

pub(crate) struct Kinds(wxinfra::provider::Registry);

impl Kinds {
    pub(crate) fn new(ctx: Arc<AwsContext>) -> Self {
        Self(wxinfra::aws::provider(ctx))
    }

    pub(crate) fn get(&self, kind: &str) -> &dyn Resource {
        self.0.resource(kind).unwrap()
    }

    /// The live properties, panicking when the resource is gone.
    pub(crate) async fn live(&self, kind: &str, id: &str, props: &Value) -> Value {
        let live = self.get(kind).read(id, props).await.unwrap();
        live.unwrap_or_else(|| panic!("{kind} {id} is gone")).props
    }

    /// Updates `changed` fields from `old` to `new`, panicking with the error.
    pub(crate) async fn update(
        &self,
        kind: &str,
        id: &str,
        old: &Value,
        new: &Value,
        changed: &[&str],
    ) {
        let changed: Vec<String> = changed.iter().map(|f| f.to_string()).collect();
        self.get(kind)
            .update(&UpdateRequest {
                id,
                old,
                new,
                changed: &changed,
            })
            .await
            .unwrap_or_else(|e| panic!("update {kind} {id}: {e}"));
    }

    /// Deletes, panicking with the error.
    pub(crate) async fn delete(&self, kind: &str, id: &str, props: &Value) {
        self.get(kind)
            .delete(id, props)
            .await
            .unwrap_or_else(|e| panic!("delete {kind} {id}: {e}"));
    }

    /// The error a create ends in, panicking when it succeeds.
    pub(crate) async fn refused(&self, kind: &str, address: &str, props: &Value) -> String {
        let made = self
            .get(kind)
            .create(&CreateRequest {
                address,
                stack: STACK,
                props,
                token: "tok",
            })
            .await;
        match made {
            Ok(c) => panic!("{address} was created ({}) where AWS refuses it", c.id),
            Err(e) => e.to_string(),
        }
    }

    /// Creates, then checks that a read gives back exactly the desired properties. Each
    /// create has its own idempotency token, as each plan's does (a replacement at the same
    /// address must not get the first instance back from RunInstances).
    pub(crate) async fn create(&self, kind: &str, address: &str, props: &Value) -> (String, Value) {
        static CREATES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = CREATES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let k = self.get(kind);
        let c = k
            .create(&CreateRequest {
                address,
                stack: STACK,
                props,
                token: &format!("tok-{}-{n}", address.replace('.', "-")),
            })
            .await
            .unwrap_or_else(|e| panic!("create {address}: {e}"));
        let live = k
            .read(&c.id, props)
            .await
            .unwrap()
            .expect("exists after create");
        let outputs = Value::Object(live.outputs.clone());
        (c.id, json!({"props": live.props, "outputs": outputs}))
    }
}

/// Every desired field reads back unchanged (what makes a plan converge).
pub(crate) fn assert_reads_back(desired: &Value, live: &Value, except: &[&str]) {
    for (k, v) in desired.as_object().unwrap() {
        if except.contains(&k.as_str()) {
            continue;
        }
        assert_eq!(&live["props"][k], v, "field `{k}` reads back differently");
    }
}

pub(crate) fn tg_props(name: &str, target_type: &str, vpc: &str) -> Value {
    let lambda = target_type == "lambda";
    json!({
        "name_prefix": format!("t-{name}"),
        "target_type": target_type,
        "protocol": if lambda { Value::Null } else { json!("HTTP") },
        "port": if lambda { Value::Null } else { json!(8080) },
        "vpc_id": if lambda { Value::Null } else { json!(vpc) },
        "health_check": {
            "path": "/.well-known/spin/health",
            "interval_seconds": if lambda { 35 } else { 15 },
            "timeout_seconds": if lambda { 30 } else { 5 },
            "healthy_threshold": 2,
            "unhealthy_threshold": 3,
            "matcher": "200",
        },
        "lambda_multi_value_headers": if lambda { json!(true) } else { Value::Null },
        "tags": tags(&format!("aws.lb_target_group.{name}")),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn alb_listener_forwards_by_weight_and_weights_change_in_place() {
    let moto = Moto::start();
    let net = network(&moto);
    let kinds = Kinds::new(ctx(&moto).await);

    let lb_props = json!({
        "name": "t-alb",
        "scheme": "internet-facing",
        "subnets": net["subnets"],
        "security_groups": [net["alb_sg"]],
        "idle_timeout": 60,
        "tags": tags("aws.lb.main"),
    });
    let (lb_arn, lb) = kinds.create("aws.lb", "aws.lb.main", &lb_props).await;
    assert_reads_back(&lb_props, &lb, &[]);
    assert!(lb["outputs"]["dns_name"].as_str().unwrap().contains("elb"));

    let vpc = net["vpc"].as_str().unwrap();
    let mut tgs = Vec::new();
    for (name, ty) in [("ec2", "instance"), ("fargate", "ip"), ("lambda", "lambda")] {
        let p = tg_props(name, ty, vpc);
        let (arn, live) = kinds
            .create(
                "aws.lb_target_group",
                &format!("aws.lb_target_group.{name}"),
                &p,
            )
            .await;
        assert_reads_back(&p, &live, &[]);
        tgs.push(arn);
    }
    let listener = |weights: [u64; 3]| {
        json!({
            "load_balancer_arn": lb_arn,
            "port": 80,
            "protocol": "HTTP",
            "forward": tgs.iter().zip(weights).map(|(t, w)| json!({"target_group_arn": t, "weight": w})).collect::<Vec<_>>(),
            "tags": tags("aws.lb_listener.main"),
        })
    };
    let l1 = listener([1, 1, 1]);
    let (l_arn, live) = kinds
        .create("aws.lb_listener", "aws.lb_listener.main", &l1)
        .await;
    assert_reads_back(&l1, &live, &[]);

    let seen = |moto: &Moto| {
        moto.boto(&format!(
            "elb = client('elbv2')\n\
             l = elb.describe_listeners(ListenerArns=['{l_arn}'])['Listeners'][0]\n\
             tgs = elb.describe_target_groups(TargetGroupArns={tgs:?})['TargetGroups']\n\
             lb = elb.describe_load_balancers(LoadBalancerArns=['{lb_arn}'])['LoadBalancers'][0]\n\
             attrs = elb.describe_target_group_attributes(TargetGroupArn='{lambda}')['Attributes']\n\
             print(json.dumps({{'port': l['Port'], \
               'weights': {{t['TargetGroupArn']: t['Weight'] for t in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']}}, \
               'health': sorted({{t['HealthCheckPath'] for t in tgs}}), \
               'types': sorted(t['TargetType'] for t in tgs), \
               'lb_sgs': lb['SecurityGroups'], 'scheme': lb['Scheme'], \
               'multi_value': [a['Value'] for a in attrs if a['Key'] == 'lambda.multi_value_headers.enabled']}}))",
            lambda = tgs[2]
        ))
    };
    let v = seen(&moto);
    assert_eq!(v["port"], 80);
    assert_eq!(v["weights"][&tgs[0]], 1);
    assert_eq!(v["weights"].as_object().unwrap().len(), 3);
    assert_eq!(v["health"], json!(["/.well-known/spin/health"]));
    assert_eq!(v["types"], json!(["instance", "ip", "lambda"]));
    assert_eq!(v["lb_sgs"], json!([net["alb_sg"]]));
    assert_eq!(v["scheme"], "internet-facing");
    assert_eq!(v["multi_value"], json!(["true"]));

    // Weights change in place: same listener ARN, new weights.
    let l2 = listener([5, 0, 2]);
    kinds
        .get("aws.lb_listener")
        .update(&UpdateRequest {
            id: &l_arn,
            old: &l1,
            new: &l2,
            changed: &["forward".into()],
        })
        .await
        .unwrap();
    let v = seen(&moto);
    assert_eq!(
        (
            v["weights"][&tgs[0]].clone(),
            v["weights"][&tgs[1]].clone(),
            v["weights"][&tgs[2]].clone()
        ),
        (json!(5), json!(0), json!(2))
    );

    // Drift made outside wxinfra shows in the next read.
    moto.boto(&format!(
        "elb = client('elbv2')\n\
         elb.modify_listener(ListenerArn='{l_arn}', DefaultActions=[{{'Type': 'forward', 'ForwardConfig': {{'TargetGroups': [\
           {{'TargetGroupArn': '{a}', 'Weight': 9}}, {{'TargetGroupArn': '{b}', 'Weight': 0}}, {{'TargetGroupArn': '{c}', 'Weight': 2}}]}}}}])\n\
         print('null')",
        a = tgs[0], b = tgs[1], c = tgs[2]
    ));
    let live = kinds
        .get("aws.lb_listener")
        .read(&l_arn, &l2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.props["forward"][0]["weight"], 9);
    assert_ne!(live.props["forward"], l2["forward"]);

    // Delete: listener, groups, load balancer; nothing tagged is left.
    kinds
        .get("aws.lb_listener")
        .delete(&l_arn, &l2)
        .await
        .unwrap();
    kinds
        .get("aws.lb_listener")
        .delete(&l_arn, &l2)
        .await
        .unwrap(); // gone already = Ok
    for t in &tgs {
        kinds
            .get("aws.lb_target_group")
            .delete(t, &Value::Null)
            .await
            .unwrap();
    }
    kinds
        .get("aws.lb")
        .delete(&lb_arn, &lb_props)
        .await
        .unwrap();
    let left = moto.boto(
        "elb = client('elbv2')\n\
         print(json.dumps({'lbs': len(elb.describe_load_balancers()['LoadBalancers']), 'tgs': len(elb.describe_target_groups()['TargetGroups'])}))",
    );
    assert_eq!(left, json!({"lbs": 0, "tgs": 0}));
    // Whatever the tagging API still lists must be dead (moto, like AWS for a while, keeps
    // terminated instances and INACTIVE ECS resources visible).
    let tagged = moto.tagged(STACK);
    let alive = moto.boto(&format!(
        "arns = {tagged:?}\n\
         ec2, ecs = client('ec2'), client('ecs')\n\
         alive = []\n\
         for a in arns:\n\
         \x20   kind = a.split(':')[5]\n\
         \x20   if kind.startswith('instance/'):\n\
         \x20       st = ec2.describe_instances(InstanceIds=[kind.split('/')[1]])['Reservations'][0]['Instances'][0]['State']['Name']\n\
         \x20       dead = st == 'terminated'\n\
         \x20   elif kind.startswith('cluster/'):\n\
         \x20       dead = all(c['status'] == 'INACTIVE' for c in ecs.describe_clusters(clusters=[a])['clusters'])\n\
         \x20   elif kind.startswith('service/'):\n\
         \x20       dead = all(s['status'] == 'INACTIVE' for s in ecs.describe_services(cluster=kind.split('/')[1], services=[a])['services'])\n\
         \x20   elif kind.startswith('task-definition/'):\n\
         \x20       try:\n\
         \x20           dead = ecs.describe_task_definition(taskDefinition=a)['taskDefinition']['status'] != 'ACTIVE'\n\
         \x20       except ecs.exceptions.ClientException:\n\
         \x20           dead = True\n\
         \x20   else:\n\
         \x20       dead = False\n\
         \x20   if not dead:\n\
         \x20       alive.append(a)\n\
         print(json.dumps(alive))"
    ));
    assert_eq!(alive, json!([]), "still alive after destroy");
}

/// An IAM role, the artifact bucket with a Lambda zip in it, and the zip's sha256 (hex).
pub(crate) fn lambda_prereqs(moto: &Moto) -> Value {
    moto.boto(
        "import io, zipfile, hashlib\n\
         iam = client('iam')\n\
         trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})\n\
         role = iam.create_role(RoleName='t-lambda', AssumeRolePolicyDocument=trust)['Role']['Arn']\n\
         s3 = client('s3')\n\
         s3.create_bucket(Bucket='t-artifacts')\n\
         def zipped(body):\n\
         \x20   buf = io.BytesIO()\n\
         \x20   with zipfile.ZipFile(buf, 'w') as z:\n\
         \x20       z.writestr('bootstrap', body)\n\
         \x20   return buf.getvalue()\n\
         shas = {}\n\
         for key, body in [('lambda/v1.zip', 'one'), ('lambda/v2.zip', 'two')]:\n\
         \x20   data = zipped(body)\n\
         \x20   s3.put_object(Bucket='t-artifacts', Key=key, Body=data)\n\
         \x20   shas[key] = hashlib.sha256(data).hexdigest()\n\
         print(json.dumps({'role': role, 'shas': shas}))",
    )
}

/// The function `t-app` on the test network, with the role and first zip of
/// [`lambda_prereqs`].
pub(crate) fn lambda_props(net: &Value, pre: &Value) -> Value {
    json!({
        "function_name": "t-app",
        "runtime": "provided.al2023",
        "handler": "bootstrap",
        "architecture": "arm64",
        "memory_size": 512,
        "timeout": 30,
        "role": pre["role"],
        "code": {"s3_bucket": "t-artifacts", "s3_key": "lambda/v1.zip", "sha256": pre["shas"]["lambda/v1.zip"]},
        "subnet_ids": net["subnets"],
        "security_group_ids": [net["compute_sg"]],
        "file_system": {"arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0", "mount_path": "/mnt/app"},
        "environment": {
            "WXRUN_APP_DIR": "/mnt/app",
            "WXRUN_SOURCE": "s3://t-artifacts/releases",
            "WXRUN_PRIMITIVE": "lambda",
        },
        "tags": tags("aws.lambda_function.app"),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_function_config_permission_and_target_registration() {
    let moto = Moto::start();
    let net = network(&moto);
    let pre = lambda_prereqs(&moto);
    let kinds = Kinds::new(ctx(&moto).await);

    let f1 = lambda_props(&net, &pre);
    let env = f1["environment"].clone();
    let (name, live) = kinds
        .create("aws.lambda_function", "aws.lambda_function.app", &f1)
        .await;
    assert_reads_back(&f1, &live, &[]);
    let fn_arn = live["outputs"]["arn"].as_str().unwrap().to_string();

    let config = |moto: &Moto| {
        moto.boto(
            "c = client('lambda').get_function_configuration(FunctionName='t-app')\n\
             print(json.dumps({'memory': c['MemorySize'], 'timeout': c['Timeout'], 'env': c['Environment']['Variables'], \
               'subnets': sorted(c['VpcConfig']['SubnetIds']), 'sgs': c['VpcConfig']['SecurityGroupIds'], \
               'runtime': c['Runtime'], 'handler': c['Handler'], 'arch': c['Architectures'], 'sha': c['CodeSha256']}))",
        )
    };
    let c = config(&moto);
    assert_eq!(c["memory"], 512);
    assert_eq!(c["timeout"], 30);
    assert_eq!(c["env"], env);
    let mut subnets: Vec<Value> = net["subnets"].as_array().unwrap().clone();
    subnets.sort_by_key(|v| v.as_str().unwrap().to_string());
    assert_eq!(c["subnets"], json!(subnets));
    assert_eq!(c["sgs"], json!([net["compute_sg"]]));
    assert_eq!(
        (c["runtime"].as_str(), c["handler"].as_str()),
        (Some("provided.al2023"), Some("bootstrap"))
    );
    assert_eq!(c["arch"], json!(["arm64"]));

    // Memory in place (UpdateFunctionConfiguration); a new zip through UpdateFunctionCode.
    let mut f2 = f1.clone();
    f2["memory_size"] = json!(1024);
    f2["code"]["s3_key"] = json!("lambda/v2.zip");
    f2["code"]["sha256"] = pre["shas"]["lambda/v2.zip"].clone();
    kinds
        .get("aws.lambda_function")
        .update(&UpdateRequest {
            id: &name,
            old: &f1,
            new: &f2,
            changed: &["memory_size".into(), "code".into()],
        })
        .await
        .unwrap();
    let c = config(&moto);
    assert_eq!(c["memory"], 1024);
    let live = kinds
        .get("aws.lambda_function")
        .read(&name, &f2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.props["code"], f2["code"], "new zip is live");

    // Drift on memory made with boto3 shows in the next read.
    moto.boto("client('lambda').update_function_configuration(FunctionName='t-app', MemorySize=640)\nprint('null')");
    let live = kinds
        .get("aws.lambda_function")
        .read(&name, &f2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.props["memory_size"], 640);

    // The ALB may invoke it (permission scoped to the target group), then it is registered.
    let tg = tg_props("lambda", "lambda", "");
    let (tg_arn, _) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.lambda", &tg)
        .await;
    // Before the permission, ELB refuses the function (MOTO_STRICT_LAMBDA_TARGET_PERMISSION).
    let refused = moto.boto(&format!(
        "try:\n\
         \x20   client('elbv2').register_targets(TargetGroupArn='{tg_arn}', Targets=[{{'Id': '{fn_arn}'}}])\n\
         \x20   print(json.dumps(None))\n\
         except Exception as e:\n\
         \x20   print(json.dumps(e.response['Error']['Code']))"
    ));
    assert_eq!(refused, json!("AccessDenied"));
    let perm = json!({
        "function_name": "t-app",
        "statement_id": "alb",
        "action": "lambda:InvokeFunction",
        "principal": "elasticloadbalancing.amazonaws.com",
        "source_arn": tg_arn,
    });
    let (perm_id, live) = kinds
        .create("aws.lambda_permission", "aws.lambda_permission.alb", &perm)
        .await;
    assert_reads_back(&perm, &live, &[]);
    let att = json!({"target_group_arn": tg_arn, "target_id": fn_arn, "port": null});
    let (att_id, live) = kinds
        .create(
            "aws.lb_target_attachment",
            "aws.lb_target_attachment.lambda",
            &att,
        )
        .await;
    assert_reads_back(&att, &live, &[]);
    let v = moto.boto(&format!(
        "p = json.loads(client('lambda').get_policy(FunctionName='t-app')['Policy'])['Statement'][0]\n\
         h = client('elbv2').describe_target_health(TargetGroupArn='{tg_arn}')['TargetHealthDescriptions']\n\
         print(json.dumps({{'principal': p['Principal'], 'source': p['Condition']['ArnLike']['AWS:SourceArn'], 'targets': [t['Target']['Id'] for t in h]}}))"
    ));
    assert_eq!(v["source"], json!(tg_arn));
    assert_eq!(v["targets"], json!([fn_arn]));

    kinds
        .get("aws.lb_target_attachment")
        .delete(&att_id, &att)
        .await
        .unwrap();
    assert!(
        kinds
            .get("aws.lb_target_attachment")
            .read(&att_id, &att)
            .await
            .unwrap()
            .is_none()
    );
    kinds
        .get("aws.lambda_permission")
        .delete(&perm_id, &perm)
        .await
        .unwrap();
    assert!(
        kinds
            .get("aws.lambda_permission")
            .read(&perm_id, &perm)
            .await
            .unwrap()
            .is_none()
    );
    kinds
        .get("aws.lambda_function")
        .delete(&name, &f2)
        .await
        .unwrap();
    assert!(
        kinds
            .get("aws.lambda_function")
            .read(&name, &f2)
            .await
            .unwrap()
            .is_none()
    );
}

/// An ALB on the test network whose listener forwards to the `ip` target group `t-fargate`,
/// made with boto3: ARNs of the load balancer, target group and listener.
pub(crate) fn fargate_lb(moto: &Moto, net: &Value) -> Value {
    moto.boto(&format!(
        "elb = client('elbv2')\n\
         lb = elb.create_load_balancer(Name='t-alb', Subnets={subnets}, SecurityGroups=['{sg}'])['LoadBalancers'][0]['LoadBalancerArn']\n\
         tg = elb.create_target_group(Name='t-fargate', Protocol='HTTP', Port=8080, VpcId='{vpc}', TargetType='ip')['TargetGroups'][0]['TargetGroupArn']\n\
         listener = elb.create_listener(LoadBalancerArn=lb, Protocol='HTTP', Port=80, DefaultActions=[{{'Type': 'forward', 'TargetGroupArn': tg}}])['Listeners'][0]['ListenerArn']\n\
         print(json.dumps({{'lb': lb, 'tg': tg, 'listener': listener}}))",
        subnets = net["subnets"],
        sg = net["alb_sg"].as_str().unwrap(),
        vpc = net["vpc"].as_str().unwrap()
    ))
}

/// The Fargate service `app` of `count` tasks behind target group `tg`.
pub(crate) fn service_props(
    net: &Value,
    cluster: &Value,
    td: &str,
    tg: &Value,
    count: u64,
) -> Value {
    json!({
        "service_name": "app",
        "cluster": cluster,
        "task_definition": td,
        "desired_count": count,
        "launch_type": "FARGATE",
        "platform_version": "LATEST",
        "subnets": net["subnets"],
        "security_groups": [net["compute_sg"]],
        "assign_public_ip": true,
        "load_balancer": {"target_group_arn": tg, "container_name": "wxrun", "container_port": 8080},
        "circuit_breaker": {"enable": true, "rollback": true},
        "health_check_grace_period_seconds": 60,
        "tags": tags("aws.ecs_service.app"),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn fargate_task_definition_mounts_efs_and_service_scales_in_place() {
    let moto = Moto::start();
    let net = network(&moto);
    let roles = moto.boto(
        "iam = client('iam')\n\
         trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ecs-tasks.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})\n\
         print(json.dumps({r: iam.create_role(RoleName=f't-{r}', AssumeRolePolicyDocument=trust)['Role']['Arn'] for r in ['exec', 'task']}))",
    );
    let kinds = Kinds::new(ctx(&moto).await);

    let cluster_props = json!({"cluster_name": "t", "tags": tags("aws.ecs_cluster.main")});
    let (cluster, live) = kinds
        .create("aws.ecs_cluster", "aws.ecs_cluster.main", &cluster_props)
        .await;
    assert_reads_back(&cluster_props, &live, &[]);
    let cluster_arn = live["outputs"]["arn"].clone();

    let td_props = json!({
        "family": "t-app",
        "cpu": "256",
        "memory": "512",
        "cpu_architecture": "ARM64",
        "execution_role_arn": roles["exec"],
        "task_role_arn": roles["task"],
        "container": {
            "name": "wxrun",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t-runtime@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "port": 8080,
            "command": ["serve", "--app-dir", "/mnt/app", "--source", "s3://t-artifacts/releases", "--listen", "0.0.0.0:8080"],
            "environment": {"WXRUN_APP_DIR": "/mnt/app", "WXRUN_SOURCE": "s3://t-artifacts/releases", "WXRUN_PRIMITIVE": "fargate"},
            "user": "65532",
            "readonly_root_filesystem": true,
            "scratch_paths": ["/tmp"],
            "log_group": "/wxinfra/t/fargate",
        },
        "efs": {"file_system_id": "fs-0123456789abcdef0", "access_point_id": "fsap-0123456789abcdef0", "transit_encryption": "ENABLED", "mount_path": "/mnt/app"},
        "tags": tags("aws.ecs_task_definition.app"),
    });
    let (td_arn, live) = kinds
        .create(
            "aws.ecs_task_definition",
            "aws.ecs_task_definition.app",
            &td_props,
        )
        .await;
    assert_reads_back(&td_props, &live, &[]);
    let v = moto.boto(&format!(
        "td = client('ecs').describe_task_definition(taskDefinition='{td_arn}')['taskDefinition']\n\
         efs = [v for v in td['volumes'] if 'efsVolumeConfiguration' in v][0]['efsVolumeConfiguration']\n\
         c = td['containerDefinitions'][0]\n\
         print(json.dumps({{'efs': efs, 'mode': td['networkMode'], 'compat': td['requiresCompatibilities'], 'arch': td['runtimePlatform']['cpuArchitecture'], \
           'user': c['user'], 'ro': c['readonlyRootFilesystem'], 'log': c['logConfiguration'], 'cmd': c['command']}}))"
    ));
    assert_eq!(
        v["efs"]["authorizationConfig"]["accessPointId"],
        "fsap-0123456789abcdef0"
    );
    assert_eq!(v["efs"]["authorizationConfig"]["iam"], "ENABLED");
    assert_eq!(v["efs"]["transitEncryption"], "ENABLED");
    assert_eq!(v["mode"], "awsvpc");
    assert_eq!(v["compat"], json!(["FARGATE"]));
    assert_eq!(v["arch"], "ARM64");
    assert_eq!(
        (v["user"].as_str(), v["ro"].as_bool()),
        (Some("65532"), Some(true))
    );
    assert_eq!(v["log"]["logDriver"], "awslogs");
    assert_eq!(v["log"]["options"]["awslogs-group"], "/wxinfra/t/fargate");

    // The service needs a target group a listener forwards to.
    let lb = fargate_lb(&moto, &net);
    let svc = |count: u64, td: &str| service_props(&net, &cluster_arn, td, &lb["tg"], count);
    let s1 = svc(1, &td_arn);
    let (svc_arn, live) = kinds
        .create("aws.ecs_service", "aws.ecs_service.app", &s1)
        .await;
    // moto keeps neither the deployment configuration nor the grace period (the circuit
    // breaker request is unit-tested in ecs_service.rs); everything else reads back.
    assert_reads_back(
        &s1,
        &live,
        &["circuit_breaker", "health_check_grace_period_seconds"],
    );

    // Desired count in place.
    let s2 = svc(3, &td_arn);
    kinds
        .get("aws.ecs_service")
        .update(&UpdateRequest {
            id: &svc_arn,
            old: &s1,
            new: &s2,
            changed: &["desired_count".into()],
        })
        .await
        .unwrap();
    let v = moto.boto(&format!(
        "s = client('ecs').describe_services(cluster='t', services=['{svc_arn}'])['services'][0]\n\
         n = s['networkConfiguration']['awsvpcConfiguration']\n\
         print(json.dumps({{'desired': s['desiredCount'], 'public_ip': n['assignPublicIp'], 'lb': s['loadBalancers'][0]['targetGroupArn'], \
           'platform': s['platformVersion'], 'launch': s['launchType']}}))"
    ));
    assert_eq!(v["desired"], 3);
    assert_eq!(v["public_ip"], "ENABLED");
    assert_eq!(v["lb"], lb["tg"]);
    assert_eq!(
        (v["platform"].as_str(), v["launch"].as_str()),
        (Some("LATEST"), Some("FARGATE"))
    );

    // A changed task definition is a new revision; the old one is deregistered.
    let mut td2 = td_props.clone();
    td2["memory"] = json!("1024");
    let (td2_arn, _) = kinds
        .create(
            "aws.ecs_task_definition",
            "aws.ecs_task_definition.app",
            &td2,
        )
        .await;
    assert_ne!(td2_arn, td_arn);
    kinds
        .get("aws.ecs_task_definition")
        .delete(&td_arn, &td_props)
        .await
        .unwrap();
    assert!(
        kinds
            .get("aws.ecs_task_definition")
            .read(&td_arn, &td_props)
            .await
            .unwrap()
            .is_none()
    );
    let s3 = svc(3, &td2_arn);
    kinds
        .get("aws.ecs_service")
        .update(&UpdateRequest {
            id: &svc_arn,
            old: &s2,
            new: &s3,
            changed: &["task_definition".into()],
        })
        .await
        .unwrap();

    // Delete in AWS's order: service (scaled to 0, INACTIVE), then the cluster.
    kinds
        .get("aws.ecs_service")
        .delete(&svc_arn, &s3)
        .await
        .unwrap();
    let v = moto.boto(&format!(
        "s = client('ecs').describe_services(cluster='t', services=['{svc_arn}'])['services']\n\
         print(json.dumps([x['status'] for x in s]))"
    ));
    assert!(v == json!([]) || v == json!(["INACTIVE"]), "{v}");
    kinds
        .get("aws.ecs_cluster")
        .delete(&cluster, &cluster_props)
        .await
        .unwrap();
    assert!(
        kinds
            .get("aws.ecs_cluster")
            .read(&cluster, &cluster_props)
            .await
            .unwrap()
            .is_none()
    );
    kinds
        .get("aws.ecs_task_definition")
        .delete(&td2_arn, &td2)
        .await
        .unwrap();
}

fn data_refs() -> wxinfra::synth::compute::Data {
    wxinfra::synth::compute::Data {
        bucket: "t-artifacts".into(),
        efs_file_system_id: "fs-0123456789abcdef0".into(),
        efs_access_point_id: "fsap-0123456789abcdef0".into(),
        ..Default::default()
    }
}

fn runtime_refs() -> wxinfra::synth::compute::Runtime {
    wxinfra::synth::compute::Runtime {
        key: "runtime/wxrun".into(),
        sha256: "cd".repeat(32),
        ..Default::default()
    }
}

/// Instance `ec2-0` of type `ty` in the second test subnet with `profile` and `user_data`.
pub(crate) fn instance_props(net: &Value, profile: &Value, ty: &str, user_data: &str) -> Value {
    json!({
        "instance_type": ty,
        "arch": "arm64",
        "subnet_ids": net["subnets"],
        "subnet_index": 1,
        "security_group_ids": [net["compute_sg"]],
        "instance_profile_arn": profile,
        "user_data": user_data,
        "metadata": {"http_tokens": "required", "hop_limit": 1},
        "tags": tags("aws.instance.ec2-0"),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2_instance_imdsv2_user_data_registration_and_replacement() {
    let moto = Moto::start();
    let net = network(&moto);
    let profile = moto.boto(
        "print(json.dumps(client('iam').create_instance_profile(InstanceProfileName='t-ec2')['InstanceProfile']['Arn']))",
    );
    let kinds = Kinds::new(ctx(&moto).await);
    let script =
        wxinfra::synth::compute::user_data(STACK, &data_refs(), &runtime_refs(), 8080).unwrap();
    let instance = |ty: &str| instance_props(&net, &profile, ty, &script);
    let i1 = instance("t4g.small");
    let (id, live) = kinds
        .create("aws.instance", "aws.instance.ec2-0", &i1)
        .await;
    assert_reads_back(&i1, &live, &[]);
    let v = moto.boto(&format!(
        "import base64\n\
         ec2 = client('ec2')\n\
         i = ec2.describe_instances(InstanceIds=['{id}'])['Reservations'][0]['Instances'][0]\n\
         ud = ec2.describe_instance_attribute(InstanceId='{id}', Attribute='userData')['UserData']['Value']\n\
         ami = client('ssm').get_parameter(Name='/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64')['Parameter']['Value']\n\
         print(json.dumps({{'md': i['MetadataOptions'], 'ud': base64.b64decode(ud).decode(), 'ami': i['ImageId'] == ami, \
           'subnet': i['SubnetId'], 'sgs': [g['GroupId'] for g in i['SecurityGroups']], 'profile': i['IamInstanceProfile']['Arn']}}))"
    ));
    assert_eq!(v["md"]["HttpTokens"], "required");
    assert_eq!(v["md"]["HttpPutResponseHopLimit"], 1);
    assert_eq!(v["ami"], true, "AMI from the AL2023 SSM parameter");
    assert_eq!(v["subnet"], net["subnets"][1]);
    assert_eq!(v["sgs"], json!([net["compute_sg"]]));
    assert_eq!(v["profile"], profile);
    let ud = v["ud"].as_str().unwrap();
    assert!(
        ud.contains(
            "mount -t efs -o tls,iam,accesspoint='fsap-0123456789abcdef0' 'fs-0123456789abcdef0:/'"
        ),
        "{ud}"
    );
    assert!(ud.contains("sha256sum --check"), "{ud}");
    assert!(ud.contains("Environment=WXRUN_PRIMITIVE=ec2"), "{ud}");
    assert!(ud.contains("systemctl start wxrun.service"), "{ud}");

    // Registered with the instance target group on the runtime port.
    let tg = tg_props("ec2", "instance", net["vpc"].as_str().unwrap());
    let (tg_arn, _) = kinds
        .create("aws.lb_target_group", "aws.lb_target_group.ec2", &tg)
        .await;
    let att = json!({"target_group_arn": tg_arn, "target_id": id, "port": 8080});
    let (att_id, live) = kinds
        .create(
            "aws.lb_target_attachment",
            "aws.lb_target_attachment.ec2-0",
            &att,
        )
        .await;
    assert_reads_back(&att, &live, &[]);

    // A new instance type forces a replacement: the new instance is registered, then the old
    // one deregistered and terminated.
    assert!(
        kinds
            .get("aws.instance")
            .forces_replacement("instance_type")
    );
    let i2 = instance("t4g.medium");
    let (id2, _) = kinds
        .create("aws.instance", "aws.instance.ec2-0", &i2)
        .await;
    let att2 = json!({"target_group_arn": tg_arn, "target_id": id2, "port": 8080});
    kinds
        .create(
            "aws.lb_target_attachment",
            "aws.lb_target_attachment.ec2-0",
            &att2,
        )
        .await;
    kinds
        .get("aws.lb_target_attachment")
        .delete(&att_id, &att)
        .await
        .unwrap();
    kinds.get("aws.instance").delete(&id, &i1).await.unwrap();
    let v = moto.boto(&format!(
        "ec2 = client('ec2')\n\
         old = ec2.describe_instances(InstanceIds=['{id}'])['Reservations'][0]['Instances'][0]['State']['Name']\n\
         new = ec2.describe_instances(InstanceIds=['{id2}'])['Reservations'][0]['Instances'][0]\n\
         h = client('elbv2').describe_target_health(TargetGroupArn='{tg_arn}')['TargetHealthDescriptions']\n\
         print(json.dumps({{'old': old, 'type': new['InstanceType'], 'targets': [t['Target']['Id'] for t in h]}}))"
    ));
    assert_eq!(v["old"], "terminated");
    assert_eq!(v["type"], "t4g.medium");
    assert_eq!(v["targets"], json!([id2]));
    assert!(
        kinds
            .get("aws.instance")
            .read(&id, &i1)
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn rendered_user_data_passes_shellcheck() {
    let script =
        wxinfra::synth::compute::user_data(STACK, &data_refs(), &runtime_refs(), 8080).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user-data.sh");
    std::fs::write(&path, &script).unwrap();
    let out = std::process::Command::new("shellcheck")
        .arg("--severity=style")
        .arg(&path)
        .output()
        .expect("shellcheck is missing: scripts/test.sh installs it (apt-get install shellcheck)");
    assert!(
        out.status.success(),
        "shellcheck:\n{}\n{script}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Plans and applies graphs of compute kinds through the real engine against moto, with the
/// state in memory. Prerequisites outside this area are literal ids made by boto3.
struct Deploy {
    provider: Arc<dyn Provider>,
    store: Arc<wxinfra::state::MemoryStore>,
}

impl Deploy {
    fn state(&self) -> wxinfra::state::State {
        use wxinfra::state::StateStore;
        self.store.read().unwrap().expect("state initialised")
    }

    async fn refresh(&self) -> wxinfra::plan::build::Refreshed {
        wxinfra::engine::refresh(
            &self.state(),
            self.provider.clone(),
            Arc::new(wxinfra::engine::Silent),
            10,
        )
        .await
        .unwrap()
    }

    async fn plan(&self, g: &wxinfra::graph::Graph) -> wxinfra::plan::Plan {
        let live = self.refresh().await;
        wxinfra::plan::build::build(g, &self.state(), &live, self.provider.as_ref()).unwrap()
    }

    async fn apply(&self, plan: &wxinfra::plan::Plan) {
        wxinfra::engine::Engine {
            provider: self.provider.clone(),
            store: self.store.clone(),
            hooks: Arc::new(wxinfra::engine::Silent),
            parallelism: 10,
            retry: Default::default(),
            stop: Default::default(),
        }
        .apply(plan, self.state())
        .await
        .unwrap();
    }

    /// (address, action) of every change in a plan.
    fn changes(plan: &wxinfra::plan::Plan) -> Vec<(String, String)> {
        plan.resources
            .iter()
            .filter(|r| r.action != wxinfra::plan::Action::NoOp)
            .map(|r| (r.address.clone(), format!("{:?}", r.action)))
            .collect()
    }
}

/// A small stack of this area's kinds: ALB, three target groups, the weighted listener, one
/// instance (+ registration), the Lambda function (+ permission, registration) and the
/// Fargate cluster, task definition and service.
fn traffic_graph(
    net: &Value,
    pre: &Value,
    weights: [u32; 3],
    memory: u32,
    desired: u32,
    ty: &str,
) -> wxinfra::graph::Graph {
    use wxinfra::graph::{Graph, Node};
    let mut g = Graph::default();
    let mut add = |kind: &str, name: &str, mut props: Value, taggable: bool, after: &[&str]| {
        let address = format!("{kind}.{name}");
        if taggable {
            props["tags"] = tags(&address);
        }
        let node = after
            .iter()
            .fold(Node::new(kind, name, props), |n, a| n.after(a));
        g.add(node.clone()).unwrap();
        node
    };
    let lb = add(
        "aws.lb",
        "main",
        json!({
            "name": "t-alb", "scheme": "internet-facing", "subnets": net["subnets"],
            "security_groups": [net["alb_sg"]], "idle_timeout": 60,
        }),
        true,
        &[],
    );
    let vpc = net["vpc"].as_str().unwrap();
    let mut tgs = Vec::new();
    for (name, ty) in [("ec2", "instance"), ("fargate", "ip"), ("lambda", "lambda")] {
        let mut p = tg_props(name, ty, vpc);
        p.as_object_mut().unwrap().remove("tags");
        tgs.push(add("aws.lb_target_group", name, p, true, &[]));
    }
    let listener = add(
        "aws.lb_listener",
        "main",
        json!({
            "load_balancer_arn": lb.out("arn"), "port": 80, "protocol": "HTTP",
            "forward": tgs.iter().zip(weights).map(|(t, w)| json!({"target_group_arn": t.out("arn"), "weight": w})).collect::<Vec<_>>(),
        }),
        true,
        &[],
    );
    let instance = add(
        "aws.instance",
        "ec2-0",
        json!({
            "instance_type": ty, "arch": "arm64", "subnet_ids": net["subnets"], "subnet_index": 0,
            "security_group_ids": [net["compute_sg"]], "instance_profile_arn": pre["profile"],
            "user_data": "#!/bin/bash\necho test\n", "metadata": {"http_tokens": "required", "hop_limit": 1},
        }),
        true,
        &[],
    );
    add(
        "aws.lb_target_attachment",
        "ec2-0",
        json!({
            "target_group_arn": tgs[0].out("arn"), "target_id": instance.out("id"), "port": 8080,
        }),
        false,
        &[],
    );
    let f = add(
        "aws.lambda_function",
        "app",
        json!({
            "function_name": "t-app", "runtime": "provided.al2023", "handler": "bootstrap",
            "architecture": "arm64", "memory_size": memory, "timeout": 30, "role": pre["role"],
            "code": {"s3_bucket": "t-artifacts", "s3_key": "lambda/v1.zip", "sha256": pre["shas"]["lambda/v1.zip"]},
            "subnet_ids": net["subnets"], "security_group_ids": [net["compute_sg"]],
            // moto drops FileSystemConfigs, so this graph leaves the mount out to let plans
            // converge; the mount request is unit-tested in lambda_function.rs.
            "file_system": null,
            "environment": {"WXRUN_PRIMITIVE": "lambda"},
        }),
        true,
        &[],
    );
    let perm = add(
        "aws.lambda_permission",
        "alb",
        json!({
            "function_name": f.out("name"), "statement_id": "alb", "action": "lambda:InvokeFunction",
            "principal": "elasticloadbalancing.amazonaws.com", "source_arn": tgs[2].out("arn"),
        }),
        false,
        &[],
    );
    add(
        "aws.lb_target_attachment",
        "lambda",
        json!({
            "target_group_arn": tgs[2].out("arn"), "target_id": f.out("arn"), "port": null,
        }),
        false,
        &[&perm.address],
    );
    let cluster = add(
        "aws.ecs_cluster",
        "main",
        json!({"cluster_name": "t"}),
        true,
        &[],
    );
    let td = add(
        "aws.ecs_task_definition",
        "app",
        json!({
            "family": "t-app", "cpu": "256", "memory": "512", "cpu_architecture": "ARM64",
            "execution_role_arn": pre["role"], "task_role_arn": pre["role"],
            "container": {
                "name": "wxrun", "image": "registry.example/t-runtime@sha256:00", "port": 8080,
                "command": ["serve"], "environment": {"WXRUN_PRIMITIVE": "fargate"}, "user": "65532",
                "readonly_root_filesystem": true, "scratch_paths": ["/tmp"], "log_group": "/t/fargate",
            },
            "efs": {"file_system_id": "fs-1", "access_point_id": "fsap-1", "transit_encryption": "ENABLED", "mount_path": "/mnt/app"},
        }),
        true,
        &[],
    );
    add(
        "aws.ecs_service",
        "app",
        json!({
            "service_name": "app", "cluster": cluster.out("arn"), "task_definition": td.out("arn"),
            "desired_count": desired, "launch_type": "FARGATE", "platform_version": "LATEST",
            "subnets": net["subnets"], "security_groups": [net["compute_sg"]], "assign_public_ip": true,
            "load_balancer": {"target_group_arn": tgs[1].out("arn"), "container_name": "wxrun", "container_port": 8080},
            // moto keeps no deployment configuration or grace period (unit-tested in ecs_service.rs).
            "circuit_breaker": null, "health_check_grace_period_seconds": null,
        }),
        true,
        &[&listener.address],
    );
    g.outputs.insert(
        "endpoint".into(),
        json!(format!("http://{}", lb.out("dns_name"))),
    );
    g
}

#[tokio::test(flavor = "multi_thread")]
async fn traffic_edits_plan_exactly_apply_in_place_or_replace_and_destroy_cleanly() {
    let moto = Moto::start();
    let net = network(&moto);
    let mut pre = lambda_prereqs(&moto);
    pre["profile"] = moto.boto(
        "print(json.dumps(client('iam').create_instance_profile(InstanceProfileName='t-ec2')['InstanceProfile']['Arn']))",
    );
    let d = Deploy {
        provider: Arc::new(wxinfra::aws::provider(ctx(&moto).await)),
        store: Default::default(),
    };
    wxinfra::state::StateStore::write(d.store.as_ref(), &wxinfra::state::State::new(STACK))
        .unwrap();

    let g = traffic_graph(&net, &pre, [1, 1, 1], 512, 1, "t4g.small");
    let plan = d.plan(&g).await;
    assert_eq!(plan.summary.add, g.nodes.len());
    d.apply(&plan).await;
    let plan = d.plan(&g).await;
    assert!(
        !plan.has_changes(),
        "{}",
        wxinfra::plan::render::render(&plan, false)
    );
    let state = d.state();
    let id = |a: &str| state.resources[a].id.clone().unwrap();
    let listener = id("aws.lb_listener.main");

    // Registrations: the instance and the function are targets of their groups.
    let v = moto.boto(&format!(
        "elb = client('elbv2')\n\
         t = lambda arn: [x['Target']['Id'] for x in elb.describe_target_health(TargetGroupArn=arn)['TargetHealthDescriptions']]\n\
         print(json.dumps({{'ec2': t('{ec2}'), 'lambda': t('{lam}')}}))",
        ec2 = id("aws.lb_target_group.ec2"),
        lam = id("aws.lb_target_group.lambda")
    ));
    assert_eq!(v["ec2"], json!([id("aws.instance.ec2-0")]));
    assert_eq!(
        v["lambda"],
        json!([state.resources["aws.lambda_function.app"].outputs["arn"]])
    );

    // Each edit: exactly one resource, in place (or replaced), then nothing left to do.
    let edits: [(wxinfra::graph::Graph, &[(&str, &str)]); 4] = [
        (
            traffic_graph(&net, &pre, [3, 0, 1], 512, 1, "t4g.small"),
            &[("aws.lb_listener.main", "Update")],
        ),
        (
            traffic_graph(&net, &pre, [3, 0, 1], 1024, 1, "t4g.small"),
            &[("aws.lambda_function.app", "Update")],
        ),
        (
            traffic_graph(&net, &pre, [3, 0, 1], 1024, 2, "t4g.small"),
            &[("aws.ecs_service.app", "Update")],
        ),
        (
            traffic_graph(&net, &pre, [3, 0, 1], 1024, 2, "t4g.medium"),
            &[
                ("aws.instance.ec2-0", "Replace"),
                ("aws.lb_target_attachment.ec2-0", "Replace"),
            ],
        ),
    ];
    for (g, want) in &edits {
        let plan = d.plan(g).await;
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(Deploy::changes(&plan), want);
        d.apply(&plan).await;
        let again = d.plan(g).await;
        assert!(
            !again.has_changes(),
            "{}",
            wxinfra::plan::render::render(&again, false)
        );
    }
    let state = d.state();
    assert_eq!(
        state.resources["aws.lb_listener.main"].id.as_deref(),
        Some(listener.as_str()),
        "listener kept"
    );
    let v = moto.boto(&format!(
        "elb = client('elbv2')\n\
         l = elb.describe_listeners(ListenerArns=['{listener}'])['Listeners'][0]\n\
         f = client('lambda').get_function_configuration(FunctionName='t-app')\n\
         s = client('ecs').describe_services(cluster='t', services=['app'])['services'][0]\n\
         i = client('ec2').describe_instances(InstanceIds=['{inst}'])['Reservations'][0]['Instances'][0]\n\
         h = elb.describe_target_health(TargetGroupArn='{ec2}')['TargetHealthDescriptions']\n\
         print(json.dumps({{'weights': [t['Weight'] for t in l['DefaultActions'][0]['ForwardConfig']['TargetGroups']], \
           'memory': f['MemorySize'], 'desired': s['desiredCount'], 'type': i['InstanceType'], 'targets': [t['Target']['Id'] for t in h]}}))",
        inst = state.resources["aws.instance.ec2-0"].id.as_deref().unwrap(),
        ec2 = state.resources["aws.lb_target_group.ec2"].id.as_deref().unwrap(),
    ));
    assert_eq!(v["weights"], json!([3, 0, 1]));
    assert_eq!(v["memory"], 1024);
    assert_eq!(v["desired"], 2);
    assert_eq!(v["type"], "t4g.medium");
    assert_eq!(
        v["targets"],
        json!([state.resources["aws.instance.ec2-0"].id])
    );

    // Drift made with boto3 on a listener weight and the Lambda memory.
    let tgs: Vec<String> = ["ec2", "fargate", "lambda"]
        .iter()
        .map(|n| {
            state.resources[&format!("aws.lb_target_group.{n}")]
                .id
                .clone()
                .unwrap()
        })
        .collect();
    moto.boto(&format!(
        "client('elbv2').modify_listener(ListenerArn='{listener}', DefaultActions=[{{'Type': 'forward', 'ForwardConfig': {{'TargetGroups': [\
           {{'TargetGroupArn': '{}', 'Weight': 7}}, {{'TargetGroupArn': '{}', 'Weight': 0}}, {{'TargetGroupArn': '{}', 'Weight': 1}}]}}}}])\n\
         client('lambda').update_function_configuration(FunctionName='t-app', MemorySize=256)\n\
         print('null')",
        tgs[0], tgs[1], tgs[2]
    ));
    let drift = wxinfra::plan::drift::drift(&d.state(), &d.refresh().await);
    let fields: Vec<(String, String)> = drift
        .iter()
        .flat_map(|r| {
            r.fields
                .iter()
                .map(|f| (r.address.clone(), f.field.clone()))
        })
        .collect();
    assert_eq!(
        fields,
        [
            (
                "aws.lambda_function.app".to_string(),
                "memory_size".to_string()
            ),
            ("aws.lb_listener.main".to_string(), "forward".to_string()),
        ]
    );
    let text = wxinfra::plan::drift::render(&drift);
    assert!(text.contains("memory_size"), "{text}");

    // Destroy: nothing of the stack is left, no listener either.
    let plan = d.plan(&wxinfra::graph::Graph::default()).await;
    assert_eq!(plan.summary.destroy, g.nodes.len());
    d.apply(&plan).await;
    assert!(d.state().resources.is_empty());
    let v = moto.boto(
        "elb = client('elbv2')\n\
         lbs = elb.describe_load_balancers()['LoadBalancers']\n\
         print(json.dumps({'lbs': len(lbs), 'fns': len(client('lambda').list_functions()['Functions']), \
           'services': [s['status'] for s in client('ecs').describe_services(cluster='t', services=['app'])['services']] if client('ecs').list_clusters()['clusterArns'] else []}))",
    );
    assert_eq!(v["lbs"], 0);
    assert_eq!(v["fns"], 0);
    // Whatever the tagging API still lists must be dead (moto, like AWS for a while, keeps
    // terminated instances and INACTIVE ECS resources visible).
    let tagged = moto.tagged(STACK);
    let alive = moto.boto(&format!(
        "arns = {tagged:?}\n\
         ec2, ecs = client('ec2'), client('ecs')\n\
         alive = []\n\
         for a in arns:\n\
         \x20   kind = a.split(':')[5]\n\
         \x20   if kind.startswith('instance/'):\n\
         \x20       st = ec2.describe_instances(InstanceIds=[kind.split('/')[1]])['Reservations'][0]['Instances'][0]['State']['Name']\n\
         \x20       dead = st == 'terminated'\n\
         \x20   elif kind.startswith('cluster/'):\n\
         \x20       dead = all(c['status'] == 'INACTIVE' for c in ecs.describe_clusters(clusters=[a])['clusters'])\n\
         \x20   elif kind.startswith('service/'):\n\
         \x20       dead = all(s['status'] == 'INACTIVE' for s in ecs.describe_services(cluster=kind.split('/')[1], services=[a])['services'])\n\
         \x20   elif kind.startswith('task-definition/'):\n\
         \x20       try:\n\
         \x20           dead = ecs.describe_task_definition(taskDefinition=a)['taskDefinition']['status'] != 'ACTIVE'\n\
         \x20       except ecs.exceptions.ClientException:\n\
         \x20           dead = True\n\
         \x20   else:\n\
         \x20       dead = False\n\
         \x20   if not dead:\n\
         \x20       alive.append(a)\n\
         print(json.dumps(alive))"
    ));
    assert_eq!(alive, json!([]), "still alive after destroy");
}
