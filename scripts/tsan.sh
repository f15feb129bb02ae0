#!/usr/bin/env bash
# ThreadSanitizer run of the tests that exercise concurrency: the windows
# engine hammered from several threads (unit) and the real daemon under
# ingest + rule evaluation + scrapes + /api/v1/slis + status page + reloads
# (integration). Builds only those two test files and the daemon, in build-tsan.
# A data race makes the test process, or the daemon it runs, halt with
# exit code 66 and a "WARNING: ThreadSanitizer" report on stderr.
#
#   scripts/tsan.sh                 # configure, build, run
#   AW_CONCURRENCY_SECONDS=30 scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
JOBS=${JOBS:-2}
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# clang at -O1 with line tables: quicker to build than g++ -O2 -g, and
# TSan's reports keep their file:line.
cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DAW_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target agentwatch aw_windows_concurrency_test aw_concurrency_test

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
"$BUILD"/tests/unit/windows/aw_windows_concurrency_test
"$BUILD"/tests/integration/aw_concurrency_test
echo "tsan: no data race reported"
