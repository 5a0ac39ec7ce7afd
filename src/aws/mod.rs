//! The AWS provider: one file per resource kind, each implementing [`crate::provider::Resource`],
//! plus shared helpers for clients, errors, tags and waiting — never copied into each kind.

pub mod context;
pub mod errors;
pub mod sweep;
pub mod tags;
pub mod vpc;
pub mod wait;

pub use context::AwsContext;

use std::sync::Arc;

use crate::provider::Registry;

/// Every AWS resource kind wxinfra manages.
pub fn provider(ctx: Arc<AwsContext>) -> Registry {
    Registry::default().with(vpc::Vpc(ctx.clone()))
}
