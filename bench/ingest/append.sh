#!/usr/bin/env bash
# SqliteStore::Append alone, binaries side by side: agentwatch-parse-bench's
# Append stage (200,000 rows in batches of 1000 into a fresh temp file,
# synchronous=NORMAL) on the same 20,000 loadgen lines, the binaries
# interleaved round by round. One TSV line per run with the load average.
# An entry is NAME=BINARY, optionally followed by extra parse-bench flags.
#
#   bash bench/ingest/append.sh [ROUNDS] NAME=BINARY[" FLAGS"] ...
#   e.g. bash bench/ingest/append.sh 5 main=/tmp/parse-bench.main \
#          "incommit=build/bench/parse/agentwatch-parse-bench --wal-checkpoint commit" \
#          thread=build/bench/parse/agentwatch-parse-bench
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROUNDS="${1:-3}"
shift || true
(($# > 0)) || { echo "usage: append.sh ROUNDS NAME=BINARY ..." >&2; exit 2; }
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
bench_workdir append-bench
"$LOADGEN" --emit-ndjson "$WORK/spans.ndjson" --emit-bare --count 20000 --agents 8 \
  --history 20h --seed 1 >/dev/null 2>&1
printf '# %s load %s\n' "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'binary\tround\tappend_normal_rows_per_s\tloadavg_1m\n'
for ((r = 1; r <= ROUNDS; r++)); do
  for entry in "$@"; do
    name="${entry%%=*}"
    read -r -a cmd <<<"${entry#*=}"
    # --seconds 0.2: the parse stages before it are not what is measured here.
    "${cmd[@]}" --spans "$WORK/spans.ndjson" --seconds 0.2 --rows 200000 \
      --json "$WORK/out.json" >/dev/null
    printf '%s\t%s\t%.0f\t%s\n' "$name" "$r" \
      "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sqlite_normal_rows_per_s"])' \
        "$WORK/out.json")" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
