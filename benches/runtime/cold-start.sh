#!/usr/bin/env bash
# Cold start of wxrun serving examples/hello: process start -> first 200,
# without the AOT cache (compiles CPython's component) and with it (loads
# the precompiled .cwasm). Prints milliseconds and the ratio.
source "$(dirname "$0")/common.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
manifest="$repo/examples/hello/spin.toml"

measure() { # measure CACHE_ARGS... -> ms to first 200
  local port; port="$(free_port)"
  local t0; t0="$(now_ms)"
  "$WXRUN" serve --from "$manifest" --listen "127.0.0.1:$port" "$@" 2>/dev/null &
  local pid=$!
  wait_200 "http://127.0.0.1:$port/hello/" 600
  local t1; t1="$(now_ms)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $((t1 - t0))
}

no_cache="$(measure)"
measure --cache-dir "$work/cache" >/dev/null   # fills the cache
with_cache="$(measure --cache-dir "$work/cache")"
echo "cold start, no AOT cache:   ${no_cache} ms"
echo "cold start, with AOT cache: ${with_cache} ms"
python3 -c "print(f'speedup: {$no_cache/$with_cache:.1f}x')"
