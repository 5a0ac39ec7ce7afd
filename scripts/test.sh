#!/usr/bin/env bash
# The project's one test command (README quick start; .ci/run calls exactly this):
# installs what the tests need (idempotent), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup-venv.sh
scripts/setup-tools.sh
# The static musl wxrun the OCI and whole-stack tests pack, upload and run in a bare chroot
# (cached after the first build; runtime-image/build-static.sh owns how it is built).
runtime-image/build-static.sh
if [ -x runtime-image/wxrun/tests/build-components.sh ]; then
  runtime-image/wxrun/tests/build-components.sh
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
