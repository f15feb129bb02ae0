#!/usr/bin/env bash
# The WAL file's size under sustained ingest, daemons side by side: a fresh
# store each, NDJSON batches of BATCH (1000) records from agentwatch-loadgen
# (--templates 8, CONNECTIONS 4) for SECONDS, the size of aw.db-wal polled
# every 0.1 s. One TSV line per daemon and round: the largest size seen, the
# size when the load stopped, and the spans/s committed meanwhile.
#
#   bash bench/ingest/wal_size.sh [ROUNDS] [SECONDS] NAME=BINARY ...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROUNDS="${1:-1}"
SECS="${2:-30}"
shift 2 || shift $#
(($# > 0)) || { echo "usage: wal_size.sh ROUNDS SECONDS NAME=BINARY ..." >&2; exit 2; }
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
bench_workdir wal-size
bench_ingest_config "$WORK/d"
printf 'round\tdaemon\twal_max_bytes\twal_end_bytes\tdb_end_bytes\tspans_per_s\tloadavg_1m\n'
for ((r = 1; r <= ROUNDS; r++)); do
  for entry in "$@"; do
    name="${entry%%=*}"
    bin="${entry#*=}"
    rm -f "$WORK"/d/aw.db*
    aw_start "$bin" "$WORK/d"
    "$LOADGEN" --url "$AW_URL" --duration "${SECS}s" --batch "${BATCH:-1000}" --templates 8 \
      --connections "${CONNECTIONS:-4}" --spans-only --quiet --report-json "$WORK/lg.json" \
      >/dev/null 2>&1 &
    lg=$!
    bench_track "$lg"
    largest=0
    # Polls while the load runs; the deadline covers a loadgen that hangs.
    deadline=$((SECONDS + SECS + 30))
    while kill -0 "$lg" 2>/dev/null && ((SECONDS < deadline)); do
      size=$(stat -c %s "$WORK/d/aw.db-wal" 2>/dev/null || echo 0)
      ((size > largest)) && largest=$size
      sleep 0.1
    done
    kill -TERM "$lg" 2>/dev/null || true
    wait "$lg" 2>/dev/null || true
    bench_untrack "$lg"
    end_wal=$(stat -c %s "$WORK/d/aw.db-wal" 2>/dev/null || echo 0)
    end_db=$(stat -c %s "$WORK/d/aw.db" 2>/dev/null || echo 0)
    aw_stop
    printf '%s\t%s\t%s\t%s\t%s\t%.0f\t%s\n' "$r" "$name" "$largest" "$end_wal" "$end_db" \
      "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok_records_per_s"])' \
        "$WORK/lg.json" 2>/dev/null || echo 0)" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
