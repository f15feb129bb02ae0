#!/usr/bin/env bash
# Checks the clang thread-safety annotations (GUARDED_BY, REQUIRES, ...):
# compiles the annotated sources with clang++ -Wthread-safety as errors,
# syntax only (no build directory needed). g++ ignores the annotations.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX_CLANG:-clang++}
status=0
for f in windows/*.cc exporters/sli_collector.cc daemon/server/rule_runtime.cc \
  alerting/outbox_sender.cc alerting/outbox_groups.cc daemon/store/wal_checkpointer.cc; do
  echo "thread-safety: $f"
  "$CXX" -std=c++20 -fsyntax-only -Wthread-safety -Wthread-safety-beta \
    -Werror=thread-safety -Werror=thread-safety-beta -I. "$f" || status=1
done
exit $status
