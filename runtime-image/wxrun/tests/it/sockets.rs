//! `wasi:sockets` from a spin-sdk guest, gated by `allowed_outbound_hosts`
//! with a CIDR range, a port, and a `{{ variable }}` template, as Spin
//! resolves them.

use crate::support::*;
use tokio::io::AsyncReadExt;

fn app(dir: &std::path::Path, tcp_port: u16, udp_port: u16) -> std::path::PathBuf {
    write_manifest(
        dir,
        &format!(
            r#"spin_manifest_version = 2
[application]
name = "sockets"
[variables]
udp_target = {{ default = "127.0.0.1:{udp_port}" }}
[[trigger.http]]
route = "/allowed/..."
component = "allowed"
[[trigger.http]]
route = "/denied/..."
component = "denied"
[[trigger.http]]
route = "/closed/..."
component = "closed"
[component.allowed]
source = "{wasm}"
allowed_outbound_hosts = ["*://127.0.0.0/24:{tcp_port}", "udp://{{{{ udp_target }}}}"]
[component.denied]
source = "{wasm}"
allowed_outbound_hosts = ["tcp://127.0.0.1:{other}", "udp://127.0.0.1:{other}"]
[component.closed]
source = "{wasm}"
"#,
            wasm = spin_hosts_wasm().display(),
            other = tcp_port.wrapping_add(1),
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sockets_reach_exactly_what_allowed_outbound_hosts_resolves_to() {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path(), tcp_port, udp_port);
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;

    let accepted = tokio::spawn(async move {
        let (mut conn, _) = tcp.accept().await.unwrap();
        let mut buf = Vec::new();
        conn.read_to_end(&mut buf).await.unwrap();
        buf
    });
    let r = server
        .get(&format!("/allowed/tcp/127.0.0.1:{tcp_port}"))
        .await;
    assert_eq!(r.body, "ok:connected", "{}", server.logs());
    assert_eq!(accepted.await.unwrap(), b"ping");

    let r = server
        .get(&format!("/allowed/udp/127.0.0.1:{udp_port}"))
        .await;
    assert_eq!(r.body, "ok:sent", "{}", server.logs());
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), udp.recv(&mut buf))
        .await
        .expect("no datagram arrived")
        .unwrap();
    assert_eq!(&buf[..n], b"ping");

    // Outside the CIDR's port, another scheme's rule, no rule at all.
    let r = server
        .get(&format!(
            "/allowed/tcp/127.0.0.1:{}",
            tcp_port.wrapping_add(1)
        ))
        .await;
    assert_eq!(r.body, "err:PermissionDenied");
    let r = server
        .get(&format!("/denied/tcp/127.0.0.1:{tcp_port}"))
        .await;
    assert_eq!(r.body, "err:PermissionDenied");
    let r = server
        .get(&format!("/denied/udp/127.0.0.1:{udp_port}"))
        .await;
    assert_eq!(r.body, "err:PermissionDenied");
    let r = server
        .get(&format!("/closed/tcp/127.0.0.1:{tcp_port}"))
        .await;
    assert_eq!(r.body, "err:PermissionDenied");

    // Name lookup is open to a component that may reach some host.
    let r = server.get("/allowed/lookup/localhost").await;
    assert!(
        r.body.starts_with("ok:") && r.body.contains("127.0.0.1"),
        "{}",
        r.body
    );
    let r = server.get("/closed/lookup/localhost").await;
    assert!(r.body.starts_with("err:"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undefined_template_variable_stops_the_server_naming_the_component() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"{}\"\nallowed_outbound_hosts = [\"tcp://{{{{ nope }}}}:1\"]\n",
            spin_hosts_wasm().display()
        ),
    );
    let out = wxrun().args(["check"]).arg(&manifest).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("\"c\"") && err.contains("nope"), "{err}");
}
