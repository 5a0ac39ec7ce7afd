# Shared helpers for the runtime benchmarks (sourced, not run).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/build.sh
. "$repo/scripts/lib/build.sh"
WXRUN="${WXRUN:-$build_bin/wxrun}"
if [ ! -x "$WXRUN" ]; then
  "$repo/runtime-image/build-static.sh" >/dev/null
fi
command -v hey >/dev/null || { echo "hey is missing: apt-get install -y hey" >&2; exit 1; }
"$repo/runtime-image/wxrun/tests/build-components.sh" >/dev/null

# ensure_wasmtime: the peer, wasmtime-cli 48.0.8 (wxrun's wasmtime), installed from
# crates.io into ~/.cache/wxinfra/wasmtime-cli on first use; sets WASMTIME.
ensure_wasmtime() {
  local root="$HOME/.cache/wxinfra/wasmtime-cli"
  WASMTIME="$root/bin/wasmtime"
  local features="run,serve,compile,cranelift,component-model,component-model-async,pooling-allocator,parallel-compilation,cache"
  if [ "$(cat "$root/.features" 2>/dev/null)" != "$features" ]; then
    cargo install --locked --force --root "$root" wasmtime-cli --version 48.0.8 \
      --no-default-features --features "$features"
    echo "$features" > "$root/.features"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_200 URL TIMEOUT_S: polls until URL answers 200.
wait_200() {
  local url="$1" deadline=$((SECONDS + $2))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; do
    [ $SECONDS -lt $deadline ] || { echo "timeout waiting for $url" >&2; return 1; }
    sleep 0.01
  done
}

now_ms() { date +%s%3N; }

# hey_stats URL [HEY_ARGS...]: prints "rps p50_ms p99_ms non2xx" for a 10 s run, 16 workers.
hey_stats() {
  local url="$1"; shift
  hey -z "${HEY_DURATION:-10s}" -c "${HEY_CONCURRENCY:-16}" "$@" "$url" > /tmp/hey.$$ 2>&1
  python3 - /tmp/hey.$$ <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = float(re.search(r"50%+ in ([\d.]+) secs", t).group(1)) * 1000
p99 = float(re.search(r"99%+ in ([\d.]+) secs", t).group(1)) * 1000
codes = dict((int(c), int(n)) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", t))
bad = sum(n for c, n in codes.items() if not 200 <= c < 300)
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {bad}")
PY
  rm -f /tmp/hey.$$
}

# cpu_per_request PID URL [HEY_ARGS...]: microseconds of PID's CPU (user + system) per request while hey
# holds a fixed 3,200 req/s (16 workers x 200) for HEY_DURATION, after 2 s of warm-up. At a
# rate both servers sustain, this is steadier than saturated req/s on a shared 2-core machine,
# where the load generator competes with the server for the same cores.
cpu_per_request() {
  local pid="$1" url="$2" before after ok
  shift 2
  hey -z 2s -c 16 -q 200 "$@" "$url" >/dev/null
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  ok=$(hey -z "${HEY_DURATION:-10s}" -c 16 -q 200 "$@" "$url" | awk '/\[200\]/ {print $2}')
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  [ "${ok:-0}" -gt 0 ] || { echo "n/a"; return; }
  python3 -c "print(f'{($after - $before) / $(getconf CLK_TCK) * 1e6 / ${ok:-0}:.0f}')"
}
