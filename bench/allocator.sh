#!/usr/bin/env bash
# The daemon with glibc's malloc against the same build linked with jemalloc,
# interleaved rounds on fresh stores: OTLP protobuf and JSON (agentwatch-otlp-bench,
# 8 connections) and /v1/spans NDJSON batches of 1000 (agentwatch-loadgen,
# 4 connections); peak RSS (VmHWM) of each daemon.
#
#   bash bench/allocator.sh [ROUNDS] [SECONDS]     defaults 3 and 4; AW_BUILD (default build)
# Relinks build/agentwatch both ways (link only) and leaves it linked with jemalloc.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS="${1:-3}"
SECS="${2:-4}"
bench_workdir alloc-bench
for v in OFF ON; do
  cmake -S "$ROOT" -B "$BUILD" -DAW_JEMALLOC=$v >/dev/null
  cmake --build "$BUILD" --target agentwatch agentwatch-otlp-bench agentwatch-loadgen -j"${JOBS:-2}" >/dev/null
  cp "$BUILD/agentwatch" "$WORK/agentwatch-$([[ $v == ON ]] && echo jemalloc || echo glibc)"
done
bench_ingest_config "$WORK/d"
run() {  # run ALLOCATOR: one fresh daemon, prints one line of figures
  rm -f "$WORK"/d/aw.db*
  aw_start "$WORK/agentwatch-$1" "$WORK/d"
  local otlp pb js lg hwm
  otlp=$("$BUILD/bench/otlp/agentwatch-otlp-bench" --url "$AW_URL" --seconds "$SECS" --connections 8 2>&1)
  pb=$(awk '/^protobuf/ {print $5}' <<<"$otlp")
  js=$(awk '/^json/ {print $5}' <<<"$otlp")
  "$BUILD/bench/loadgen/agentwatch-loadgen" --url "$AW_URL" --duration "${SECS}s" --batch 1000 \
    --templates 8 --connections 4 --agents 100 --spans-only --quiet \
    --report-json "$WORK/lg.json" >/dev/null 2>&1
  lg=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['records_per_s']))" "$WORK/lg.json")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$AW_PID/status")
  aw_stop
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$pb" "$js" "$lg" "$((hwm / 1024))" "$(cut -d' ' -f1 /proc/loadavg)"
}
printf 'allocator\totlp_protobuf_spans_s\totlp_json_spans_s\tndjson_batch1000_spans_s\tpeak_rss_mib\tloadavg\n'
for ((r = 1; r <= ROUNDS; r++)); do
  run glibc
  run jemalloc
done
