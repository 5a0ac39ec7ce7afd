//! Data and identity on the emulator: EFS (encrypted, lifecycle, a mount target per subnet
//! with the EFS security group, the `/app` access point), the artifact bucket with
//! content-addressed artifacts and the `releases/current` pointer, the S3 gateway endpoint,
//! scoped IAM roles and log groups — asserted with boto3; then an app-only release, and a
//! destroy that leaves nothing behind.

use crate::support::{LocalRegistry, Moto, Workspace};
use serde_json::Value;

const STACK: &str = "version: 1
name: dt
region: us-east-1
app:
  manifest: app/spin.toml
network:
  vpc: new
  cidr: 10.42.0.0/16
  availability_zones: 2
efs:
  throughput_mode: elastic
  transition_to_ia_days: 30
runtime:
  binary: bin/wxrun-{arch}
compute:
  ec2:
    count: 1
    instance_type: t3.small
    arch: x86_64
  fargate:
    cpu: 256
    memory: 512
    arch: x86_64
  lambda:
    memory: 512
    arch: x86_64
    log_retention_days: 7
";

fn workspace(moto: &Moto, reg: &LocalRegistry) -> Workspace {
    let ws = Workspace::with_moto(moto).with_static_runtime(reg);
    ws.write("stack.yaml", STACK);
    ws
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The bucket's objects as key -> sha256 of the downloaded bytes.
fn objects(moto: &Moto) -> serde_json::Map<String, Value> {
    moto.boto(
        "import hashlib\n\
         s3 = client('s3')\n\
         b = [x['Name'] for x in s3.list_buckets()['Buckets'] if x['Name'].startswith('dt-artifacts-')]\n\
         out = {}\n\
         for o in s3.list_objects_v2(Bucket=b[0]).get('Contents', []):\n\
         \x20   body = s3.get_object(Bucket=b[0], Key=o['Key'])['Body'].read()\n\
         \x20   out[o['Key']] = body.decode().strip() if o['Key'] == 'releases/current' else hashlib.sha256(body).hexdigest()\n\
         print(json.dumps(out))",
    )
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn data_and_identity_apply_release_and_destroy() {
    let moto = Moto::start();
    let reg = LocalRegistry::start();
    let ws = workspace(&moto, &reg);
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();

    // EFS: encrypted, elastic, IA after 30 days, TLS-only policy, a mount target per
    // subnet guarded by the EFS security group, the /app access point owned by 1000:1000.
    let efs = moto.boto(
        "efs = client('efs'); ec2 = client('ec2')\n\
         fs = efs.describe_file_systems()['FileSystems']\n\
         assert len(fs) == 1, fs\n\
         fs = fs[0]\n\
         lc = efs.describe_lifecycle_configuration(FileSystemId=fs['FileSystemId'])['LifecyclePolicies']\n\
         pol = json.loads(efs.describe_file_system_policy(FileSystemId=fs['FileSystemId'])['Policy'])\n\
         mts = efs.describe_mount_targets(FileSystemId=fs['FileSystemId'])['MountTargets']\n\
         sg = ec2.describe_security_groups(Filters=[{'Name': 'tag:wxinfra:address', 'Values': ['aws.security_group.efs']}])['SecurityGroups'][0]['GroupId']\n\
         subnets = sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'tag:wxinfra:stack', 'Values': ['dt']}])['Subnets'])\n\
         mt_sgs = [efs.describe_mount_target_security_groups(MountTargetId=m['MountTargetId'])['SecurityGroups'] for m in mts]\n\
         aps = efs.describe_access_points(FileSystemId=fs['FileSystemId'])['AccessPoints']\n\
         print(json.dumps({'encrypted': fs['Encrypted'], 'throughput': fs['ThroughputMode'], 'lc': lc, 'policy': pol,\n\
           'mt_subnets': sorted(m['SubnetId'] for m in mts), 'mt_states': [m['LifeCycleState'] for m in mts],\n\
           'subnets': subnets, 'mt_sgs': mt_sgs, 'sg': sg, 'aps': aps}))",
    );
    assert_eq!(efs["encrypted"], true);
    assert_eq!(efs["throughput"], "elastic");
    assert_eq!(efs["lc"][0]["TransitionToIA"], "AFTER_30_DAYS");
    let st = &efs["policy"]["Statement"][0];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(st["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(efs["mt_subnets"], efs["subnets"]);
    assert_eq!(efs["subnets"].as_array().unwrap().len(), 2);
    assert!(
        efs["mt_states"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s == "available")
    );
    for sgs in efs["mt_sgs"].as_array().unwrap() {
        assert_eq!(sgs, &serde_json::json!([efs["sg"]]));
    }
    let ap = &efs["aps"][0];
    assert_eq!(efs["aps"].as_array().unwrap().len(), 1);
    assert_eq!(ap["RootDirectory"]["Path"], "/app");
    assert_eq!(ap["RootDirectory"]["CreationInfo"]["OwnerUid"], 1000);
    assert_eq!(ap["RootDirectory"]["CreationInfo"]["OwnerGid"], 1000);
    assert_eq!(ap["RootDirectory"]["CreationInfo"]["Permissions"], "0755");
    assert_eq!(ap["PosixUser"]["Uid"], 1000);
    assert_eq!(ap["PosixUser"]["Gid"], 1000);

    // The bucket: private, encrypted, TLS-only, tagged.
    let bucket = moto.boto(
        "s3 = client('s3')\n\
         b = [x['Name'] for x in s3.list_buckets()['Buckets']]\n\
         assert len(b) == 1, b\n\
         b = b[0]\n\
         print(json.dumps({'name': b,\n\
           'pab': s3.get_public_access_block(Bucket=b)['PublicAccessBlockConfiguration'],\n\
           'enc': s3.get_bucket_encryption(Bucket=b)['ServerSideEncryptionConfiguration']['Rules'][0]['ApplyServerSideEncryptionByDefault']['SSEAlgorithm'],\n\
           'policy': json.loads(s3.get_bucket_policy(Bucket=b)['Policy']),\n\
           'tags': {t['Key']: t['Value'] for t in s3.get_bucket_tagging(Bucket=b)['TagSet']}}))",
    );
    let name = bucket["name"].as_str().unwrap();
    assert_eq!(name, "dt-artifacts-123456789012-us-east-1");
    for k in [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(bucket["pab"][k], true, "{k}");
    }
    assert_eq!(bucket["enc"], "AES256");
    assert_eq!(
        bucket["policy"]["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    assert_eq!(bucket["tags"]["wxinfra:address"], "aws.s3_bucket.artifacts");

    // Objects at content-addressed keys, holding exactly the local bytes.
    let release_dir = ws.path().join(".wxinfra/artifacts/dt/releases");
    let tars: Vec<_> = std::fs::read_dir(&release_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(tars.len(), 1);
    let r1 = sha256(&std::fs::read(&tars[0]).unwrap());
    let bin = sha256(&std::fs::read(ws.path().join("bin/wxrun-x86_64")).unwrap());
    let objs = objects(&moto);
    assert_eq!(objs[&format!("releases/{r1}.tar")], r1);
    assert_eq!(objs[&format!("runtime/wxrun-x86_64-{bin}")], bin);
    assert_eq!(objs["releases/current"], r1);
    let zip_key = objs
        .keys()
        .find(|k| k.starts_with("lambda/wxrun-x86_64-"))
        .unwrap()
        .clone();
    let zip_sha = zip_key
        .trim_start_matches("lambda/wxrun-x86_64-")
        .trim_end_matches(".zip");
    assert_eq!(objs[&zip_key], zip_sha);
    assert_eq!(objs.len(), 4, "{objs:?}");

    // IAM: roles under /wxinfra/dt/, trust for the right services, scoped inline policies.
    let iam = moto.boto(
        "iam = client('iam')\n\
         out = {}\n\
         for r in iam.list_roles(PathPrefix='/wxinfra/dt/')['Roles']:\n\
         \x20   n = r['RoleName']\n\
         \x20   pols = {p: iam.get_role_policy(RoleName=n, PolicyName=p)['PolicyDocument'] for p in iam.list_role_policies(RoleName=n)['PolicyNames']}\n\
         \x20   out[n] = {'trust': r['AssumeRolePolicyDocument'], 'policies': pols}\n\
         ips = iam.list_instance_profiles(PathPrefix='/wxinfra/dt/')['InstanceProfiles']\n\
         print(json.dumps({'roles': out, 'profiles': {p['InstanceProfileName']: [r['RoleName'] for r in p['Roles']] for p in ips}}, default=str))",
    );
    let roles = iam["roles"].as_object().unwrap();
    let mut names: Vec<_> = roles.keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        ["dt-ec2", "dt-ecs-execution", "dt-ecs-task", "dt-lambda"]
    );
    assert_eq!(iam["profiles"]["dt-ec2"], serde_json::json!(["dt-ec2"]));
    let service = |r: &str| roles[r]["trust"]["Statement"][0]["Principal"]["Service"].clone();
    assert_eq!(service("dt-ec2"), "ec2.amazonaws.com");
    assert_eq!(service("dt-ecs-task"), "ecs-tasks.amazonaws.com");
    assert_eq!(service("dt-ecs-execution"), "ecs-tasks.amazonaws.com");
    assert_eq!(service("dt-lambda"), "lambda.amazonaws.com");
    let bucket_arn = format!("arn:aws:s3:::{name}");
    for (role, r) in roles {
        for st in r["policies"]["wxinfra"]["Statement"].as_array().unwrap() {
            let resources = match &st["Resource"] {
                Value::Array(a) => a.clone(),
                v => vec![v.clone()],
            };
            for res in resources {
                let res = res.as_str().unwrap();
                if res == "*" {
                    // Only where AWS has no resource to scope to.
                    assert!(
                        matches!(
                            st["Sid"].as_str(),
                            Some("EcrLogin" | "VpcNetworkInterfaces")
                        ),
                        "{role}: {st}"
                    );
                    continue;
                }
                match st["Sid"].as_str().unwrap() {
                    "ReadArtifacts" => assert!(
                        res == format!("{bucket_arn}/releases/*")
                            || res == format!("{bucket_arn}/runtime/*"),
                        "{role}: {res}"
                    ),
                    "ListArtifacts" => assert_eq!(res, bucket_arn),
                    "EfsThroughAccessPoint" => {
                        assert!(
                            res.starts_with(
                                "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-"
                            ),
                            "{res}"
                        );
                        assert!(
                            st["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
                                .as_str()
                                .unwrap()
                                .contains(":access-point/fsap-")
                        );
                    }
                    "WriteLogs" => assert!(
                        res.starts_with(
                            "arn:aws:logs:us-east-1:123456789012:log-group:/wxinfra/dt/"
                        ),
                        "{res}"
                    ),
                    "EcrPull" => assert_eq!(
                        res,
                        "arn:aws:ecr:us-east-1:123456789012:repository/dt-runtime"
                    ),
                    other => panic!("{role}: unexpected statement {other}"),
                }
            }
        }
    }

    // Log groups and retention; the S3 gateway endpoint on the stack's route table.
    let rest = moto.boto(
        "logs = client('logs'); ec2 = client('ec2')\n\
         groups = {g['logGroupName']: g.get('retentionInDays') for g in logs.describe_log_groups(logGroupNamePrefix='/wxinfra/dt/')['logGroups']}\n\
         eps = ec2.describe_vpc_endpoints(Filters=[{'Name': 'tag:wxinfra:stack', 'Values': ['dt']}])['VpcEndpoints']\n\
         rts = [r['RouteTableId'] for r in ec2.describe_route_tables(Filters=[{'Name': 'tag:wxinfra:stack', 'Values': ['dt']}])['RouteTables']]\n\
         print(json.dumps({'groups': groups, 'eps': [{'type': e['VpcEndpointType'], 'service': e['ServiceName'], 'rts': e['RouteTableIds'], 'policy': json.loads(e['PolicyDocument'])} for e in eps], 'rts': rts}))",
    );
    assert_eq!(
        rest["groups"],
        serde_json::json!({"/wxinfra/dt/fargate": 30, "/wxinfra/dt/lambda": 7})
    );
    let ep = &rest["eps"][0];
    assert_eq!(rest["eps"].as_array().unwrap().len(), 1);
    assert_eq!(ep["type"], "Gateway");
    assert_eq!(ep["service"], "com.amazonaws.us-east-1.s3");
    assert_eq!(ep["rts"], rest["rts"]);
    assert_eq!(
        ep["policy"]["Statement"][0]["Resource"],
        serde_json::json!([bucket_arn, format!("{bucket_arn}/*")])
    );

    // Converged: nothing to do.
    let r = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "re-plan is not empty:\n{}\n{}",
        r.stdout, r.stderr
    );

    // Kept files of an earlier runtime binary, which the next apply removes.
    let kept = ws.path().join(".wxinfra/artifacts/dt");
    let earlier = "0".repeat(64);
    let stale = [
        kept.join(format!("image-layer-x86_64-{earlier}-0123-gzip6.tar.gz")),
        kept.join(format!("lambda-x86_64-of-{earlier}")),
    ];
    for f in &stale {
        std::fs::write(f, "earlier").unwrap();
    }

    // An app-only change: one new bundle object and the pointer move, nothing else.
    ws.write("app/c.wasm", "\0asm\x01");
    let r = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let changed: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("  +")
                || l.starts_with("  ~")
                || l.starts_with("-/+")
                || l.starts_with("  -")
        })
        .collect();
    assert_eq!(changed.len(), 2, "{}", r.stdout);
    assert!(
        changed[0].starts_with("  + aws.s3_object.release-"),
        "{}",
        r.stdout
    );
    assert_eq!(changed[1], "  ~ aws.release.app", "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Plan: 1 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    let applied = ws
        .run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let objs = objects(&moto);
    let r2 = objs["releases/current"].as_str().unwrap().to_string();
    assert_ne!(r2, r1);
    assert_eq!(objs[&format!("releases/{r2}.tar")], r2);
    // The previous release stays for rollback (KEEP_RELEASES = 3), in the bucket and here;
    // the earlier binary's files are gone, the current binary's zip stays.
    assert_eq!(objs[&format!("releases/{r1}.tar")], r1);
    for r in [&r1, &r2] {
        assert!(release_dir.join(format!("{r}.tar")).is_file(), "{r} kept");
    }
    for f in &stale {
        assert!(!f.exists(), "{} should be removed", f.display());
    }
    assert!(
        applied.stderr.contains("Removed 2 kept file(s)"),
        "{}",
        applied.stderr
    );
    assert!(kept.join(format!("lambda-x86_64-of-{bin}")).is_file());
    let r = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(
        r.code, 0,
        "re-plan after the release is not empty:\n{}\n{}",
        r.stdout, r.stderr
    );

    // Destroy: nothing tagged, no role or instance profile under the path, no bucket.
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(moto.tagged("dt"), Vec::<String>::new());
    let left = moto.boto(
        "iam = client('iam'); s3 = client('s3'); efs = client('efs'); logs = client('logs')\n\
         print(json.dumps({'roles': iam.list_roles(PathPrefix='/wxinfra/dt/')['Roles'],\n\
           'profiles': iam.list_instance_profiles(PathPrefix='/wxinfra/dt/')['InstanceProfiles'],\n\
           'buckets': s3.list_buckets()['Buckets'], 'fs': efs.describe_file_systems()['FileSystems'],\n\
           'logs': logs.describe_log_groups(logGroupNamePrefix='/wxinfra/dt/')['logGroups']}, default=str))",
    );
    for k in ["roles", "profiles", "buckets", "fs", "logs"] {
        assert_eq!(left[k], serde_json::json!([]), "{k} left: {left}");
    }
}

#[test]
fn plan_without_a_runtime_binary_says_how_to_build_it_but_validate_passes() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    ws.write("stack.yaml", STACK);
    let r = ws.run(&["plan", "-f", "stack.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("bin/wxrun-x86_64"), "{}", r.stderr);
    assert!(
        r.stderr.contains("runtime-image/build-static.sh"),
        "{}",
        r.stderr
    );
    ws.run(&["validate", "-f", "stack.yaml"]).ok();
}
