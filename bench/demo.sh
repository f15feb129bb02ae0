#!/usr/bin/env bash
# `make demo`: agentwatch end to end on loopback, in about half a minute.
#
# By default the demo runs its OWN daemon on a temporary store and port: a
# daemon you started with `make run` is left alone and sees none of the demo's
# traffic. To drive a daemon that is already running instead, give its URL:
#     bash bench/demo.sh --url http://127.0.0.1:9464     (or: make demo AW_URL=...)
# Its notifications then go to that daemon's own receivers.
#
#  1. starts a webhook sink on 127.0.0.1:9465 (bench/webhook_sink.py);
#  2. starts agentwatch with the example rules, a `local-webhook` receiver
#     pointing at the sink, and its store in a temp dir (skipped with --url);
#  3. drives it with agentwatch-loadgen: the `loop` scenario (incident-response
#     starts looping on tools) and `override-spike` (on-call overrides jump);
#  4. shows GET /api/v1/alerts and what the sink received;
#  5. replays an override-spike recording through `agentwatch replay`, where
#     the rule's `for: 10m` passes in event time;
#  6. stops everything it started (trap), exit 0.
#
# Environment: AW_BUILD (build dir, default "build"), SINK_PORT (default 9465),
# AW_URL (same as --url).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${AW_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
AGENTWATCH="$BUILD/agentwatch"
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
PYTHON="${PYTHON:-python3}"
SINK_PORT="${SINK_PORT:-9465}"
EXAMPLE="$ROOT/examples/agentwatch.yaml"
URL="${AW_URL:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) URL="${2:?--url needs a value}"; shift 2 ;;
    --url=*) URL="${1#--url=}"; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

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

# The demo's own config: the example, with a receiver for the sink (the
# shipped example has none, so `make run` sends nothing anywhere).
CONFIG="$WORK/agentwatch.yaml"
sed -e "s|^receivers: \[\].*|receivers:\n  - name: local-webhook\n    webhook: {url: \"http://127.0.0.1:$SINK_PORT/hook\"}|" \
    -e "s|^default_receivers: \[\].*|default_receivers: [local-webhook]|" \
    -e "s|^rule_files: .*|rule_files: [\"$ROOT/examples/rules/*.yaml\"]|" \
    "$EXAMPLE" >"$CONFIG"
"$AGENTWATCH" check --config "$CONFIG" >"$WORK/check.txt" 2>&1 &&
  grep -q "(1 receivers" "$WORK/check.txt" ||
  { echo "demo: could not derive a config from examples/agentwatch.yaml:" >&2; cat "$WORK/check.txt" >&2; exit 1; }

if [[ -n "$URL" ]]; then
  say "driving the running daemon at $URL (nothing is started; its own receivers get the alerts)"
  curl -fs -o /dev/null "$URL/-/ready" || { echo "demo: $URL/-/ready does not answer 200" >&2; exit 1; }
else
  say "this demo starts its OWN agentwatch on a temporary store ($WORK); a daemon from \`make run\` is not touched"

  say "webhook sink on 127.0.0.1:$SINK_PORT"
  "$PYTHON" "$ROOT/bench/webhook_sink.py" --port "$SINK_PORT" >"$WORK/sink.out" 2>"$WORK/sink.err" &
  PIDS+=($!)
  for _ in $(seq 100); do
    grep -q listening "$WORK/sink.err" 2>/dev/null && break
    kill -0 "${PIDS[0]}" 2>/dev/null || { echo "demo: sink failed: $(cat "$WORK/sink.err")" >&2; exit 1; }
    sleep 0.05
  done

  say "agentwatch serve --config $CONFIG --storage.path $WORK/agentwatch.db --listen 127.0.0.1:0"
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
fi

say "loadgen --scenario loop: incident-response starts looping on its tools"
"$LOADGEN" --url "$URL" --scenario loop --agents 4 --count 1200 --batch 20 --connections 2 \
  --history 3h --seed 11

say "loadgen --scenario override-spike: on-call overrides of incident-response jump"
"$LOADGEN" --url "$URL" --scenario override-spike --agents 4 --count 800 --batch 20 \
  --connections 2 --history 1h --lag 5m --seed 12

if [[ -n "${AW_PID:-}" ]]; then
  # Delivery is asynchronous (durable outbox): wait for the sink.
  for _ in $(seq 100); do
    grep -q AgentToolCallExplosion "$WORK/sink.out" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
fi

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

if [[ -n "${AW_PID:-}" ]]; then
  say "what the webhook sink received"
  cat "$WORK/sink.out"
fi

say "agentwatch replay: an override-spike recording, evaluated in event time"
"$LOADGEN" --emit-ndjson "$WORK/events.ndjson" --scenario override-spike --agents 4 --count 1500 \
  --history 6h --seed 13
"$AGENTWATCH" replay --config "$CONFIG" "$WORK/events.ndjson" | grep -E "AgentHighOverrideRate|diagnosis-accuracy" | head -8 || true

if [[ -z "${AW_PID:-}" ]]; then
  echo "demo done: the daemon at $URL keeps running with the demo's events in its store"
  exit 0
fi
say "stopping the demo's own daemon (its temporary store is removed)"
kill -TERM "$AW_PID"
wait "$AW_PID" && echo "agentwatch exited 0"
grep -q AgentToolCallExplosion "$WORK/sink.out" || { echo "demo: no AgentToolCallExplosion reached the sink" >&2; exit 1; }
echo "demo done"
