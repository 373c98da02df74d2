#!/usr/bin/env bash
# Smoke test of the Celery reference (a benchmark fixture: not part of `make test`).
#   usage: bench/reference/smoke.sh        (needs PostgreSQL, RabbitMQ and SeaweedFS up:
#                                           scripts/stack.sh up)
# Starts it on a free port with its own database, queue, S3 prefix and run directory, drives
# smoke.py against it, then stops it and removes all four.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ -z ${AMQP_URL:-} ]]; then eval "$("$root/scripts/stack.sh" env)"; fi
venv=$("$here/install.sh")
py=$venv/bin/python
tag=smoke-$$
export REFERENCE_DB=tintype_reference_${tag//-/_} REFERENCE_QUEUE=reference-$tag
export REFERENCE_S3_PREFIX=reference-$tag/ REFERENCE_RUN_DIR=$(mktemp -d)
unset REFERENCE_DATABASE_URL
export PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH}

cleanup() {
  local rc=$?
  "$here/run.sh" stop >/dev/null || true
  if [[ $rc -ne 0 ]]; then
    echo "smoke: logs:" >&2; tail -n 30 "$REFERENCE_RUN_DIR"/*.log >&2 || true
  fi
  "$py" - <<'PY' || echo "smoke: cleanup incomplete" >&2
from kombu import Connection
from reference import config, initdb, storage
initdb.drop()
s3 = storage.client()
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=config.S3_BUCKET, Prefix=config.S3_PREFIX):
    for obj in page.get("Contents", []):
        s3.delete_object(Bucket=config.S3_BUCKET, Key=obj["Key"])
with Connection(config.AMQP_URL) as conn:
    conn.default_channel.queue_delete(config.QUEUE)
    conn.default_channel.exchange_delete(config.QUEUE)
PY
  rm -rf "$REFERENCE_RUN_DIR"
  echo "smoke: cleaned up (database $REFERENCE_DB, queue $REFERENCE_QUEUE, prefix $REFERENCE_S3_PREFIX)"
  exit $rc
}
trap cleanup EXIT

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$here/run.sh" start "$port"
"$py" "$here/smoke.py" "http://127.0.0.1:$port"
