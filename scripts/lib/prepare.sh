# Sourced by scripts/demo.sh and benches/apply-latency.sh (from the repo root): installs and
# builds, once, what applying a stack here needs: the demo's tools, the emulator's venv, the
# workspace's one build (scripts/lib/build.sh) and the example app. The Python side (pip's
# downloads, componentize-py) runs beside the Rust build, which keeps both cores busy for
# minutes on a fresh machine; the demo's tools come first, as the build needs musl-gcc.
# shellcheck shell=bash

prepare_stack_tools() {
  scripts/setup-tools.sh demo
  { scripts/setup-venv.sh demo && { [ -f examples/hello/app.wasm ] || examples/hello/build.sh; }; } &
  local python=$!
  if ! runtime-image/build-static.sh >/dev/null; then
    pkill -P "$python" 2>/dev/null
    kill "$python" 2>/dev/null
    return 1
  fi
  wait "$python"
}
