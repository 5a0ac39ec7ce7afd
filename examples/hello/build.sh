#!/usr/bin/env bash
# Builds examples/hello/app.wasm (a WASI 0.2 wasi:http component) offline from
# PyPI packages: spin-sdk 3.4.1 + componentize-py 0.17.2 in a private venv.
# Idempotent: does nothing when app.wasm is newer than app.py and the venv.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${HELLO_VENV:-.venv-build}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/componentize-py" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "spin-sdk==3.4.1" "componentize-py==0.17.2"
fi
if [ app.wasm -nt app.py ] && [ app.wasm -nt "$VENV/bin/componentize-py" ]; then
  exit 0
fi
# componentize-py finds spin_sdk through the python first on PATH.
PATH="$PWD/$VENV/bin:$PATH" componentize-py -w spin-http componentize app -o app.wasm.tmp
mv app.wasm.tmp app.wasm
