#!/usr/bin/env bash
# `make demo`: agentwatch end to end on loopback, in about half a minute.
#
#  1. starts a webhook sink on 127.0.0.1:9465 (bench/webhook_sink.py), which
#     the `local-webhook` receiver of examples/agentwatch.yaml points at;
#  2. starts agentwatch on examples/agentwatch.yaml with its store in a temp dir;
#  3. drives it with agentwatch-loadgen: the `loop` scenario (incident-response
#     starts looping on tools) and `override-spike` (on-call overrides jump);
#  4. shows GET /api/v1/alerts and what the sink received;
#  5. replays an override-spike recording through `agentwatch replay`, where
#     the rule's `for: 10m` passes in event time;
#  6. stops everything it started (trap), exit 0.
#
# Environment: AW_BUILD (build dir, default "build"), SINK_PORT (default 9465).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${AW_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
AGENTWATCH="$BUILD/agentwatch"
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
PYTHON="${PYTHON:-python3}"
SINK_PORT="${SINK_PORT:-9465}"
CONFIG="$ROOT/examples/agentwatch.yaml"

for bin in "$AGENTWATCH" "$LOADGEN"; do
  [[ -x "$bin" ]] || { echo "demo: $bin not built; run make build (or set AW_BUILD)" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/agentwatch-demo.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The example config as shipped; if its rule glob does not load the example
# rules (e.g. it also matches a rule *test* file), run a copy holding only
# the rule files, and say so.
if ! "$AGENTWATCH" check --config "$CONFIG" >"$WORK/check.txt" 2>&1 ||
   grep -q " 0 rule files" "$WORK/check.txt"; then
  echo "demo: note: \`agentwatch check --config examples/agentwatch.yaml\` says: $(head -1 "$WORK/check.txt")" >&2
  echo "demo: running a copy of examples/agentwatch.yaml with examples/rules/*.yaml minus *_test.yaml" >&2
  mkdir -p "$WORK/config/rules"
  cp "$CONFIG" "$WORK/config/agentwatch.yaml"
  for f in "$ROOT"/examples/rules/*.yaml; do
    [[ "$f" == *_test.yaml ]] || cp "$f" "$WORK/config/rules/"
  done
  CONFIG="$WORK/config/agentwatch.yaml"
fi

say "webhook sink on 127.0.0.1:$SINK_PORT"
"$PYTHON" "$ROOT/bench/webhook_sink.py" --port "$SINK_PORT" >"$WORK/sink.out" 2>"$WORK/sink.err" &
PIDS+=($!)
for _ in $(seq 100); do
  grep -q listening "$WORK/sink.err" 2>/dev/null && break
  kill -0 "${PIDS[0]}" 2>/dev/null || { echo "demo: sink failed: $(cat "$WORK/sink.err")" >&2; exit 1; }
  sleep 0.05
done

say "agentwatch serve --config ${CONFIG#"$ROOT"/} --storage.path $WORK/agentwatch.db"
"$AGENTWATCH" serve --config "$CONFIG" --storage.path "$WORK/agentwatch.db" \
  --listen 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/agentwatch.log" 2>&1 &
AW_PID=$!
PIDS+=("$AW_PID")
for _ in $(seq 1000); do
  if [[ -s "$WORK/port" ]] && curl -fs -o /dev/null "http://127.0.0.1:$(cat "$WORK/port")/-/ready"; then break; fi
  kill -0 "$AW_PID" 2>/dev/null || { echo "demo: agentwatch exited:" >&2; cat "$WORK/agentwatch.log" >&2; exit 1; }
  sleep 0.02
done
URL="http://127.0.0.1:$(cat "$WORK/port")"
echo "listening on $URL"

say "loadgen --scenario loop: incident-response starts looping on its tools"
"$LOADGEN" --url "$URL" --scenario loop --agents 4 --count 1200 --batch 20 --connections 2 \
  --history 3h --seed 11

say "loadgen --scenario override-spike: on-call overrides of incident-response jump"
"$LOADGEN" --url "$URL" --scenario override-spike --agents 4 --count 800 --batch 20 \
  --connections 2 --history 1h --lag 5m --seed 12

# Delivery is asynchronous (durable outbox): wait for the sink.
for _ in $(seq 100); do
  grep -q AgentToolCallExplosion "$WORK/sink.out" 2>/dev/null && break
  sleep 0.1
done
sleep 0.5

say "GET /api/v1/alerts"
curl -fs "$URL/api/v1/alerts" >"$WORK/alerts.json"
"$PYTHON" - "$WORK/alerts.json" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))["alerts"]
for a in sorted(alerts, key=lambda a: (a["name"], a["labels"].get("agent", ""))):
    labels = ",".join(k + "=" + v for k, v in sorted(a["labels"].items()) if k != "alertname")
    print("%-8s %-24s {%s} value=%.4g since %s" % (a["state"], a["name"], labels, a["value"], a["active_since"]))
if not alerts:
    print("(no alerts)")
PY
echo "(AgentHighOverrideRate has for: 10m, so live it stays pending during a 30 s demo; see the replay below)"

say "what the webhook sink received"
cat "$WORK/sink.out"

say "agentwatch replay: an override-spike recording, evaluated in event time"
"$LOADGEN" --emit-ndjson "$WORK/events.ndjson" --scenario override-spike --agents 4 --count 1500 \
  --history 6h --seed 13
"$AGENTWATCH" replay --config "$CONFIG" "$WORK/events.ndjson" | grep -E "AgentHighOverrideRate|diagnosis-accuracy" | head -8 || true

say "stopping"
kill -TERM "$AW_PID"
wait "$AW_PID" && echo "agentwatch exited 0"
grep -q AgentToolCallExplosion "$WORK/sink.out" || { echo "demo: no AgentToolCallExplosion reached the sink" >&2; exit 1; }
echo "demo done"
