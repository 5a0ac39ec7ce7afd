//! A temp directory per test with the wxinfra command runner.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Moto;

pub struct Workspace {
    pub dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

/// What a wxinfra run did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "wxinfra failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// A workspace whose wxinfra runs talk to `moto`.
    pub fn with_moto(moto: &Moto) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            env: moto.env(),
        }
    }

    /// One more environment variable for every run.
    pub fn with_env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }

    /// A workspace whose stacks run the real static x86_64 `wxrun` (`runtime.binary:
    /// bin/wxrun-{arch}`) and push their Fargate image to `registry`.
    pub fn with_static_runtime(self, registry: &super::LocalRegistry) -> Self {
        let ws = self
            .with_app()
            .with_env("WXINFRA_OCI_REGISTRY", registry.host.clone());
        std::fs::create_dir_all(ws.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(super::static_wxrun(), ws.path().join("bin/wxrun-x86_64"))
            .unwrap();
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating directories) and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A minimal Spin app next to the stack files, for stacks that name `app/spin.toml`.
    pub fn with_app(self) -> Self {
        self.write("app/spin.toml", "spin_manifest_version = 2\n[application]\nname = \"t\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"c.wasm\"\n");
        self.write("app/c.wasm", "\0asm");
        self.with_runtime()
    }

    /// Stand-in runtime binaries at the default `runtime.binary` path: an ELF header for
    /// their architecture and nothing to run. They are hashed, uploaded and packed into
    /// images (whose digests then depend only on this test), never run.
    pub fn with_runtime(self) -> Self {
        self.runtime_stand_ins();
        self
    }

    /// [`Workspace::with_runtime`] on a borrowed workspace.
    pub fn runtime_stand_ins(&self) {
        for (arch, machine) in [("arm64", 0xb7u16), ("x86_64", 0x3e)] {
            let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
            elf.resize(18, 0);
            elf.extend_from_slice(&machine.to_le_bytes());
            elf.resize(64, 0);
            elf.extend_from_slice(format!("stand-in wxrun for {arch}").as_bytes());
            let p = self.path().join(format!("runtime-image/dist/wxrun-{arch}"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, elf).unwrap();
        }
    }

    /// `app/spin.toml` named `name` (version 1.0.0) serving the probe component (WASI 0.3;
    /// it answers `p3 <path> env=<PROBE_ENV>`) on `/...`, with `app/static/page.txt` mounted.
    pub fn probe_app(&self, name: &str, probe_env: &str) {
        let probe =
            super::repo().join("runtime-image/wxrun/tests/components/probe-p3/probe-p3.wasm");
        assert!(
            probe.exists(),
            "{} is missing: run runtime-image/wxrun/tests/build-components.sh",
            probe.display()
        );
        self.write(
            "app/spin.toml",
            &format!(
                "spin_manifest_version = 2\n[application]\nname = \"{name}\"\nversion = \"1.0.0\"\n\
                 [[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n[component.p]\n\
                 source = \"probe.wasm\"\nfiles = [\"static/*\"]\n\
                 environment = {{ PROBE_ENV = \"{probe_env}\" }}\n"
            ),
        );
        std::fs::copy(&probe, self.path().join("app/probe.wasm")).unwrap();
        self.write("app/static/page.txt", &"a page\n".repeat(50));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("WXINFRA_STATE")
            // The fixture app is not a real component; tests of the import check set WXRUN.
            .env("WXRUN", "");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }
}

/// The wxinfra binary under test: cargo's build of this crate, or `WXINFRA_BIN` (a copy taken
/// right after the build, when several checkouts share one target dir and each overwrites
/// `target/debug/wxinfra` with its own build).
fn binary() -> PathBuf {
    std::env::var_os("WXINFRA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wxinfra")))
}
