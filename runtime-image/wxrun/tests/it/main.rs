//! wxrun integration tests: real components served by the real binary.
#![allow(clippy::print_stderr)] // tests report load figures on stderr

#[path = "../support/mod.rs"]
mod support;

mod check;
mod compile_once;
mod dynamo;
mod key_value;
mod lambda;
mod limits;
mod llm;
mod mqtt;
mod mysql;
mod oci_releases;
mod postgres;
mod redis;
mod releases;
mod serve;
mod sockets;
mod spin_rust;
mod sqlite;
mod wasi_interfaces;
