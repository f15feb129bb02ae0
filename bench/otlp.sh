#!/usr/bin/env bash
# OTLP/HTTP ingest end to end next to /v1/spans, on one fresh daemon each:
#   1. agentwatch-otlp-bench --url: POST /v1/traces, protobuf then JSON,
#      10 investigations x (20 children + the agent span) per request;
#   2. agentwatch-loadgen: POST /v1/spans, NDJSON batches of 210 span
#      summaries (the same records per request).
# Both count only what was answered 2xx (committed).
#
#   bash bench/otlp.sh [SECONDS]      default 5; AW_BUILD (default build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-5}"
BUILD="${AW_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
cmake --build "$BUILD" --target agentwatch agentwatch-otlp-bench agentwatch-loadgen -j"${JOBS:-2}" >&2
WORK="$(mktemp -d /tmp/agentwatch-otlp-bench.XXXXXX)"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

start_daemon() {  # a fresh store each time
  rm -rf "$WORK/d" && mkdir -p "$WORK/d"
  cat >"$WORK/d/agentwatch.yaml" <<CFG
listen: 127.0.0.1:0
storage: {path: aw.db, sync: normal}
sli_windows: [1h, 24h]
limits: {max_body_bytes: 8MiB, max_records_per_request: 10000}
pricing:
  claude-sonnet-4-6: {input: 3.00, output: 15.00}
CFG
  "$BUILD/agentwatch" serve --config "$WORK/d/agentwatch.yaml" --port-file "$WORK/d/port" \
    >"$WORK/d/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 3000); do
    if [[ -s "$WORK/d/port" ]] && curl -fs -o /dev/null "http://127.0.0.1:$(cat "$WORK/d/port")/-/ready"; then
      URL="http://127.0.0.1:$(cat "$WORK/d/port")"
      return 0
    fi
    sleep 0.01
  done
  echo "agentwatch did not start: $(tail -3 "$WORK/d/log")" >&2
  exit 1
}
stop_daemon() { kill -TERM "$PID"; wait "$PID"; PID=""; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
start_daemon
"$BUILD/bench/otlp/agentwatch-otlp-bench" --url "$URL" --seconds "$SECS" --connections 8
stop_daemon
start_daemon
"$BUILD/bench/loadgen/agentwatch-loadgen" --url "$URL" --batch 210 --templates 8 --connections 8 \
  --agents 8 --spans-only --duration "${SECS}s" --quiet
stop_daemon
