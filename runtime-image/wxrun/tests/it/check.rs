//! `wxrun check`: a stable JSON report of unsupported imports, and a
//! non-zero exit for a bad manifest.

use crate::support::*;

#[test]
fn check_lists_unsupported_imports_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(
        tmp.path(),
        &format!(
            "spin_manifest_version = 2\n[application]\nname = \"c\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"hello\"\n[[trigger.http]]\nroute = \"/p3\"\ncomponent = \"probe\"\n[[trigger.http]]\nroute = \"/hosts/...\"\ncomponent = \"hosts\"\n[component.hello]\nsource = \"{}\"\n[component.probe]\nsource = \"{}\"\n[component.hosts]\nsource = \"{}\"\n",
            hello_wasm().display(),
            probe_p3_wasm().display(),
            spin_hosts_wasm().display()
        ),
    );
    let out = wxrun()
        .args(["check", "--json", "--cache-dir"])
        .arg(shared_cache())
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["app"], "c");
    let components = report["components"].as_array().unwrap();
    assert_eq!(components[0]["id"], "hello");
    assert_eq!(components[0]["generation"], "wasi-0.2");
    let imports: Vec<&str> = components[0]["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["import"].as_str().unwrap())
        .collect();
    // Every Spin interface wxrun implements (key-value, SQLite, Redis,
    // MQTT, PostgreSQL, MySQL, LLM and their types) is linked, not reported.
    for provided in wxrun::hosts::INTERFACES {
        assert!(!imports.contains(&provided), "{provided}: {imports:?}");
    }
    assert!(
        !imports.iter().any(|i| i.starts_with("wasi:io/")),
        "{imports:?}"
    );
    assert!(
        !imports.contains(&"fermyon:spin/variables@2.0.0"),
        "{imports:?}"
    );
    let probe = components.iter().find(|c| c["id"] == "probe").unwrap();
    assert_eq!(probe["generation"], "wasi-0.3");
    assert_eq!(probe["unsupported"], serde_json::json!([]));
    // What is not implemented is listed with its functions.
    let hosts = components.iter().find(|c| c["id"] == "hosts").unwrap();
    assert_eq!(
        hosts["unsupported"],
        serde_json::json!([{"import": "wxrun:test/absent@1.0.0", "functions": ["ping"]}])
    );
}

#[test]
fn check_fails_on_a_bad_manifest_with_the_position() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write_manifest(tmp.path(), "spin_manifest_version = 2\n[[trigger.http]\n");
    let out = wxrun().arg("check").arg(&manifest).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid manifest") && err.contains("line 2"),
        "{err}"
    );
}
