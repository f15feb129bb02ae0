#!/usr/bin/env bash
# Ingest end to end, daemons side by side: a fresh store each round, the
# daemons interleaved round by round so they share the machine's state. One
# TSV line per round with the load average. MODE picks the traffic:
#   ndjson (default): POST /v1/spans, NDJSON batches of BATCH (1000) records,
#                     agentwatch-loadgen --templates 8, CONNECTIONS (4);
#   otlp:             POST /v1/traces, agentwatch-otlp-bench, 8 connections
#                     (protobuf, then JSON: two lines per round);
#   single:           one span per POST, wrk -t2 -c64 bench/wrk/post_span.lua.
# Only requests answered 2xx (committed) count.
#
#   bash bench/ingest/ingest.sh [ROUNDS] [SECONDS] [NAME=BINARY ...]
#     defaults: 3 rounds of 10 s, current=$AW_BUILD/agentwatch
#   e.g. MODE=otlp bash bench/ingest/ingest.sh 3 10 before=/tmp/aw.main after=build/agentwatch
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROUNDS="${1:-3}"
SECS="${2:-10}"
shift 2 || shift $#
DAEMONS=("$@")
((${#DAEMONS[@]} > 0)) || DAEMONS=("current=$BUILD/agentwatch")
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
bench_workdir ingest-bench
bench_ingest_config "$WORK/d"
printf 'round\tdaemon\tspans_per_s\tp50_ms\tp99_ms\tfailed_requests\tloadavg_1m\n'
for ((r = 1; r <= ROUNDS; r++)); do
  for entry in "${DAEMONS[@]}"; do
    name="${entry%%=*}"
    bin="${entry#*=}"
    rm -f "$WORK"/d/aw.db*
    aw_start "$bin" "$WORK/d"
    case "${MODE:-ndjson}" in
      otlp)
        out=$("$BUILD/bench/otlp/agentwatch-otlp-bench" --url "$AW_URL" --seconds "$SECS" \
          --connections 8 2>&1 || true)
        aw_stop
        load="$(cut -d' ' -f1 /proc/loadavg)"
        for enc in protobuf json; do
          printf '%s\t%s\t%s\t\t\t\t%s\n' "$r" "$name/$enc" \
            "$(awk -v e="$enc" '$1 == e {print $5}' <<<"$out")" "$load"
        done
        continue
        ;;
      single)
        out=$(wrk -t2 -c64 -d"${SECS}s" --latency -s "$ROOT/bench/wrk/post_span.lua" \
          "$AW_URL" -- "$name-$r" 2>&1 || true)
        aw_stop
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$name" \
          "$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" \
          "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
          "$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
                END {print n + 0}' <<<"$out")" \
          "$(cut -d' ' -f1 /proc/loadavg)"
        continue
        ;;
    esac
    "$LOADGEN" --url "$AW_URL" --duration "${SECS}s" --batch "${BATCH:-1000}" --templates 8 \
      --connections "${CONNECTIONS:-4}" --spans-only --quiet --report-json "$WORK/lg.json" \
      >/dev/null 2>&1 || true
    aw_stop
    python3 - "$WORK/lg.json" "$r" "$name" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
lat = j.get("latency_ms", {})
# Only records answered 2xx (committed) count.
failed = j.get("non_2xx", 0) + j.get("statuses", {}).get("transport_error", 0)
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{j['ok_records_per_s']:.0f}\t{lat.get('p50', 0):.1f}\t"
      f"{lat.get('p99', 0):.1f}\t{failed}\t{sys.argv[4]}")
PY
  done
done
