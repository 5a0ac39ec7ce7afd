//! The runtime image without Docker: pushed through the `aws.oci_image` kind to a real
//! registry (Debian's `docker-registry`, started here on a free port) and inspected with
//! `skopeo`, an independent client; plus the static binary running with no distro under it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};
use wxinfra::aws::AwsContext;
use wxinfra::oci::{Image, ImageSpec, Registry, pack};
use wxinfra::provider::{CreateRequest, Provider};

use crate::support::{LocalRegistry, skopeo, static_wxrun};

/// A file with an x86-64 ELF header: enough to pack and push (it is never run).
fn fake_binary(dir: &Path) -> (PathBuf, String) {
    let mut b = b"\x7fELF\x02\x01\x01".to_vec();
    b.resize(18, 0);
    b.extend_from_slice(&0x3eu16.to_le_bytes());
    b.resize(4096, 7);
    write_binary(dir, b)
}

/// The x86-64 image of `binary` running `cmd` as the runtime's uid.
fn x86_image(binary: &Path, cmd: Vec<String>) -> Image {
    let spec = ImageSpec {
        arch: "x86_64".into(),
        user: "65532".into(),
        cmd,
    };
    pack(binary, &spec).unwrap()
}

fn write_binary(dir: &Path, b: Vec<u8>) -> (PathBuf, String) {
    let p = dir.join("wxrun");
    std::fs::write(&p, &b).unwrap();
    (p, hex::encode(Sha256::digest(&b)))
}

async fn ctx(registry: &str) -> Arc<AwsContext> {
    use aws_sdk_ec2::config::{Credentials, Region};
    // No AWS call is made when the registry is overridden; the endpoint is never contacted.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let mut c = AwsContext::from_config("t", config).unwrap();
    c.oci_registry = Some(registry.to_string());
    Arc::new(c)
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_image_is_pushed_once_and_skopeo_sees_its_config() {
    let reg = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let (binary, sha) = fake_binary(dir.path());
    let provider = wxinfra::aws::provider(ctx(&reg.host).await);
    let kind = provider.resource("aws.oci_image").unwrap();
    let cmd = json!([
        "serve",
        "--app-dir",
        "/mnt/app",
        "--source",
        "s3://b/releases",
        "--listen",
        "0.0.0.0:8080"
    ]);
    let props = json!({
        "repository_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t-runtime",
        "tag": sha,
        "binary": binary.display().to_string(),
        "binary_sha256": sha,
        "arch": "x86_64",
        "user": "65532",
        "cmd": cmd,
    });
    let created = kind
        .create(&CreateRequest {
            address: "aws.oci_image.runtime",
            stack: "t",
            props: &props,
            token: "tok",
        })
        .await
        .unwrap();
    let live = kind
        .read(&created.id, &props)
        .await
        .unwrap()
        .expect("pushed");
    assert_eq!(live.props, props, "reads back as pushed");
    let digest = created.outputs["digest"].as_str().unwrap().to_string();
    assert_eq!(
        created.outputs["uri"],
        json!(format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/t-runtime@{digest}"
        ))
    );

    let image = x86_image(&binary, serde_json::from_value(cmd.clone()).unwrap());
    let url = format!("docker://{}/t-runtime:{sha}", reg.host);
    let inspect = skopeo(&["inspect", "--tls-verify=false", &url]);
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Digest"], json!(digest));
    assert_eq!(inspect["Layers"], json!([image.layer_digest]));
    let config = skopeo(&["inspect", "--tls-verify=false", "--config", &url]);
    assert_eq!(config["config"]["Entrypoint"], json!(["/wxrun"]));
    assert_eq!(config["config"]["User"], "65532");
    assert_eq!(config["config"]["Cmd"], cmd);

    // Again: the registry has everything, so nothing is uploaded.
    let before = reg.writes();
    assert!(
        before >= 3,
        "first push wrote layer, config and manifest ({before} writes)"
    );
    kind.create(&CreateRequest {
        address: "aws.oci_image.runtime",
        stack: "t",
        props: &props,
        token: "tok",
    })
    .await
    .unwrap();
    let registry = Registry::new(&reg.host, oci_client::secrets::RegistryAuth::Anonymous);
    let pushed = registry
        .push(&registry.reference("t-runtime", &sha), &image.artifact())
        .await
        .unwrap();
    assert!(pushed.uploaded.is_empty(), "{:?}", pushed.uploaded);
    assert_eq!(reg.writes(), before, "a second push writes nothing");
}

/// ECR speaks HTTPS only: the push's TLS path runs against a registry with a test CA. Trusting
/// that CA (as `SSL_CERT_FILE` makes the CLI do) the image goes up and reads back; trusting
/// only the built-in roots the push fails with the certificate error, and does not panic.
#[tokio::test(flavor = "multi_thread")]
async fn the_runtime_image_is_pushed_over_https_trusting_only_what_it_is_told_to() {
    // As main.rs does: one rustls provider for the process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs = tempfile::tempdir().unwrap();
    crate::support::apiserver::make_certs(certs.path());
    let reg = LocalRegistry::start_tls(certs.path());
    let dir = tempfile::tempdir().unwrap();
    let (binary, sha) = fake_binary(dir.path());
    let image = x86_image(&binary, vec!["serve".into()]);
    let host = format!("https://{}", reg.host);
    let anonymous = || oci_client::secrets::RegistryAuth::Anonymous;

    let untrusted = Registry::with_roots(&host, anonymous(), Vec::new());
    let refused = untrusted
        .push(&untrusted.reference("t-runtime", &sha), &image.artifact())
        .await
        .unwrap_err();
    let refused = format!("{:#}", anyhow::Error::from(refused));
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");

    let ca = std::fs::read_to_string(certs.path().join("ca.crt")).unwrap();
    let trusted = Registry::with_roots(&host, anonymous(), wxinfra::oci::registry::pem_roots(&ca));
    let pushed = trusted
        .push(&trusted.reference("t-runtime", &sha), &image.artifact())
        .await
        .unwrap();
    assert!(!pushed.uploaded.is_empty());
    let url = format!("docker://{}/t-runtime:{sha}", reg.host);
    let inspect = skopeo(&["inspect", "--cert-dir", &ca_dir(certs.path()), &url]);
    assert_eq!(inspect["Digest"], json!(pushed.digest));
}

/// A directory holding only the test CA, as `skopeo --cert-dir` takes it.
fn ca_dir(certs: &Path) -> String {
    let d = certs.join("ca-only");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(certs.join("ca.crt"), d.join("ca.crt")).unwrap();
    d.display().to_string()
}

/// ECR refuses every chunk of a chunked upload but the last below 5 MiB
/// (LayerPartTooSmallException), and the OCI client's chunks are 4 MiB: a layer of several
/// MiB must go up in one request, never as PATCH parts.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_layer_is_pushed_in_one_request_as_ecr_requires() {
    let reg = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    // 9 MiB that gzip cannot shrink (xorshift), behind an x86-64 ELF header.
    let (binary, _) = fake_binary(dir.path());
    let mut b = std::fs::read(&binary).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while b.len() < 9 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.extend_from_slice(&x.to_le_bytes());
    }
    let (binary, sha) = write_binary(dir.path(), b);
    let image = x86_image(&binary, vec!["serve".into()]);
    assert!(image.layer.len() > 8 << 20, "{} bytes", image.layer.len());
    let registry = Registry::new(&reg.host, oci_client::secrets::RegistryAuth::Anonymous);
    let pushed = registry
        .push(&registry.reference("t-runtime", &sha), &image.artifact())
        .await
        .unwrap();
    assert!(pushed.uploaded.contains(&image.layer_digest));
    assert_eq!(reg.requests("PATCH"), 0, "chunked parts were sent");
    // Layer, config and manifest: one PUT each.
    assert_eq!(reg.requests("PUT"), 3);
    let url = format!("docker://{}/t-runtime:{sha}", reg.host);
    let inspect = skopeo(&["inspect", "--tls-verify=false", &url]);
    assert_eq!(inspect["Layers"], json!([image.layer_digest]));
}

#[test]
fn static_runtime_runs_alone_in_the_unpacked_image() {
    let binary = static_wxrun();
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        text.contains("not a dynamic executable") || text.contains("statically linked"),
        "{text}"
    );

    let image = x86_image(&binary, vec!["serve".into()]);
    let root = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(&image.layer[..]))
        .unpack(root.path())
        .unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["etc", "tmp", "wxrun"],
        "only /wxrun, /tmp and the CA roots"
    );
    let out = chroot(root.path())
        .args(["/wxrun", "--version"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("wxrun "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A chroot into `root` (an unpacked image: no libc, no shell, only what its layer holds).
fn chroot(root: &Path) -> Command {
    let uid = Command::new("id").arg("-u").output().unwrap().stdout;
    let mut cmd = if String::from_utf8_lossy(&uid).trim() == "0" {
        Command::new("chroot")
    } else {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "chroot"]);
        c
    };
    cmd.arg(root);
    cmd
}

/// GET `path` on 127.0.0.1:`port`: the status, or `None` when nothing answers.
fn status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split(' ').nth(1)?.parse().ok()
}

/// `wxrun serve` in the bare root, its release from `moto` over HTTPS; killed when dropped.
struct Served {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl Served {
    fn start(root: &Path, moto: &crate::support::Moto, log: PathBuf) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = chroot(root);
        for inherited in ["AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
            cmd.env_remove(inherited);
        }
        cmd.args(["/wxrun", "serve", "--app-dir", "/app"])
            .args(["--source", "s3://artifacts/releases", "--poll-ms", "500"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stderr(std::fs::File::create(&log).unwrap());
        // Only where S3 is and the keys: no CA bundle override, the image's roots decide.
        for (k, v) in moto.env() {
            if [
                "AWS_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_REGION",
            ]
            .contains(&k)
            {
                cmd.env(k, v);
            }
        }
        Served {
            child: cmd.spawn().unwrap(),
            port,
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls until `done(health status, log)` holds, for at most a minute.
    fn wait(&self, what: &str, done: impl Fn(Option<u16>, &str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done(status(self.port, "/.well-known/spin/health"), &self.log()) {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: never happened:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The packed image in a bare root fetching its release from S3 over HTTPS. No endpoint
/// here can have a certificate from a public CA, so this proves the path, not Mozilla's
/// roots themselves (the unit test of `oci::image` checks those parse): as packed, the image
/// does not trust the endpoint's test CA and the handshake fails with an unknown issuer
/// (its roots were read and none matched); with that CA appended to the image's
/// /etc/ssl/certs/ca-certificates.crt, the same root serves the release — the file the
/// image ships is the one wxrun's S3 client trusts.
#[test]
fn packed_image_fetches_its_release_over_https_trusting_the_image_roots() {
    let certs = tempfile::tempdir().unwrap();
    let moto = crate::support::Moto::start_tls(certs.path());
    let work = tempfile::tempdir().unwrap();
    let probe =
        crate::support::repo().join("runtime-image/wxrun/tests/components/probe-p3/probe-p3.wasm");
    assert!(
        probe.exists(),
        "{} is missing: run runtime-image/wxrun/tests/build-components.sh",
        probe.display()
    );
    std::fs::copy(&probe, work.path().join("probe.wasm")).unwrap();
    std::fs::write(
        work.path().join("spin.toml"),
        "spin_manifest_version = 2\n[application]\nname = \"tls\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n[component.p]\nsource = \"probe.wasm\"\n",
    )
    .unwrap();
    let bundle = work.path().join("app.tar");
    let out = Command::new(static_wxrun())
        .arg("bundle")
        .arg(work.path().join("spin.toml"))
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    moto.boto(&format!(
        "s3 = client('s3')\ns3.create_bucket(Bucket='artifacts')\n\
         s3.put_object(Bucket='artifacts', Key='releases/{id}.tar', Body=open('{}', 'rb').read())\n\
         s3.put_object(Bucket='artifacts', Key='releases/current', Body=b'{id}')\n\
         print(json.dumps(None))",
        bundle.display()
    ));

    let image = x86_image(&static_wxrun(), vec!["serve".into()]);
    let root = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(&image.layer[..]))
        .unpack(root.path())
        .unwrap();
    std::fs::create_dir(root.path().join("app")).unwrap();

    let packed = Served::start(root.path(), &moto, work.path().join("packed.log"));
    packed.wait("the handshake refused", |_, log| {
        log.contains("UnknownIssuer")
    });
    assert_eq!(status(packed.port, "/.well-known/spin/health"), Some(503));
    drop(packed);

    let bundle_path = root.path().join(wxinfra::oci::image::CA_BUNDLE);
    let mut roots = std::fs::read_to_string(&bundle_path).unwrap();
    roots.push_str(&std::fs::read_to_string(certs.path().join("ca.crt")).unwrap());
    std::fs::write(&bundle_path, roots).unwrap();
    let trusted = Served::start(root.path(), &moto, work.path().join("trusted.log"));
    trusted.wait("the release served", |health, _| health == Some(200));
    assert!(trusted.log().contains(&id), "{}", trusted.log());
}
