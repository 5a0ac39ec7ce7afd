#!/usr/bin/env bash
# Builds every WebAssembly component the wxrun tests serve. Idempotent and
# fast when nothing changed. Needs: python3 (+venv, pip reaching PyPI) for
# examples/hello, and rustup's wasm32-wasip2 target (installed here if
# missing) for the Rust test components.
#   examples/hello/app.wasm                    WASI 0.2 (Python, spin-sdk 3.4.1)
#   tests/components/probe-p3/probe-p3.wasm   WASI 0.3 (Rust, wasip3 0.9)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

"$repo/examples/hello/build.sh"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
target="${WXRUN_COMPONENTS_TARGET:-${HOME}/.cache/wxinfra/target-components}"
for name in probe-p3; do
  dir="$here/components/$name"
  out="$dir/$name.wasm"
  CARGO_TARGET_DIR="$target" cargo build --quiet --release --locked \
    --manifest-path "$dir/Cargo.toml" --target wasm32-wasip2
  built="$target/wasm32-wasip2/release/${name//-/_}.wasm"
  if ! cmp -s "$built" "$out" 2>/dev/null; then
    cp "$built" "$out.tmp" && mv "$out.tmp" "$out"
  fi
done
echo "components built"
