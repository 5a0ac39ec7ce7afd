#!/usr/bin/env bash
# The project's one test command (README quick start; .ci/run calls exactly this):
# installs what the tests need (idempotent), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup-venv.sh
if [ -x runtime-image/wxrun/tests/build-components.sh ]; then
  runtime-image/wxrun/tests/build-components.sh
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
