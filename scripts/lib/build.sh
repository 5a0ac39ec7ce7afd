# The workspace's one build (sourced, not run): Cargo.toml's release profile for the static
# x86_64 musl target. The demo runs its wxinfra, the tests test it, and its wxrun is the
# runtime binary the images ship (runtime-image/dist/wxrun-x86_64). A debug build beside it
# would compile the AWS SDK, rustls and tokio a second time: on 2 cores, minutes each.
build_triple=x86_64-unknown-linux-musl
build_dir="${WXINFRA_BUILD_DIR:-$HOME/.cache/wxinfra/target-release}"
build_bin="$build_dir/$build_triple/release"

# workspace_cargo SUBCOMMAND [ARGS...]: `cargo SUBCOMMAND` on that build.
workspace_cargo() {
  CARGO_TARGET_DIR="$build_dir" cargo "$1" --release --target "$build_triple" --workspace --locked "${@:2}"
}
