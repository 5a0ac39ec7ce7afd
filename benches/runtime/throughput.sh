#!/usr/bin/env bash
# Requests/s and p50/p99 latency under hey (10 s, 16 connections), release builds, loopback:
#   1. wxrun serving examples/hello (Python, WASI 0.2), for scale;
#   2. wxrun vs `wasmtime serve` (wasmtime-cli 48.0.8) on the same plain components both
#      can run: probe-p2 (WASI 0.2) and probe-p3 (WASI 0.3), each with a fresh instance per
#      request (Spin's behaviour, wxrun's default);
#   3. the same for probe-p3 with instances reused, 128 requests each, 16 at once:
#      `wasmtime serve`'s default for WASI 0.3, `--instance-reuse 128` for wxrun.
# Prints each pair side by side with the ratios wxrun/wasmtime, and two more lines: `wasmtime
# serve` with the pool settings wxrun picks (memory reset through PAGEMAP_SCAN), and the same
# doing the work Spin's contract adds to every request (see `spin_work` below). Then the CPU
# per request at a fixed rate (`cpu_per_request`), the steadier comparison here, of wxrun, of
# `wasmtime serve` and of the latter with wxrun's pool doing Spin's work.
source "$(dirname "$0")/common.sh"
ensure_wasmtime
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
components="$repo/runtime-image/wxrun/tests/components"

start_wxrun() { # MANIFEST PORT [ARGS...]
  local manifest="$1" port="$2"; shift 2
  "$WXRUN" serve --from "$manifest" --listen "127.0.0.1:$port" --cache-dir "$work/cache" \
    --max-instances 400 "$@" 2>/dev/null &
  pids+=($!)
  wait_200 "http://127.0.0.1:$port/.well-known/spin/health" 600
}
start_wasmtime() { # WASM PORT [ARGS...]
  local wasm="$1" port="$2"; shift 2
  "$WASMTIME" serve -W component-model-async=y -S p3=y,cli=y --addr "127.0.0.1:$port" "$@" \
    "$wasm" 2>/dev/null &
  pids+=($!)
  wait_200 "http://127.0.0.1:$port/ok" 600
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pids=(); }
manifest_for() { # NAME WASM -> a one-component manifest routing /...
  printf 'spin_manifest_version = 2\n[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n[component.c]\nsource = "%s"\n' \
    "$2" > "$work/$1.toml"
  echo "$work/$1.toml"
}
line() { printf '%-44s %6s req/s  p50 %6s ms  p99 %6s ms  non-2xx %s\n' "$@"; }

p="$(free_port)"; start_wxrun "$repo/examples/hello/spin.toml" "$p"
read -r rps p50 p99 bad < <(hey_stats "http://127.0.0.1:$p/hello/bench")
line "wxrun examples/hello (python, wasi 0.2)" "$rps" "$p50" "$p99" "$bad"
stop_all

# The pool settings wxrun uses where the kernel has PAGEMAP_SCAN (runtime-image/wxrun/src/
# engine.rs): the third line shows how much of the difference they account for.
tuned="-O pooling-allocator=y,pooling-memory-keep-resident=$((16 << 20)),pooling-table-keep-resident=$((1 << 20)),pooling-pagemap-scan=y"

# What Spin's contract adds to every request, which wxrun does and `wasmtime serve` does not:
# epoch interruption compiled into the guest (wxrun's request timeout, as Spin's), and the
# seven `spin-*` request headers (spin-full-url, spin-path-info, ...) that the guest's
# request carries and the probe reads. Here `wasmtime serve` is given a timeout and `hey`
# sends the same seven headers, with values like those wxrun gives a request to /bench.
spin_work=(-W timeout=30s)
spin_headers=(-H "spin-full-url: http://127.0.0.1/bench" -H "spin-path-info: /bench"
  -H "spin-matched-route: /..." -H "spin-raw-component-route: /..."
  -H "spin-component-route: " -H "spin-base-path: /" -H "spin-client-addr: 127.0.0.1:40000")

ratio() { # LABEL "rps p50 p99 bad" (wxrun) "rps p50 p99 bad" (peer)
  local a b
  read -r -a a <<<"$2"; read -r -a b <<<"$3"
  python3 -c "print(f'ratio wxrun/$1: req/s {${a[0]}/${b[0]}:.2f}  p50 {${a[1]}/${b[1]}:.2f}  p99 {${a[2]}/${b[2]}:.2f}')"
}

# compare LABEL WASM WXRUN_ARGS WASMTIME_ARGS: one server at a time, so neither slows the other.
compare() {
  local label="$1" wasm="$2" w_args=($3) t_args=($4) p w t u s wc tc sc
  p="$(free_port)"; start_wxrun "$(manifest_for "$label" "$wasm")" "$p" "${w_args[@]}"
  w="$(hey_stats "http://127.0.0.1:$p/bench")"
  wc="$(cpu_per_request "${pids[-1]}" "http://127.0.0.1:$p/bench")"; stop_all
  p="$(free_port)"; start_wasmtime "$wasm" "$p" "${t_args[@]}"
  t="$(hey_stats "http://127.0.0.1:$p/bench")"
  tc="$(cpu_per_request "${pids[-1]}" "http://127.0.0.1:$p/bench")"; stop_all
  p="$(free_port)"; start_wasmtime "$wasm" "$p" "${t_args[@]}" $tuned
  u="$(hey_stats "http://127.0.0.1:$p/bench")"; stop_all
  p="$(free_port)"; start_wasmtime "$wasm" "$p" "${t_args[@]}" $tuned "${spin_work[@]}"
  s="$(hey_stats "http://127.0.0.1:$p/bench" "${spin_headers[@]}")"
  sc="$(cpu_per_request "${pids[-1]}" "http://127.0.0.1:$p/bench" "${spin_headers[@]}")"; stop_all
  echo
  line "wxrun          $label" $w
  line "wasmtime serve $label" $t
  line "  same, with wxrun's pool settings" $u
  line "  same, doing Spin's per-request work" $s
  ratio "wasmtime" "$w" "$t"
  ratio "wasmtime with the same pool settings" "$w" "$u"
  ratio "wasmtime with the same pool settings and work" "$w" "$s"
  printf 'server CPU per request at 3,200 req/s: wxrun %s us, wasmtime serve %s us, the same pool doing Spin'"'"'s work %s us' "$wc" "$tc" "$sc"
  python3 -c "print(f', ratios {$wc/$tc:.2f} and {$wc/$sc:.2f}')" 2>/dev/null || echo
}
compare "probe-p2 (wasi 0.2, fresh)" "$components/probe-p2/probe-p2.wasm" "" ""
compare "probe-p3 (wasi 0.3, fresh)" "$components/probe-p3/probe-p3.wasm" "" "--max-instance-reuse-count 1"
compare "probe-p3 (wasi 0.3, reused 128x16)" "$components/probe-p3/probe-p3.wasm" \
  "--instance-reuse 128 --instance-concurrency 16" ""
