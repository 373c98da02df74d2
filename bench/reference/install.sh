#!/usr/bin/env bash
# Installs the Celery reference into its own venv (idempotent: a venv whose installed pins match
# requirements.txt is left alone).
#   usage: bench/reference/install.sh        prints the venv's path
# REFERENCE_VENV overrides the place (default ~/.cache/tintype/venv-reference).
# PYTHON names the interpreter to build it from (default python3; needs 3.10+).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${REFERENCE_VENV:-$HOME/.cache/tintype/venv-reference}
stamp=$venv/.requirements.sha256
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "$venv"
  exit 0
fi
mkdir -p "$(dirname "$venv")"
[[ -x $venv/bin/python ]] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
echo "$want" >"$stamp"
echo "$venv"
