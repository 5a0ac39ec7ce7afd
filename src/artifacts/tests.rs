use super::*;

/// A stack with a small app and, when `binary` is given, a fake runtime binary.
fn stack(dir: &Path, compute: &str, binary: bool) -> LoadedStack {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/spin.toml"),
        "spin_manifest_version = 2\n[component.c]\nsource = \"c.wasm\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("app/c.wasm"), "\0asm").unwrap();
    if binary {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/wxrun-arm64"), "\x7fELF arm").unwrap();
        std::fs::write(dir.join("bin/wxrun-x86_64"), "\x7fELF x86").unwrap();
    }
    let yaml = format!(
        "version: 1\nname: t\napp:\n  manifest: app/spin.toml\nruntime:\n  binary: bin/wxrun-{{arch}}\ncompute:\n{compute}"
    );
    std::fs::write(dir.join("stack.yaml"), yaml).unwrap();
    crate::stack::load(&dir.join("stack.yaml")).unwrap()
}

const LAMBDA_AND_EC2: &str =
    "  lambda:\n    arch: arm64\n  ec2:\n    arch: x86_64\n    instance_type: t3.small\n";

#[test]
fn deploy_writes_content_addressed_artifacts() {
    let d = tempfile::tempdir().unwrap();
    let s = stack(d.path(), LAMBDA_AND_EC2, true);
    let out = d.path().join("out");
    let a = prepare(&s, None, &out, Purpose::Deploy).unwrap();
    assert_eq!(a.release_id, a.bundle.sha256);
    assert_eq!(a.bundle.key, format!("releases/{}.tar", a.release_id));
    assert_eq!(
        sha256_hex(&std::fs::read(&a.bundle.path).unwrap()),
        a.release_id
    );
    assert_eq!(
        a.runtime.keys().copied().collect::<Vec<_>>(),
        ["arm64", "x86_64"]
    );
    let arm = &a.runtime["arm64"];
    assert_eq!(arm.sha256, sha256_hex(b"\x7fELF arm"));
    assert_eq!(arm.key, format!("runtime/wxrun-arm64-{}", arm.sha256));
    let zip = a.lambda_zip.as_ref().unwrap();
    assert_eq!(sha256_hex(&std::fs::read(&zip.path).unwrap()), zip.sha256);
    assert!(zip.key.starts_with("lambda/wxrun-arm64-"));
    // Same inputs, same outputs.
    let again = prepare(&s, None, &out, Purpose::Deploy).unwrap();
    assert_eq!(again.bundle, a.bundle);
    assert_eq!(again.lambda_zip, a.lambda_zip);
}

#[test]
fn a_binary_zipped_once_is_not_zipped_again_while_its_zip_is_there() {
    let d = tempfile::tempdir().unwrap();
    let s = stack(d.path(), LAMBDA_AND_EC2, true);
    let out = d.path().join("out");
    let first = prepare(&s, None, &out, Purpose::Deploy).unwrap();
    let zip = first.lambda_zip.unwrap();
    // Later runs take the zip the deploy noted for this binary: a stand-in noted in its
    // place is what they report, so nothing was compressed again.
    let index = out.join(format!(
        "t/lambda-arm64-of-{}",
        first.runtime["arm64"].sha256
    ));
    assert_eq!(std::fs::read_to_string(&index).unwrap(), zip.sha256);
    std::fs::write(out.join("t/lambda-arm64-cafe.zip"), "stand-in").unwrap();
    std::fs::write(&index, "cafe").unwrap();
    for purpose in [Purpose::Validate, Purpose::Deploy] {
        let again = prepare(&s, None, &out, purpose)
            .unwrap()
            .lambda_zip
            .unwrap();
        assert_eq!(
            (again.sha256.as_str(), again.key.as_str()),
            ("cafe", "lambda/wxrun-arm64-cafe.zip")
        );
    }
    // Without the zip the note is not trusted: the zip is built (and noted) again.
    std::fs::remove_file(out.join("t/lambda-arm64-cafe.zip")).unwrap();
    let rebuilt = prepare(&s, None, &out, Purpose::Deploy)
        .unwrap()
        .lambda_zip
        .unwrap();
    assert_eq!(rebuilt, zip);
    assert_eq!(std::fs::read_to_string(&index).unwrap(), zip.sha256);
}

#[test]
fn a_missing_binary_fails_deploy_with_the_fix_but_not_validate() {
    let d = tempfile::tempdir().unwrap();
    let s = stack(d.path(), LAMBDA_AND_EC2, false);
    let out = d.path().join("out");
    let e = prepare(&s, None, &out, Purpose::Deploy)
        .unwrap_err()
        .to_string();
    assert!(e.contains("build-static.sh"), "{e}");
    assert!(e.contains("runtime.binary"), "{e}");
    let a = prepare(&s, None, &out, Purpose::Validate).unwrap();
    assert_eq!(a.runtime["arm64"].sha256, UNBUILT);
    assert!(!out.exists(), "validate must write nothing");
}

#[test]
fn a_missing_component_names_its_fix_once() {
    let d = tempfile::tempdir().unwrap();
    let s = stack(d.path(), LAMBDA_AND_EC2, true);
    std::fs::remove_file(d.path().join("app/c.wasm")).unwrap();
    let e = prepare(&s, None, &d.path().join("out"), Purpose::Validate).unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(e));
    assert!(
        text.starts_with("bundling the app: component `c`: "),
        "{text}"
    );
    assert_eq!(
        text.matches("build the component first").count(),
        1,
        "{text}"
    );
}

#[test]
fn release_history_keeps_a_bounded_window() {
    use crate::state::{ResourceState, Status};
    let mut state = State::new("t");
    let mk = |id: &str, retained: &[&str]| ResourceState {
        kind: "aws.release".into(),
        status: Status::Created,
        id: Some("s3://b/releases/current".into()),
        props: serde_json::json!({"release_id": id, "retained": retained}),
        outputs: Default::default(),
        depends_on: Default::default(),
        token: None,
        ignore_changes: Default::default(),
    };
    state.resources.insert(RELEASE.into(), mk("c", &["b", "a"]));
    // A new release: the current one and one more are kept (KEEP_RELEASES = 3 in all).
    assert_eq!(retained(&state, "d"), ["c", "b"]);
    // Re-planning the same release changes nothing.
    assert_eq!(retained(&state, "c"), ["b", "a"]);
    assert!(retained(&State::new("t"), "d").is_empty());
}

#[test]
fn prune_keeps_what_the_bucket_keeps_and_removes_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let s = stack(d.path(), LAMBDA_AND_EC2, true);
    let out = d.path().join("out");
    let old = prepare(&s, None, &out, Purpose::Deploy).unwrap();
    let stack_dir = out.join("t");
    let layer = |sha: &str| stack_dir.join(format!("image-layer-x86_64-{sha}-0123-gzip6.tar.gz"));
    std::fs::write(layer(&old.runtime["x86_64"].sha256), "old layer").unwrap();
    std::fs::write(stack_dir.join("notes.txt"), "not ours").unwrap();

    // A new app release and a new binary on both architectures.
    std::fs::write(d.path().join("app/c.wasm"), "\0asm\x01").unwrap();
    std::fs::write(d.path().join("bin/wxrun-arm64"), "\x7fELF arm 2").unwrap();
    std::fs::write(d.path().join("bin/wxrun-x86_64"), "\x7fELF x86 2").unwrap();
    let mut new = prepare(&s, None, &out, Purpose::Deploy).unwrap();
    std::fs::write(layer(&new.runtime["x86_64"].sha256), "new layer").unwrap();
    assert_ne!(new.release_id, old.release_id);

    // The earlier release is still in the bucket's window: its bundle stays.
    new.retained = vec![old.release_id.clone()];
    let pruned = prune(&stack_dir, &new);
    let old_zip = old.lambda_zip.as_ref().unwrap().path.clone();
    let old_index = stack_dir.join(format!("lambda-arm64-of-{}", old.runtime["arm64"].sha256));
    assert_eq!(pruned.files, 3, "the old layer, zip and zip note");
    for gone in [&layer(&old.runtime["x86_64"].sha256), &old_zip, &old_index] {
        assert!(!gone.exists(), "{} should be removed", gone.display());
    }
    let new_index = stack_dir.join(format!("lambda-arm64-of-{}", new.runtime["arm64"].sha256));
    for kept in [
        &old.bundle.path,
        &new.bundle.path,
        &new.lambda_zip.as_ref().unwrap().path,
        &new_index,
        &layer(&new.runtime["x86_64"].sha256),
        &stack_dir.join("notes.txt"),
    ] {
        assert!(kept.exists(), "{} should stay", kept.display());
    }

    // Out of the window, the earlier bundle goes too; a second prune finds nothing else.
    new.retained.clear();
    assert_eq!(prune(&stack_dir, &new).files, 1);
    assert!(!old.bundle.path.exists());
    assert_eq!(prune(&stack_dir, &new), Pruned::default());
}
