#!/usr/bin/env bash
# Hot swap under load: two wxrun processes share one app dir; hey loads both
# while the local `current` pointer moves from release v1 to v2. Prints the
# status-code histogram of each hey run (expect 200s only).
source "$(dirname "$0")/common.sh"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
probe="$repo/runtime-image/wxrun/tests/components/probe-p3/probe-p3.wasm"
mkdir -p "$work/app"
for v in v1 v2; do
  mkdir -p "$work/$v" && cp "$probe" "$work/$v/probe.wasm"
  printf 'spin_manifest_version = 2\n[[trigger.http]]\nroute = "/..."\ncomponent = "p"\n[component.p]\nsource = "probe.wasm"\nenvironment = { PROBE_ENV = "%s" }\n' "$v" > "$work/$v/spin.toml"
  id="$("$WXRUN" bundle "$work/$v/spin.toml" -o "$work/$v.tar")"
  mkdir -p "$work/app/releases/$id" && tar -xf "$work/$v.tar" -C "$work/app/releases/$id"
  eval "id_$v=$id"
done
echo "$id_v1" > "$work/app/current"
ports=()
for i in 1 2; do
  p="$(free_port)"; ports+=("$p")
  "$WXRUN" serve --app-dir "$work/app" --poll-ms 200 --listen "127.0.0.1:$p" 2>/dev/null &
  pids+=($!)
  wait_200 "http://127.0.0.1:$p/x" 600
done
hey_pids=()
for p in "${ports[@]}"; do
  hey -z 6s -c 8 "http://127.0.0.1:$p/load" > "$work/hey.$p" 2>&1 &
  hey_pids+=($!)
done
sleep 2
echo "$id_v2" > "$work/app/current.tmp" && mv "$work/app/current.tmp" "$work/app/current"
wait "${hey_pids[@]}"
for p in "${ports[@]}"; do
  echo "port $p:"; sed -n '/Status code distribution/,/^$/p' "$work/hey.$p"
  curl -s "http://127.0.0.1:$p/after"
done
