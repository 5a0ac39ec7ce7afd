//! wxrun integration tests: real components served by the real binary.
#![allow(clippy::print_stderr)] // tests report load figures on stderr

#[path = "../support/mod.rs"]
mod support;

mod check;
mod lambda;
mod limits;
mod releases;
mod serve;
