#!/usr/bin/env bash
# Debian tools the tests and the demo start or call: shellcheck (EC2 user data), a local OCI
# registry and skopeo (the runtime image push, which moto's ECR cannot take), redis-server
# and mosquitto (wxrun's Redis key-value store, outbound Redis and MQTT tests start their
# own on 127.0.0.1).
# Installed once; a failure stops the caller.
set -euo pipefail
missing=()
for tool in shellcheck:shellcheck docker-registry:docker-registry skopeo:skopeo \
  redis-server:redis-server mosquitto:mosquitto; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y "${missing[@]}" \
    || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y "${missing[@]}"; } \
    || { echo "error: could not install ${missing[*]} (apt-get)" >&2; exit 1; }
fi
