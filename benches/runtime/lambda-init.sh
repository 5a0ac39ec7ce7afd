#!/usr/bin/env bash
# Lambda init: process start -> first ALB-event response through cargo-lambda's
# Runtime API emulator (`cargo lambda watch --only-lambda-apis`, from the project
# venv), with a warm AOT cache on the "volume", for examples/hello (CPython,
# WASI 0.2) and the Rust http-rust component. Median of RUNS (default 7) starts.
# Goal (issue 15): under 50 ms; native Rust functions initialise in 18-22 ms.
source "$(dirname "$0")/common.sh"
venv="${WXINFRA_VENV:-$repo/.venv}"
[ -x "$venv/bin/cargo-lambda" ] || "$repo/scripts/setup-venv.sh" >/dev/null
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# cargo-lambda reads a Cargo project's metadata even when it starts no function.
mkdir -p "$work/emu/src"
printf '[package]\nname = "emu"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n' > "$work/emu/Cargo.toml"
echo 'fn main() {}' > "$work/emu/src/main.rs"
emu_port="$(free_port)"
(cd "$work/emu" && exec "$venv/bin/cargo-lambda" lambda watch --only-lambda-apis \
  -A 127.0.0.1 -P "$emu_port" >/dev/null 2>&1) &
pids+=($!)
# Its HTTP paths wait for a function, so readiness is a TCP connect.
until (exec 3<>"/dev/tcp/127.0.0.1/$emu_port") 2>/dev/null; do sleep 0.1; done

rust="$repo/runtime-image/wxrun/tests/components/http-rust/http-rust-wasip2.wasm"
cat > "$work/rust.toml" <<TOML
spin_manifest_version = 2
[application]
name = "rust"
[[trigger.http]]
route = "/hello/..."
component = "hello"
[component.hello]
source = "$rust"
TOML
event='{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/l/1"}},"httpMethod":"GET","path":"/hello/","headers":{"host":"example.com"},"body":"","isBase64Encoded":false}'

init_ms() { # MANIFEST -> ms from process start to the first invocation's response
  local t0 t1 pid out
  t0="$(now_ms)"
  AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$emu_port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=2048 \
    "$WXRUN" serve --from "$1" --cache-dir "$work/cache" 2>/dev/null &
  pid=$!
  out="$(curl -s -X POST -d "$event" "http://127.0.0.1:$emu_port/2015-03-31/functions/_/invocations")"
  t1="$(now_ms)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [[ "$out" == *'"statusCode":200'* ]] || { echo "unexpected response: $out" >&2; exit 1; }
  echo $((t1 - t0))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for app in hello rust; do
  manifest="$repo/examples/hello/spin.toml"; [ "$app" = rust ] && manifest="$work/rust.toml"
  init_ms "$manifest" >/dev/null   # fills the cache
  ms="$(for _ in $(seq "${RUNS:-7}"); do init_ms "$manifest"; done | median)"
  echo "lambda init ($app, warm cache): ${ms} ms (goal < 50 ms; native Rust 18-22 ms)"
done
