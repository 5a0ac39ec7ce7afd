//! The engine: refreshes live resources, executes plans as a DAG with bounded parallelism,
//! retries what is worth retrying, and checkpoints state after every step. It never prints:
//! progress leaves through [`hooks::Hooks`].

pub mod apply;
pub mod hooks;
pub mod refresh;
pub mod retry;

pub use apply::{ApplyError, ApplyReport, Engine};
pub use hooks::{Event, Hooks, Silent};
pub use refresh::refresh;

#[cfg(test)]
mod tests;
