#!/usr/bin/env bash
# Installs schemathesis (the API contract tester) into its own venv, once; prints the venv path.
# The contract test in crates/api-gateway/tests/contract runs `$VENV/bin/schemathesis`.
set -euo pipefail
VERSION=4.32.5
VENV="${TINTYPE_CONTRACT_VENV:-$HOME/.cache/tintype/venv-contract}"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "[contract] installing schemathesis $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION" >&2
fi
echo "$VENV"
