#!/usr/bin/env bash
# Starts or stops the Celery reference: uvicorn (the API) and one `celery worker` (prefork).
#   usage: bench/reference/run.sh start [PORT]     (default port 8090; prints the two pids)
#          bench/reference/run.sh stop
# Configuration (the names tintype uses; unset, they come from scripts/stack.sh env):
#   AMQP_URL, DATABASE_URL (its server; the reference uses its own database REFERENCE_DB,
#   default tintype_reference, or REFERENCE_DATABASE_URL), S3_ENDPOINT, S3_BUCKET, S3_REGION,
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
# Reference-only: REFERENCE_CONCURRENCY (worker processes, default 2; 0: the API only), REFERENCE_API_WORKERS
#   (uvicorn processes, default 1), REFERENCE_QUEUE (default reference), REFERENCE_S3_PREFIX
#   (default reference/), REFERENCE_CONFIRM_PUBLISH=1, REFERENCE_RUN_DIR (pid files and logs,
#   default ~/.cache/tintype/reference-run).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
run=${REFERENCE_RUN_DIR:-$HOME/.cache/tintype/reference-run}
mkdir -p "$run"

stop_pid() { # pid file: TERM (Celery's warm shutdown finishes running tasks), then KILL after 20 s
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case ${1:-} in
  start)
    port=${2:-8090}
    if [[ -z ${AMQP_URL:-} && -x $root/scripts/stack.sh ]]; then
      eval "$("$root/scripts/stack.sh" env)"
    fi
    venv=$("$here/install.sh")
    export PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH}
    for f in api worker; do
      if [[ -f $run/$f.pid ]] && kill -0 "$(cat "$run/$f.pid")" 2>/dev/null; then
        echo "reference: $f already running (pid $(cat "$run/$f.pid")); run.sh stop first" >&2
        exit 1
      fi
    done
    "$venv/bin/python" -m reference.initdb create
    concurrency=${REFERENCE_CONCURRENCY:-2}
    if [[ $concurrency -gt 0 ]]; then
      "$venv/bin/celery" -A reference.worker worker --pool prefork \
        --concurrency "$concurrency" --loglevel INFO --without-gossip \
        --without-mingle --without-heartbeat -Q "${REFERENCE_QUEUE:-reference}" \
        >"$run/worker.log" 2>&1 &
      echo $! >"$run/worker.pid"
    else
      # API only: what it enqueues stays in the queue (the load tool's submit-path check).
      rm -f "$run/worker.pid"; echo "ready." >"$run/worker.log"
    fi
    "$venv/bin/uvicorn" reference.api:app --host 127.0.0.1 --port "$port" \
      --workers "${REFERENCE_API_WORKERS:-1}" --no-access-log >"$run/api.log" 2>&1 &
    echo $! >"$run/api.pid"
    # Ready when the API answers and the worker has connected to the broker.
    for _ in $(seq 300); do
      if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 &&
         grep -q "ready\." "$run/worker.log"; then
        echo "reference: api http://127.0.0.1:$port pid $(cat "$run/api.pid"), worker pid $(cat "$run/worker.pid" 2>/dev/null || echo none) (logs in $run)"
        exit 0
      fi
      for f in api worker; do
        [[ -f $run/$f.pid ]] || continue
        if ! kill -0 "$(cat "$run/$f.pid")" 2>/dev/null; then
          echo "reference: $f exited; tail of $run/$f.log:" >&2; tail -20 "$run/$f.log" >&2
          stop_pid "$run/api.pid"; stop_pid "$run/worker.pid"; exit 1
        fi
      done
      sleep 0.1
    done
    echo "reference: not ready after 30 s (logs in $run)" >&2
    stop_pid "$run/api.pid"; stop_pid "$run/worker.pid"; exit 1
    ;;
  stop)
    stop_pid "$run/api.pid"
    stop_pid "$run/worker.pid"
    echo "reference: stopped"
    ;;
  *)
    echo "usage: $0 start [PORT] | stop" >&2; exit 2 ;;
esac
