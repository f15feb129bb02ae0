# Shared by the bench scripts (sourced, not run): the repo root and build
# directory (AW_BUILD, default build), a scratch directory removed on exit,
# the ingest benches' config, and agentwatch daemons on ephemeral loopback
# ports. Every process started through it is stopped by PID on exit.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${AW_BUILD:-build}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
WORK=""
BENCH_PIDS=()
AW_PID=""
AW_PORT=""
AW_URL=""

# bench_workdir NAME: WORK=/tmp/agentwatch-NAME.XXXXXX, cleaned up on exit.
bench_workdir() {
  WORK="$(mktemp -d "/tmp/agentwatch-$1.XXXXXX")"
  trap bench_cleanup EXIT
}

# bench_track PID: stopped (TERM, then waited for) on exit.
bench_track() { BENCH_PIDS+=("$1"); }

bench_untrack() {
  local pid kept=()
  for pid in "${BENCH_PIDS[@]}"; do [[ "$pid" == "$1" ]] || kept+=("$pid"); done
  BENCH_PIDS=("${kept[@]}")
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
}

# bench_ingest_config DIR: DIR/agentwatch.yaml for the ingest benches (no
# rules; batches of up to 10,000 records).
bench_ingest_config() {
  mkdir -p "$1"
  cat >"$1/agentwatch.yaml" <<CFG
listen: 127.0.0.1:0
storage: {path: aw.db, sync: normal}
sli_windows: [1h, 24h]
limits: {max_body_bytes: 8MiB, max_records_per_request: 10000}
pricing:
  claude-sonnet-4-6: {input: 3.00, output: 15.00}
CFG
}

# aw_start BINARY DIR: serves DIR/agentwatch.yaml (log in DIR/log) and waits
# for /-/ready; sets AW_PID, AW_PORT and AW_URL. Exits if it does not start.
aw_start() {
  local bin="$1" dir="$2"
  rm -f "$dir/port"
  "$bin" serve --config "$dir/agentwatch.yaml" --port-file "$dir/port" >"$dir/log" 2>&1 &
  AW_PID=$!
  bench_track "$AW_PID"
  for _ in $(seq 1 3000); do
    if [[ -s "$dir/port" ]] && curl -fs -o /dev/null "http://127.0.0.1:$(cat "$dir/port")/-/ready"; then
      AW_PORT="$(cat "$dir/port")"
      AW_URL="http://127.0.0.1:$AW_PORT"
      return 0
    fi
    kill -0 "$AW_PID" 2>/dev/null || break
    sleep 0.01
  done
  echo "agentwatch did not start: $(tail -3 "$dir/log")" >&2
  exit 1
}

# aw_stop: stops the daemon of the last aw_start and waits for it.
aw_stop() {
  kill -TERM "$AW_PID"
  wait "$AW_PID"
  bench_untrack "$AW_PID"
  AW_PID=""
}
