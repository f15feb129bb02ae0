#pragma once

// Read-side views of the windows for the HTTP surfaces.
//
// SnapshotCache owns one shared snapshot of the sli_windows rows (every
// agent) so that /metrics scrapes and /api/v1/slis calls do not each
// recompute (and each hold a copy of) every row. A snapshot is rebuilt only
// when something changed: the engine's Version() moved (ingest, prune,
// pricing), the windows changed, or the caller's `now` moved by `ttl` or
// more since it was built (records age out of time windows as time passes:
// figures are at most `ttl` old in time, never stale after a write).
// Invariant: the cached rows are exactly engine.Snapshot(windows, built_at)
// at a version >= the recorded one. Thread-safe: one builder at a time
// (others wait for it and share its result); readers share the rows
// through a shared_ptr to const, so nothing read is ever mutated.
//
// RuleRows is the /api/v1/slis rule part: the (sli, window, stat, by) of
// every rule query that the sli_windows rows do not already carry.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "daemon/common/thread_annotations.h"
#include "windows/window_engine.h"

namespace aw::windows {

using SliRows = std::shared_ptr<const std::vector<SliRow>>;

class SnapshotCache {
 public:
  explicit SnapshotCache(Millis ttl = Millis(1000)) : ttl_(ttl) {}
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // Every agent's rows for `windows` at `now` (within ttl).
  SliRows Get(const WindowEngine& engine, const std::vector<WindowSpec>& windows, TimeMs now)
      EXCLUDES(mu_);
  int64_t builds() const EXCLUDES(mu_);  // snapshots built so far (for tests)

 private:
  const Millis ttl_;
  mutable Mutex mu_;
  SliRows rows_ GUARDED_BY(mu_);
  uint64_t version_ GUARDED_BY(mu_) = 0;
  std::vector<WindowSpec> windows_ GUARDED_BY(mu_);
  TimeMs built_at_ GUARDED_BY(mu_) = 0;
  int64_t builds_ GUARDED_BY(mu_) = 0;
};

// Rows for the rule queries whose (sli, window, stat) with `by: [agent]`,
// no `where` and no offset the sli_windows rows do not already carry; for
// `agent` only if not empty. A finish_reason_rate row carries its reason
// as the label finish_reason.
std::vector<SliRow> RuleRows(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                             const std::vector<SliQuery>& rule_queries, TimeMs now,
                             const std::string& agent);

}  // namespace aw::windows
