//! The S3 state backend against moto's S3, asserted with boto3: conditional writes (a state
//! moved underneath is refused), the lock object (holder named, released, timeouts), SSE,
//! versions, and every `state` subcommand end to end; then two concurrent applies, a SIGKILL
//! mid-apply, and `import`, `--target-resource`, `--replace`, `--refresh-only` on a real stack.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use std::sync::Arc;

use wxinfra::state::s3::{S3Store, Sse};
use wxinfra::state::store::StoreError;
use wxinfra::state::{LockInfo, State, StateStore, lock::LockError};

use crate::support::{AwsProxy, Moto, Workspace};

const BUCKET: &str = "team-state";

/// A versioned bucket for the state, made with boto3.
fn bucket(moto: &Moto) {
    moto.boto(&format!(
        "s3 = client('s3'); s3.create_bucket(Bucket='{BUCKET}')\n\
         s3.put_bucket_versioning(Bucket='{BUCKET}', VersioningConfiguration={{'Status': 'Enabled'}})\n\
         print('null')"
    ));
}

/// The state object as boto3 reads it (body and encryption headers).
fn s3_state(moto: &Moto, key: &str) -> Value {
    moto.boto(&format!(
        "o = client('s3').get_object(Bucket='{BUCKET}', Key='{key}')\n\
         print(json.dumps({{'body': json.loads(o['Body'].read()), 'sse': o.get('ServerSideEncryption'), 'kms': o.get('SSEKMSKeyId')}}))"
    ))
}

fn s3_exists(moto: &Moto, key: &str) -> bool {
    moto.boto(&format!(
        "r = client('s3').list_objects_v2(Bucket='{BUCKET}', Prefix='{key}')\n\
         print(json.dumps(any(o['Key'] == '{key}' for o in r.get('Contents', []))))"
    ))
    .as_bool()
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A store built by the library, with the SDK client pointed at moto explicitly (no
/// process-wide environment: tests run in parallel threads).
fn store(
    moto: &Moto,
    rt: &tokio::runtime::Runtime,
    key: &str,
    kms: Option<&str>,
) -> Arc<dyn StateStore> {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let sse = match kms {
        Some(k) => Sse::Kms(k.into()),
        None => Sse::Aes256,
    };
    let _in_runtime = rt.enter();
    Arc::new(S3Store::new(
        aws_sdk_s3::Client::from_conf(conf),
        BUCKET,
        key,
        Some(sse),
    ))
}

#[test]
fn a_state_moved_underneath_is_refused_and_the_lock_names_its_holder() {
    let moto = Moto::start();
    bucket(&moto);
    let rt = runtime();
    let key = "wxinfra/unit.state.json";
    let s = store(&moto, &rt, key, None);
    rt.block_on(async {
        let s = s.clone();
        tokio::spawn(async move {
            assert!(s.read().unwrap().is_none());
            let mut state = State::new("unit");
            s.write(&state).unwrap();
            state.serial += 1;
            s.write(&state).unwrap();
        })
        .await
        .unwrap()
    });
    let got = s3_state(&moto, key);
    assert_eq!(got["body"]["serial"], 1);
    assert_eq!(got["sse"], "AES256");

    // Someone else writes the object: our next write must not overwrite it.
    moto.boto(&format!(
        "s3 = client('s3'); b = json.loads(s3.get_object(Bucket='{BUCKET}', Key='{key}')['Body'].read())\n\
         b['serial'] = 7\n\
         s3.put_object(Bucket='{BUCKET}', Key='{key}', Body=json.dumps(b))\n\
         print('null')"
    ));
    let err = rt.block_on(async {
        let s = s.clone();
        tokio::spawn(async move {
            let mut state = State::new("unit");
            state.serial = 2;
            s.write(&state).unwrap_err()
        })
        .await
        .unwrap()
    });
    assert!(matches!(err, StoreError::Moved { .. }), "{err}");
    assert_eq!(s3_state(&moto, key)["body"]["serial"], 7, "not overwritten");

    // A fresh store that never read the state may not create over it either.
    let other = store(&moto, &rt, key, None);
    let err = rt.block_on(async move {
        tokio::spawn(async move { other.write(&State::new("unit")).unwrap_err() })
            .await
            .unwrap()
    });
    assert!(matches!(err, StoreError::Moved { .. }), "{err}");

    // The lock: one holder; the second taker names it after waiting; released on drop.
    let holder = LockInfo::for_operation("apply");
    let (s2, h2) = (s.clone(), holder.clone());
    let err = rt.block_on(async move {
        tokio::spawn(async move {
            let guard = s2.lock(&h2, Duration::ZERO).unwrap();
            let started = Instant::now();
            let err = s2
                .lock(&LockInfo::for_operation("plan"), Duration::from_millis(700))
                .unwrap_err();
            assert!(started.elapsed() >= Duration::from_millis(700), "waited");
            drop(guard);
            err
        })
        .await
        .unwrap()
    });
    match &err {
        StoreError::Lock(LockError::Held(h)) => assert_eq!(**h, holder),
        e => panic!("expected the holder, got {e}"),
    }
    assert!(err.to_string().contains(&holder.id), "{err}");
    assert!(!s3_exists(&moto, &format!("{key}.lock")), "released");

    // A lock left behind: `force_unlock` with the wrong id refuses, the right one releases.
    moto.boto(&format!(
        "client('s3').put_object(Bucket='{BUCKET}', Key='{key}.lock', Body={})\nprint('null')",
        serde_json::to_string(&serde_json::to_string(&holder).unwrap()).unwrap()
    ));
    let s3 = s.clone();
    let id = holder.id.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            assert!(s3.force_unlock(Some("not-it")).is_err());
            assert_eq!(s3.force_unlock(Some(&id)).unwrap().unwrap().id, id);
            assert!(s3.force_unlock(None).unwrap().is_none());
        })
        .await
        .unwrap()
    });

    // Versions of a versioned bucket, newest first, each readable.
    let s4 = s.clone();
    let serials = rt.block_on(async move {
        tokio::spawn(async move {
            let versions = s4.versions().unwrap();
            assert!(versions[0].latest);
            versions
                .iter()
                .map(|v| s4.read_version(&v.version_id).unwrap().serial)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap()
    });
    assert_eq!(serials, [7, 1, 0]);
}

#[test]
fn state_encrypted_with_a_kms_key() {
    let moto = Moto::start();
    bucket(&moto);
    let key_id = moto.boto("print(json.dumps(client('kms').create_key()['KeyMetadata']['KeyId']))");
    let key_id = key_id.as_str().unwrap();
    let rt = runtime();
    let s = store(&moto, &rt, "k.json", Some(key_id));
    rt.block_on(async move {
        tokio::spawn(async move { s.write(&State::new("kms")).unwrap() })
            .await
            .unwrap()
    });
    let got = s3_state(&moto, "k.json");
    assert_eq!(got["sse"], "aws:kms");
    assert!(got["kms"].as_str().unwrap().contains(key_id), "{got}");
}

const OPS_STACK: &str = "version: 1
name: ops
app:
  manifest: app/spin.toml
compute:
  lambda: {}
state:
  backend: s3
  bucket: team-state
";

/// A hand-made state with a VPC and a subnet depending on it.
fn two_resources() -> Value {
    let r = |kind: &str, id: &str, deps: Value| json!({"kind": kind, "status": "created", "id": id, "props": {}, "outputs": {"id": id}, "depends_on": deps});
    json!({
        "version": 1, "stack": "ops", "lineage": "11111111-2222-3333-4444-555555555555", "serial": 3,
        "resources": {
            "aws.vpc.main": r("aws.vpc", "vpc-1", json!([])),
            "aws.subnet.a": r("aws.subnet", "subnet-1", json!(["aws.vpc.main"])),
        }
    })
}

#[test]
fn every_state_operation_end_to_end() {
    let moto = Moto::start();
    bucket(&moto);
    let ws = Workspace::with_moto(&moto).with_app();
    ws.write("stack.yaml", OPS_STACK);
    let key = "wxinfra/ops.state.json";
    let local = ".wxinfra/ops.state.json";
    ws.write(local, &two_resources().to_string());
    let f = ["-f", "stack.yaml"];
    let run = |args: &[&str]| ws.run(&[args, &f[..]].concat());

    // migrate --to s3: the local state, as it is, encrypted; a second copy is refused.
    run(&["state", "migrate", "--to", "s3"]).ok();
    let got = s3_state(&moto, key);
    assert_eq!(got["body"]["lineage"], two_resources()["lineage"]);
    assert_eq!(got["body"]["resources"].as_object().unwrap().len(), 2);
    assert_eq!(got["sse"], "AES256");
    let again = run(&["state", "migrate", "--to", "s3"]);
    assert_ne!(again.code, 0);
    assert!(
        again
            .stderr
            .contains("already holds a state with 2 resource(s)"),
        "{}",
        again.stderr
    );
    run(&["state", "migrate", "--to", "s3", "--force"]).ok();

    let list = run(&["state", "list"]).ok().stdout;
    assert!(list.contains("aws.subnet.a\tsubnet-1\tcreated"), "{list}");

    // mv renames the resource and the edges onto it.
    run(&["state", "mv", "aws.vpc.main", "aws.vpc.core"]).ok();
    let body = &s3_state(&moto, key)["body"];
    assert_eq!(body["resources"]["aws.vpc.core"]["id"], "vpc-1");
    assert_eq!(
        body["resources"]["aws.subnet.a"]["depends_on"],
        json!(["aws.vpc.core"])
    );
    let bad = run(&["state", "mv", "aws.vpc.core", "aws.subnet.b"]);
    assert!(
        bad.stderr.contains("cannot change the kind"),
        "{}",
        bad.stderr
    );

    // rm forgets (all or nothing).
    let bad = run(&["state", "rm", "aws.subnet.a", "aws.vpc.nope"]);
    assert!(
        bad.stderr.contains("no resource `aws.vpc.nope`"),
        "{}",
        bad.stderr
    );
    run(&["state", "rm", "aws.subnet.a"]).ok();
    assert_eq!(
        s3_state(&moto, key)["body"]["resources"]
            .as_object()
            .unwrap()
            .len(),
        1
    );

    // pull, then push: an older serial or another lineage is refused unless forced.
    let pulled: Value = serde_json::from_str(&run(&["state", "pull"]).ok().stdout).unwrap();
    let serial = pulled["serial"].as_u64().unwrap();
    let mut older = pulled.clone();
    older["serial"] = json!(serial - 1);
    ws.write("older.json", &older.to_string());
    let r = run(&["state", "push", "older.json"]);
    assert!(r.stderr.contains("older than the current"), "{}", r.stderr);
    let mut other = pulled.clone();
    other["lineage"] = json!("99999999-2222-3333-4444-555555555555");
    ws.write("other.json", &other.to_string());
    let r = run(&["state", "push", "other.json"]);
    assert!(r.stderr.contains("another state's history"), "{}", r.stderr);
    assert_eq!(
        s3_state(&moto, key)["body"]["serial"],
        serial,
        "refused pushes wrote nothing"
    );
    ws.write("same.json", &pulled.to_string());
    run(&["state", "push", "same.json"]).ok();
    assert_eq!(s3_state(&moto, key)["body"]["serial"], serial + 1);
    run(&["state", "push", "other.json", "--force"]).ok();
    assert_eq!(s3_state(&moto, key)["body"]["lineage"], other["lineage"]);

    // versions: every write kept; an earlier one (before rm) still has both resources.
    let versions = run(&["state", "versions"]).ok().stdout;
    let ids: Vec<&str> = versions
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        6,
        "migrate, forced migrate, mv, rm, push, forced push:\n{versions}"
    );
    let first: Value = serde_json::from_str(
        &run(&["state", "pull", "--version-id", ids[ids.len() - 1]])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(first["resources"].as_object().unwrap().len(), 2);

    // migrate --to local: the local file still holds the old state, so forced.
    let r = run(&["state", "migrate", "--to", "local"]);
    assert!(r.stderr.contains("already holds"), "{}", r.stderr);
    run(&["state", "migrate", "--to", "local", "--force"]).ok();
    let back: Value =
        serde_json::from_slice(&std::fs::read(ws.path().join(local)).unwrap()).unwrap();
    assert_eq!(back["lineage"], other["lineage"]);
    // The local backend chosen by override reads it.
    let list = ws
        .run(&[
            "state",
            "list",
            "-f",
            "stack.yaml",
            "--backend-config",
            "backend=local",
        ])
        .ok()
        .stdout;
    assert!(list.contains("aws.vpc.core"), "{list}");

    // The local file keeps no history.
    let r = ws.run(&[
        "state",
        "versions",
        "-f",
        "stack.yaml",
        "--backend-config",
        "backend=local",
    ]);
    assert!(
        r.stderr.contains("keeps no earlier versions"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_state_section_is_reported_at_its_place_and_nothing_is_touched() {
    let ws = Workspace::new().with_app();
    ws.write(
        "stack.yaml",
        "version: 1\nname: bad\napp:\n  manifest: app/spin.toml\ncompute:\n  lambda: {}\nstate:\n  backend: s3\n  bucket: Not_A_Bucket\n  endpoint: http://example.com\n  encrypt: false\n  kms_key_id: alias/state\n",
    );
    let r = ws.run(&["state", "list", "-f", "stack.yaml"]);
    assert_eq!(r.code, 1);
    for want in [
        "stack.yaml:9:11: `Not_A_Bucket` is not a valid S3 bucket name",
        "stack.yaml:10:13: endpoint `http://example.com` is plain http",
        "stack.yaml:12:15: `kms_key_id` is set but `encrypt` is false",
    ] {
        assert!(r.stderr.contains(want), "{want}\n{}", r.stderr);
    }
    ws.write(
        "nobucket.yaml",
        "version: 1\nname: bad\napp:\n  manifest: app/spin.toml\nstate:\n  backend: s3\n  key: x.json\n",
    );
    let r = ws.run(&["validate", "-f", "nobucket.yaml"]);
    assert!(
        r.stderr
            .contains("nobucket.yaml:6:12: the s3 state backend needs a bucket"),
        "{}",
        r.stderr
    );
    ws.write(
        "local.yaml",
        "version: 1\nname: bad\napp:\n  manifest: app/spin.toml\nstate:\n  bucket: team-state\n",
    );
    let r = ws.run(&["validate", "-f", "local.yaml"]);
    assert!(
        r.stderr
            .contains("local.yaml:6:11: `bucket` applies to the s3 backend"),
        "{}",
        r.stderr
    );
    ws.write(
        "good.yaml",
        "version: 1\nname: good\napp:\n  manifest: app/spin.toml\ncompute:\n  lambda: {}\n",
    );
    let r = ws.run(&[
        "state",
        "list",
        "-f",
        "good.yaml",
        "--backend-config",
        "bukcet=x",
    ]);
    assert!(r.stderr.contains("did you mean `bucket`?"), "{}", r.stderr);
    assert!(!ws.path().join(".wxinfra").exists(), "nothing written");
}

/// The Lambda stack of the interrupt test, named `name`, with its state in the bucket.
fn s3_stack(name: &str) -> String {
    let stack = crate::interrupt::STACK.replace("name: intr", &format!("name: {name}"));
    format!("{stack}state:\n  backend: s3\n  bucket: {BUCKET}\n")
}

/// How many VPCs carry the stack's tag (boto3).
fn vpcs(moto: &Moto, stack: &str) -> Value {
    moto.boto(&format!("print(json.dumps(len(client('ec2').describe_vpcs(Filters=[{{'Name': 'tag:wxinfra:stack', 'Values': ['{stack}']}}])['Vpcs'])))"))
}

/// A workspace with the stack `name` (state in the bucket, made here) whose runs reach moto
/// through the latency proxy, so that an apply is slow enough to race or kill.
fn slow_workspace(moto: &Moto, name: &str, latency_ms: u32) -> (AwsProxy, Workspace) {
    bucket(moto);
    let proxy = AwsProxy::latency(moto.port, latency_ms);
    let ws = Workspace::with_moto(moto)
        .with_app()
        .with_env("AWS_ENDPOINT_URL", proxy.endpoint());
    ws.write("stack.yaml", &s3_stack(name));
    (proxy, ws)
}

/// The lock object's holder, as boto3 reads it; `None` while there is none.
fn lock_holder(moto: &Moto, key: &str) -> Option<Value> {
    let v = moto.boto(&format!(
        "s3 = client('s3')\n\
         try:\n    print(s3.get_object(Bucket='{BUCKET}', Key='{key}.lock')['Body'].read().decode())\n\
         except s3.exceptions.NoSuchKey:\n    print('null')"
    ));
    (!v.is_null()).then_some(v)
}

#[test]
fn two_concurrent_applies_one_proceeds_one_fails_naming_it_one_waits() {
    let moto = Moto::start();
    let (_proxy, ws) = slow_workspace(&moto, "race", 100);
    let key = "wxinfra/race.state.json";
    let apply = |timeout: &str| {
        ws.command(&[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--lock-timeout",
            timeout,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let first = apply("0s");
    let deadline = Instant::now() + Duration::from_secs(60);
    let holder = loop {
        if let Some(h) = lock_holder(&moto, key) {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(holder["pid"], first.id());
    assert_eq!(holder["operation"], "apply");

    // While it runs: one apply gives up at once naming it, one waits for it.
    let second = ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
    assert_eq!(second.code, 1);
    let id = holder["id"].as_str().unwrap();
    assert!(
        second
            .stderr
            .contains(&format!("locked by pid {} on ", first.id()))
            && second.stderr.contains("(apply, since ")
            && second.stderr.contains(&format!("lock id {id})")),
        "{}",
        second.stderr
    );
    let waiting = apply("10m");
    std::thread::sleep(Duration::from_secs(2));
    let mut first = first;
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first apply still runs (and holds the lock) while the third one waits"
    );
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let waited = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&waited.stderr);
    assert!(waited.status.success(), "{err}");
    assert!(
        !err.contains(": created"),
        "the waiter found the work done:\n{err}"
    );

    assert_eq!(vpcs(&moto, "race"), 1, "nothing created twice");
    assert!(lock_holder(&moto, key).is_none(), "every lock released");
    let state = s3_state(&moto, key);
    assert_eq!(state["sse"], "AES256");
    assert!(!state["body"]["resources"].as_object().unwrap().is_empty());
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
}

#[test]
fn sigkill_during_an_s3_backed_apply_then_unlock_and_rerun_converges() {
    let moto = Moto::start();
    let (_proxy, ws) = slow_workspace(&moto, "kill", 150);
    let key = "wxinfra/kill.state.json";
    let mut child = ws
        .command(&[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--parallelism",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line.unwrap().contains(": created") {
            child.kill().unwrap(); // SIGKILL: no chance to save or unlock
            break;
        }
    }
    child.wait().unwrap();
    let saved = s3_state(&moto, key);
    assert!(
        !saved["body"]["resources"].as_object().unwrap().is_empty(),
        "checkpointed to S3"
    );
    let holder = lock_holder(&moto, key).expect("a killed run leaves its lock");

    let r = ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"]);
    let id = holder["id"].as_str().unwrap();
    assert!(
        r.stderr.contains("that process is gone")
            && r.stderr.contains(&format!("state unlock {id}")),
        "{}",
        r.stderr
    );
    ws.run(&["state", "unlock", "-f", "stack.yaml", "wrong-id"]);
    assert!(
        lock_holder(&moto, key).is_some(),
        "another id releases nothing"
    );
    ws.run(&["state", "force-unlock", "-f", "stack.yaml", id])
        .ok();
    assert!(lock_holder(&moto, key).is_none());

    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert_eq!(vpcs(&moto, "kill"), 1, "nothing created twice");
    let r = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert!(moto.tagged("kill").is_empty());
}

#[test]
fn import_target_replace_refresh_only_and_stale_plans_across_machines() {
    let moto = Moto::start();
    bucket(&moto);
    // Two machines: two workspaces, one S3 state.
    let a = Workspace::with_moto(&moto).with_app();
    let b = Workspace::with_moto(&moto).with_app();
    let stack = s3_stack("sel");
    a.write("stack.yaml", &stack);
    b.write("stack.yaml", &stack);
    let key = "wxinfra/sel.state.json";
    let group = "aws.log_group.lambda";
    let f = ["-f", "stack.yaml"];
    let on = |ws: &Workspace, args: &[&str]| ws.run(&[args, &f[..]].concat());
    let plan_json = |ws: &Workspace, args: &[&str]| -> Value {
        let r = on(ws, &[&["plan", "--json"][..], args].concat()).ok();
        serde_json::from_str(&r.stdout).unwrap()
    };
    on(&a, &["apply", "--auto-approve"]).ok();

    // Drift made with boto3: retention 14 -> 30.
    moto.boto("client('logs').put_retention_policy(logGroupName='/wxinfra/sel/lambda', retentionInDays=30)\nprint('null')");

    // --target-resource: the log group only (it depends on nothing).
    let t = plan_json(&b, &["--target-resource", group]);
    let addrs: Vec<&str> = t["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(addrs, [group]);
    assert_eq!(t["targets"], json!([group]));
    assert_eq!(t["resources"][0]["action"], "update");

    // --replace: forced even though only the retention changed.
    let r = plan_json(&b, &["--replace", group]);
    let rc = r["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == group)
        .unwrap();
    assert_eq!(rc["action"], "replace");
    assert_eq!(rc["reason"], "replacement requested with -replace");

    // A plan saved on machine A is stale once machine B changed the state.
    on(&a, &["plan", "--out", "saved.json"]).ok();

    // --refresh-only on machine B: the drift is shown, then recorded, nothing changed live.
    let p = plan_json(&b, &["--refresh-only"]);
    assert_eq!(p["refresh_only"], true);
    assert_eq!(p["drift"][0]["address"], group);
    assert_eq!(p["drift"][0]["fields"][0]["live"], 30);
    on(&b, &["apply", "--refresh-only", "--auto-approve"]).ok();
    let state = s3_state(&moto, key);
    assert_eq!(
        state["body"]["resources"][group]["props"]["retention_days"],
        30
    );

    let stale = a.run(&["apply", "-f", "stack.yaml", "saved.json"]);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("run plan again"), "{}", stale.stderr);

    // import: forget the group, adopt it again by its name, and the plan shows the difference.
    on(&b, &["state", "rm", group]).ok();
    let imported = on(&b, &["import", group, "/wxinfra/sel/lambda"]).ok();
    assert!(
        imported.stdout.contains("retention_days = 30 -> 14"),
        "{}",
        imported.stdout
    );
    let state = s3_state(&moto, key);
    assert_eq!(
        state["body"]["resources"][group]["id"],
        "/wxinfra/sel/lambda"
    );
    let again = on(&b, &["import", group, "/wxinfra/sel/lambda"]);
    assert!(
        again.stderr.contains("already in the state"),
        "{}",
        again.stderr
    );
    let missing = on(&b, &["import", "aws.log_group.nope", "x"]);
    assert!(
        missing.stderr.contains("the stack has no resource"),
        "{}",
        missing.stderr
    );

    on(&a, &["apply", "--auto-approve"]).ok();
    let days = moto.boto("print(json.dumps(client('logs').describe_log_groups(logGroupNamePrefix='/wxinfra/sel/lambda')['logGroups'][0]['retentionInDays']))");
    assert_eq!(days, 14);
    on(&a, &["destroy", "--auto-approve"]).ok();
}
