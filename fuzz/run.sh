#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz (clang, ASan+UBSan) and runs
# each one for a budget, starting from its seed corpus.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 20 s each, every target
#   fuzz/run.sh 0                          build only
#
# New interesting inputs go to build-fuzz/corpus/<target>/ (the committed
# seeds in fuzz/corpus/<target>/ are read, never written). A crash leaves
# build-fuzz/artifacts/<target>/crash-* and makes the script exit 1; turn
# each into a regression test under tests/unit/fuzz_regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
shift || true
BUILD=${AW_FUZZ_BUILD:-build-fuzz}
JOBS=${JOBS:-1}
CXX_FUZZ=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}

# A build already configured with AW_FUZZ (the sanitizer build of `make
# sanitize`) is used as it is; otherwise a fuzz-only one is configured.
if ! grep -qx 'AW_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_FUZZ" \
    -DAW_FUZZ=ON -DAW_BUILD_TESTS=OFF -DAW_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD" --target fuzz_all -j"$JOBS"
((SECONDS_EACH > 0)) || exit 0

if (($# > 0)); then
  TARGETS=("$@")
else
  TARGETS=()
  for t in fuzz/fuzz_*.cc; do
    t=$(basename "$t" .cc)
    [[ -x "$BUILD/fuzz/$t" ]] && TARGETS+=("$t")
  done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f "fuzz/dict/$t.dict" ]] && dict=(-dict="fuzz/dict/$t.dict")
  echo "== $t: ${SECONDS_EACH}s" >&2
  if ! "$BUILD/fuzz/$t" "$corpus" "fuzz/corpus/$t" "${dict[@]}" \
      -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$BUILD/$t.log"; then
    failed+=("$t")
    tail -n 60 "$BUILD/$t.log" >&2
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|cov: .*ft:" "$BUILD/$t.log" \
    | tail -n 4 >&2 || true
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes in: ${failed[*]} (see $BUILD/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_EACH}s each, no crash" >&2
