#!/usr/bin/env bash
# Benchmark (not a test): apply a stack against the emulator behind a proxy that adds a fixed
# latency to every API call, and compare the wall time with the dependency graph's critical
# path (from `plan --json`) × latency. Prints the ratio, the API calls per resource, each
# command's start-up before its first call, and a no-change plan's time against its goal
# (2 × latency × ceil(resources ÷ 10 read at once) + start-up); then all of it again with the
# emulator's AWS-side waits off, which leaves the tool's own share.
# Usage: benches/apply-latency.sh [STACK] [LATENCY_MS]   (defaults: stacks/demo.yaml 100)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack="$(realpath "${1:-$root/stacks/demo.yaml}")"
latency_ms="${2:-100}"
cd "$root"
# The demo's tools and the workspace's one build (scripts/lib/build.sh): the wxinfra the demo runs.
# shellcheck source=scripts/lib/prepare.sh
. scripts/lib/prepare.sh
prepare_stack_tools
# shellcheck source=scripts/lib/build.sh
. scripts/lib/build.sh
wx="$build_bin/wxinfra"
py="$root/.venv/bin/python"

work=$(mktemp -d)
# shellcheck source=scripts/lib/local-aws.sh
. scripts/lib/local-aws.sh
# Each port is picked once the one before it is taken: two free_port calls in a row can name
# the same port.
moto_port=$(free_port)
start_moto "$moto_port"
moto_pid=${local_pids[-1]}
# moto builds each service's backend on its first request: the first two EC2 requests take
# 0.7 s each, SSM's 0.3 s, the others 0.05-0.1 s. AWS has no such start-up, so the services
# are woken here, straight to moto, before anything is timed (in the stack's region: moto
# keeps a backend per region).
region=$(sed -n 's/^region: *\([a-z0-9-]*\).*/\1/p' "$stack" | head -1)
"$py" - "$moto_port" "${region:-us-east-1}" <<'PY'
import sys, boto3
kw = dict(endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name=sys.argv[2],
          aws_access_key_id="local", aws_secret_access_key="local")
for service, op, args in [
    ("ec2", "describe_vpcs", {}), ("ec2", "describe_vpcs", {}), ("ssm", "describe_parameters", {}),
    ("elbv2", "describe_load_balancers", {}), ("ecs", "list_clusters", {}), ("iam", "list_roles", {}),
    ("s3", "list_buckets", {}), ("efs", "describe_file_systems", {}), ("lambda", "list_functions", {}),
    ("logs", "describe_log_groups", {}), ("autoscaling", "describe_auto_scaling_groups", {}),
    ("application-autoscaling", "describe_scalable_targets", {"ServiceNamespace": "ecs"}),
    ("ecr", "describe_repositories", {}), ("dynamodb", "list_tables", {}),
    ("sts", "get_caller_identity", {}), ("route53", "list_hosted_zones", {}),
    ("acm", "list_certificates", {}), ("resourcegroupstaggingapi", "get_resources", {}),
]:
    getattr(boto3.client(service, **kw), op)(**args)
PY
start_registry "$(free_port)"
registry_pid=${local_pids[-1]}
proxy_port=$(free_port)
"$py" "$root/scripts/aws_proxy.py" --port "$proxy_port" --upstream "$moto_port" --latency-ms "$latency_ms" &
proxy_pid=$!
local_pids+=("$proxy_pid")
wait_port "$proxy_port"
use_endpoint "$proxy_port"
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
# CPU seconds process $1 has used so far; with a second argument, those of its waited-for
# children (fields 14-17 of /proc/PID/stat, counted after the command's name).
cpu_s() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" -v kids="${2:-}" '{print (kids ? $14 + $15 : $12 + $13) / hz}'; }
cpu_all() { echo "$(cpu_s $$ children) $(cpu_s "$moto_pid") $(cpu_s "$proxy_pid") $(cpu_s "$registry_pid")"; }
n_res=$("$py" -c "import json,sys; print(len(json.load(open('$work/plan.json'))['resources']))")
cpu_before=$(cpu_all)
start=$(date +%s.%N)
"$wx" apply -v -f "$stack" --auto-approve >"$work/apply.out" 2>"$work/apply.err" || { cat "$work/apply.err"; exit 1; }
end=$(date +%s.%N)
cpu_after=$(cpu_all)
apply_calls=$(grep -o 'AWS API calls: [0-9]*' "$work/apply.err" | tail -1 | grep -o '[0-9]*$' || echo '?')
# A plan with nothing to change: its refresh reads every resource, 10 at a time.
replan_start=$(date +%s.%N)
replan_rc=0
"$wx" plan -f "$stack" --detailed-exitcode >"$work/replan.out" 2>"$work/replan.err" || replan_rc=$?
replan_end=$(date +%s.%N)
[ "$replan_rc" = 0 ] || { echo "the plan after apply was not empty (exit $replan_rc):"; cat "$work/replan.out" "$work/replan.err"; exit 1; }
replan_calls=$(grep -o 'AWS API calls: [0-9]*' "$work/replan.err" | tail -1 | grep -o '[0-9]*$' || echo '?')
"$wx" destroy -f "$stack" --auto-approve >/dev/null 2>"$work/destroy.err"
destroy_calls=$(grep -o 'AWS API calls: [0-9]*' "$work/destroy.err" | tail -1 | grep -o '[0-9]*$' || echo '?')
"$py" - "$work/apply.err" "$work/plan.json" <<PY
import json, math, re, sys, urllib.request
# With -v every finished resource says: "ADDR: created (ID) after 3.2s (4 API calls in flight
# 0.5s, paused 1.5s)".
line = re.compile(r"^(\S+): \w+ (?:\(.*\) )?after ([0-9.]+)s \((\d+) API calls in flight ([0-9.]+)s, paused ([0-9.]+)s\)$", re.M)
ops = {a: dict(t=float(t), calls=int(c), api=float(f), paused=float(p))
       for a, t, c, f, p in line.findall(open(sys.argv[1]).read())}
deps = {r["address"]: r["depends_on"] for r in json.load(open(sys.argv[2]))["resources"]}
wall = $end - $start
cp = $cp_len
lat = $latency_ms / 1000
print(f"stack: $stack  resources: $n_res  latency per call: {lat*1000:.0f} ms")
print(f"critical path: {cp} resources   apply wall time: {wall:.2f} s")
if lat > 0:
    print(f"wall / (critical path x latency) = {wall / (cp * lat):.2f}")
cpu = [b - a for a, b in zip(map(float, "$cpu_before".split()), map(float, "$cpu_after".split()))]
print(f"CPU during apply ($(nproc) cores): wxinfra {cpu[0]:.2f} s; the emulator (moto, whose Python "
      f"serves one call at a time) {cpu[1]:.2f} s, the latency proxy {cpu[2]:.2f} s, the registry {cpu[3]:.2f} s")
slow = sorted(ops.items(), key=lambda kv: -kv[1]["t"])[:5]
print("slowest: " + ", ".join(f"{a} {o['t']:.1f} s" for a, o in slow))
print(f"API calls: plan {'$plan_calls'}, apply {'$apply_calls'} (apply includes its own refresh), destroy {'$destroy_calls'}")
per = lambda calls: f"{int(calls) / $n_res:.1f}" if calls.isdigit() else "?"
print(f"API calls per resource: plan {per('$plan_calls')}, apply {per('$apply_calls')}, no-change plan {per('$replan_calls')}, destroy {per('$destroy_calls')}")
# Start-up: from a command's start to its first call through the proxy.
arrivals = json.load(urllib.request.urlopen("http://127.0.0.1:$proxy_port/__proxy/arrivals"))
startup = lambda t0, t1: min((a for a in arrivals if t0 <= a <= t1), default=t1) - t0
apply_startup, replan_startup = startup($start, $end), startup($replan_start, $replan_end)
print(f"start-up before the first API call: apply {apply_startup:.2f} s, no-change plan {replan_startup:.2f} s (goal < 1 s)")
if lat > 0:
    replan = $replan_end - $replan_start
    bound = 2 * lat * math.ceil($n_res / 10) + replan_startup
    print(f"no-change plan: {replan:.2f} s for {'$replan_calls'} calls; goal 2 x latency x ceil({$n_res}/10) + start-up = {bound:.2f} s; ratio {replan / bound:.2f}")
# The path the walk actually waited on: each resource starts when its last dependency ends, so
# the chain of latest-ending dependencies sets the walk's length.
done, via = {}, {}
def end(a):
    if a not in done:
        before = [d for d in deps.get(a, []) if d in ops]
        via[a] = max(before, key=end, default=None)
        done[a] = (end(via[a]) if via[a] else 0) + ops[a]["t"]
    return done[a]
if ops:
    last = max(ops, key=end)
    chain = []
    while last:
        chain.append(last)
        last = via[last]
    chain.reverse()
    print(f"\nthe walk's longest chain ({len(chain)} resources, {end(chain[-1]):.2f} s of the {wall:.2f} s):")
    print(f"  {'resource':<44} {'time':>6} {'calls':>5} {'in flight':>9} {'paused':>6} {'local':>6}")
    tot = dict(t=0, calls=0, api=0, paused=0)
    for a in chain:
        o = ops[a]
        for k in tot:
            tot[k] += o[k]
        local = max(0.0, o["t"] - o["api"] - o["paused"])
        print(f"  {a:<44} {o['t']:6.2f} {o['calls']:5d} {o['api']:9.2f} {o['paused']:6.2f} {local:6.2f}")
    local = max(0.0, tot["t"] - tot["api"] - tot["paused"])
    print(f"  {'total':<44} {tot['t']:6.2f} {tot['calls']:5d} {tot['api']:9.2f} {tot['paused']:6.2f} {local:6.2f}")
    print(f"outside the walk (start-up, health wait, state): {wall - end(chain[-1]):.2f} s")
    if lat > 0:
        print(f"the chain's calls x latency alone: {tot['calls'] * lat:.2f} s = {tot['calls'] * lat / (cp * lat):.2f} x (critical path x latency)")
        # Pauses are waits on AWS: here the emulator's IAM propagation refusal and ECS rollout.
        print(f"wall less the chain's pauses: {wall - tot['paused']:.2f} s = {(wall - tot['paused']) / (cp * lat):.2f} x (critical path x latency)")
PY
# The emulator's AWS-side waits (a new target's health checks, an ECS rollout, IAM
# propagation, a load balancer's provisioning) sit on the chain as AWS's do. A second pass
# with them off shows what the tool's own calls and work cost.
if [ "${MOTO_STRICT_TARGET_HEALTH:-1}" != 0 ]; then
  kill "${local_pids[@]}" 2>/dev/null || true
  echo
  echo "--- the same with the emulator's AWS-side waits off (MOTO_STRICT_{TARGET_HEALTH,ECS_ROLLOUT,IAM_PROPAGATION,LB_PROVISIONING}=0):"
  MOTO_STRICT_TARGET_HEALTH=0 MOTO_STRICT_ECS_ROLLOUT=0 MOTO_STRICT_IAM_PROPAGATION=0 \
    MOTO_STRICT_LB_PROVISIONING=0 "$0" "$stack" "$latency_ms"
fi
