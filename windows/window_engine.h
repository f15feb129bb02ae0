#pragma once

// The windows engine: per-investigation state joined from spans, verdicts
// and resolutions, and every SLI of the contract computed over time and
// count windows, per `by` group. Pure: time is passed in, nothing sleeps.
//
// Semantics (CONTRACT.md "SLIs"):
// - Everything is placed by its investigation's time (the span's ts). A
//   verdict or resolution arriving later updates that investigation.
// - Verdicts: the latest by ts wins; on a tie the one with the larger `seq`
//   (arrival order). A verdict before its span is kept and joined when the
//   span arrives; if it names its agent it counts at once, placed at the
//   verdict's ts, and moves to the span's ts/agent once the span arrives.
// - Resolutions: by incident_id (every investigation of that incident, also
//   ones whose span arrives later) or by investigation_id (wins over the
//   incident's). Latest by resolved_at, tie by seq. Time to resolve =
//   time_to_resolve_s, else resolved_at - opened_at, else
//   resolved_at - (span.ts - duration_ms).
// - Time window W at `now` (minus `offset`): records with end-offset-W < ts
//   <= end-offset, where end = now. Count window N: the latest N records
//   (by ts, then seq) with ts <= now - offset, per group, after `where`.
// - p-quantiles are nearest rank: the smallest v with at least q% of samples
//   <= v (rank = ceil(q*n/100) computed in integers).
//
// Details the summary above leaves open:
// - A verdict-only record (verdict named its agent, no span yet) sits at the
//   standing verdict's (ts, seq), under the agent named by the latest-
//   arriving verdict that names one, with no labels. It counts for
//   override_rate only (not investigations, review_coverage, cost or
//   distributions). A verdict naming no agent waits, counted nowhere.
// - Groups: a missing label groups (and filters, for `where`) as "".
//   Time windows list every group with any record at all; count windows
//   only groups with at least one record at ts <= end.
// - Snapshot has a row set for every known agent and every window, count
//   windows included (an empty one gives 0 / null).
// - PruneBefore also drops held verdicts/resolutions older than the cutoff
//   and incident resolutions with resolved_at < cutoff.
// - Memory: one 128-byte record per investigation plus its id in one flat
//   string table (the id's bytes and ~20 more), plus
//   one hour bucket (80 bytes: counts, cost and a vector of tool counts,
//   plus 8 bytes per distinct tool_calls value of its spans, heap-allocated)
//   per agent and hour that holds records, and one per hour for the fleet.
// - Hour buckets: per agent, the counts of spans, verdicts, overrides and
//   reviewed spans and the spans' cost per hour of ts, and the same summed
//   over the fleet. Costs are summed in fixed point (1e-18 USD), so a sum
//   does not depend on the order of its terms or on which of them came from
//   a bucket: cost_usd is that sum (0.1 + 0.2 is 0.3).
//   Invariant: they equal the counts of the placed records as they stand
//   (every writer takes a record's share out before changing it and puts it
//   back after). investigations, override_rate, review_coverage and
//   cost_usd over a time window, grouped by agent or by nothing and without
//   label filters, read whole buckets (the fleet's when grouped by nothing)
//   and scan records only in the two partial edge buckets; exact at the
//   edges. So does tool_calls, from each hour's value -> count of its spans'
//   tool calls (exact; while any span held has tool calls outside
//   [0, INT32_MAX], its agent's and the fleet's windows read records). A
//   count window of those four figures per agent reads the hours before the
//   one holding its end whole, and records only in the hour where its count
//   runs out.
//
// Thread-safety: thread-safe. The engine owns its state and its lock; every
// public method takes the lock itself (writers exclusively, readers shared),
// so callers never lock it by hand. Readers never mutate: a writer puts a
// record a little out of (ts, seq) order in its place, and one far out of
// order only marks its agent unsorted; the next reader sorts under the
// exclusive lock before it reads under the shared one (so a replay of a
// million spans in arbitrary order still costs one sort per agent, not n
// middle inserts). Each call sees a consistent
// state; two calls may see different states if a writer ran in between.

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/common/thread_annotations.h"
#include "daemon/common/types.h"
#include "windows/stats.h"

namespace aw::windows {

// One row of a snapshot: what /api/v1/slis and /metrics show.
struct SliRow {
  std::string agent;
  Labels labels;  // by-labels other than agent
  Sli sli;
  std::string window;  // as configured
  Stat stat;
  std::optional<double> value;
  int64_t samples = 0;
};

constexpr TimeMs kForever = std::numeric_limits<TimeMs>::max();

// One agent's part of a snapshot (WindowEngine::SnapshotAgents).
struct AgentSnapshot {
  std::string agent;
  uint64_t generation = 0;  // moves with every write that can change its rows
  bool computed = false;    // rows and valid_until are filled
  // The rows equal Snapshot(windows, now2) for this agent at every now2 in
  // [now, valid_until) as long as `generation` stands.
  TimeMs valid_until = kForever;
  std::vector<SliRow> rows;
};

struct MemoryStats {
  int64_t investigations = 0;  // records held
  int64_t agents = 0;
  int64_t bytes = 0;  // estimated heap bytes held by the engine
};

class WindowEngine {
 public:
  explicit WindowEngine(Pricing pricing);
  ~WindowEngine();
  WindowEngine(const WindowEngine&) = delete;
  WindowEngine& operator=(const WindowEngine&) = delete;

  // Each Apply adds the agents whose windows changed to *touched (if given).
  // ApplySpan returns false (and changes nothing) for an investigation_id
  // it already holds a span for: the first span stands.
  bool ApplySpan(const Span& span, int64_t seq, std::set<std::string>* touched = nullptr)
      EXCLUDES(mu_);
  // Replaces the values of a held investigation span with `span`'s (same
  // investigation_id; it keeps its seq), exactly as if it had arrived so:
  // a descendant joined late changed the stored record. Returns false (and
  // changes nothing) when no span is held for it.
  bool ReplaceSpan(const Span& span, std::set<std::string>* touched = nullptr) EXCLUDES(mu_);
  // The seq the investigation's span was applied with; nullopt without one.
  std::optional<int64_t> SpanSeq(const std::string& investigation_id) const EXCLUDES(mu_);
  void ApplyFeedback(const Feedback& feedback, int64_t seq,
                     std::set<std::string>* touched = nullptr) EXCLUDES(mu_);
  void ApplyResolution(const Resolution& resolution, int64_t seq,
                       std::set<std::string>* touched = nullptr) EXCLUDES(mu_);
  // One committed batch, as ApplySpan, ApplyFeedback and ApplyResolution
  // of each record in turn (spans, then verdicts, then resolutions, with
  // seqs counting up from first_seq), taking the lock once per chunk.
  void ApplyCommitted(const std::vector<Span>& spans, const std::vector<Feedback>& feedback,
                      const std::vector<Resolution>& resolutions, int64_t first_seq,
                      std::set<std::string>* touched = nullptr) EXCLUDES(mu_);

  // Figures for one query, one entry per group that has at least one record
  // in the window (and, for time windows, any group seen at all: counts and
  // sums are 0 then, ratios null).
  std::vector<SliValue> Compute(const SliQuery& query, TimeMs now) const EXCLUDES(mu_);

  // Compute for each query in one consistent state, with what a reader
  // needs to reuse the figures: they equal Compute(q, now2) at every now2
  // in [now, valid_until) as long as Version() is still `version` (no
  // record enters or leaves one of the queries' windows before then).
  struct ComputedQueries {
    uint64_t version = 0;
    TimeMs valid_until = 0;
    std::vector<std::vector<SliValue>> values;  // one per query
  };
  ComputedQueries ComputeAll(const std::vector<SliQuery>& queries, TimeMs now) const EXCLUDES(mu_);

  // Every SLI (distributions with every stat) for each window, per agent,
  // for every agent known (or just `only_agent`). finish_reason_rate is left
  // out: it needs a `match`.
  std::vector<SliRow> Snapshot(const std::vector<WindowSpec>& windows, TimeMs now,
                               const std::string& only_agent = "") const EXCLUDES(mu_);

  // Says whether an agent's cached rows (at `generation`) must be recomputed.
  using StaleFn = std::function<bool(const std::string& agent, uint64_t generation)>;
  // Snapshot, per agent: every agent with records (by name) with its
  // generation; rows and valid_until (see AgentSnapshot) only for those
  // `stale` asks for. One consistent state: `stale` runs under the shared
  // lock, so it must not call back into the engine.
  std::vector<AgentSnapshot> SnapshotAgents(const std::vector<WindowSpec>& windows, TimeMs now,
                                            const StaleFn& stale) const EXCLUDES(mu_);

  // The calibration bins (confidence against confirm = 1 / override = 0) of
  // one agent's investigations in window `w` at `now`: those with both a
  // confidence and a verdict. All zero for an unknown agent.
  stats::CalibrationBins Calibration(const std::string& agent, const WindowSpec& w,
                                     TimeMs now) const EXCLUDES(mu_);

  // Per agent (every agent, or just `only_agent`), the values of span label
  // `label` ordered by the earliest investigation (by ts, then seq) that
  // carries each, among all records held that pass `where`. Investigations
  // without the label carry no value. Rebuilt from the store on start, the
  // order survives restarts as long as retention keeps the first ones.
  std::map<std::string, std::vector<std::string>> LabelValuesByFirstSeen(
      const std::string& label, const Labels& where, const std::string& only_agent = "") const
      EXCLUDES(mu_);

  // Drops investigations with ts < cutoff (retention).
  void PruneBefore(TimeMs cutoff) EXCLUDES(mu_);

  // Whether a span of each id is held and, into *agents if given, its
  // agent ("" when none is held), under one lock, the lookups prefetched a
  // few ids ahead: the writer asks for every record of a batch, and at a
  // million ids each lookup is a cache miss.
  std::vector<bool> HasSpans(const std::vector<std::string_view>& investigation_ids,
                             std::vector<std::string>* agents = nullptr) const EXCLUDES(mu_);
  bool HasSpan(std::string_view investigation_id) const EXCLUDES(mu_) {
    return HasSpans({investigation_id})[0];
  }
  std::vector<std::string> Agents() const EXCLUDES(mu_);
  // Per agent with a span, the ts of its newest investigation span (by
  // placement: the span's ts, not its arrival).
  std::map<std::string, TimeMs> LatestSpanTs() const EXCLUDES(mu_);
  MemoryStats Memory() const EXCLUDES(mu_);
  void SetPricing(Pricing pricing) EXCLUDES(mu_);
  // Bumped by every write that can change a figure: a reader may cache what
  // it computed at one version and reuse it while the version stands (and
  // its `now` is the same).
  uint64_t Version() const EXCLUDES(mu_);
  // Pre-sizes the id index and records for `investigations` (a rebuild
  // knows the count), so replaying a store does not rehash as it grows.
  void Reserve(size_t investigations) EXCLUDES(mu_);
  // While on (a rebuild replaying the store), a record far out of order
  // only marks its agent for a sort instead of being moved into place;
  // turning it off sorts every such agent once.
  void BulkLoad(bool on) EXCLUDES(mu_);
  // For tests: the agents whose records are out of (ts, seq) order although
  // not marked for a sort (empty when the placement invariant holds).
  std::vector<std::string> MisorderedAgents() const EXCLUDES(mu_);
  // For tests: agents marked for a sort before the next read.
  size_t UnsortedAgents() const EXCLUDES(mu_);

 private:
  struct Impl;
  // Runs `read` on a sorted state under the shared lock, sorting first
  // under the exclusive lock if a writer left an agent unsorted.
  template <typename F>
  auto Read(F&& read) const EXCLUDES(mu_);
  // Runs `apply(impl, touched agents)` for one record under the exclusive
  // lock, then reports the agents it touched to `touched`.
  template <typename F>
  void WriteOne(std::set<std::string>* touched, F&& apply) EXCLUDES(mu_);

  mutable SharedMutex mu_;
  std::unique_ptr<Impl> impl_ PT_GUARDED_BY(mu_);
};

}  // namespace aw::windows
