//! Spin's http-rust template app (Rust spin-sdk 5.2, `#[http_component]`)
//! served by `wxrun serve --from`: built for wasm32-wasip1 (a core module,
//! converted at load time) and for wasm32-wasip2, every route answers with
//! exactly the headers, path info and variable errors Spin 3.x gives.

use crate::support::*;

fn manifest(dir: &std::path::Path, wasm: &std::path::Path) -> std::path::PathBuf {
    write_manifest(
        dir,
        &format!(
            r#"spin_manifest_version = 2
[application]
name = "http-rust"
version = "1.2.3"
[variables]
greeting = {{ default = "hello" }}
[[trigger.http]]
route = "/hello"
component = "app"
[[trigger.http]]
route = "/users/:userid/..."
component = "app"
[[trigger.http]]
route = "/org/:org_name/repo/:repo"
component = "app"
[[trigger.http]]
route = "/vars/:name"
component = "app"
[[trigger.http]]
route = "/..."
component = "app"
[component.app]
source = "{wasm}"
[component.app.variables]
greeting = "{{{{ greeting }}}}, world"
"#,
            wasm = wasm.display()
        ),
    )
}

/// The app's answer: `<method> <path>` and its `spin-*` headers, with the
/// client's (ephemeral) port checked and then left out.
async fn seen(server: &Server, path: &str) -> String {
    let r = server.get(path).await;
    assert_eq!(r.status, 200, "{path}: {r:?}\n{}", server.logs());
    let mut out = String::new();
    for line in r.body.lines() {
        match line.strip_prefix("spin-client-addr: ") {
            Some(addr) => assert!(addr.starts_with("127.0.0.1:"), "{line}"),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn expected(path: &str, host: &str, lines: &[(&str, &str)]) -> String {
    let mut out = format!("Method::Get {path}\n");
    let mut lines = lines.to_vec();
    lines.push(("spin-base-path", "/"));
    let url = format!("http://{host}{path}");
    lines.push(("spin-full-url", &url));
    lines.sort();
    for (name, value) in lines {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out
}

async fn serves_every_route_as_spin_does(target: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(tmp.path(), &http_rust_wasm(target));
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;
    let host = format!("127.0.0.1:{}", server.port);
    let route = |matched: &'static str, component: &'static str| {
        [
            ("spin-matched-route", matched),
            ("spin-raw-component-route", matched),
            ("spin-component-route", component),
        ]
    };

    let mut want = route("/hello", "/hello").to_vec();
    want.push(("spin-path-info", ""));
    assert_eq!(
        seen(&server, "/hello").await,
        expected("/hello", &host, &want)
    );

    // Spin's own `test_http_routing` cases, plus the named-segment header.
    for (path, info) in [
        ("/users/42", ""),
        ("/users/42/", "/"),
        ("/users/42/hello", "/hello"),
        ("/users/42/hello/", "/hello/"),
    ] {
        let mut want = route("/users/:userid/...", "/users/:userid").to_vec();
        want.extend([("spin-path-info", info), ("spin-path-match-userid", "42")]);
        assert_eq!(seen(&server, path).await, expected(path, &host, &want));
    }

    // `_` in a segment name is `-` in its header, as in Spin.
    let path = "/org/acme/repo/wx";
    let raw = "/org/:org_name/repo/:repo";
    let mut want = route(raw, raw).to_vec();
    want.extend([
        ("spin-path-info", ""),
        ("spin-path-match-org-name", "acme"),
        ("spin-path-match-repo", "wx"),
    ]);
    assert_eq!(seen(&server, path).await, expected(path, &host, &want));

    // The catch-all: `spin-path-info` keeps the trailing slash; the
    // component route of `/...` is empty.
    for (path, info) in [
        ("/a/b/", "/a/b/"),
        ("/", "/"),
        ("/.well-known/spin", "/.well-known/spin"),
    ] {
        let mut want = route("/...", "").to_vec();
        want.push(("spin-path-info", info));
        assert_eq!(seen(&server, path).await, expected(path, &host, &want));
    }

    // Variables, with Spin's error values and messages.
    for (name, answer) in [
        ("greeting", "value: hello, world"),
        (
            "4invalidname",
            r#"invalid-name: "4invalidname": must start with a lowercase ASCII letter"#,
        ),
        (
            "a__b",
            r#"invalid-name: "a__b": must not contain multiple consecutive underscores"#,
        ),
        ("nope", r#"undefined: no variable for "app"."nope""#),
    ] {
        let r = server.get(&format!("/vars/{name}")).await;
        assert_eq!((r.status, r.body.as_str()), (200, answer), "{name}");
    }

    // The reserved prefix never reaches the app's catch-all.
    let r = server.get("/.well-known/spin/health").await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = server.get("/.well-known/spin/info").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap(),
        serde_json::json!({"name": "http-rust", "version": "1.2.3"})
    );
    for path in [
        "/.well-known/spin/other",
        "/.well-known/spin/",
        "/.well-known/spin/health/x",
    ] {
        let r = server.get(path).await;
        assert_eq!((r.status, r.body.as_str()), (404, ""), "{path}");
    }

    // Served locally, not by a cloud primitive.
    assert_eq!(
        server.get("/hello").await.headers["x-wxrun-served-by"],
        "local"
    );
    let r = server.get("/.well-known/wxrun/info").await;
    let info: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(info["primitive"], "local");

    let converted = log_events(&server.logs(), "converted core module to a component").len();
    assert_eq!(
        converted,
        usize::from(target == "wasip1"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn core_module_from_the_http_rust_template_serves_every_route() {
    serves_every_route_as_spin_does("wasip1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wasip2_build_of_the_same_app_serves_every_route() {
    serves_every_route_as_spin_does("wasip2").await;
}

#[test]
fn check_reports_a_core_module_as_a_wasi_02_component() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = manifest(tmp.path(), &http_rust_wasm("wasip1"));
    let out = wxrun()
        .args(["check", "--json", "--cache-dir"])
        .arg(tmp.path().join("cache"))
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["app"], "http-rust");
    let app = &report["components"][0];
    assert_eq!(
        (&app["id"], &app["generation"]),
        (&"app".into(), &"wasi-0.2".into())
    );
    let imports: Vec<&str> = app["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["import"].as_str().unwrap())
        .collect();
    assert!(
        !imports.iter().any(|i| i.contains("variables")),
        "{imports:?}"
    );
}

#[test]
fn a_module_spin_cannot_adapt_is_refused_naming_its_component() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = tmp.path().join("cmd.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str(r#"(module (func (export "_start")))"#).unwrap(),
    )
    .unwrap();
    let manifest = write_manifest(
        tmp.path(),
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"wagi\"\n[component.wagi]\nsource = \"cmd.wasm\"\n",
    );
    let out = wxrun().arg("check").arg(&manifest).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"component "wagi": cannot convert core module"#)
            && err.contains("WASI command"),
        "{err}"
    );
}
