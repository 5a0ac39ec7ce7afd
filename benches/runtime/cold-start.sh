#!/usr/bin/env bash
# Cold start: process start -> first 200, median of RUNS (default 15) starts.
#   - wxrun serving examples/hello (CPython component, WASI 0.2) without the AOT cache
#     (compiles CPython) and with a warm one (a stat, a readlink and an mmap);
#   - wxrun with a warm cache vs `wasmtime serve --allow-precompiled` on a .cwasm made by
#     `wasmtime compile`, for the Rust components both can run (probe-p2, WASI 0.2;
#     probe-p3, WASI 0.3). `wasmtime serve` cannot run examples/hello: it imports Spin's
#     interfaces, which only wxrun provides. The two servers' starts alternate, the first
#     of each pair changing every round, so that a machine whose load drifts during the
#     run (a build, another job) weighs on both alike; the slowest quarter of starts is
#     printed beside the median.
source "$(dirname "$0")/common.sh"
ensure_wasmtime
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
components="$repo/runtime-image/wxrun/tests/components"

first_200_ms() { python3 "$repo/benches/runtime/first_200.py" "$@"; } # URL CMD... -> ms
median_of() { # N CMD... -> the median of N runs of CMD's printed number
  local n="$1"; shift
  for _ in $(seq "$n"); do "$@"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
wxrun_ms() { # MANIFEST PATH [ARGS...]
  local manifest="$1" path="$2" port; shift 2; port="$(free_port)"
  first_200_ms "http://127.0.0.1:$port$path" "$WXRUN" serve --from "$manifest" \
    --listen "127.0.0.1:$port" "$@"
}
wasmtime_ms() { # CWASM PATH
  local port; port="$(free_port)"
  first_200_ms "http://127.0.0.1:$port$2" "$WASMTIME" serve --allow-precompiled \
    -W component-model-async=y -S p3=y,cli=y --addr "127.0.0.1:$port" "$1"
}
runs="${RUNS:-15}"

hello="$repo/examples/hello/spin.toml"
no_cache="$(wxrun_ms "$hello" /hello/)"
wxrun_ms "$hello" /hello/ --cache-dir "$work/cache" >/dev/null   # fills the cache
with_cache="$(median_of "$runs" wxrun_ms "$hello" /hello/ --cache-dir "$work/cache")"
echo "wxrun examples/hello, no AOT cache:   ${no_cache} ms"
echo "wxrun examples/hello, warm AOT cache: ${with_cache} ms  ($(python3 -c "print(f'{$no_cache/$with_cache:.0f}')")x faster)"

for probe in probe-p2 probe-p3; do
  wasm="$components/$probe/$probe.wasm"
  printf 'spin_manifest_version = 2\n[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n[component.c]\nsource = "%s"\n' \
    "$wasm" > "$work/$probe.toml"
  wxrun_ms "$work/$probe.toml" /ok --cache-dir "$work/cache" >/dev/null
  "$WASMTIME" compile -W component-model-async=y "$wasm" -o "$work/$probe.cwasm"
  wasmtime_ms "$work/$probe.cwasm" /ok >/dev/null
  for i in $(seq "$runs"); do
    if [ $((i % 2)) = 0 ]; then
      w="$(wxrun_ms "$work/$probe.toml" /ok --cache-dir "$work/cache")"
      t="$(wasmtime_ms "$work/$probe.cwasm" /ok)"
    else
      t="$(wasmtime_ms "$work/$probe.cwasm" /ok)"
      w="$(wxrun_ms "$work/$probe.toml" /ok --cache-dir "$work/cache")"
    fi
    echo "$w $t"
  done > "$work/$probe.starts"
  python3 - "$work/$probe.starts" "$probe" <<'PY'
import statistics, sys
wx, wt = zip(*(map(float, line.split()) for line in open(sys.argv[1])))
q3 = lambda xs: statistics.quantiles(xs, n=4)[2]
probe = sys.argv[2]
print()
print(f"wxrun {probe}, warm AOT cache:             median {statistics.median(wx):.1f} ms, slowest quarter from {q3(wx):.1f} ms")
print(f"wasmtime serve {probe}, precompiled .cwasm: median {statistics.median(wt):.1f} ms, slowest quarter from {q3(wt):.1f} ms")
print(f"ratio wxrun/wasmtime: median {statistics.median(wx) / statistics.median(wt):.2f}, slowest quarter {q3(wx) / q3(wt):.2f}")
PY
done
