//! wxinfra: infrastructure as code for WebAssembly (Spin) apps on AWS and Kubernetes.
//!
//! Data flows one way: [`stack`] → [`synth`] → [`graph`] → [`plan`] → [`engine`] (+ [`state`]);
//! [`aws`] implements the [`provider`] interface (with [`oci`] for the runtime image), [`k8s`]
//! renders manifests, [`cli`] prints.

pub mod artifacts;
pub mod aws;
pub mod cli;
pub mod engine;
pub mod error_text;
pub mod graph;
pub mod k8s;
pub mod oci;
pub mod plan;
pub mod provider;
pub mod stack;
pub mod state;
pub mod synth;
pub mod wxrun;
