# Sourced by scripts/demo.sh and benches/: the AWS emulator (moto, through
# scripts/moto_server.py) and a local OCI registry on free loopback ports, stopped on exit.
# Needs `root` (the repo) and `work` (a scratch dir, removed on exit) set by the caller.
# shellcheck shell=bash disable=SC2154

free_port() {
  "$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "error: nothing listens on 127.0.0.1:$1; see $work/*.log" >&2
  return 1
}

local_pids=()
# Under `set -e` a failing kill (a server already stopped, as apply-latency.sh's second pass
# stops the first's) would end the trap before the scratch dir is removed.
trap 'kill "${local_pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# start_moto PORT: the emulator with the realism settings the tests use.
start_moto() {
  MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
  MOTO_ENABLE_AMI_VALIDATION=true MOTO_ECS_SERVICE_RUNNING=1 \
    "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$1" >"$work/moto.log" 2>&1 &
  local_pids+=("$!")
  wait_port "$1"
}

# start_registry PORT: Debian's docker-registry; runtime images are pushed here, not to ECR.
start_registry() {
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$work/registry" "$1" >"$work/registry.yml"
  /usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  local_pids+=("$!")
  wait_port "$1"
  export WXINFRA_OCI_REGISTRY="127.0.0.1:$1"
}

# Points the AWS SDK at an endpoint on 127.0.0.1:PORT with throwaway credentials.
use_endpoint() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}
