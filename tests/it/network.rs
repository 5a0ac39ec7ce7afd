//! The network slice end to end against a per-test moto server: apply, converge, update,
//! replace, drift, destroy, crash-resume, sweep, bad input, lock — asserted with boto3.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Moto, Run, Workspace};

/// A new VPC in two AZs, one compute primitive (the network is what this branch applies).
fn stack(name: &str, cidr: &str, team: &str) -> String {
    format!(
        "version: 1
name: {name}
tags:
  team: {team}
app:
  manifest: app/spin.toml
network:
  vpc: new
  cidr: {cidr}
  availability_zones: 2
  ingress_cidrs: [203.0.113.0/24]
compute:
  lambda:
    memory: 512
"
    )
}

fn setup(name: &str) -> (Moto, Workspace) {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    ws.write("stack.yaml", &stack(name, "10.50.0.0/16", "net"));
    (moto, ws)
}

fn apply(ws: &Workspace) -> Run {
    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok()
}

fn state(ws: &Workspace, name: &str) -> Value {
    let text = std::fs::read_to_string(ws.path().join(format!(".wxinfra/{name}.state.json")))
        .expect("state file");
    serde_json::from_str(&text).unwrap()
}

fn id(ws: &Workspace, name: &str, address: &str) -> String {
    state(ws, name)["resources"][address]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{address} has no id in the state"))
        .to_string()
}

/// Everything boto3 sees with the stack tag, by EC2 kind (plus the tagging API's view).
fn tagged_by_ec2(moto: &Moto, name: &str) -> Value {
    moto.boto(&format!(
        "e = client('ec2')\n\
         f = [{{'Name': 'tag:wxinfra:stack', 'Values': ['{name}']}}]\n\
         print(json.dumps({{\n\
           'vpcs': [v['VpcId'] for v in e.describe_vpcs(Filters=f)['Vpcs']],\n\
           'subnets': [s['SubnetId'] for s in e.describe_subnets(Filters=f)['Subnets']],\n\
           'sgs': [g['GroupId'] for g in e.describe_security_groups(Filters=f)['SecurityGroups']],\n\
           'igws': [g['InternetGatewayId'] for g in e.describe_internet_gateways(Filters=f)['InternetGateways']],\n\
           'rts': [r['RouteTableId'] for r in e.describe_route_tables(Filters=f)['RouteTables']],\n\
           'rules': [r['SecurityGroupRuleId'] for r in e.describe_security_group_rules(Filters=f)['SecurityGroupRules']],\n\
         }}))"
    ))
}

#[track_caller]
/// The API calls each finished resource reports in `apply -v`'s lines
/// ("ADDR: created (ID) after 1.2s (3 API calls in flight 0.1s, paused 0.0s)").
fn api_calls_by_resource(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .filter_map(|l| {
            let (address, rest) = l.split_once(": created ")?;
            let calls = rest
                .split_once("s (")?
                .1
                .split_once(" API calls in flight ")?
                .0;
            Some((address.to_string(), calls.parse().ok()?))
        })
        .collect()
}

fn assert_nothing_left(moto: &Moto, name: &str) {
    assert!(moto.tagged(name).is_empty(), "{:?}", moto.tagged(name));
    let left = tagged_by_ec2(moto, name);
    for (kind, ids) in left.as_object().unwrap() {
        assert!(ids.as_array().unwrap().is_empty(), "{kind} left: {ids}");
    }
}

#[test]
fn network_slice_applies_with_least_privilege_rules_and_converges() {
    let (moto, ws) = setup("net1");
    // -v: each created resource also tells the API requests its create sent (counted by the
    // SDK interceptor for that resource alone) and its pauses between polls.
    let r = ws
        .run(&["apply", "-v", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let tally = api_calls_by_resource(&r.stderr);
    let created = state(&ws, "net1")["resources"].as_object().unwrap().len();
    assert_eq!(tally.len(), created, "{}", r.stderr);
    for (address, calls) in &tally {
        // The account is asked once per run (`AwsContext::account_id`): the caller identity
        // makes that call only when it runs before the artifacts bucket, which also asks.
        if !address.starts_with("aws.caller_identity.") {
            assert!(*calls >= 1, "{address} counted no API call:\n{}", r.stderr);
        }
    }
    // CreateVpc, DescribeVpcs until it is available, ModifyVpcAttribute for DNS host names.
    assert!(tally["aws.vpc.main"] >= 3, "{}", r.stderr);
    let vpc = id(&ws, "net1", "aws.vpc.main");
    let sg = |role: &str| id(&ws, "net1", &format!("aws.security_group.{role}"));
    let (alb, compute, efs) = (sg("alb"), sg("compute"), sg("efs"));
    let seen = moto.boto(&format!(
        "e = client('ec2')\n\
         v = e.describe_vpcs(VpcIds=['{vpc}'])['Vpcs'][0]\n\
         attr = lambda a: e.describe_vpc_attribute(VpcId='{vpc}', Attribute=a)\n\
         subnets = e.describe_subnets(Filters=[{{'Name': 'vpc-id', 'Values': ['{vpc}']}}])['Subnets']\n\
         igws = e.describe_internet_gateways(Filters=[{{'Name': 'attachment.vpc-id', 'Values': ['{vpc}']}}])['InternetGateways']\n\
         rts = e.describe_route_tables(Filters=[{{'Name': 'vpc-id', 'Values': ['{vpc}']}}, {{'Name': 'tag:wxinfra:stack', 'Values': ['net1']}}])['RouteTables']\n\
         # EC2 is eventually consistent: the first describe of a new group may miss its\n\
         # egress rules (MOTO_STRICT_SG_CONSISTENCY), so a reader looks twice.\n\
         for _ in range(2): rules = e.describe_security_group_rules(Filters=[{{'Name': 'group-id', 'Values': ['{alb}', '{compute}', '{efs}']}}])['SecurityGroupRules']\n\
         groups = e.describe_security_groups(GroupIds=['{alb}', '{compute}', '{efs}'])['SecurityGroups']\n\
         print(json.dumps({{\n\
           'cidr': v['CidrBlock'], 'tags': {{t['Key']: t['Value'] for t in v['Tags']}},\n\
           'dns_support': attr('enableDnsSupport')['EnableDnsSupport']['Value'],\n\
           'dns_hostnames': attr('enableDnsHostnames')['EnableDnsHostnames']['Value'],\n\
           'subnets': sorted([[s['CidrBlock'], s['AvailabilityZone'], s['MapPublicIpOnLaunch'], {{t['Key']: t['Value'] for t in s['Tags']}}] for s in subnets]),\n\
           'igws': [[g['InternetGatewayId'], [a['State'] for a in g['Attachments']], {{t['Key']: t['Value'] for t in g['Tags']}}] for g in igws],\n\
           'rts': [[[(r.get('DestinationCidrBlock'), r.get('GatewayId')) for r in rt['Routes']], sorted(a.get('SubnetId') for a in rt['Associations']), {{t['Key']: t['Value'] for t in rt['Tags']}}] for rt in rts],\n\
           'rules': sorted([[r['GroupId'], r['IsEgress'], r['IpProtocol'], r['FromPort'], r['ToPort'], r.get('CidrIpv4') or r['ReferencedGroupInfo']['GroupId'], {{t['Key']: t['Value'] for t in r['Tags']}}.get('wxinfra:address')] for r in rules]),\n\
           'groups': {{g['GroupId']: {{t['Key']: t['Value'] for t in g['Tags']}} for g in groups}},\n\
         }}))"
    ));
    assert_eq!(seen["cidr"], "10.50.0.0/16");
    assert_eq!(seen["dns_support"], true);
    assert_eq!(seen["dns_hostnames"], true);
    assert_eq!(seen["tags"]["wxinfra:stack"], "net1");
    assert_eq!(seen["tags"]["wxinfra:address"], "aws.vpc.main");
    assert_eq!(seen["tags"]["team"], "net");

    let subnets = seen["subnets"].as_array().unwrap();
    assert_eq!(subnets.len(), 2, "{subnets:?}");
    assert_eq!(subnets[0][0], "10.50.0.0/24");
    assert_eq!(subnets[1][0], "10.50.1.0/24");
    assert_ne!(subnets[0][1], subnets[1][1], "subnets share an AZ");
    for (s, addr) in subnets
        .iter()
        .zip(["aws.subnet.public-a", "aws.subnet.public-b"])
    {
        assert_eq!(s[2], true, "public subnet maps public IPs");
        assert_eq!(s[3]["wxinfra:address"], addr);
        assert_eq!(s[3]["team"], "net");
    }

    let igws = seen["igws"].as_array().unwrap();
    assert_eq!(igws.len(), 1, "{igws:?}");
    assert_eq!(igws[0][1], serde_json::json!(["available"]));
    assert_eq!(igws[0][2]["wxinfra:stack"], "net1");
    let igw = igws[0][0].as_str().unwrap();

    let rts = seen["rts"].as_array().unwrap();
    assert_eq!(rts.len(), 1, "{rts:?}");
    let routes = rts[0][0].as_array().unwrap();
    assert!(
        routes.contains(&serde_json::json!(["0.0.0.0/0", igw])),
        "{routes:?}"
    );
    let mut subnet_ids = vec![
        id(&ws, "net1", "aws.subnet.public-a"),
        id(&ws, "net1", "aws.subnet.public-b"),
    ];
    subnet_ids.sort();
    assert_eq!(rts[0][1], serde_json::json!(subnet_ids));
    assert_eq!(rts[0][2]["wxinfra:address"], "aws.route_table.public");

    // Exactly the rules the design allows — and no default allow-all egress.
    let rule = |g: &str, egress: bool, port: i64, peer: &str, addr: &str| {
        serde_json::json!([g, egress, "tcp", port, port, peer, addr])
    };
    let mut want = vec![
        rule(
            &alb,
            false,
            80,
            "203.0.113.0/24",
            "aws.security_group_rule.alb-in-0",
        ),
        rule(
            &alb,
            true,
            8080,
            &compute,
            "aws.security_group_rule.alb-to-compute",
        ),
        rule(
            &compute,
            false,
            8080,
            &alb,
            "aws.security_group_rule.compute-from-alb",
        ),
        rule(
            &compute,
            true,
            2049,
            &efs,
            "aws.security_group_rule.compute-to-efs",
        ),
        rule(
            &compute,
            true,
            443,
            "0.0.0.0/0",
            "aws.security_group_rule.compute-to-https",
        ),
        rule(
            &efs,
            false,
            2049,
            &compute,
            "aws.security_group_rule.efs-from-compute",
        ),
    ];
    want.sort_by_key(|v| v.to_string());
    let mut got = seen["rules"].as_array().unwrap().clone();
    got.sort_by_key(|v| v.to_string());
    assert_eq!(got, want);
    for (g, tags) in seen["groups"].as_object().unwrap() {
        assert_eq!(tags["wxinfra:stack"], "net1", "{g}");
        assert_eq!(tags["team"], "net", "{g}");
    }

    // Converged: nothing to do, nothing drifted.
    let plan = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    let diff = ws.run(&["diff", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(diff.code, 0, "{}\n{}", diff.stdout, diff.stderr);
}

#[test]
fn tag_change_updates_in_place_and_cidr_change_replaces_the_cascade() {
    let (moto, ws) = setup("net2");
    apply(&ws);
    let vpc = id(&ws, "net2", "aws.vpc.main");

    ws.write("stack.yaml", &stack("net2", "10.50.0.0/16", "platform"));
    let plan = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("  ~ aws.vpc.main"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("-/+"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 24 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    apply(&ws);
    assert_eq!(id(&ws, "net2", "aws.vpc.main"), vpc, "updated in place");
    let team = moto.boto(&format!(
        "v = client('ec2').describe_vpcs(VpcIds=['{vpc}'])['Vpcs'][0]\n\
         print(json.dumps({{t['Key']: t['Value'] for t in v['Tags']}}['team']))"
    ));
    assert_eq!(team, "platform");
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();

    ws.write("stack.yaml", &stack("net2", "10.60.0.0/16", "platform"));
    let plan = ws.run(&["plan", "-f", "stack.yaml"]).ok();
    assert!(plan.stdout.contains("-/+ aws.vpc.main"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("-/+ aws.subnet.public-a"),
        "{}",
        plan.stdout
    );
    let json: Value =
        serde_json::from_str(&ws.run(&["plan", "-f", "stack.yaml", "--json"]).ok().stdout).unwrap();
    let change = |addr: &str| {
        json["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == addr)
            .cloned()
            .unwrap_or_else(|| panic!("{addr} not in the plan"))
    };
    let vpc_change = change("aws.vpc.main");
    assert_eq!(vpc_change["action"], "replace");
    let cidr = vpc_change["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "cidr_block")
        .unwrap();
    assert_eq!(cidr["before"], "10.50.0.0/16");
    assert_eq!(cidr["after"], "10.60.0.0/16");
    assert_eq!(cidr["forces_replacement"], true);
    for addr in [
        "aws.subnet.public-a",
        "aws.internet_gateway.main",
        "aws.security_group.alb",
        "aws.security_group_rule.alb-in-0",
        "aws.route_table_association.public-b",
    ] {
        assert_eq!(change(addr)["action"], "replace", "{addr}");
    }

    apply(&ws);
    let new_vpc = id(&ws, "net2", "aws.vpc.main");
    assert_ne!(new_vpc, vpc);
    let vpcs = moto.boto(
        "f = [{'Name': 'tag:wxinfra:stack', 'Values': ['net2']}]\n\
         print(json.dumps([v['CidrBlock'] for v in client('ec2').describe_vpcs(Filters=f)['Vpcs']]))",
    );
    assert_eq!(vpcs, serde_json::json!(["10.60.0.0/16"]), "old VPC deleted");
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();
}

#[test]
fn drift_made_with_boto3_is_reported_and_apply_puts_it_back() {
    let (moto, ws) = setup("net3");
    apply(&ws);
    let vpc = id(&ws, "net3", "aws.vpc.main");
    let subnet = id(&ws, "net3", "aws.subnet.public-a");
    let alb = id(&ws, "net3", "aws.security_group.alb");
    let rule = id(&ws, "net3", "aws.security_group_rule.alb-in-0");
    let table = id(&ws, "net3", "aws.route_table.public");
    moto.boto(&format!(
        "e = client('ec2')\n\
         e.modify_vpc_attribute(VpcId='{vpc}', EnableDnsHostnames={{'Value': False}})\n\
         e.delete_route(RouteTableId='{table}', DestinationCidrBlock='0.0.0.0/0')\n\
         e.modify_subnet_attribute(SubnetId='{subnet}', MapPublicIpOnLaunch={{'Value': False}})\n\
         e.create_tags(Resources=['{alb}'], Tags=[{{'Key': 'team', 'Value': 'intruder'}}])\n\
         e.revoke_security_group_ingress(GroupId='{alb}', SecurityGroupRuleIds=['{rule}'])\n\
         print('null')"
    ));
    let diff = ws.run(&["diff", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(diff.code, 2, "{}\n{}", diff.stdout, diff.stderr);
    let out = &diff.stdout;
    assert!(
        out.contains("~ enable_dns_hostnames = true (applied) -> false (live)"),
        "{out}"
    );
    assert!(!out.contains("enable_dns_support"), "{out}");
    assert!(
        out.contains(&format!("~ aws.subnet.public-a ({subnet})")),
        "{out}"
    );
    assert!(
        out.contains("~ map_public_ip_on_launch = true (applied) -> false (live)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("~ aws.route_table.public ({table})")),
        "{out}"
    );
    assert!(out.contains("~ aws.security_group.alb"), "{out}");
    assert!(out.contains("~ tags ="), "{out}");
    assert!(
        out.contains("- aws.security_group_rule.alb-in-0") && out.contains("deleted outside"),
        "{out}"
    );

    apply(&ws);
    let diff = ws.run(&["diff", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(diff.code, 0, "{}\n{}", diff.stdout, diff.stderr);
    let fixed = moto.boto(&format!(
        "e = client('ec2')\n\
         attr = lambda a: e.describe_vpc_attribute(VpcId='{vpc}', Attribute=a)\n\
         s = e.describe_subnets(SubnetIds=['{subnet}'])['Subnets'][0]\n\
         g = e.describe_security_groups(GroupIds=['{alb}'])['SecurityGroups'][0]\n\
         r = e.describe_security_group_rules(Filters=[{{'Name': 'group-id', 'Values': ['{alb}']}}])['SecurityGroupRules']\n\
         t = e.describe_route_tables(RouteTableIds=['{table}'])['RouteTables'][0]\n\
         dns = [attr('enableDnsSupport')['EnableDnsSupport']['Value'], attr('enableDnsHostnames')['EnableDnsHostnames']['Value']]\n\
         routes = sorted(x['DestinationCidrBlock'] + ' ' + x['GatewayId'][:4] for x in t['Routes'] if 'DestinationCidrBlock' in x)\n\
         print(json.dumps([dns, s['MapPublicIpOnLaunch'], {{t['Key']: t['Value'] for t in g['Tags']}}['team'], sorted(x.get('CidrIpv4', '') for x in r if not x['IsEgress']), routes]))"
    ));
    assert_eq!(
        fixed,
        serde_json::json!([
            [true, true],
            true,
            "net",
            ["203.0.113.0/24"],
            ["0.0.0.0/0 igw-", "10.50.0.0/16 loca"]
        ])
    );
}

#[test]
fn destroy_leaves_nothing_tagged_and_an_empty_state() {
    let (moto, ws) = setup("net4");
    apply(&ws);
    assert!(!moto.tagged("net4").is_empty());
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_nothing_left(&moto, "net4");
    assert_eq!(state(&ws, "net4")["resources"], serde_json::json!({}));
}

#[test]
fn apply_killed_midway_is_completed_by_the_next_apply() {
    let (moto, ws) = setup("net5");
    let mut child = ws
        .command(&[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let path = ws.path().join(".wxinfra/net5.state.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let started = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|s| s["resources"].as_object().is_some_and(|r| r.len() >= 2));
        if started {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "apply never wrote its state");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let partial = state(&ws, "net5");
    let n = partial["resources"].as_object().unwrap().len();
    assert!(n < 16, "killed after everything was done ({n} resources)");

    apply(&ws);
    let vpcs = moto.boto(
        "f = [{'Name': 'tag:wxinfra:stack', 'Values': ['net5']}]\n\
         e = client('ec2')\n\
         print(json.dumps([len(e.describe_vpcs(Filters=f)['Vpcs']), len(e.describe_subnets(Filters=f)['Subnets']), len(e.describe_security_groups(Filters=f)['SecurityGroups'])]))",
    );
    assert_eq!(vpcs, serde_json::json!([1, 2, 3]), "nothing created twice");
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_nothing_left(&moto, "net5");
}

#[test]
fn destroy_sweeps_by_tags_what_a_lost_state_forgot() {
    let (moto, ws) = setup("net6");
    apply(&ws);
    // EC2 is eventually consistent: right after apply, a listing may miss a new group's
    // egress rules (MOTO_STRICT_SG_CONSISTENCY; they would go with their group). Once an
    // independent client has seen all six, the sweep's count below is exact.
    let egress = moto.boto(
        "e = client('ec2')\n\
         f = [{'Name': 'tag:wxinfra:stack', 'Values': ['net6']}]\n\
         for _ in range(2): rules = e.describe_security_group_rules(Filters=f)['SecurityGroupRules']\n\
         print(json.dumps(sum(r['IsEgress'] for r in rules)))",
    );
    assert_eq!(egress, 3);
    std::fs::remove_file(ws.path().join(".wxinfra/net6.state.json")).unwrap();
    let r = ws
        .run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert!(
        r.stderr.contains("26 more found by tags") || r.stdout.contains("26 more found by tags"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_nothing_left(&moto, "net6");
}

#[test]
fn sweep_leaves_other_stacks_alone() {
    let (moto, ws) = setup("net7");
    apply(&ws);
    let other = Workspace::with_moto(&moto).with_app();
    other.write("stack.yaml", &stack("other", "10.70.0.0/16", "x"));
    other
        .run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(
        tagged_by_ec2(&moto, "net7")["vpcs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();
}

#[test]
fn broken_stack_or_missing_approval_creates_nothing() {
    let (moto, ws) = setup("net8");
    ws.write(
        "broken.yaml",
        &stack("net8", "10.50.0.0/16", "net").replace("cidr: 10.50.0.0/16", "cidr: 10.50.0.0/33"),
    );
    let r = ws.run(&["apply", "-f", "broken.yaml", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("broken.yaml:9:9:"), "{}", r.stderr);

    // stdin is not a terminal: apply must refuse rather than assume a yes.
    let r = ws
        .command(&["apply", "-f", "stack.yaml"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("--auto-approve"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_nothing_left(&moto, "net8");
    let vpcs = moto.boto(
        "print(json.dumps(len(client('ec2').describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['false']}])['Vpcs'])))",
    );
    assert_eq!(vpcs, 0, "no VPC created at all");
}

#[test]
fn held_lock_blocks_mutation_until_unlocked() {
    let (moto, ws) = setup("net9");
    ws.write(
        ".wxinfra/net9.state.lock",
        r#"{"pid": 4242, "host": "build-7", "operation": "apply", "created": "2026-01-01T00:00:00Z"}"#,
    );
    for cmd in [
        &["apply", "-f", "stack.yaml", "--auto-approve"][..],
        &["destroy", "-f", "stack.yaml", "--auto-approve"][..],
    ] {
        let r = ws.run(cmd);
        assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("locked by pid 4242 on build-7 (apply"),
            "{}",
            r.stderr
        );
    }
    assert_nothing_left(&moto, "net9");
    let r = ws.run(&["state", "unlock", "-f", "stack.yaml"]).ok();
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("pid 4242 on build-7"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    apply(&ws);
    assert!(!ws.path().join(".wxinfra/net9.state.lock").exists());
}

#[test]
fn default_and_existing_vpcs_are_used_but_never_deleted() {
    let moto = Moto::start();
    let ws = Workspace::with_moto(&moto).with_app();
    let default = moto.boto(
        "e = client('ec2')\n\
         v = e.describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['true']}])['Vpcs'][0]['VpcId']\n\
         s = e.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [v]}, {'Name': 'default-for-az', 'Values': ['true']}])['Subnets']\n\
         print(json.dumps([v, sorted(x['SubnetId'] for x in s)]))",
    );
    let vpc = default[0].as_str().unwrap();
    let with_network = |network: &str| {
        stack("net10", "10.50.0.0/16", "net").replace(
            "network:\n  vpc: new\n  cidr: 10.50.0.0/16\n  availability_zones: 2\n",
            network,
        )
    };
    ws.write("stack.yaml", &with_network("network:\n  vpc: default\n"));
    apply(&ws);
    let s = state(&ws, "net10");
    let lookup = &s["resources"]["aws.vpc_lookup.default"];
    assert_eq!(lookup["id"], vpc);
    let mut subnets: Vec<String> =
        serde_json::from_value(lookup["outputs"]["subnet_ids"].clone()).unwrap();
    subnets.sort();
    assert_eq!(serde_json::json!(subnets), default[1]);
    assert_eq!(
        lookup["outputs"]["route_table_ids"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the main route table"
    );
    let sg_vpc = moto.boto(&format!(
        "g = client('ec2').describe_security_groups(GroupIds=['{}'])['SecurityGroups'][0]\n\
         print(json.dumps(g['VpcId']))",
        id(&ws, "net10", "aws.security_group.compute")
    ));
    assert_eq!(sg_vpc, vpc);
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_nothing_left(&moto, "net10");

    // An existing VPC by id: its subnets are checked, and destroy leaves it standing.
    let (first, second) = (
        default[1][0].as_str().unwrap(),
        default[1][1].as_str().unwrap(),
    );
    ws.write(
        "stack.yaml",
        &with_network(&format!(
            "network:\n  vpc: existing\n  vpc_id: {vpc}\n  subnet_ids: [{first}, {second}]\n"
        )),
    );
    apply(&ws);
    assert_eq!(id(&ws, "net10", "aws.vpc_lookup.existing"), vpc);
    ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"])
        .ok();
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_nothing_left(&moto, "net10");
    let still = moto.boto(&format!(
        "print(json.dumps(len(client('ec2').describe_vpcs(VpcIds=['{vpc}'])['Vpcs'])))"
    ));
    assert_eq!(still, 1, "the default VPC survives destroy");

    // A subnet of another VPC is refused before anything is created.
    let other = moto.boto(
        "e = client('ec2')\n\
         v = e.create_vpc(CidrBlock='10.99.0.0/16')['Vpc']['VpcId']\n\
         print(json.dumps(e.create_subnet(VpcId=v, CidrBlock='10.99.0.0/24')['Subnet']['SubnetId']))",
    );
    ws.write(
        "stack.yaml",
        &with_network(&format!(
            "network:\n  vpc: existing\n  vpc_id: {vpc}\n  subnet_ids: [{first}, {}]\n",
            other.as_str().unwrap()
        )),
    );
    let r = ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} do not exist in {vpc}",
            other.as_str().unwrap()
        )),
        "{}",
        r.stderr
    );
    assert!(moto.tagged("net10").is_empty());
}
