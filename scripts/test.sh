#!/usr/bin/env bash
# The project's one test command (README quick start; .ci/run calls exactly this):
# installs what the tests need (idempotent), then formatting, lints and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup-venv.sh
# Debian tools the compute tests start or call: shellcheck (EC2 user data), a local OCI
# registry and skopeo (runtime image push). Installed once; a failure stops the run.
missing=()
for tool in shellcheck:shellcheck docker-registry:docker-registry skopeo:skopeo; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y "${missing[@]}" \
    || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y "${missing[@]}"; } \
    || { echo "error: could not install ${missing[*]} (apt-get)" >&2; exit 1; }
fi
# The static musl wxrun the OCI test packs and runs in a bare chroot (cached after the first
# build; runtime-image/build-static.sh owns how it is built).
runtime-image/build-static.sh
if [ -x runtime-image/wxrun/tests/build-components.sh ]; then
  runtime-image/wxrun/tests/build-components.sh
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
