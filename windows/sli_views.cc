#include "windows/sli_views.h"

namespace aw::windows {

void SnapshotCache::Reset(const std::vector<WindowSpec>& windows, const std::string& render_key) {
  bool same_windows = windows.size() == windows_.size();
  for (size_t i = 0; same_windows && i < windows.size(); ++i) {
    same_windows = windows[i] == windows_[i] && windows[i].name == windows_[i].name;
  }
  if (!same_windows || render_key != render_key_) {
    entries_.clear();
    windows_ = windows;
    render_key_ = render_key;
  }
}

bool SnapshotCache::Stale(const std::string& agent, uint64_t generation, TimeMs now) const {
  auto it = entries_.find(agent);
  if (it == entries_.end()) return true;
  const Entry& e = it->second;
  return e.generation != generation || now < e.rendered_at || now >= e.valid_until;
}

size_t SnapshotCache::Warm(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                           TimeMs now, const std::string& render_key, const Renderer& render,
                           size_t max_agents) {
  MutexLock lock(mu_);
  Reset(windows, render_key);
  size_t picked = 0;
  // Runs under the engine's shared lock: reads our entries only.
  const auto stale = [&](const std::string& agent, uint64_t generation) NO_THREAD_SAFETY_ANALYSIS {
    if (picked >= max_agents || !Stale(agent, generation, now)) return false;
    ++picked;
    return true;
  };
  size_t rendered = 0;
  for (AgentSnapshot& a : engine.SnapshotAgents(windows, now, stale)) {
    if (!a.computed) continue;
    auto block = std::make_shared<RenderedAgent>();
    render(a.rows, *block);
    entries_[a.agent] = Entry{a.generation, now, a.valid_until, std::move(block)};
    ++rendered;
  }
  recomputed_ += static_cast<int64_t>(rendered);
  return rendered;
}

Rendered SnapshotCache::Get(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                            TimeMs now, const std::string& render_key, const Renderer& render) {
  MutexLock lock(mu_);
  Reset(windows, render_key);
  // Runs under the engine's shared lock: reads our entries only.
  const auto stale = [&](const std::string& agent, uint64_t generation)
                         NO_THREAD_SAFETY_ANALYSIS { return Stale(agent, generation, now); };
  std::vector<AgentSnapshot> agents = engine.SnapshotAgents(windows, now, stale);

  auto out = std::make_shared<RenderedSnapshot>();
  out->agents.reserve(agents.size());
  std::unordered_map<std::string, Entry> kept;
  kept.reserve(agents.size());
  int64_t recomputed = 0;
  for (AgentSnapshot& a : agents) {
    Entry e;
    if (a.computed) {
      auto block = std::make_shared<RenderedAgent>();
      render(a.rows, *block);
      e = Entry{a.generation, now, a.valid_until, std::move(block)};
      ++recomputed;
    } else {
      e = std::move(entries_.at(a.agent));
    }
    out->agents.push_back(e.block);
    kept.emplace(std::move(a.agent), std::move(e));
  }
  // Agents the engine no longer lists (pruned to nothing) drop out here.
  entries_ = std::move(kept);
  recomputed_ += recomputed;
  last_recomputed_ = recomputed;
  return out;
}

int64_t SnapshotCache::recomputed() const {
  MutexLock lock(mu_);
  return recomputed_;
}

int64_t SnapshotCache::last_recomputed() const {
  MutexLock lock(mu_);
  return last_recomputed_;
}

std::vector<SliRow> RuleRows(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                             const std::vector<SliQuery>& rule_queries, TimeMs now,
                             const std::string& agent) {
  std::vector<SliRow> rows;
  for (SliQuery q : rule_queries) {
    const bool plain = q.by == std::vector<std::string>{"agent"} && q.where.empty() &&
                       q.offset.count() == 0 && q.sli != Sli::kFinishReasonRate;
    bool covered = false;
    for (const WindowSpec& w : windows) covered |= plain && w == q.window;
    if (covered) continue;
    q.only_agent = agent;
    for (const SliValue& v : engine.Compute(q, now)) {
      SliRow row;
      row.labels = v.group;
      if (auto it = row.labels.find("agent"); it != row.labels.end()) {
        row.agent = it->second;
        row.labels.erase(it);
      }
      if (q.sli == Sli::kFinishReasonRate) row.labels["finish_reason"] = q.match;
      row.sli = q.sli;
      row.window = q.window.name;
      row.stat = q.stat;
      row.value = v.value;
      row.samples = v.samples;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace aw::windows
