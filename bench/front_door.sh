#!/usr/bin/env bash
# The front door side by side with nginx, in one run on this machine:
#   1. one span per POST, wrk -t2 -c64, agentwatch (no rules) vs nginx
#      `return 204`, alternating, ROUNDS rounds of WRK_SECS each;
#      and the server alone: GET /-/healthy on agentwatch vs GET on nginx,
#      same wrk command without the script;
#   2. latency of a legitimate client (fresh connection per POST) while
#      1,000 slow-header clients hold connections (bench/slowloris.py),
#      against agentwatch and against nginx.
# Raw outputs go to bench/results/front_door/. Every process started here is
# stopped by PID.
#
#   bash bench/front_door.sh            (AW_BUILD=build, ROUNDS=3, WRK_SECS=10)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${ROUNDS:-3}
WRK_SECS=${WRK_SECS:-10}
OUT="$ROOT/bench/results/front_door"
mkdir -p "$OUT"
rm -f "$OUT"/*.txt
bench_workdir frontdoor
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
WRK="$(command -v wrk)"
log() { printf '[front-door %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: return 204 for everything.
NG_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<EOF2
daemon off;
worker_processes auto;
worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NG_PORT backlog=1024;
    location / { return 204; }
  }
}
EOF2
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/logs/stdout.log" 2>&1 &
bench_track $!
for _ in $(seq 200); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$NG_PORT/" -d '{}' && break; sleep 0.02; done

start_aw() {
  local dir="$WORK/aw-$1"
  mkdir -p "$dir"
  cat >"$dir/agentwatch.yaml" <<EOF2
listen: 127.0.0.1:0
storage: {path: aw.db}
sli_windows: [1h]
limits: {max_connections: 4096}
log: {level: warn}
EOF2
  aw_start "$BUILD/agentwatch" "$dir"
}

log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  start_aw "wrk$r"
  log "round $r: agentwatch (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency -s "$ROOT/bench/wrk/post_span.lua" \
    "http://127.0.0.1:$AW_PORT" -- "fd$r-$$" >"$OUT/wrk_agentwatch_$r.txt" 2>&1
  "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency "http://127.0.0.1:$AW_PORT/-/healthy" \
    >"$OUT/wrk_get_agentwatch_$r.txt" 2>&1
  aw_stop
  log "round $r: nginx (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency -s "$ROOT/bench/wrk/post_span.lua" \
    "http://127.0.0.1:$NG_PORT" -- "ng$r-$$" >"$OUT/wrk_nginx_$r.txt" 2>&1
  "$WRK" -t2 -c64 -d"${WRK_SECS}s" --latency "http://127.0.0.1:$NG_PORT/-/healthy" \
    >"$OUT/wrk_get_nginx_$r.txt" 2>&1
done
grep -H "Requests/sec\|Non-2xx\|Socket errors" "$OUT"/wrk_*.txt | sed "s#$OUT/##" >&2 || true

start_aw slow
log "slowloris: agentwatch"
python3 "$ROOT/bench/slowloris.py" 127.0.0.1 "$AW_PORT" --slow 1000 --requests 400 \
  >"$OUT/slowloris_agentwatch.txt"
cat "$OUT/slowloris_agentwatch.txt" >&2
aw_stop
log "slowloris: nginx"
python3 "$ROOT/bench/slowloris.py" 127.0.0.1 "$NG_PORT" --slow 1000 --requests 400 \
  >"$OUT/slowloris_nginx.txt"
cat "$OUT/slowloris_nginx.txt" >&2
