#!/usr/bin/env bash
# Builds every WebAssembly component the wxrun tests serve. Idempotent and
# fast when nothing changed. Needs: python3 (+venv, pip reaching PyPI) for
# examples/hello, and rustup's wasm32-wasip1 and wasm32-wasip2 targets
# (installed here if missing) for the Rust test components.
#   examples/hello/app.wasm                          WASI 0.2 (Python, spin-sdk 3.4.1)
#   tests/components/probe-p3/probe-p3.wasm          WASI 0.3 (Rust, wasip3 0.9)
#   tests/components/probe-p2/probe-p2.wasm          WASI 0.2 (Rust, wasip2 1.0: plain wasi:http,
#                                                    the benchmarks' peer for `wasmtime serve`)
#   tests/components/http-rust/http-rust-wasip1.wasm core module (Rust spin-sdk 5.2,
#                                                    Spin's http-rust template)
#   tests/components/http-rust/http-rust-wasip2.wasm the same source, WASI 0.2
#   tests/components/spin-hosts/spin-hosts.wasm      WASI 0.2 (Rust, spin-sdk 5.2: Spin host interfaces)
#   tests/components/spin4-hosts/spin4-hosts.wasm    WASI 0.3 (Rust, spin-sdk 7: Spin 4's async ones)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

"$repo/examples/hello/build.sh"

for t in wasm32-wasip1 wasm32-wasip2; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
    rustup target add "$t"
  fi
done
target="${WXRUN_COMPONENTS_TARGET:-${HOME}/.cache/wxinfra/target-components}"

# build NAME TARGET OUT: builds tests/components/NAME for TARGET and copies
# the .wasm to OUT when it changed.
build() {
  local name="$1" triple="$2" out="$3"
  local dir="$here/components/$name"
  CARGO_TARGET_DIR="$target" cargo build --quiet --release --locked \
    --manifest-path "$dir/Cargo.toml" --target "$triple"
  local built="$target/$triple/release/${name//-/_}.wasm"
  if ! cmp -s "$built" "$out" 2>/dev/null; then
    cp "$built" "$out.tmp" && mv "$out.tmp" "$out"
  fi
}

build probe-p3 wasm32-wasip2 "$here/components/probe-p3/probe-p3.wasm"
build probe-p2 wasm32-wasip2 "$here/components/probe-p2/probe-p2.wasm"
build http-rust wasm32-wasip1 "$here/components/http-rust/http-rust-wasip1.wasm"
build http-rust wasm32-wasip2 "$here/components/http-rust/http-rust-wasip2.wasm"
build spin-hosts wasm32-wasip2 "$here/components/spin-hosts/spin-hosts.wasm"
build spin4-hosts wasm32-wasip2 "$here/components/spin4-hosts/spin4-hosts.wasm"
echo "components built"
