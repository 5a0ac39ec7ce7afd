//! Lambda mode against cargo-lambda's Runtime API emulator (`cargo lambda
//! watch --only-lambda-apis`, from the project venv): ALB events with single-
//! and multi-value headers and query strings, base64 request bodies, and
//! base64 binary responses.

use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Emulator {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_bin(name: &str) -> std::path::PathBuf {
    let venv = std::env::var_os("WXINFRA_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let bin = venv.join("bin").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: the project venv needs cargo-lambda (scripts/setup-venv.sh)",
        bin.display()
    );
    bin
}

async fn emulator() -> Emulator {
    // cargo-lambda reads a Cargo project's metadata even when it does not
    // start the function: give it an empty one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"emu\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    let port = free_port();
    let child = Command::new(venv_bin("cargo-lambda"))
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
        ])
        .arg(port.to_string())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "emulator did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Emulator {
        child,
        port,
        _dir: dir,
    }
}

async fn invoke(port: u16, event: serde_json::Value) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations");
    let r = send(http::Method::POST, &url, event.to_string().into())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn header<'a>(resp: &'a serde_json::Value, name: &str) -> &'a str {
    resp["headers"][name]
        .as_str()
        .or_else(|| resp["multiValueHeaders"][name][0].as_str())
        .unwrap_or_else(|| panic!("no {name} in {resp}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn alb_events_through_the_runtime_api_emulator() {
    let emu = emulator().await;
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[application]\nname = \"lam\"\n[[trigger.http]]\nroute = \"/hello/...\"\ncomponent = \"hello\"\n[[trigger.http]]\nroute = \"/p3/...\"\ncomponent = \"probe\"\n[component.hello]\nsource = \"{}\"\n[component.hello.variables]\ngreeting = \"Hey\"\n[component.probe]\nsource = \"{}\"\n",
            hello_wasm().display(),
            probe_p3_wasm().display()
        ),
    );
    let cache = shared_cache();
    let log = tmp.path().join("wxrun.log");
    let mut child = wxrun()
        .args(["serve", "--from"])
        .arg(&manifest)
        .arg("--cache-dir")
        .arg(&cache)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{}/.rt", emu.port),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
        .env_remove("WXRUN_PRIMITIVE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let guard = scopeguard(&mut child);

    // Single-value headers and query, base64 request body.
    let resp = invoke(
        emu.port,
        serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}},
            "httpMethod": "POST",
            "path": "/hello/echo",
            "queryStringParameters": {"a": "1"},
            "headers": {"host": "example.com", "content-type": "text/plain"},
            "body": "aGVsbG8gbGFtYmRh",
            "isBase64Encoded": true
        }),
    )
    .await;
    assert_eq!(
        resp["statusCode"],
        200,
        "{resp}\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(resp["body"], "hello lambda");
    assert_eq!(header(&resp, "x-wxrun-served-by"), "lambda");

    // Multi-value headers and query strings.
    let resp = invoke(
        emu.port,
        serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}},
            "httpMethod": "GET",
            "path": "/hello/q",
            "multiValueQueryStringParameters": {"q": ["1", "2"]},
            "multiValueHeaders": {"host": ["example.com"], "x-many": ["a", "b"]},
            "body": "",
            "isBase64Encoded": false
        }),
    )
    .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["body"], "Hey from /hello/q?q=1&q=2 (release dev)\n");

    // Binary response from the WASI 0.3 component: base64 in the event.
    let resp = invoke(
        emu.port,
        serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}},
            "httpMethod": "GET",
            "path": "/p3/bin",
            "headers": {"host": "example.com"},
            "body": "",
            "isBase64Encoded": false
        }),
    )
    .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["isBase64Encoded"], true);
    assert_eq!(resp["body"], "AJ+Slv8=");

    // Unrouted path: 404 comes back as an ALB response, not an error.
    let resp = invoke(
        emu.port,
        serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda/abc"}},
            "httpMethod": "GET",
            "path": "/nowhere",
            "headers": {"host": "example.com"},
            "body": "",
            "isBase64Encoded": false
        }),
    )
    .await;
    assert_eq!(resp["statusCode"], 404, "{resp}");
    drop(guard);
}

/// Kills the child when the test ends, pass or fail.
fn scopeguard(child: &mut std::process::Child) -> impl Drop + '_ {
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    Kill(child)
}
