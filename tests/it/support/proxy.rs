//! scripts/aws_proxy.py in front of an emulator: added latency (so an apply is slow enough to
//! interrupt or race) and injected faults in each service's wire format. Killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{repo, venv_bin};

pub struct AwsProxy {
    pub port: u16,
    child: Child,
}

impl AwsProxy {
    /// Adds `latency_ms` to every call to `upstream`.
    pub fn latency(upstream: u16, latency_ms: u32) -> Self {
        Self::start(upstream, &["--latency-ms", &latency_ms.to_string()])
    }

    /// `upstream` behind the proxy with `args` (its `--throttle`, `--lost`, ... options).
    pub fn start(upstream: u16, args: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv_bin("python"))
            .arg(repo().join("scripts/aws_proxy.py"))
            .args([
                "--port",
                &port.to_string(),
                "--upstream",
                &upstream.to_string(),
            ])
            .args(args)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aws_proxy.py did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The faults injected so far: {protocol: {kind: count}, "lost_first": [operation]}.
    pub fn faults(&self) -> Value {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET /__proxy/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
