#!/usr/bin/env bash
# Quick start: validates, plans and applies a stack (default: stacks/demo.yaml) against a
# local AWS emulator that this script starts, shows the outputs and a clean re-plan, then
# destroys everything. No AWS account needed; nothing leaves 127.0.0.1. The runtime image
# goes to a local registry this script also starts (the emulator's ECR has no registry).
# The first run builds wxinfra, the static wxrun and the example app (minutes); later runs
# reuse them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack="$(realpath "${1:-$root/stacks/demo.yaml}")"
# The default runtime binary (runtime-image/dist/wxrun-{arch}) is found from the repo root.
cd "$root"

# One build (scripts/lib/build.sh): the static wxrun the stack ships and the wxinfra that runs
# here, which finds that wxrun beside it (validate asks it which imports would trap). Cargo
# has nothing to do on later runs.
# shellcheck source=scripts/lib/prepare.sh
. scripts/lib/prepare.sh
prepare_stack_tools
# shellcheck source=scripts/lib/build.sh
. scripts/lib/build.sh
wx="$build_bin/wxinfra"

work=$(mktemp -d)
# shellcheck source=scripts/lib/local-aws.sh
. scripts/lib/local-aws.sh
port=$(free_port)
start_moto "$port"
start_registry "$(free_port)"
use_endpoint "$port"
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
