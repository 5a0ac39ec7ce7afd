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
        // Stand-in runtime binaries at the default `runtime.binary` path: hashed and uploaded,
        // never run. Stacks with Fargate pack the binary into an image and need the real one.
        for arch in ["arm64", "x86_64"] {
            self.write(
                &format!("runtime-image/dist/wxrun-{arch}"),
                &format!("\x7fELF stand-in wxrun for {arch}"),
            );
        }
        self
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
