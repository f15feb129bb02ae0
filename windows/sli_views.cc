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

namespace {

// The rule queries the sli_windows rows do not already carry, for `agent`
// only if not empty.
std::vector<SliQuery> UncoveredQueries(const std::vector<WindowSpec>& windows,
                                       const std::vector<SliQuery>& rule_queries,
                                       const std::string& agent) {
  std::vector<SliQuery> out;
  for (SliQuery q : rule_queries) {
    const bool plain = q.by == std::vector<std::string>{"agent"} && q.where.empty() &&
                       q.offset.count() == 0 && q.sli != Sli::kFinishReasonRate;
    bool covered = false;
    for (const WindowSpec& w : windows) covered |= plain && w == q.window;
    if (covered) continue;
    q.only_agent = agent;
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<SliRow> RowsOf(const std::vector<SliQuery>& queries,
                           const std::vector<std::vector<SliValue>>& values) {
  std::vector<SliRow> rows;
  for (size_t i = 0; i < queries.size(); ++i) {
    const SliQuery& q = queries[i];
    for (const SliValue& v : values[i]) {
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

// Everything the rows depend on besides the engine's state and `now`.
std::string QueriesKey(const std::vector<WindowSpec>& windows,
                       const std::vector<SliQuery>& queries) {
  std::string key;
  const auto add_window = [&](const WindowSpec& w) {
    key += std::to_string(static_cast<int>(w.kind)) + ':' + std::to_string(w.duration.count()) +
           ':' + std::to_string(w.count) + ':' + w.name + '\x1f';
  };
  for (const WindowSpec& w : windows) add_window(w);
  key += '\x1e';
  for (const SliQuery& q : queries) {
    key += std::string(SliName(q.sli)) + '\x1f' + StatName(q.stat) + '\x1f';
    add_window(q.window);
    for (const std::string& b : q.by) key += b + '\x1f';
    key += '\x1d';
    for (const auto& [k, v] : q.where) key += k + '=' + v + '\x1f';
    key += q.match + '\x1f' + std::to_string(q.offset.count()) + '\x1f' + q.only_agent + '\x1e';
  }
  return key;
}

}  // namespace

std::vector<SliRow> RuleRows(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                             const std::vector<SliQuery>& rule_queries, TimeMs now,
                             const std::string& agent) {
  const std::vector<SliQuery> queries = UncoveredQueries(windows, rule_queries, agent);
  return RowsOf(queries, engine.ComputeAll(queries, now).values);
}

std::shared_ptr<const std::string> RuleRowsCache::Get(const WindowEngine& engine,
                                                      const std::vector<WindowSpec>& windows,
                                                      const std::vector<SliQuery>& rule_queries,
                                                      TimeMs now, const Renderer& render) {
  const std::vector<SliQuery> queries = UncoveredQueries(windows, rule_queries, "");
  std::string key = QueriesKey(windows, queries);
  MutexLock lock(mu_);
  // Version() first: if it still equals the version the text was computed
  // at, no write happened since, so only time can have moved a figure.
  if (text_ && key == key_ && engine.Version() == version_ && now >= rendered_at_ &&
      now < valid_until_) {
    return text_;
  }
  WindowEngine::ComputedQueries computed = engine.ComputeAll(queries, now);
  auto text = std::make_shared<std::string>();
  render(RowsOf(queries, computed.values), *text);
  key_ = std::move(key);
  version_ = computed.version;
  rendered_at_ = now;
  valid_until_ = computed.valid_until;
  text_ = std::move(text);
  ++rendered_;
  return text_;
}

int64_t RuleRowsCache::rendered() const {
  MutexLock lock(mu_);
  return rendered_;
}

}  // namespace aw::windows
