#!/usr/bin/env bash
# Debian tools the tests and the demo start or call: shellcheck (EC2 user data), a local OCI
# registry and skopeo (the runtime image push, which moto's ECR cannot take), redis-server,
# mosquitto, postgresql and mariadb-server (wxrun's Redis key-value store, outbound Redis,
# MQTT, PostgreSQL and MySQL tests start their own on 127.0.0.1), musl-gcc (the static wxrun),
# and rustup's targets for the static wxrun and the test components.
# Installed once; a failure stops the caller.
set -euo pipefail
missing=()
# COMMAND:PACKAGE pairs; a COMMAND with a `/` is a path glob (PostgreSQL's
# binaries are not on PATH but in /usr/lib/postgresql/<major>/bin).
for tool in shellcheck:shellcheck docker-registry:docker-registry skopeo:skopeo \
  redis-server:redis-server mosquitto:mosquitto musl-gcc:musl-tools \
  '/usr/lib/postgresql/*/bin/initdb':postgresql mariadbd:mariadb-server; do
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
for target in x86_64-unknown-linux-musl wasm32-wasip1 wasm32-wasip2; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done
