#!/usr/bin/env bash
# Quick start: validates, plans and applies a stack (default: stacks/demo.yaml) against a
# local AWS emulator that this script starts, shows the outputs and a clean re-plan, then
# destroys everything. No AWS account needed; nothing leaves 127.0.0.1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack="${1:-$root/stacks/demo.yaml}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wxinfra/target}"

"$root/scripts/setup-venv.sh"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin wxinfra
wx="$CARGO_TARGET_DIR/debug/wxinfra"
# validate asks wxrun which imports would trap; the optimised static build compiles the app
# in seconds (a debug wxrun takes minutes), so prefer it when runtime-image/build-static.sh ran.
static="${WXRUN_STATIC_TARGET_DIR:-$HOME/.cache/wxinfra/target-wxrun}/x86_64-unknown-linux-musl/release/wxrun"
if [ -z "${WXRUN+set}" ] && [ -x "$static" ]; then export WXRUN="$static"; fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
MOTO_ENABLE_AMI_VALIDATION=true MOTO_ECS_SERVICE_RUNNING=1 \
  "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export WXINFRA_STATE="$work/state.json"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ wxinfra %s%s\n' "$bold" "$*" "$plain"; "$wx" "$@"; }
step validate -f "$stack"
step plan -f "$stack"
step apply -f "$stack" --auto-approve
step output -f "$stack"
step plan -f "$stack" --detailed-exitcode
step destroy -f "$stack" --auto-approve
printf '\nDone: the emulator at 127.0.0.1:%s was filled and emptied again.\n' "$port"
