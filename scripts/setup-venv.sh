#!/usr/bin/env bash
# Creates the gitignored venv (.venv) with pinned Python tools:
#   scripts/setup-venv.sh        the test tools (requirements-test.txt, which includes the demo's)
#   scripts/setup-venv.sh demo   only what the demo and the benches run (requirements-demo.txt)
# Idempotent: a no-op when the venv already holds that set, or the test set that includes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${WXINFRA_VENV:-$root/.venv}"
set_name="${1:-test}"
case "$set_name" in
  demo | test) ;;
  *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac
# A set's stamp hashes its requirements file and the demo's, which the test set includes.
stamp_of() { cat "$root/scripts/requirements-$1.txt" "$root/scripts/requirements-demo.txt" | sha256sum | cut -d' ' -f1; }
installed() { [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements-$1.sha256" 2>/dev/null)" = "$(stamp_of "$1")" ]; }
mkdir -p "$(dirname "$venv")"
# Parallel callers (CI steps, tests, the demo's build) wait for one install instead of racing it.
exec 9>"$venv.lock"
flock 9
if installed "$set_name" || installed test; then
  exit 0
fi
echo "setup-venv: installing the $set_name tools into $venv" >&2
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$root/scripts/requirements-$set_name.txt"
stamp_of "$set_name" >"$venv/.requirements-$set_name.sha256"
