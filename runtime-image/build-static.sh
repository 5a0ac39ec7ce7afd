#!/usr/bin/env bash
# Builds the static (musl) wxrun that runs unchanged on EC2, Fargate (an image with nothing
# else in it), Lambda (provided.al2023) and Kubernetes, puts it where stacks look for it by
# default (runtime-image/dist/wxrun-{arch}) and prints its sha256 (the value
# /.well-known/wxrun/info reports as binary_sha256).
#   runtime-image/build-static.sh          x86_64: the workspace's one build (scripts/lib/build.sh),
#                                          which also builds the static wxinfra beside it;
#                                          rustup's musl target and musl-gcc
#   runtime-image/build-static.sh arm64    aarch64 (Graviton): wxrun alone, cross-built with
#                                          cargo-zigbuild and zig from PyPI (~30 min on 2 cores
#                                          the first time)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
arch="${1:-x86_64}"
# shellcheck source=scripts/lib/build.sh
. scripts/lib/build.sh
case "$arch" in
  x86_64)
    target="$build_triple" elf="x86-64"
    command -v musl-gcc >/dev/null 2>&1 || apt-get install -y musl-tools \
      || { apt-get update && apt-get install -y musl-tools; } \
      || { echo "error: musl-tools (musl-gcc) could not be installed" >&2; exit 1; }
    build=(workspace_cargo build --bins)
    ;;
  arm64)
    export CARGO_TARGET_DIR="$build_dir"
    target=aarch64-unknown-linux-musl elf="ARM aarch64"
    zig_venv="$HOME/.cache/wxinfra/venv-zig"
    if [ ! -x "$zig_venv/bin/cargo-zigbuild" ]; then
      python3 -m venv "$zig_venv"
      "$zig_venv/bin/pip" install --quiet cargo-zigbuild==0.24.0 ziglang==0.15.2 \
        || { echo "error: could not install cargo-zigbuild and ziglang from PyPI" >&2; exit 1; }
    fi
    export PATH="$zig_venv/bin:$PATH"
    build=(cargo zigbuild --release -p wxrun --target "$target")
    ;;
  *) echo "usage: $0 [x86_64|arm64]" >&2; exit 2 ;;
esac
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
"${build[@]}"
bin="$build_dir/$target/release/wxrun"
info="$(file "$bin")"
if [[ "$info" == *"dynamically linked"* || "$info" != *"$elf"* ]]; then
  echo "error: $bin is not a static $elf executable: $info" >&2
  exit 1
fi
# A static binary has no GLIBC_ symbol versions at all.
if objdump -T "$bin" 2>/dev/null | grep -q GLIBC_; then
  echo "error: $bin needs glibc" >&2
  exit 1
fi
install -D -m 0755 "$bin" "$repo/runtime-image/dist/wxrun-$arch"
sha256sum "$bin"
