//! The EC2 user data run for real: bash executes the rendered script in a private mount
//! namespace (`unshare`) where the paths it writes (`/etc/systemd/system`, `/etc/fstab`,
//! `/usr/local/bin`, `/mnt`) are directories of a temp sandbox, and the commands that reach
//! the network or the init system (`dnf`, `mount`, `aws`, `systemctl`, …) are stubs first on
//! PATH that record their calls and fail their first N calls.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// One stub for every command: logs `name args` to `calls`, fails while its call count is at
/// most `$FAIL_<name>`, then does the command's visible effect.
const STUB: &str = r#"#!/bin/bash
name=$(basename "$0")
echo "$name $*" >> "$SANDBOX/calls"
n=$(( $(cat "$SANDBOX/count-$name" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$SANDBOX/count-$name"
fail="FAIL_$name"
if (( n <= ${!fail:-0} )); then
  echo "$name: stub failure $n" >&2
  exit 1
fi
case $name in
  mount) touch "$SANDBOX/mounted" ;;
  mountpoint) [[ -e $SANDBOX/mounted ]] ;;
  aws) cp "$SANDBOX/wxrun" "${@: -1}" ;;
  id) exit 1 ;;
esac
"#;

/// Runs in the new namespace: the sandbox's directories over the system paths, then the
/// script with the stubs first on PATH.
const ENTER: &str = r#"set -e
S=$1
mount --bind "$S/systemd" /etc/systemd/system
mount --bind "$S/local-bin" /usr/local/bin
mount --bind "$S/mnt" /mnt
mount --bind "$S/fstab" /etc/fstab
PATH="$S/bin:$PATH" exec bash "$S/user-data.sh"
"#;

const BINARY: &[u8] = b"wxrun, as uploaded\n";

struct Run {
    out: Output,
    calls: Vec<String>,
    dir: tempfile::TempDir,
}

impl Run {
    fn count(&self, command: &str) -> usize {
        self.calls
            .iter()
            .filter(|c| c.split(' ').next() == Some(command))
            .count()
    }

    fn position(&self, call: &str) -> usize {
        self.calls
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no `{call}` in {:#?}", self.calls))
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn file(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap_or_default()
    }
}

/// The script rendered for a binary whose sha256 is `BINARY`'s, run with `fails` as the
/// number of failing calls per command.
fn run(fails: &[(&str, u32)]) -> Run {
    let data = wxinfra::synth::compute::Data {
        bucket: "t-artifacts".into(),
        efs_file_system_id: "fs-0123456789abcdef0".into(),
        efs_access_point_id: "fsap-0123456789abcdef0".into(),
        ..Default::default()
    };
    let runtime = wxinfra::synth::compute::Runtime {
        key: "runtime/wxrun".into(),
        sha256: hex::encode(Sha256::digest(BINARY)),
        ..Default::default()
    };
    let script = wxinfra::synth::compute::user_data("t", &data, &runtime, 8080).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    for d in ["bin", "systemd", "local-bin", "mnt"] {
        std::fs::create_dir(s.join(d)).unwrap();
    }
    std::fs::write(s.join("fstab"), "# fstab\n").unwrap();
    std::fs::write(s.join("wxrun"), BINARY).unwrap();
    std::fs::write(s.join("user-data.sh"), script).unwrap();
    for name in [
        "dnf",
        "mount",
        "mountpoint",
        "aws",
        "systemctl",
        "sleep",
        "id",
        "useradd",
    ] {
        let path = s.join("bin").join(name);
        std::fs::write(&path, STUB).unwrap();
        make_executable(&path);
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--map-root-user", "--mount", "bash", "-c", ENTER, "enter"])
        .arg(s)
        .env("SANDBOX", s);
    for (name, n) in fails {
        cmd.env(format!("FAIL_{name}"), n.to_string());
    }
    let out = cmd
        .output()
        .expect("unshare (util-linux) runs the user data");
    let calls = std::fs::read_to_string(s.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    Run { out, calls, dir }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn user_data_enables_the_unit_first_and_retries_each_step_until_it_converges() {
    let r = run(&[("dnf", 2), ("mount", 3), ("aws", 4)]);
    assert!(
        r.out.status.success(),
        "{}\ncalls: {:#?}",
        r.stderr(),
        r.calls
    );
    // The unit is written and enabled before any step that can fail.
    let unit = r.file("systemd/wxrun.service");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/wxrun serve"),
        "{unit}"
    );
    let enable = r.position("systemctl enable wxrun.service");
    assert!(r.position("systemctl daemon-reload") < enable);
    assert!(enable < r.position("dnf install -y amazon-efs-utils"));
    // Each step tried until it succeeds, in order, with growing waits between tries.
    assert_eq!(r.count("dnf"), 3);
    assert_eq!(r.count("mount"), 4);
    assert_eq!(r.count("aws"), 5);
    let sleeps: Vec<&str> = r
        .calls
        .iter()
        .filter_map(|c| c.strip_prefix("sleep "))
        .collect();
    assert_eq!(sleeps, ["5", "10", "5", "10", "20", "5", "10", "20", "40"]);
    assert!(r.position("dnf install -y amazon-efs-utils") < r.position("mountpoint -q /mnt/app"));
    assert!(
        r.stderr()
            .contains("wxinfra: mount the EFS access point on /mnt/app failed (attempt 3 of 12), retrying in 20s"),
        "{}",
        r.stderr()
    );
    // Converged: mounted (and in fstab for the next boot), binary installed, service started.
    assert!(r.file("fstab").contains(
        "fs-0123456789abcdef0:/ /mnt/app efs _netdev,tls,iam,accesspoint=fsap-0123456789abcdef0 0 0"
    ));
    assert_eq!(r.file("local-bin/wxrun").as_bytes(), BINARY);
    assert_eq!(r.calls.last().unwrap(), "systemctl start wxrun.service");
}

#[test]
fn user_data_gives_up_with_a_clear_exit_after_the_bound() {
    let r = run(&[("mount", 1000)]);
    assert_eq!(r.out.status.code(), Some(75), "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("wxinfra: giving up: mount the EFS access point on /mnt/app failed 12 times"),
        "{}",
        r.stderr()
    );
    assert_eq!(r.count("mount"), 12);
    let sleeps: Vec<&str> = r
        .calls
        .iter()
        .filter_map(|c| c.strip_prefix("sleep "))
        .collect();
    assert_eq!(sleeps.len(), 11);
    assert_eq!(sleeps.last(), Some(&"60"));
    // Nothing after the failed step ran, but the unit is enabled for the next boot.
    assert_eq!(r.count("aws"), 0);
    assert!(!r.calls.iter().any(|c| c == "systemctl start wxrun.service"));
    r.position("systemctl enable wxrun.service");
    assert!(r.file("local-bin/wxrun").is_empty());
}
