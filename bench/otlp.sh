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
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECS="${1:-5}"
cmake --build "$BUILD" --target agentwatch agentwatch-otlp-bench agentwatch-loadgen -j"${JOBS:-2}" >&2
bench_workdir otlp-bench

start_daemon() {  # a fresh store each time
  rm -rf "$WORK/d"
  bench_ingest_config "$WORK/d"
  aw_start "$BUILD/agentwatch" "$WORK/d"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
start_daemon
"$BUILD/bench/otlp/agentwatch-otlp-bench" --url "$AW_URL" --seconds "$SECS" --connections 8
aw_stop
start_daemon
"$BUILD/bench/loadgen/agentwatch-loadgen" --url "$AW_URL" --batch 210 --templates 8 --connections 8 \
  --agents 8 --spans-only --duration "${SECS}s" --quiet
aw_stop
