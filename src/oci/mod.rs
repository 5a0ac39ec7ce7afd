//! OCI artifacts built without Docker: [`image`] packs the static `wxrun` binary into a
//! one-layer OCI image, [`spin_app`] lays the app out as Spin's registry artifact (both
//! deterministically: the same input gives the same digests), [`layout`] writes either as an
//! OCI archive for `kind load` and reads it back, and [`registry`] pushes
//! either over the registry protocol, uploading only what the registry lacks. ECR specifics
//! (auth token, repository) live in `aws::oci_image`.

pub mod image;
pub mod layout;
pub mod registry;
pub mod spin_app;

pub use image::{Image, ImageSpec, pack};
pub use registry::{Artifact, Blob, Registry, RegistryError};
