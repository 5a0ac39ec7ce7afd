//! A `moto_server` on 127.0.0.1 with a free port, per test, with the realism settings of
//! DESIGN.md; killed when dropped. Assertions go through boto3 — an independent client.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Moto {
    pub port: u16,
    log: std::path::PathBuf,
    child: Child,
    /// With TLS: the CA its certificate chains to (clients are told to trust it).
    ca: Option<std::path::PathBuf>,
}

impl Moto {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// The server over HTTPS, with a certificate for 127.0.0.1 from a test CA made in `dir`
    /// (`ca.crt`), as S3 answers over TLS.
    pub fn start_tls(dir: &std::path::Path) -> Self {
        super::apiserver::make_certs(dir);
        Self::launch(Some(dir))
    }

    fn launch(tls: Option<&std::path::Path>) -> Self {
        // Bind port 0 to get a free port, release it, hand it to moto.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("wxinfra-moto-{port}.log"));
        // scripts/moto_server.py is moto_server with its policy-condition bug fixed.
        let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_server.py");
        let mut cmd = Command::new(super::venv_bin("python"));
        cmd.args([launcher, "-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(dir) = tls {
            cmd.arg("-c")
                .arg(dir.join("server.crt"))
                .arg("-k")
                .arg(dir.join("server.key"));
        }
        let child = cmd
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
            .env("MOTO_ENABLE_AMI_VALIDATION", "true")
            .env("MOTO_ECS_SERVICE_RUNNING", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start moto_server");
        let ca = tls.map(|d| d.join("ca.crt"));
        let m = Moto {
            port,
            log,
            child,
            ca,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start; see {}",
                m.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }

    /// The server's log so far (one line per request, with its status).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Environment that points the AWS SDK (ours and boto3) at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let ca = self
            .ca
            .as_ref()
            .map(|c| ("AWS_CA_BUNDLE", c.display().to_string()));
        ca.into_iter()
            .chain([
                ("AWS_ENDPOINT_URL", self.endpoint()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_DEFAULT_REGION", "us-east-1".into()),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
                ("AWS_CONFIG_FILE", "/dev/null".into()),
                ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ])
            .collect()
    }

    /// Runs a boto3 snippet against this server and returns what it prints as JSON.
    /// The snippet has `boto3`, `json` and a `client(name)` helper; it must print one JSON value.
    pub fn boto(&self, code: &str) -> Value {
        let prelude = "import boto3, json\nfrom botocore.config import Config\n\
            def client(n):\n    return boto3.client(n, config=Config(s3={'addressing_style': 'path'}))\n";
        let out = Command::new(super::venv_bin("python"))
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .envs(self.env())
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "boto3 snippet failed:\n{code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "boto3 snippet printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// ARNs of every resource tagged with `wxinfra:stack=<stack>`, via the tagging API.
    /// ARNs the tagging API lists with the stack's tag, less resources that are deleted but
    /// still listed for a while, in AWS as in moto: terminated instances, deleted NAT gateways
    /// and INACTIVE ECS clusters and services (their own services are asked).
    pub fn tagged(&self, stack: &str) -> Vec<String> {
        let v = self.boto(&format!(
            "c = client('resourcegroupstaggingapi'); ec2 = client('ec2'); ecs = client('ecs')\n\
             arns = []\n\
             for page in c.get_paginator('get_resources').paginate(TagFilters=[{{'Key': 'wxinfra:stack', 'Values': ['{stack}']}}]):\n\
             \x20   arns += [r['ResourceARN'] for r in page['ResourceTagMappingList']]\n\
             def gone(arn):\n\
             \x20   kind = arn.split(':')[5].split('/')[0]\n\
             \x20   if arn.split(':')[2] == 'ec2' and kind == 'instance':\n\
             \x20       i = ec2.describe_instances(InstanceIds=[arn.split('/')[-1]])['Reservations'][0]['Instances'][0]\n\
             \x20       return i['State']['Name'] == 'terminated'\n\
             \x20   if arn.split(':')[2] == 'ec2' and kind == 'natgateway':\n\
             \x20       return all(n['State'] == 'deleted' for n in ec2.describe_nat_gateways(NatGatewayIds=[arn.split('/')[-1]])['NatGateways'])\n\
             \x20   if arn.split(':')[2] == 'ecs' and kind == 'cluster':\n\
             \x20       return all(x['status'] == 'INACTIVE' for x in ecs.describe_clusters(clusters=[arn])['clusters'])\n\
             \x20   if arn.split(':')[2] == 'ecs' and kind == 'service':\n\
             \x20       cluster = arn.split('/')[-2]\n\
             \x20       return all(x['status'] == 'INACTIVE' for x in ecs.describe_services(cluster=cluster, services=[arn])['services'])\n\
             \x20   return False\n\
             print(json.dumps([a for a in arns if not gone(a)]))"
        ));
        serde_json::from_value(v).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
