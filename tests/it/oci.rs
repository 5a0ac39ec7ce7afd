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
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 2, "only /wxrun and /tmp: {entries:?}");
    // A chroot into the image's root: no libc, no shell, nothing but the binary.
    let uid = Command::new("id").arg("-u").output().unwrap().stdout;
    let mut cmd = if String::from_utf8_lossy(&uid).trim() == "0" {
        Command::new("chroot")
    } else {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "chroot"]);
        c
    };
    let out = cmd
        .arg(root.path())
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
