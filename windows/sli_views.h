#pragma once

// Read-side views of the windows for the HTTP surfaces.
//
// SnapshotCache keeps, per agent, the pre-rendered output of its
// sli_windows rows (the /api/v1/slis JSON and the /metrics series), so a
// read re-renders only the agents whose rows changed and concatenates the
// rest. An agent's block is reused at `now` exactly when (a) its generation
// (moved by every write that touches it, pricing and prune included) is the
// one it was rendered at, (b) the windows and the render key are the same,
// and (c) `now` lies in [rendered_at, valid_until): no record entered or
// left any of its windows in between (WindowEngine::SnapshotAgents). So a
// read is exact at its `now`: the blocks equal a render of
// engine.Snapshot(windows, now). Agents with no records left drop out.
// Thread-safe: one builder at a time (others wait for it and share its
// result); blocks are shared through shared_ptr to const, never mutated.
//
// RuleRows is the /api/v1/slis rule part: the (sli, window, stat, by) of
// every rule query that the sli_windows rows do not already carry;
// RuleRowsCache keeps it rendered the same way.

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/common/thread_annotations.h"
#include "windows/window_engine.h"

namespace aw::windows {

// The output of one agent's rows, as the renderer wrote it.
struct RenderedAgent {
  std::string json;     // its /api/v1/slis row objects, comma-separated
  std::string sli;      // its agentwatch_sli series lines
  std::string samples;  // its agentwatch_sli_samples series lines
};

// Every agent's block, by agent name.
struct RenderedSnapshot {
  std::vector<std::shared_ptr<const RenderedAgent>> agents;
};
using Rendered = std::shared_ptr<const RenderedSnapshot>;

class SnapshotCache {
 public:
  // Renders one agent's rows (all of one agent, in Snapshot order).
  using Renderer = std::function<void(const std::vector<SliRow>& rows, RenderedAgent& out)>;

  SnapshotCache() = default;
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // Every agent's block for `windows` at `now`. `render_key` names what
  // `render` does (selection, external labels): another key re-renders all.
  Rendered Get(const WindowEngine& engine, const std::vector<WindowSpec>& windows, TimeMs now,
               const std::string& render_key, const Renderer& render) EXCLUDES(mu_);
  // Renders up to `max_agents` of the agents whose blocks are stale at
  // `now` (a later Get reuses them) and returns how many it rendered: fewer
  // than `max_agents` means none is left. Lets idle time keep the blocks
  // ready in small steps, each holding the engine's shared lock briefly.
  size_t Warm(const WindowEngine& engine, const std::vector<WindowSpec>& windows, TimeMs now,
              const std::string& render_key, const Renderer& render, size_t max_agents)
      EXCLUDES(mu_);
  // Agents recomputed and rendered so far, and by the last Get (for tests).
  int64_t recomputed() const EXCLUDES(mu_);
  int64_t last_recomputed() const EXCLUDES(mu_);

 private:
  struct Entry {
    uint64_t generation = 0;
    TimeMs rendered_at = 0;
    TimeMs valid_until = 0;
    std::shared_ptr<const RenderedAgent> block;
  };
  // Starts over when the windows or the render key changed.
  void Reset(const std::vector<WindowSpec>& windows, const std::string& render_key) REQUIRES(mu_);
  bool Stale(const std::string& agent, uint64_t generation, TimeMs now) const REQUIRES(mu_);

  mutable Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);  // by agent
  std::vector<WindowSpec> windows_ GUARDED_BY(mu_);
  std::string render_key_ GUARDED_BY(mu_);
  int64_t recomputed_ GUARDED_BY(mu_) = 0;
  int64_t last_recomputed_ GUARDED_BY(mu_) = 0;
};

// Rows for the rule queries whose (sli, window, stat) with `by: [agent]`,
// no `where` and no offset the sli_windows rows do not already carry; for
// `agent` only if not empty. A finish_reason_rate row carries its reason
// as the label finish_reason.
std::vector<SliRow> RuleRows(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                             const std::vector<SliQuery>& rule_queries, TimeMs now,
                             const std::string& agent);

// RuleRows for every agent, rendered, kept between reads: reused while the
// engine's Version() stands, `now` lies in [rendered_at, valid_until) of
// the queries (ComputeAll), and the windows and rule queries are the same.
// So a read is exact at its `now`. Thread-safe: one renderer at a time.
class RuleRowsCache {
 public:
  using Renderer = std::function<void(const std::vector<SliRow>& rows, std::string& out)>;

  RuleRowsCache() = default;
  RuleRowsCache(const RuleRowsCache&) = delete;
  RuleRowsCache& operator=(const RuleRowsCache&) = delete;

  std::shared_ptr<const std::string> Get(const WindowEngine& engine,
                                         const std::vector<WindowSpec>& windows,
                                         const std::vector<SliQuery>& rule_queries, TimeMs now,
                                         const Renderer& render) EXCLUDES(mu_);
  // Renders so far (for tests).
  int64_t rendered() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::string key_ GUARDED_BY(mu_);
  uint64_t version_ GUARDED_BY(mu_) = 0;
  TimeMs rendered_at_ GUARDED_BY(mu_) = 0;
  TimeMs valid_until_ GUARDED_BY(mu_) = 0;
  std::shared_ptr<const std::string> text_ GUARDED_BY(mu_);
  int64_t rendered_ GUARDED_BY(mu_) = 0;
};

}  // namespace aw::windows
