//! Ctrl-C during apply: in-flight calls finish, the state is saved, the exit is non-zero,
//! and the next apply completes without duplicates. The emulator sits behind a latency proxy
//! so the apply is slow enough to interrupt mid-way.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{AwsProxy, Moto, Workspace};

/// A Lambda stack over three AZs: enough resources for an apply to be caught mid-way.
pub const STACK: &str = "version: 1
name: intr
app:
  manifest: app/spin.toml
network:
  availability_zones: 3
compute:
  lambda: {}
";

#[test]
fn ctrl_c_saves_state_and_the_next_apply_completes() {
    let moto = Moto::start();
    let proxy = AwsProxy::latency(moto.port, 150);
    let ws = Workspace::with_moto(&moto).with_app();
    ws.write("stack.yaml", STACK);

    let mut child = ws
        .command(&[
            "apply",
            "-f",
            "stack.yaml",
            "--auto-approve",
            "--parallelism",
            "2",
        ])
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains(": created") {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
            break;
        }
    }
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let err = seen.join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("interrupt received") && err.contains("interrupted:"),
        "{err}"
    );
    assert!(
        err.contains("(skipped)"),
        "some operations should not have started:\n{err}"
    );

    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join(".wxinfra/intr.state.json")).unwrap())
            .unwrap();
    let resources = state["resources"].as_object().unwrap();
    assert!(!resources.is_empty());
    assert!(
        resources.values().all(|r| r["status"] == "created"),
        "in-flight operations finished and were recorded: {state:#}"
    );

    ws.run(&["apply", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    let vpcs = moto.boto("print(json.dumps(len(client('ec2').describe_vpcs(Filters=[{'Name': 'tag:wxinfra:stack', 'Values': ['intr']}])['Vpcs'])))");
    assert_eq!(vpcs, 1, "nothing created twice");
    let r = ws.run(&["plan", "-f", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    ws.run(&["destroy", "-f", "stack.yaml", "--auto-approve"])
        .ok();
    assert!(moto.tagged("intr").is_empty());
}
