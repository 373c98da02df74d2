#!/usr/bin/env bash
# `make bench`: tintype beside the Celery reference (bench/reference) on this machine, with the
# same worker concurrency (2), the five standard scenarios of issue 9, and the results written
# into BENCHMARKS.md (between its "make bench" markers) by the bench-report tool.
#
# Each system gets its own database, queues and S3 prefix, and they are removed at the end.
# Scenarios, per system, in this order: burst (200 W1 jobs at once), paced (10 W1 jobs/s for
# 60 s), scale-out (the burst with 1 and then 2 worker processes of concurrency 1), soak (70 % of
# the burst's completed jobs/s with 2 % bad images), submit path (URL-source jobs, 50 connections,
# 20 s, workers stopped so every accepted job must still be in the queue and in PostgreSQL).
#
# Settings:
#   BENCH_SYSTEMS        "tintype reference" (default) or one of them
#   BENCH_SCENARIOS      comma-separated subset of burst,paced,scale,soak,submit (default: all;
#                        the soak's rate comes from the burst, so it needs the burst)
#   BENCH_SOAK_SECS      soak length (default 1800, as issue 9 asks)
#   BENCH_REFERENCE_SOAK_SECS  the reference's soak, when it should differ (default: the same)
#   BENCH_OUT            where the JSON reports go (default target/bench/<UTC time>)
#   BENCH_WRITE=0        print the Markdown without touching BENCHMARKS.md
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
systems=${BENCH_SYSTEMS:-tintype reference}
soak_secs=${BENCH_SOAK_SECS:-1800}
ref_soak_secs=${BENCH_REFERENCE_SOAK_SECS:-$soak_secs}
scenarios=${BENCH_SCENARIOS:-burst,paced,scale,soak,submit}
want() { [[ ",$scenarios," == *",$1,"* ]]; }
target_dir=${CARGO_TARGET_DIR:-$root/target}
out=${BENCH_OUT:-$target_dir/bench/$(date -u +%Y%m%dT%H%M%SZ)}
bin=$target_dir/release
tag=bench$$
api_port=${BENCH_API_PORT:-18080}
files_port=${BENCH_FILES_PORT:-18099}
mkdir -p "$out"
run_dir=$out/run
mkdir -p "$run_dir"

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

eval "$(scripts/stack.sh env)"
admin_db=${DATABASE_URL%/*}/postgres
venv=$(bench/reference/install.sh)
py=$venv/bin/python

log "building (release)"
cargo build --release --locked -p api-gateway -p image-worker -p scheduler -p loadgen
cargo build --release --locked -p image-engine --example bench_inputs

# Inputs: the 12 MP camera JPEG the engine benchmarks use, and two bad files for the soak (one
# refused at submit, one that only fails when decoded).
inputs=$target_dir/bench-inputs
"$bin/examples/bench_inputs" "$inputs" >/dev/null
photo=$inputs/camera-12mp.jpg
corpus=${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}/corpus
bash "$root/../shared/corpus/build.sh" "$corpus" >/dev/null
bad1=$corpus/invalid/pillow-truncated_image.png
bad2=$corpus/invalid/pillow-pdf-renamed.jpg
for f in "$photo" "$bad1" "$bad2"; do [[ -f $f ]] || { log "missing input $f"; exit 1; }; done
W1='{"operations":[{"op":"resize","width":800,"height":600,"fit":"inside"}],"outputs":[{"name":"thumb","format":"jpeg","quality":85}]}'
# One in 50 soak jobs is bad (loadgen's compare module checks the same period).
soak_images=()
for bad in "$bad1" "$bad2"; do
  for _ in $(seq 49); do soak_images+=(--image "$photo"); done
  soak_images+=(--image "$bad")
done

# The URL source for the submit path: a static file server on loopback.
python3 -m http.server "$files_port" --bind 127.0.0.1 --directory "$inputs" >"$run_dir/files.log" 2>&1 &
files_pid=$!

pids=()          # everything this script started, stopped on exit
cleanup_cmds=()  # per-system teardown
stop_pids() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
on_exit() {
  set +e
  stop_pids "${pids[@]}" "$files_pid"
  [[ -n ${expire_pid:-} ]] && stop_pids "$expire_pid"
  for c in "${cleanup_cmds[@]}"; do eval "$c"; done
}
trap on_exit EXIT
trap 'exit 130' INT TERM

wait_url() { # url name
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "$2 did not answer $1"; exit 1
}

# The shared services are measured too: where a system's time goes includes its storage.
infra=()
weed_pid=$(cat "${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}/seaweedfs/weed.pid" 2>/dev/null || true)
[[ -n $weed_pid ]] && infra+=(--process "seaweedfs=$weed_pid")
pg_pid=$(pgrep -o -x postgres || true)
[[ -n $pg_pid ]] && infra+=(--process "postgres=$pg_pid")
rabbit_pid=$(pgrep -o beam.smp || true)
[[ -n $rabbit_pid ]] && infra+=(--process "rabbitmq=$rabbit_pid")

loadgen() { # name, then loadgen arguments
  local name=$1; shift
  log "$name"
  "$bin/loadgen" --quiet --json "$out/$name.json" "$@" "${infra[@]}" | sed 's/^/    /' >&2
}

# Samples the soak's storage use so a reader can see retention keeping up.
vacuum_loop() {
  # SeaweedFS reclaims deleted objects' space only when a volume is vacuumed; its master does
  # that every 15 minutes by itself, too slowly for a soak writing ~100 MB/s. Only volumes that
  # are nearly all garbage: those filled before the retention window, cheap to compact. A lower
  # threshold also takes the volume being written (multi-GB with scripts/stack.sh), copies its
  # live data and holds writes back while it drains: a 30-minute soak at 0.1 had stalls of
  # 0.5-1.5 s every minute or two and an end-to-end p99 of 2 s.
  while sleep 60; do
    curl -fsS -o /dev/null "http://127.0.0.1:${TINTYPE_SEAWEED_MASTER_PORT:-9333}/vol/vacuum?garbageThreshold=0.9" || true
  done
}

burst_rate() { # report.json -> 70 % of its completed jobs/s
  python3 -c 'import json,sys; print(round(0.7 * json.load(open(sys.argv[1]))["completed_per_second"], 2))' "$1"
}

# ---------------------------------------------------------------- tintype
tintype_db=${DATABASE_URL%/*}/tintype_$tag
tintype_queues=("$tag.jobs.high" "$tag.jobs.default" "$tag.jobs.low")
gw_pid='' ; worker_pids=() ; sched_pid=''

# `env VARS… program &` and not a shell function in the background: `$!` must be the service's
# own pid, or the load tool measures a shell and stopping it leaves the service running.
tintype_vars=(DATABASE_URL="$tintype_db" TINTYPE_AMQP_PREFIX="$tag" S3_BUCKET="$tag-tintype"
  TINTYPE_AUTH=disabled TINTYPE_RATE_LIMIT_PER_SEC=1000000 TINTYPE_RATE_LIMIT_BURST=1000000
  TINTYPE_OUTBOUND_ALLOW=127.0.0.1)

start_gateway() {
  env "${tintype_vars[@]}" TINTYPE_HTTP_ADDR="127.0.0.1:$api_port" "$bin/api-gateway" >>"$run_dir/api-gateway.log" 2>&1 &
  gw_pid=$!; pids+=("$gw_pid")
  wait_url "http://127.0.0.1:$api_port/readyz" api-gateway
}

start_workers() { # count concurrency
  local i port
  worker_pids=()
  for i in $(seq "$1"); do
    port=$((api_port + 10 + i))
    env "${tintype_vars[@]}" TINTYPE_WORKER_CONCURRENCY="$2" TINTYPE_METRICS_ADDR="127.0.0.1:$port" \
      TINTYPE_WORKER_ID="bench-$i" "$bin/image-worker" >>"$run_dir/image-worker-$i.log" 2>&1 &
    worker_pids+=($!); pids+=($!)
    wait_url "http://127.0.0.1:$port/readyz" "image-worker $i"
  done
}

worker_args() {
  local i=0 p
  for p in "${worker_pids[@]}"; do
    i=$((i + 1))
    if [[ $i -eq 1 ]]; then echo "--process worker=$p"; else echo "--process worker$i=$p"; fi
  done
}

bench_tintype() {
  log "tintype: database tintype_$tag, AMQP prefix $tag, API on :$api_port"
  psql -q "$admin_db" -c "CREATE DATABASE tintype_$tag"
  cleanup_cmds+=("psql -q '$admin_db' -c 'DROP DATABASE IF EXISTS tintype_$tag WITH (FORCE)' >/dev/null 2>&1"
                 "'$py' bench/probe.py drop-topology '$AMQP_URL' '$tag' >/dev/null 2>&1"
                 "'$py' bench/probe.py drop-bucket '$tag-tintype' >/dev/null 2>&1")
  env "${tintype_vars[@]}" "$bin/api-gateway" migrate >>"$run_dir/api-gateway.log" 2>&1   # schema and bucket
  start_gateway
  local url=http://127.0.0.1:$api_port
  start_workers 1 2
  # shellcheck disable=SC2046
  want burst && loadgen tintype-burst --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
    --process "api=$gw_pid" $(worker_args)
  # shellcheck disable=SC2046
  want paced && loadgen tintype-paced --url "$url" --recipe "$W1" --image "$photo" --rate 10 --duration 60 \
    --process "api=$gw_pid" $(worker_args)

  if want scale; then
    stop_pids "${worker_pids[@]}"; start_workers 1 1
    # shellcheck disable=SC2046
    loadgen tintype-scale1 --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
      --process "api=$gw_pid" $(worker_args)
    stop_pids "${worker_pids[@]}"; start_workers 2 1
    # shellcheck disable=SC2046
    loadgen tintype-scale2 --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
      --process "api=$gw_pid" $(worker_args)
    stop_pids "${worker_pids[@]}"; start_workers 1 2
  fi

  # The soak runs as deployed: the scheduler's retention deletes finished jobs' objects after a
  # minute, so 30 minutes of 12 MP uploads fit on the disk.
  if want soak && [[ -f $out/tintype-burst.json ]]; then
    env "${tintype_vars[@]}" TINTYPE_RETENTION=1m TINTYPE_RETENTION_INTERVAL_SECS=15 TINTYPE_RETENTION_BATCH=1000 \
      TINTYPE_METRICS_ADDR="127.0.0.1:$((api_port + 9))" "$bin/scheduler" >>"$run_dir/scheduler.log" 2>&1 &
    sched_pid=$!; pids+=("$sched_pid")
    wait_url "http://127.0.0.1:$((api_port + 9))/readyz" scheduler
    vacuum_loop & expire_pid=$!
    local rate; rate=$(burst_rate "$out/tintype-burst.json")
    # shellcheck disable=SC2046
    loadgen tintype-soak --url "$url" --recipe "$W1" "${soak_images[@]}" --rate "$rate" \
      --duration "$soak_secs" --process "api=$gw_pid" $(worker_args) --process "scheduler=$sched_pid"
    stop_pids "$expire_pid" "$sched_pid"; expire_pid=''
  fi

  # Submit path: no workers, so every accepted job must be waiting, durable, in the queue.
  stop_pids "${worker_pids[@]}"
  want submit || { stop_pids "$gw_pid"; return 0; }
  "$py" bench/probe.py purge "$AMQP_URL" "${tintype_queues[@]}"
  stop_pids "$gw_pid"; start_gateway   # re-declares the queues just purged
  psql -q "$tintype_db" -c "TRUNCATE jobs CASCADE"
  loadgen tintype-submit --url "$url" --recipe "$W1" --source-url "http://127.0.0.1:$files_port/camera-12mp.jpg" \
    --no-follow --concurrency 50 --duration 20 --process "api=$gw_pid"
  "$py" bench/probe.py submit-check "$out/tintype-submit.json" "" "$tintype_db" jobs "$AMQP_URL" \
    "${tintype_queues[@]}" >"$out/tintype-submit-check.json"
  log "tintype submit check: $(cat "$out/tintype-submit-check.json")"
  stop_pids "$gw_pid"
}

# ---------------------------------------------------------------- the Celery reference
ref_env() {
  env REFERENCE_DB="reference_$tag" REFERENCE_QUEUE="reference-$tag" S3_BUCKET="$tag-reference" \
    REFERENCE_RUN_DIR="$run_dir/reference" "$@"
}

ref_start() { # concurrency
  ref_env REFERENCE_CONCURRENCY="$1" bench/reference/run.sh start "$api_port" >&2
  ref_api=$(cat "$run_dir/reference/api.pid")
  ref_worker=$(cat "$run_dir/reference/worker.pid" 2>/dev/null || true)
}

ref_stop() { ref_env bench/reference/run.sh stop >/dev/null; }

bench_reference() {
  log "reference: database reference_$tag, queue reference-$tag, API on :$api_port"
  cleanup_cmds+=("ref_env bench/reference/run.sh stop >/dev/null 2>&1"
                 "psql -q '$admin_db' -c 'DROP DATABASE IF EXISTS reference_$tag WITH (FORCE)' >/dev/null 2>&1"
                 "'$py' bench/probe.py purge '$AMQP_URL' reference-$tag >/dev/null 2>&1"
                 "'$py' bench/probe.py drop-bucket '$tag-reference' >/dev/null 2>&1")
  "$py" bench/probe.py make-bucket "$tag-reference"
  local url=http://127.0.0.1:$api_port
  ref_start 2
  want burst && loadgen reference-burst --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
    --process "api=$ref_api" --process "worker=$ref_worker"
  want paced && loadgen reference-paced --url "$url" --recipe "$W1" --image "$photo" --rate 10 --duration 60 \
    --process "api=$ref_api" --process "worker=$ref_worker"
  if want scale; then
    ref_stop; ref_start 1
    loadgen reference-scale1 --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
      --process "api=$ref_api" --process "worker=$ref_worker"
    ref_stop; ref_start 2
    loadgen reference-scale2 --url "$url" --recipe "$W1" --image "$photo" --jobs 200 --concurrency 200 \
      --process "api=$ref_api" --process "worker=$ref_worker"
  fi

  # The Celery stack has no retention: a lifecycle-rule stand-in deletes objects after a minute.
  if want soak && [[ -f $out/reference-burst.json ]]; then
    ref_env PYTHONPATH=bench/reference "$py" bench/probe.py expire-objects reference/ 60 15 >"$run_dir/expire.log" 2>&1 &
    local expirer=$!; pids+=("$expirer")
    vacuum_loop & expire_pid=$!
    local rate; rate=$(burst_rate "$out/reference-burst.json")
    loadgen reference-soak --url "$url" --recipe "$W1" "${soak_images[@]}" --rate "$rate" \
      --duration "$ref_soak_secs" --process "api=$ref_api" --process "worker=$ref_worker"
    stop_pids "$expire_pid" "$expirer"; expire_pid=''
  fi

  ref_stop
  want submit || return 0
  "$py" bench/probe.py purge "$AMQP_URL" "reference-$tag"
  psql -q "${DATABASE_URL%/*}/reference_$tag" -c "TRUNCATE celery_taskmeta"   # count this run's rows only
  # Without a worker the queue keeps what the API enqueued.
  ref_start 0
  loadgen reference-submit --url "$url" --recipe "$W1" --source-url "http://127.0.0.1:$files_port/camera-12mp.jpg" \
    --no-follow --concurrency 50 --duration 20 --process "api=$ref_api"
  "$py" bench/probe.py submit-check "$out/reference-submit.json" \
    "Celery stores no state before a task runs; published without confirms" \
    "${DATABASE_URL%/*}/reference_$tag" celery_taskmeta "$AMQP_URL" "reference-$tag" \
    >"$out/reference-submit-check.json"
  log "reference submit check: $(cat "$out/reference-submit-check.json")"
  ref_stop
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for s in $systems; do
  case $s in
    tintype) bench_tintype ;;
    reference) bench_reference ;;
    *) log "unknown system $s"; exit 2 ;;
  esac
done

# The machine and the versions, for the section's head.
{
  echo "## Whole system: tintype vs the Celery reference (\`make bench\`, $started)"
  echo
  echo "- Command: \`make bench\` (bench/run.sh; soak ${soak_secs} s, the reference's ${ref_soak_secs} s; systems: $systems; scenarios: $scenarios); reports in \`${out#"$root"/}\`"
  echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); loadgen, services, PostgreSQL, RabbitMQ and SeaweedFS all on it"
  echo "- tintype $(git rev-parse --short HEAD) (release build, $(rustc --version | cut -d' ' -f1-2)): one api-gateway, image-worker at concurrency 2 (scale-out: 1 or 2 processes at concurrency 1), scheduler only in the soak (retention 1 min)"
  echo "- Reference: $("$venv/bin/python" --version), $("$venv/bin/pip" freeze 2>/dev/null | grep -iE '^(celery|fastapi|uvicorn|pillow|sqlalchemy|boto3)==' | tr '\n' ' ' | sed 's/ $//'); uvicorn 1 process, celery prefork concurrency 2 (scale-out: 1 or 2)"
  echo "- Services: $("$py" bench/probe.py versions "$admin_db" "$AMQP_URL"), SeaweedFS $("$HOME/.cache/tintype/venv/bin/weed" version 2>/dev/null | head -1 | awk '{print $3}')"
  echo "- Workload W1: $(basename "$photo") ($(python3 -c 'import os,sys; print(round(os.path.getsize(sys.argv[1])/1e6,1))' "$photo") MB, 4000×3000) → fit inside 800×600, JPEG q85; uploads except the submit path (URL source). End-to-end = submit sent → the job's finished_at (both APIs return it), so polling does not blur it"
} >"$out/meta.md"

if [[ ${BENCH_WRITE:-1} == 0 ]]; then
  "$bin/bench-report" --dir "$out"
else
  "$bin/bench-report" --dir "$out" --into BENCHMARKS.md
fi
log "reports in $out"
