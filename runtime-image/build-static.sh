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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target-wxrun}"
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
sha256sum "$bin"
