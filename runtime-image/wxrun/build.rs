// The workspace's build script for its binaries (the lld link of the static build).
include!("../../build.rs");
