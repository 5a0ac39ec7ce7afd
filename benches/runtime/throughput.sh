#!/usr/bin/env bash
# Requests/s and p50/p99 latency under hey (10 s, 16 connections) for:
#   1. wxrun serving examples/hello (Python, WASI 0.2),
#   2. wxrun and `wasmtime serve` (wasmtime-cli 48.0.8) on the same plain
#      wasi:http component (tests/components/probe-p3, WASI 0.3),
# printed side by side with ratios. wasmtime-cli is installed from crates.io
# into ~/.cache/wxinfra/wasmtime-cli on first use.
source "$(dirname "$0")/common.sh"
wt_root="$HOME/.cache/wxinfra/wasmtime-cli"
WASMTIME="$wt_root/bin/wasmtime"
if [ ! -x "$WASMTIME" ]; then
  cargo install --locked --root "$wt_root" wasmtime-cli --version 48.0.8 \
    --no-default-features --features "run,serve,cranelift,component-model,component-model-async,pooling-allocator,parallel-compilation,cache"
fi
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
probe="$repo/runtime-image/wxrun/tests/components/probe-p3/probe-p3.wasm"
cat > "$work/spin.toml" <<TOML
spin_manifest_version = 2
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "$probe"
TOML

start_wxrun() { # MANIFEST PORT
  "$WXRUN" serve --from "$1" --listen "127.0.0.1:$2" --cache-dir "$work/cache" \
    --max-instances 400 2>/dev/null &
  pids+=($!)
  wait_200 "http://127.0.0.1:$2/.well-known/spin/health" 600
}

p1="$(free_port)"; start_wxrun "$repo/examples/hello/spin.toml" "$p1"
read -r h_rps h_p50 h_p99 h_bad < <(hey_stats "http://127.0.0.1:$p1/hello/bench")
echo "wxrun   examples/hello (python, wasi 0.2): ${h_rps} req/s  p50 ${h_p50} ms  p99 ${h_p99} ms  non-2xx ${h_bad}"

p2="$(free_port)"; start_wxrun "$work/spin.toml" "$p2"
read -r w_rps w_p50 w_p99 w_bad < <(hey_stats "http://127.0.0.1:$p2/bench")

p3="$(free_port)"
"$WASMTIME" serve -W component-model-async=y -S p3=y,cli=y --addr "127.0.0.1:$p3" "$probe" 2>/dev/null &
pids+=($!)
wait_200 "http://127.0.0.1:$p3/ok" 600
read -r t_rps t_p50 t_p99 t_bad < <(hey_stats "http://127.0.0.1:$p3/bench")

echo "wxrun          probe-p3 (rust, wasi 0.3): ${w_rps} req/s  p50 ${w_p50} ms  p99 ${w_p99} ms  non-2xx ${w_bad}"
echo "wasmtime serve probe-p3 (rust, wasi 0.3): ${t_rps} req/s  p50 ${t_p50} ms  p99 ${t_p99} ms  non-2xx ${t_bad}"
python3 -c "print(f'ratio wxrun/wasmtime: req/s {$w_rps/$t_rps:.2f}  p50 {$w_p50/$t_p50:.2f}  p99 {$w_p99/$t_p99:.2f}')"
