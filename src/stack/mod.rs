//! The stack file: typed model, loading with file:line:col diagnostics, and pure validation.

pub mod diag;
pub mod kubernetes;
pub mod kubernetes_validate;
pub mod load;
pub mod model;
pub mod validate;

pub use diag::{StackDiagnostic, StackErrors};
pub use load::{load, parse};
pub use model::*;
