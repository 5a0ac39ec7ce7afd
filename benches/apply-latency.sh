#!/usr/bin/env bash
# Benchmark (not a test): apply a stack against the emulator behind a proxy that adds a fixed
# latency to every API call, and compare the wall time with the dependency graph's critical
# path (from `plan --json`) × latency. Prints the ratio and the number of API calls.
# Usage: benches/apply-latency.sh [STACK] [LATENCY_MS]   (defaults: stacks/demo.yaml 100)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack="${1:-$root/stacks/demo.yaml}"
latency_ms="${2:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}"
"$root/scripts/setup-venv.sh"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" --bin wxinfra
wx="$CARGO_TARGET_DIR/release/wxinfra"
py="$root/.venv/bin/python"

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port); proxy_port=$(free_port)
work=$(mktemp -d)
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ECS_SERVICE_RUNNING=1 \
  "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto=$!
"$py" "$root/benches/latency_proxy.py" "$proxy_port" "$moto_port" "$latency_ms" &
proxy=$!
trap 'kill $moto $proxy 2>/dev/null; rm -rf "$work"' EXIT
for p in "$moto_port" "$proxy_port"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export WXINFRA_STATE="$work/state.json" NO_COLOR=1

"$wx" plan -f "$stack" --json >"$work/plan.json" 2>"$work/plan.err"
plan_calls=$(grep -o 'AWS API calls: [0-9]*' "$work/plan.err" | grep -o '[0-9]*$' || echo '?')
cp_len=$("$py" - "$work/plan.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
deps = {r["address"]: [d for d in r["depends_on"]] for r in plan["resources"] if r["action"] != "delete"}
memo = {}
def depth(a):
    if a not in memo:
        memo[a] = 1 + max((depth(d) for d in deps.get(a, []) if d in deps), default=0)
    return memo[a]
print(max((depth(a) for a in deps), default=0))
PY
)
n_res=$("$py" -c "import json,sys; print(len(json.load(open('$work/plan.json'))['resources']))")
start=$(date +%s.%N)
"$wx" apply -f "$stack" --auto-approve >"$work/apply.out" 2>"$work/apply.err" || { cat "$work/apply.err"; exit 1; }
end=$(date +%s.%N)
apply_calls=$(grep -o 'AWS API calls: [0-9]*' "$work/apply.err" | tail -1 | grep -o '[0-9]*$' || echo '?')
"$wx" destroy -f "$stack" --auto-approve >/dev/null 2>&1
"$py" - <<PY
wall = $end - $start
cp = $cp_len
lat = $latency_ms / 1000
print(f"stack: $stack  resources: $n_res  latency per call: {lat*1000:.0f} ms")
print(f"critical path: {cp} resources   apply wall time: {wall:.2f} s")
print(f"wall / (critical path x latency) = {wall / (cp * lat):.2f}")
print(f"API calls: plan {'$plan_calls'}, apply {'$apply_calls'} (apply includes its own refresh)")
PY
