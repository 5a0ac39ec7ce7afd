//! wxrun integration tests: real components served by the real binary.

#[path = "../support/mod.rs"]
mod support;

mod check;
mod limits;
mod releases;
mod serve;
