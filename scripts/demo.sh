#!/usr/bin/env bash
# `make demo`: builds the services, migrates, starts api-gateway, image-worker and scheduler in
# the background, pushes real photos through the HTTP API and prints where the results are.
# `make demo-stop` (this script with `stop`) stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO_DIR=$ROOT/.demo
PROFILE=${DEMO_PROFILE:-debug}
TOOLS_DIR=${TINTYPE_TOOLS_DIR:-$HOME/.cache/tintype}
eval "$(scripts/stack.sh env)"
export DATABASE_URL TINTYPE_HTTP_ADDR=${TINTYPE_HTTP_ADDR:-127.0.0.1:8080}
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
API=http://$TINTYPE_HTTP_ADDR

log() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }

stop() {
  for pidfile in "$DEMO_DIR"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      log "stopped $(basename "$pidfile" .pid)"
    fi
    rm -f "$pidfile"
  done
  log "PostgreSQL and RabbitMQ keep running; stop SeaweedFS with: scripts/stack.sh down"
}

wait_ready() {
  local url=$1 name=$2
  for _ in $(seq 120); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  log "$name did not become ready; see $DEMO_DIR/$name.log"; exit 1
}

start() {
  stop >/dev/null 2>&1 || true
  mkdir -p "$DEMO_DIR"
  log "building ($PROFILE)"
  if [ "$PROFILE" = release ]; then flag=--release; else flag=; fi
  cargo build --locked $flag -p api-gateway -p image-worker -p scheduler
  bin=$ROOT/target/$PROFILE
  [ -n "${CARGO_TARGET_DIR:-}" ] && bin=$CARGO_TARGET_DIR/$PROFILE

  # The demo database; `migrate` applies the schema and creates the bucket.
  admin=${DATABASE_URL%/*}/postgres
  psql -q "$admin" -c "CREATE DATABASE tintype" 2>/dev/null || true
  "$bin/api-gateway" migrate

  for svc in api-gateway image-worker scheduler; do
    case $svc in
      image-worker) extra=(env TINTYPE_METRICS_ADDR=127.0.0.1:9091) ;;
      scheduler) extra=(env TINTYPE_METRICS_ADDR=127.0.0.1:9092) ;;
      # The demo is local: no API keys (the gateway logs that auth is disabled).
      *) extra=(env TINTYPE_AUTH=disabled) ;;
    esac
    nohup "${extra[@]}" "$bin/$svc" >"$DEMO_DIR/$svc.log" 2>&1 </dev/null &
    echo $! >"$DEMO_DIR/$svc.pid"
  done
  wait_ready "$API/readyz" api-gateway
  wait_ready "http://127.0.0.1:9091/readyz" image-worker
  wait_ready "http://127.0.0.1:9092/readyz" scheduler
  log "services are up"

  # Real photos from the public corpus (Pillow's test images); generated ones if it is absent.
  images=()
  if [ -f "$ROOT/../shared/corpus/build.sh" ]; then
    bash "$ROOT/../shared/corpus/build.sh" "$TOOLS_DIR/corpus" >/dev/null
    for f in valid/pillow-flower.jpg valid/pillow-hopper.jpg orientation/pillow-hopper_orientation_6.jpg valid/pillow-sugarshack.mpo; do
      [ -f "$TOOLS_DIR/corpus/$f" ] && images+=("$TOOLS_DIR/corpus/$f")
    done
    png=$(ls "$TOOLS_DIR"/corpus/valid/*.png 2>/dev/null | head -n1 || true)
    [ -n "$png" ] && images+=("$png")
  fi
  if [ ${#images[@]} -eq 0 ]; then
    python3 - "$DEMO_DIR" <<'PY'
import sys, zlib, struct
w, h = 640, 480
raw = bytearray()
for y in range(h):
    raw.append(0)
    for x in range(w):
        raw += bytes((x * 255 // w, y * 255 // h, (x + y) % 256))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")
open(sys.argv[1] + "/gradient.png", "wb").write(png)
PY
    images+=("$DEMO_DIR/gradient.png")
  fi

  recipe='{"operations":[{"op":"auto_orient"},{"op":"resize","width":1200,"height":1200,"fit":"inside"}],
           "outputs":[{"name":"large","format":"jpeg","quality":85},
                      {"name":"thumb","format":"webp","quality":80,"operations":[{"op":"resize","width":200,"height":200,"fit":"cover"}]}],
           "metadata":{"source":"make demo"}}'
  ids=()
  for img in "${images[@]}"; do
    resp=$(curl -sS -X POST "$API/v1/jobs" -F "file=@$img" -F "recipe=$recipe")
    id=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' <<<"$resp")
    if [ -z "$id" ]; then log "submit of $(basename "$img") refused: $resp"; continue; fi
    log "submitted $(basename "$img") as job $id"
    ids+=("$id")
  done
  for id in "${ids[@]}"; do
    for _ in $(seq 120); do
      status=$(curl -sS "$API/v1/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
      case $status in queued|running|retrying) sleep 0.5 ;; *) break ;; esac
    done
    curl -sS "$API/v1/jobs/$id" | python3 -c '
import json, sys
job = json.load(sys.stdin)
line = "  job %s: %s" % (job["id"], job["status"])
if job.get("error"):
    line += " (%s: %s)" % (job["error"]["code"], job["error"]["message"])
print(line)
for o in job["outputs"]:
    print("    %-6s %-5s %5dx%-5d %8d bytes  %s" % (o["name"], o["format"], o["width"], o["height"], o["bytes"], o["url"]))
'
  done
  cat <<TXT

  API            $API/v1/jobs   (job resource: $API/v1/jobs/<id>, history: .../events)
  readiness      $API/readyz
  worker         http://127.0.0.1:9091/metrics   scheduler  http://127.0.0.1:9092/metrics
  objects        S3 bucket '$S3_BUCKET' at $S3_ENDPOINT (SeaweedFS)
  logs           $DEMO_DIR/*.log
  dashboard      $API/   (jobs live, workers, queues, dead letters, schedules, submit form)
  API docs       $API/docs   (contract: $API/openapi.json)

  Stop with:     make demo-stop
TXT
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
