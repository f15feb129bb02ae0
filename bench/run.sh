#!/usr/bin/env bash
# agentwatch benchmarks: every figure next to its anchor, measured in one run
# on this machine, written to bench/results/latest.md (raw outputs beside it
# in bench/results/raw/).
#
#   bash bench/run.sh            full run (a few minutes)
#   bash bench/run.sh --smoke    seconds-long version of every step, for CI
#                                (writes bench/results/smoke/; exit 1 if any step fails)
#
# Environment: AW_BUILD (build dir, default "build"), JOBS (for building the
# bench binaries when missing, default 2).
#
# Steps: 1 ingest req/s (wrk, one span per POST, 64 connections) vs nginx
# `return 204`; 2 spans/s in NDJSON batches of 100 and 1000 vs the per-core
# parse and SQLite ceilings; 3 latency at a fixed offered rate; 4 alert
# latency vs Prometheus + Alertmanager; 5 RSS / restart / scrape with 1,000
# agents and 1M investigations; 6 p95 accuracy vs histogram_quantile.
# Every process started here is stopped by PID (trap on exit).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

BUILD="${AW_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
AGENTWATCH="$BUILD/agentwatch"
LOADGEN="$BUILD/bench/loadgen/agentwatch-loadgen"
PARSEBENCH="$BUILD/bench/parse/agentwatch-parse-bench"
PYTHON="${PYTHON:-python3}"

if [[ $SMOKE == 1 ]]; then
  OUT="$ROOT/bench/results/smoke"
else
  OUT="$ROOT/bench/results"
fi
RAW="$OUT/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*
WORK="$(mktemp -d /tmp/agentwatch-bench.XXXXXX)"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
FAILED=()
fail() { log "FAILED: $*"; FAILED+=("$*"); }

# ---- build what is missing ----
if [[ ! -x "$AGENTWATCH" || ! -x "$LOADGEN" || ! -x "$PARSEBENCH" ]]; then
  log "building agentwatch, agentwatch-loadgen, agentwatch-parse-bench in $BUILD"
  [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$BUILD" --target agentwatch agentwatch-loadgen agentwatch-parse-bench \
    -j"${JOBS:-2}" >&2
fi
have() { command -v "$1" >/dev/null 2>&1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"; [[ -x "$NGINX" ]] || NGINX=""
WRK="$(command -v wrk || true)"
PROMETHEUS="$(command -v prometheus || true)"
ALERTMANAGER="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
if [[ $SMOKE == 0 ]]; then
  for tool in WRK NGINX PROMETHEUS ALERTMANAGER; do
    [[ -n "${!tool}" ]] || { log "$tool not found: run scripts/install-deps.sh"; exit 1; }
  done
fi

# ---- sizes ----
if [[ $SMOKE == 1 ]]; then
  ROUNDS=1; WRK_SECS=1; BATCH_SECS=1; RATE=500; RATE_SECS=1
  PARSE_SECS=0.1; PARSE_LINES=2000; SQLITE_ROWS=5000
  ALERT_TRIALS=3; BIG_COUNT=20000; BIG_AGENTS=100; GROW_CHUNK=2000; P95_COUNT=2000
else
  ROUNDS=3; WRK_SECS=5; BATCH_SECS=5; RATE=2000; RATE_SECS=10
  PARSE_SECS=1; PARSE_LINES=20000; SQLITE_ROWS=200000
  ALERT_TRIALS=50; BIG_COUNT=1000000; BIG_AGENTS=1000; GROW_CHUNK=50000; P95_COUNT=20000
fi

# ---- machine state (2 cores shared with other work: note it) ----
sample_load() {  # STEP
  local compilers
  compilers=$(ps -eo comm= | grep -cE '^(cc1plus|cc1|clang|clang\+\+|clang-[0-9]+|ld|ld\.bfd|ld\.gold|collect2)$' || true)
  printf '%s\t%s\t%s\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" "${compilers:-0}" >>"$RAW/load.tsv"
}
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"nproc\": $(nproc),"
  echo "  \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\","
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"smoke\": $SMOKE,"
  echo "  \"build\": \"$BUILD\","
  echo "  \"command\": \"bash bench/run.sh$([[ $SMOKE == 1 ]] && echo ' --smoke')\""
  echo "}"
} >"$RAW/meta.json"
printf 'step\tloadavg\tcompilers\n' >"$RAW/load.tsv"
sample_load start

# ---- helpers ----
PRICING='pricing:
  claude-sonnet-4-6: {input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}
  claude-opus-4-1: {input: 15.00, output: 75.00, cache_read: 1.50, cache_write: 18.75}'

SINK_PID=""
SINK_PORT=""
start_sink() {  # a webhook sink for the daemons' alerts (example rules fire under load)
  SINK_PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$PYTHON" "$ROOT/bench/webhook_sink.py" --port "$SINK_PORT" >"$RAW/sink.log" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
}

# write_config DIR EVAL_INTERVAL [rules|norules]: the bench daemon's config,
# with the example rules (examples/rules/*.yaml minus *_test.yaml) or none.
write_config() {
  rm -rf "$1"
  mkdir -p "$1/rules"
  if [[ "${3:-rules}" == rules ]]; then
    local f
    for f in "$ROOT"/examples/rules/*.yaml; do
      [[ "$f" == *_test.yaml ]] || cp "$f" "$1/rules/"
    done
  fi
  cat >"$1/agentwatch.yaml" <<EOF
listen: 127.0.0.1:0
storage: {path: aw.db, retention: 30d, sync: normal}
evaluation_interval: ${2:-15s}
max_event_age: 7d
max_clock_skew: 5m
sli_windows: [1h, 24h, 7d]
limits: {max_body_bytes: 8MiB, max_records_per_request: 10000, max_agents: 1000}
$PRICING
receivers:
  - name: sink
    webhook: {url: "http://127.0.0.1:$SINK_PORT/hook"}
default_receivers: [sink]
repeat_interval: 4h
rule_files: [rules/*.yaml]
EOF
}

AW_PID=""
AW_URL=""
AW_START_MS=0
AW_READY_MS=0
now_ms() { date +%s%3N; }
# start_daemon DIR: starts agentwatch on DIR/agentwatch.yaml, waits for /-/ready.
start_daemon() {
  local dir="$1" i
  rm -f "$dir/port"
  AW_START_MS=$(now_ms)
  "$AGENTWATCH" serve --config "$dir/agentwatch.yaml" --port-file "$dir/port" \
    >>"$dir/agentwatch.log" 2>&1 &
  AW_PID=$!
  PIDS+=("$AW_PID")
  for ((i = 0; i < 6000; i++)); do
    if [[ -s "$dir/port" ]]; then
      AW_URL="http://127.0.0.1:$(cat "$dir/port")"
      if curl -fs -o /dev/null "$AW_URL/-/ready"; then AW_READY_MS=$(now_ms); return 0; fi
    fi
    kill -0 "$AW_PID" 2>/dev/null || { log "agentwatch exited: $(tail -3 "$dir/agentwatch.log")"; return 1; }
    sleep 0.01
  done
  log "agentwatch not ready after 60 s"
  return 1
}
# stop_daemon: SIGTERM, wait; fails unless it exits 0.
stop_daemon() {
  local rc=0
  kill -TERM "$AW_PID" 2>/dev/null || true
  wait "$AW_PID" || rc=$?
  AW_PID=""
  return $rc
}
rss_kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# ---- step 1: one span per POST, 64 connections, wrk: agentwatch vs nginx ----
# Each round: a fresh agentwatch with the example rules, a fresh one without
# rules, and nginx, all with the same wrk command.
step1() {
  log "step 1: ingest req/s, one span per POST, wrk -t2 -c64, ${ROUNDS}x${WRK_SECS}s each"
  if [[ -z "$WRK" ]]; then fail "step 1: wrk missing"; return; fi
  local ng="$WORK/nginx" port r v
  mkdir -p "$ng/logs" "$ng/tmp"
  local ng_pid=""
  if [[ -n "$NGINX" ]]; then
    port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$ng/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $ng/nginx.pid;
error_log $ng/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ng/tmp;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / { return 204; }
  }
}
EOF
    "$NGINX" -p "$ng" -c "$ng/nginx.conf" >"$ng/logs/stdout.log" 2>&1 &
    ng_pid=$!
    PIDS+=("$ng_pid")
    for ((r = 0; r < 200; r++)); do
      curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/v1/spans" -d '{}' && break
      sleep 0.02
    done
  else
    log "step 1: nginx missing; measuring agentwatch only"
  fi
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in rules norules; do
      write_config "$WORK/s1-$v" 15s "$v"
      start_daemon "$WORK/s1-$v" || { fail "step 1: daemon did not start"; return; }
      sample_load "step1 $v round $r"
      "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency -s "$ROOT/bench/wrk/post_span.lua" "$AW_URL" -- "aw$r$v-$$" \
        >"$RAW/step1_agentwatch-${v}_$r.txt" 2>&1 || fail "step 1: wrk against agentwatch"
      stop_daemon || fail "step 1: agentwatch did not exit 0 on SIGTERM"
    done
    if [[ -n "$ng_pid" ]]; then
      sample_load "step1 nginx round $r"
      "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency -s "$ROOT/bench/wrk/post_span.lua" "http://127.0.0.1:$port" -- "ng$r-$$" \
        >"$RAW/step1_nginx_$r.txt" 2>&1 || fail "step 1: wrk against nginx"
    fi
  done
  # Every 2xx must be durable: what the store holds after SIGTERM and a
  # restart, against wrk's count of 2xx replies (last round, example rules).
  start_daemon "$WORK/s1-rules" || { fail "step 1: restart"; return; }
  grep -o 'rebuilt state[^"]*' "$WORK/s1-rules/agentwatch.log" | tail -1 >"$RAW/step1_rebuild.txt" || true
  stop_daemon || fail "step 1: agentwatch did not exit 0 on SIGTERM"
  if [[ -n "$ng_pid" ]]; then
    kill -TERM "$ng_pid" 2>/dev/null || true
    wait "$ng_pid" 2>/dev/null || true
  fi
  grep -H "Requests/sec" "$RAW"/step1_*.txt | sed "s#$RAW/##" >&2 || true
}

# ---- step 2: NDJSON batches of 100 and 1000 vs parse and SQLite ceilings ----
step2() {
  log "step 2: spans/s in NDJSON batches of 100 and 1000 (loadgen, 4 connections)"
  local b r v
  for ((r = 1; r <= ROUNDS; r++)); do
    for b in 100 1000; do
      for v in rules norules; do
        write_config "$WORK/s2" 15s "$v"
        start_daemon "$WORK/s2" || { fail "step 2: daemon did not start"; return; }
        sample_load "step2 batch $b $v round $r"
        "$LOADGEN" --url "$AW_URL" --batch "$b" --templates 8 --connections 4 --agents 8 \
          --duration "${BATCH_SECS}s" --history 20h --seed "$r" --quiet \
          --report-json "$RAW/step2_batch${b}-${v}_$r.json" >&2 || fail "step 2: loadgen batch $b"
        stop_daemon || fail "step 2: agentwatch did not exit 0 on SIGTERM"
      done
    done
  done
  log "step 2: parse and SQLite ceilings on the same NDJSON ($PARSE_LINES spans)"
  sample_load "step2 parse"
  "$LOADGEN" --emit-ndjson "$WORK/spans.ndjson" --emit-bare --count "$PARSE_LINES" --agents 8 \
    --history 20h --seed 1 2>/dev/null || fail "step 2: emitting NDJSON"
  "$PARSEBENCH" --spans "$WORK/spans.ndjson" --seconds "$PARSE_SECS" --rows "$SQLITE_ROWS" \
    --json "$RAW/step2_parse.json" >"$RAW/step2_parse.txt" 2>&1 || fail "step 2: parse bench"
  cat "$RAW/step2_parse.txt" >&2
}

# ---- step 3: latency at a fixed offered rate ----
step3() {
  log "step 3: latency at $RATE records/s offered (one object per POST, 16 connections, ${RATE_SECS}s)"
  local dir="$WORK/s3"
  mkdir -p "$dir"
  write_config "$dir" 15s
  start_daemon "$dir" || { fail "step 3: daemon did not start"; return; }
  sample_load "step3"
  "$LOADGEN" --url "$AW_URL" --rate "$RATE" --duration "${RATE_SECS}s" --batch 1 --connections 16 \
    --agents 8 --scenario steady --quiet --report-json "$RAW/step3_rate.json" >&2 \
    || fail "step 3: loadgen"
  stop_daemon || fail "step 3: agentwatch did not exit 0 on SIGTERM"
}

# ---- step 4: alert latency, agentwatch vs Prometheus + Alertmanager ----
step4() {
  log "step 4: alert latency over $ALERT_TRIALS trials"
  sample_load "step4"
  local prom_args=()
  if [[ -n "$PROMETHEUS" && -n "$ALERTMANAGER" ]]; then
    prom_args=(--prometheus "$PROMETHEUS" --alertmanager "$ALERTMANAGER")
  else
    log "step 4: prometheus/alertmanager missing; agentwatch only"
  fi
  "$PYTHON" "$ROOT/bench/alert_latency.py" --agentwatch "$AGENTWATCH" --work "$WORK/s4" \
    --trials "$ALERT_TRIALS" "${prom_args[@]}" --out "$RAW/step4_alert.json" >&2 \
    || fail "step 4: alert latency"
}

# ---- step 5: RSS, restart-to-ready and /metrics scrape at scale ----
step5() {
  # The scale figures are about the windows' memory and the rebuild, so the
  # daemon runs without rules here: with the example rules, ingest slows as
  # the store grows (measured in step5b).
  log "step 5: $BIG_COUNT investigations (+ verdicts, resolutions) over 6 days, $BIG_AGENTS agents (no rules)"
  local dir="$WORK/s5" i
  write_config "$dir" 15s norules
  start_daemon "$dir" || { fail "step 5: daemon did not start"; return; }
  sample_load "step5 load"
  "$LOADGEN" --url "$AW_URL" --count "$BIG_COUNT" --agents "$BIG_AGENTS" --batch 1000 \
    --connections 2 --history 6d --lag 10m --seed 5 --quiet \
    --report-json "$RAW/step5_load.json" >&2 || fail "step 5: loading"
  curl -fs -o /dev/null "$AW_URL/metrics" || true
  sample_load "step5 measure"
  local rss hwm
  rss=$(rss_kib "$AW_PID" VmRSS); hwm=$(rss_kib "$AW_PID" VmHWM)
  # /metrics scrape time, 10 scrapes
  : >"$RAW/step5_scrape.txt"
  for ((i = 0; i < 10; i++)); do
    curl -fs -o /dev/null -w '%{time_total} %{size_download}\n' "$AW_URL/metrics" \
      >>"$RAW/step5_scrape.txt" || fail "step 5: /metrics"
  done
  local slis_s
  slis_s=$(curl -fs -o /dev/null -w '%{time_total}' "$AW_URL/api/v1/slis") || fail "step 5: /api/v1/slis"
  local stop_start stop_ms
  stop_start=$(now_ms)
  stop_daemon || fail "step 5: agentwatch did not exit 0 on SIGTERM"
  stop_ms=$(( $(now_ms) - stop_start ))
  local db_bytes
  db_bytes=$(du -cb "$dir"/aw.db* | tail -1 | cut -f1)
  sample_load "step5 restart"
  start_daemon "$dir" || { fail "step 5: restart"; return; }
  local restart_ms=$((AW_READY_MS - AW_START_MS))
  local rss2 hwm2
  rss2=$(rss_kib "$AW_PID" VmRSS); hwm2=$(rss_kib "$AW_PID" VmHWM)
  grep -o 'rebuilt state[^"]*' "$dir/agentwatch.log" | tail -1 >"$RAW/step5_rebuild.txt" || true
  stop_daemon || fail "step 5: agentwatch did not exit 0 on SIGTERM (after restart)"
  cat >"$RAW/step5.json" <<EOF
{"investigations": $BIG_COUNT, "agents": $BIG_AGENTS,
 "rss_kib": ${rss:-0}, "hwm_kib": ${hwm:-0},
 "rss_after_restart_kib": ${rss2:-0}, "hwm_after_restart_kib": ${hwm2:-0},
 "restart_to_ready_ms": $restart_ms, "stop_ms": $stop_ms, "db_bytes": ${db_bytes:-0},
 "slis_api_s": ${slis_s:-0}}
EOF
  log "step 5: RSS $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB), restart-to-ready ${restart_ms} ms, $(cat "$RAW/step5_rebuild.txt")"
}

# ---- step 5b: ingest rate as the store grows, with the example rules ----
step5b() {
  log "step 5b: with the example rules, 3 x $GROW_CHUNK investigations, $BIG_AGENTS agents"
  local dir="$WORK/s5b" i
  write_config "$dir" 15s rules
  start_daemon "$dir" || { fail "step 5b: daemon did not start"; return; }
  for i in 1 2 3; do
    sample_load "step5b chunk $i"
    "$LOADGEN" --url "$AW_URL" --count "$GROW_CHUNK" --agents "$BIG_AGENTS" --batch 1000 \
      --connections 2 --history 6d --lag 10m --seed "$((50 + i))" --quiet \
      --report-json "$RAW/step5b_chunk_$i.json" >&2 || fail "step 5b: loading chunk $i"
  done
  stop_daemon || fail "step 5b: agentwatch did not exit 0 on SIGTERM"
}

# ---- step 6: p95 accuracy vs Prometheus histogram_quantile ----
step6() {
  log "step 6: p95 accuracy on $P95_COUNT lognormal spans"
  local dir="$WORK/s6"
  mkdir -p "$dir"
  write_config "$dir" 15s
  start_daemon "$dir" || { fail "step 6: daemon did not start"; return; }
  sample_load "step6"
  "$LOADGEN" --emit-ndjson "$WORK/p95.ndjson" --count "$P95_COUNT" --agents 8 --history 20h \
    --seed 6 2>/dev/null || fail "step 6: emitting events"
  "$PYTHON" "$ROOT/bench/p95_accuracy.py" --url "$AW_URL" --events "$WORK/p95.ndjson" \
    --out "$RAW/step6_p95.json" >&2 || fail "step 6: p95 accuracy"
  stop_daemon || fail "step 6: agentwatch did not exit 0 on SIGTERM"
}

START=$(now_ms)
start_sink
for step in step1 step2 step3 step4 step5 step5b step6; do
  if [[ -n "${ONLY_STEPS:-}" && " $ONLY_STEPS " != *" $step "* ]]; then continue; fi
  "$step" || fail "$step"
  if [[ -n "$AW_PID" ]]; then stop_daemon || true; fi
done
sample_load end
ELAPSED=$(( ($(now_ms) - START) / 1000 ))
printf '%s\n' "${FAILED[@]+"${FAILED[@]}"}" >"$RAW/failed.txt"

"$PYTHON" "$ROOT/bench/report.py" --raw "$RAW" --out "$OUT/latest.md" --elapsed "$ELAPSED" \
  || fail "report"
log "wrote $OUT/latest.md in ${ELAPSED}s"
if ((${#FAILED[@]})); then
  log "${#FAILED[@]} step(s) failed: ${FAILED[*]}"
  exit 1
fi
