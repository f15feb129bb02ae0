#!/usr/bin/env bash
# The ingest part of bench/scale.py alone (about 25 s instead of 6 min): one
# daemon with the example rules and the probe rule, a webhook sink on
# loopback answering 200 (NOSINK=1: no sink, the receiver is down), then
# 100k spans (seed 1), 800k (seed 2) and the last 100k (seed 3), batches of
# 1000 over 2 connections, 1,000 agents. Prints the three rates, the ratio
# last/first and the outbox by status. PERF=1 profiles the last chunk
# (perf.data in the work directory, kept).
#
#   bash bench/scale_ingest.sh BINARY [WORKDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath "$1")"
D="${2:-/tmp/agentwatch-scale-ingest}"
LG="$ROOT/${AW_BUILD:-build}/bench/loadgen/agentwatch-loadgen"
rm -rf "$D"
mkdir -p "$D/rules"
for f in "$ROOT"/examples/rules/*.yaml; do [[ "$f" == *_test.yaml ]] || cp "$f" "$D/rules/"; done
printf 'groups:\n- name: probe\n  rules:\n  - alert: ScaleProbe\n    sli: investigations\n    window: 1h\n    op: ">"\n    threshold: 0\n    for: 0s\n' >"$D/rules/probe.yaml"
SINK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
if [[ -z "${NOSINK:-}" ]]; then
  python3 - "$SINK_PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  PIDS+=($!)
fi
cat >"$D/agentwatch.yaml" <<CFG
listen: 127.0.0.1:0
storage: {path: aw.db, retention: 30d, sync: normal}
evaluation_interval: 15s
max_event_age: 7d
max_clock_skew: 5m
sli_windows: [1h, 24h, 7d]
limits: {max_body_bytes: 8MiB, max_records_per_request: 10000, max_agents: 1040}
pricing:
  claude-sonnet-4-6: {input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}
  claude-opus-4-1: {input: 15.00, output: 75.00, cache_read: 1.50, cache_write: 18.75}
receivers:
  - name: sink
    webhook: {url: "http://127.0.0.1:$SINK_PORT/aw"}
default_receivers: [sink]
repeat_interval: 4h
rule_files: [rules/*.yaml]
CFG
cd "$D"
"$BIN" serve --config agentwatch.yaml --port-file port >log 2>&1 &
AW=$!
PIDS+=($AW)
timeout 120 bash -c 'until [ -s port ] && curl -sf -o /dev/null http://127.0.0.1:$(cat port)/-/ready; do sleep 0.05; done'
URL="http://127.0.0.1:$(cat port)"
chunk() {
  "$LG" --url "$URL" --count "$1" --agents 1000 --batch 1000 --connections 2 --history 6d \
    --lag 10m --seed "$2" --quiet --report-json "$3" >/dev/null
}
chunk 100000 1 first.json
chunk 800000 2 middle.json
if [[ -n "${PERF:-}" ]]; then
  perf record -o perf.data -F 299 --call-graph dwarf,16384 -p "$AW" >/dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.3
fi
chunk 100000 3 last.json
if [[ -n "${PERF:-}" ]]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
python3 - "$(basename "$BIN")" <<'PY'
import json, os, sys
r = {k: json.load(open(k + ".json"))["records_per_s"] for k in ("first", "middle", "last")}
print(sys.argv[1], "first %.0f middle %.0f last %.0f records/s, ratio %.3f, load %s" % (
    r["first"], r["middle"], r["last"], r["last"] / r["first"], os.getloadavg()[0]))
PY
kill -INT "$AW"
wait "$AW" || true
echo "outbox by status: $(sqlite3 aw.db 'select status, count(*) from outbox group by status' | tr '\n' ' ')"
