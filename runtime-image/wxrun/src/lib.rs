//! wxrun: one runtime binary serving Spin (wasi:http 0.2 and 0.3) apps on
//! EC2, Fargate, Lambda and Kubernetes. `main.rs` only calls [`cli::main`].

pub mod allowed_hosts;
pub mod aot;
pub mod app;
pub mod check;
pub mod cli;
pub mod component;
pub mod componentize;
pub mod digest;
pub mod dispatch;
pub mod engine;
pub mod hardening;
pub mod hosts;
pub mod info;
pub mod lambda;
pub mod log_queue;
pub mod manifest;
pub mod oci_source;
pub mod outbound;
pub mod probe;
pub mod release;
pub mod routing;
pub mod runtime_config;
pub mod serve;
pub mod sockets;
pub mod traps;
pub mod variables;
pub mod well_known;
