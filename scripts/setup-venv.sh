#!/usr/bin/env bash
# Creates the gitignored test venv (.venv) with the pinned tools of requirements-test.txt.
# Idempotent: a no-op when the venv already matches the requirements file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${WXINFRA_VENV:-$root/.venv}"
req="$root/scripts/requirements-test.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
mkdir -p "$(dirname "$venv")"
# Parallel callers (CI steps, tests) wait for one install instead of racing it.
exec 9>"$venv.lock"
flock 9
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup-venv: installing test tools into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
