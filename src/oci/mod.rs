//! The runtime's container image, built without Docker: [`image`] packs the static `wxrun`
//! binary into a one-layer OCI image (deterministically: the same binary gives the same
//! digests), [`registry`] pushes it over the registry protocol, uploading only what the
//! registry lacks. ECR specifics (auth token, repository) live in `aws::oci_image`.

pub mod image;
pub mod registry;

pub use image::{Image, ImageSpec, pack};
pub use registry::{Registry, RegistryError};
