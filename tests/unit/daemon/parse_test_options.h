#pragma once

// The clock and limits the parser tests read bodies with. The fast path's
// differential test runs the parser tests' bodies again, so both take them
// from here.

#include "daemon/ingest/parser.h"

namespace aw::ingest::testing {

inline constexpr TimeMs kNow = 1'795'622'400'000;  // 2026-11-25T16:00:00Z

inline ParseOptions Options() {
  ParseOptions o;
  o.now_ms = kNow;
  o.max_records = 5;
  return o;
}

}  // namespace aw::ingest::testing
