#!/usr/bin/env bash
# Debian tools and rustup targets, installed once; a failure stops the caller.
#   scripts/setup-tools.sh        what the tests start or call (below)
#   scripts/setup-tools.sh demo   only what the demo and the benches need: a local OCI registry
#                                 (the runtime image push, which moto's ECR cannot take),
#                                 musl-gcc and rustup's musl target (the static build)
# The tests add shellcheck (EC2 user data), skopeo (reads pushed images back), redis-server,
# mosquitto, postgresql and mariadb-server (wxrun's Redis key-value store, outbound Redis,
# MQTT, PostgreSQL and MySQL tests start their own on 127.0.0.1), and the Wasm targets of the
# test components.
set -euo pipefail
case "${1:-test}" in
  demo) test_tools=false ;;
  test) test_tools=true ;;
  *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac
# COMMAND:PACKAGE pairs; a COMMAND with a `/` is a path glob (PostgreSQL's
# binaries are not on PATH but in /usr/lib/postgresql/<major>/bin).
tools=(docker-registry:docker-registry musl-gcc:musl-tools)
targets=(x86_64-unknown-linux-musl)
if $test_tools; then
  tools+=(shellcheck:shellcheck skopeo:skopeo redis-server:redis-server mosquitto:mosquitto
    '/usr/lib/postgresql/*/bin/initdb':postgresql mariadbd:mariadb-server)
  targets+=(wasm32-wasip1 wasm32-wasip2)
fi
missing=()
for tool in "${tools[@]}"; do
  command="${tool%%:*}"
  if [[ "$command" == */* ]]; then
    compgen -G "$command" >/dev/null || missing+=("${tool##*:}")
  else
    command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing+=("${tool##*:}")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y "${missing[@]}" \
    || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y "${missing[@]}"; } \
    || { echo "error: could not install ${missing[*]} (apt-get)" >&2; exit 1; }
fi
# Added here, one after the other, because the builds that use them run side by side and
# rustup is not safe for concurrent use (rust-lang/rustup#988).
installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done
