#include "windows/sli_views.h"

namespace aw::windows {

SliRows SnapshotCache::Get(const WindowEngine& engine, const std::vector<WindowSpec>& windows,
                           TimeMs now) {
  MutexLock lock(mu_);
  const uint64_t version = engine.Version();
  bool same_windows = windows.size() == windows_.size();
  for (size_t i = 0; same_windows && i < windows.size(); ++i) {
    same_windows = windows[i] == windows_[i] && windows[i].name == windows_[i].name;
  }
  const bool fresh = rows_ && version == version_ && same_windows && now >= built_at_ &&
                     now - built_at_ < ttl_.count();
  if (fresh) return rows_;
  rows_ = std::make_shared<const std::vector<SliRow>>(engine.Snapshot(windows, now));
  version_ = version;
  windows_ = windows;
  built_at_ = now;
  ++builds_;
  return rows_;
}

int64_t SnapshotCache::builds() const {
  MutexLock lock(mu_);
  return builds_;
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
