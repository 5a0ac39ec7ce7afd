#!/usr/bin/env bash
# Builds the static (musl) wxrun that runs unchanged on EC2, Fargate
# (distroless image), Lambda (provided.al2023) and Kubernetes, and prints
# its sha256 (the value /.well-known/wxrun/info reports as binary_sha256).
# Needs: rustup target x86_64-unknown-linux-musl, musl-tools (musl-gcc).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
rustup target list --installed | grep -qx x86_64-unknown-linux-musl \
  || rustup target add x86_64-unknown-linux-musl
command -v musl-gcc >/dev/null 2>&1 || apt-get install -y musl-tools \
  || { apt-get update && apt-get install -y musl-tools; } \
  || { echo "error: musl-tools (musl-gcc) could not be installed" >&2; exit 1; }
# Its own target dir (not the caller's CARGO_TARGET_DIR): a release musl build shares
# nothing with debug builds, and tests find the binary here (WXRUN_STATIC_TARGET_DIR).
export CARGO_TARGET_DIR="${WXRUN_STATIC_TARGET_DIR:-$HOME/.cache/wxinfra/target-wxrun}"
cargo build --release -p wxrun --target x86_64-unknown-linux-musl
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/release/wxrun"
if file "$bin" | grep -q "dynamically linked"; then
  echo "error: $bin is dynamically linked" >&2
  exit 1
fi
# A static binary has no GLIBC_ symbol versions at all.
if objdump -T "$bin" 2>/dev/null | grep -q GLIBC_; then
  echo "error: $bin needs glibc" >&2
  exit 1
fi
# Where stacks look for it by default (`runtime.binary`: runtime-image/dist/wxrun-{arch}).
install -D -m 0755 "$bin" "$repo/runtime-image/dist/wxrun-x86_64"
sha256sum "$bin"
