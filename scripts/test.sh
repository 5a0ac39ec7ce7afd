#!/usr/bin/env bash
# The project's one test command (README quick start; .ci/run calls exactly this):
# installs what the tests need (idempotent), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup-venv.sh
scripts/setup-tools.sh
# shellcheck source=scripts/lib/build.sh
. scripts/lib/build.sh
# The tests run on the workspace's one build (scripts/lib/build.sh), the one the demo runs and
# the runtime image ships: the OCI and whole-stack tests pack, upload and run its static wxrun
# in a bare chroot. It and the Wasm components the wxrun tests serve build in target dirs of
# their own beside fmt and clippy: on a fresh 2-core machine each build spends minutes on one
# core in a few large crates (cranelift, aws-sdk-ec2) while the other core has room. Both are
# cached after the first run; the tests wait for them.
{ runtime-image/build-static.sh && workspace_cargo test --no-run --quiet; } &
builds=($!)
runtime-image/wxrun/tests/build-components.sh &
builds+=($!)
# On a failure the builds stop too (cargo first, then the script that runs it).
stop_builds() { for build in "${builds[@]}"; do pkill -P "$build"; kill "$build"; done 2>/dev/null || true; }
trap stop_builds EXIT

cargo fmt --all --check
# Clippy checks (front end only) in its own target dir, so it runs beside the build.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}" \
  cargo clippy --workspace --all-targets --locked -- -D warnings
for build in "${builds[@]}"; do wait "$build"; done
workspace_cargo test
