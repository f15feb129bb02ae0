#!/usr/bin/env bash
# CI hook: builds the fuzz targets and runs each for ~10 s from its
# committed seed corpus (nothing is written back to fuzz/corpus/). Fails on
# any crash, leak, sanitizer report or timeout. Needs clang and
# libclang-rt-14-dev (scripts/install-deps.sh installs both).
#
#   fuzz/smoke.sh [SECONDS]     default 10
set -euo pipefail
cd "$(dirname "$0")/.."
export AW_FUZZ_BUILD=${AW_FUZZ_BUILD:-build-fuzz}
# The seeds must pass on their own first: a regression there is a plain bug.
bash fuzz/run.sh 0  # build only
status=0
for bin in "$AW_FUZZ_BUILD"/fuzz/fuzz_*; do
  [[ -x "$bin" ]] || continue
  t=$(basename "$bin")
  if ! "$bin" -runs=0 "fuzz/corpus/$t" >"$AW_FUZZ_BUILD/$t.seeds.log" 2>&1; then
    echo "fuzz smoke: $t fails on its seed corpus" >&2
    tail -n 40 "$AW_FUZZ_BUILD/$t.seeds.log" >&2
    status=1
  fi
done
((status == 0)) || exit 1
exec bash fuzz/run.sh "${1:-10}"
