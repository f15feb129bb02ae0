// Reads of the window engine: one query's figures (Compute) and the rows
// of every SLI over the configured windows (Snapshot). Time windows read
// whole hour buckets from the counts and scan records only in their edges.

#include <algorithm>
#include <map>

#include "windows/engine_impl.h"
#include "windows/sample_stats.h"

namespace aw::windows {
namespace {

// A scalar (non-distribution) SLI from the counters.
SliValue ScalarValue(const Acc& a, Sli sli) {
  SliValue v;
  const auto ratio = [](int64_t num, int64_t den) -> std::optional<double> {
    if (den == 0) return std::nullopt;
    return static_cast<double>(num) / static_cast<double>(den);
  };
  switch (sli) {
    case Sli::kInvestigations:
      v.value = static_cast<double>(a.spans);
      v.samples = a.spans;
      break;
    case Sli::kOverrideRate:
      v.value = ratio(a.overrides, a.verdicts);
      v.samples = a.verdicts;
      break;
    case Sli::kReviewCoverage:
      v.value = ratio(a.reviewed, a.spans);
      v.samples = a.spans;
      break;
    case Sli::kCostUsd:
      v.value = CostUsd(a.cost);
      v.samples = a.spans;
      break;
    case Sli::kFinishReasonRate:
      v.value = ratio(a.matches, a.spans);
      v.samples = a.spans;
      break;
    case Sli::kConfidenceResolutionCorrelation: {
      const Comoments m = a.Correlation();
      v.value = Pearson(m);
      v.samples = m.n;
      break;
    }
    case Sli::kConfidenceBrier:
      if (a.brier_n > 0) v.value = a.brier / static_cast<double>(a.brier_n);
      v.samples = a.brier_n;
      break;
    case Sli::kConfidenceEce:
      v.value = stats::ExpectedCalibrationError(a.calibration);
      v.samples = a.brier_n;
      break;
    default:
      break;
  }
  return v;
}

}  // namespace

// ---- Compute ----

std::vector<SliValue> WindowEngine::Impl::Compute(const SliQuery& q, TimeMs now) const {
  const TimeMs end = now - q.offset.count();
  const WindowSpec& w = q.window;
  const bool time_window = w.kind == WindowSpec::Kind::kTime;

  Needs needs;
  const std::optional<Dist> dist = DistOf(q.sli);
  if (dist) needs.dist[*dist] = true;
  needs.corr = q.sli == Sli::kConfidenceResolutionCorrelation;
  const bool calibration_sli = q.sli == Sli::kConfidenceBrier || q.sli == Sli::kConfidenceEce;
  needs.calibration = calibration_sli;
  if (q.sli == Sli::kFinishReasonRate) needs.finish_match = finishes.Find(q.match);

  // Agents to scan.
  std::string agent_filter = q.only_agent;
  auto where_agent = q.where.find("agent");
  if (where_agent != q.where.end()) {
    if (!agent_filter.empty() && agent_filter != where_agent->second) return {};
    agent_filter = where_agent->second;
  }
  std::vector<uint32_t> scan;
  if (!agent_filter.empty()) {
    const uint32_t id = agent_names.Find(agent_filter);
    if (id != kNoId) scan.push_back(id);
  } else {
    for (uint32_t i = 0; i < agents.size(); ++i) scan.push_back(i);
  }

  // Figures the bucket counts carry. The counts are per agent: they serve
  // a group no finer than the agent, and, agent by agent, any grouping or
  // label filter under which all of an agent's label sets fall in one group
  // (an agent that always sends the same labels, grouped by a label).
  bool label_filter = false;
  for (const auto& [k, v] : q.where) label_filter |= k != "agent";
  const bool counted_sli = q.sli == Sli::kInvestigations || q.sli == Sli::kOverrideRate ||
                           q.sli == Sli::kReviewCoverage || q.sli == Sli::kCostUsd;
  const bool agent_grain =
      !label_filter && (q.by.empty() || q.by == std::vector<std::string>{"agent"});
  const bool countable = counted_sli && agent_grain;

  // Groups, keyed by their by-values (in `by` order).
  std::map<std::vector<std::string>, size_t> group_ids;
  std::vector<Acc> accs;
  std::vector<std::vector<uint32_t>> candidates;        // count windows
  std::vector<int64_t> group_of(labelsets.size(), -1);  // per agent; -2 = filtered
  std::vector<uint32_t> group_stamp(labelsets.size(), kNoId);

  const auto group_for = [&](uint32_t agent, uint32_t ls) -> int64_t {
    if (group_stamp[ls] == agent) return group_of[ls];
    group_stamp[ls] = agent;
    const Labels& l = labelsets.Get(ls);
    for (const auto& [k, v] : q.where) {
      if (k == "agent") continue;  // handled by the agent scan
      if (LabelOr(l, k) != v) return group_of[ls] = -2;
    }
    std::vector<std::string> key;
    key.reserve(q.by.size());
    for (const std::string& b : q.by) {
      key.push_back(b == "agent" ? agent_names.Name(agent) : LabelOr(l, b));
    }
    auto [it, inserted] = group_ids.try_emplace(std::move(key), accs.size());
    if (inserted) {
      accs.emplace_back();
      candidates.emplace_back();
    }
    return group_of[ls] = static_cast<int64_t>(it->second);
  };

  // Whole buckets of a countable time window: [first, last], those wholly
  // inside lo < ts <= end.
  const TimeMs lo = time_window ? end - w.duration.count() : 0;
  const int64_t first = BucketOf(lo) + 1;
  const int64_t last = BucketOf(end + 1) - 1;
  const auto add_buckets = [&](const HourBuckets& buckets, Acc& a) {
    for (auto it = buckets.LowerBound(first); it != buckets.end() && it->hour <= last; ++it) {
      AddWholeHour(buckets, it, needs, a);
    }
  };
  // tool_calls over a time window reads whole hours from the tool counts
  // too, as long as every span's tool calls fit them.
  const bool tool_hours = q.sli == Sli::kToolCalls && agent_grain;
  // So do Brier and ECE, from the hours' calibration cells, the
  // correlation from the hours' co-moments and finish_reason_rate from the
  // hours' finish reasons.
  const bool corr_sli = q.sli == Sli::kConfidenceResolutionCorrelation;
  const bool finish_sli = q.sli == Sli::kFinishReasonRate;
  const bool detail_sli = calibration_sli || corr_sli || finish_sli;
  const bool detail_hours = detail_sli && agent_grain;
  const auto bucketed = [&](const HourBuckets& buckets) {
    return countable || detail_hours || (tool_hours && buckets.wide_tools() == 0);
  };
  // The one group all of the agent's label sets fall in (-2: all filtered
  // out), or -3 when they fall in several: then only its records tell.
  constexpr int64_t kSeveralGroups = -3;
  const auto one_group = [&](uint32_t agent, const AgentState& ag) {
    int64_t g = kSeveralGroups;
    bool first_set = true;
    for (const auto& [ls, count] : ag.labelsets) {
      const int64_t gi = group_for(agent, ls);
      if (!first_set && gi != g) return kSeveralGroups;
      g = gi;
      first_set = false;
    }
    return g;
  };
  const auto bucketed_by_label_sets = [&](const HourBuckets& buckets) {
    return !agent_grain &&
           (counted_sli || detail_sli || (q.sli == Sli::kToolCalls && buckets.wide_tools() == 0));
  };
  // The whole fleet in one group: its buckets are summed once, below.
  const bool fleet = bucketed(fleet_buckets) && q.by.empty() && agent_filter.empty();
  // One group per agent: a count window's latest records can come from
  // the agent's hour counts.
  const bool per_agent_counts =
      countable && (q.by == std::vector<std::string>{"agent"} || !agent_filter.empty());
  std::vector<int64_t> counted;  // per group: records a count window took from hour counts

  for (uint32_t agent : scan) {
    const AgentState& ag = agents[agent];
    if (ag.order.empty()) continue;
    const auto& order = ag.order;
    if (time_window) {
      // Every group seen at all shows up, even with an empty window.
      for (const auto& [ls, count] : ag.labelsets) group_for(agent, ls);
      if (w.duration.count() <= 0) continue;
      if (bucketed(ag.buckets) && !ag.labelsets.empty()) {
        // One group per agent: whole buckets from the counts, records only
        // in the partial buckets at the two edges.
        const int64_t g = group_for(agent, ag.labelsets.begin()->first);
        if (g < 0) continue;
        AddWindowFromBuckets(ag, lo, end, first, last, !fleet, needs, accs[static_cast<size_t>(g)]);
        continue;
      }
      if (bucketed_by_label_sets(ag.buckets) && !ag.labelsets.empty()) {
        const int64_t g = one_group(agent, ag);
        if (g == -2) continue;  // every record filtered out
        if (g >= 0) {
          AddWindowFromBuckets(ag, lo, end, first, last, true, needs, accs[static_cast<size_t>(g)]);
          continue;
        }
      }
      auto [b, e] = Range(order, lo, end);
      for (size_t i = b; i < e; ++i) {
        Prefetch(order, i);
        const int64_t g = group_for(agent, recs[order[i]].labels);
        if (g >= 0) Add(accs[static_cast<size_t>(g)], order[i], needs);
      }
    } else {
      if (w.count <= 0) continue;
      const size_t n = static_cast<size_t>(w.count);
      if (per_agent_counts && !ag.labelsets.empty()) {
        const int64_t g = group_for(agent, ag.labelsets.begin()->first);
        if (g < 0) continue;
        if (counted.size() < accs.size()) counted.resize(accs.size());
        counted[static_cast<size_t>(g)] =
            AddLatestFromBuckets(ag, end, w.count, needs, accs[static_cast<size_t>(g)]);
        continue;
      }
      // Groups this agent can feed; stop scanning once all of them are full.
      std::vector<size_t> mine;
      for (const auto& [ls, count] : ag.labelsets) {
        const int64_t g = group_for(agent, ls);
        if (g >= 0) mine.push_back(static_cast<size_t>(g));
      }
      std::sort(mine.begin(), mine.end());
      mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
      std::map<size_t, size_t> taken;
      size_t full = 0;
      auto [b, e] = Range(order, std::numeric_limits<TimeMs>::min(), end);
      for (size_t i = e; i > b && full < mine.size(); --i) {
        const uint32_t slot = order[i - 1];
        const int64_t g = group_for(agent, recs[slot].labels);
        if (g < 0) continue;
        size_t& t = taken[static_cast<size_t>(g)];
        if (t == n) continue;
        candidates[static_cast<size_t>(g)].push_back(slot);
        if (++t == n) ++full;
      }
    }
  }

  if (fleet && time_window && w.duration.count() > 0 && first <= last && accs.size() == 1) {
    add_buckets(fleet_buckets, accs[0]);
  }

  std::vector<SliValue> out;
  out.reserve(group_ids.size());
  for (const auto& [key, g] : group_ids) {
    Acc& a = accs[g];
    if (!time_window) {
      auto& c = candidates[g];
      // Count windows list only groups with records.
      if (c.empty() && (g >= counted.size() || counted[g] == 0)) continue;
      const size_t n = static_cast<size_t>(w.count);
      if (c.size() > n) {  // several agents fed one group: keep the latest n
        std::nth_element(c.begin(), c.begin() + static_cast<ptrdiff_t>(n), c.end(),
                         [this](uint32_t x, uint32_t y) {
                           return std::tie(recs[x].ts, recs[x].seq) >
                                  std::tie(recs[y].ts, recs[y].seq);
                         });
        c.resize(n);
      }
      for (uint32_t slot : c) Add(a, slot, needs);
    }
    SliValue v;
    if (dist) {
      std::vector<double>& d = a.dist[*dist];
      const std::vector<int64_t>& counts = a.tool_counts;  // empty but for tool_calls
      v.samples = static_cast<int64_t>(d.size()) + a.tool_counted;
      if (v.samples > 0) {
        v.value = StatOf(d, counts, a.tool_counted, q.stat == Stat::kNone ? Stat::kMean : q.stat);
      }
    } else {
      v = ScalarValue(a, q.sli);
    }
    for (size_t i = 0; i < q.by.size(); ++i) v.group[q.by[i]] = key[i];
    out.push_back(std::move(v));
  }
  return out;
}

void WindowEngine::Impl::AddWholeHour(const HourBuckets& buckets, HourBuckets::const_iterator it,
                                      const Needs& needs, Acc& a) {
  const HourBuckets::Entry& e = *it;
  a.spans += e.counts.spans;
  a.verdicts += e.counts.verdicts;
  a.overrides += e.counts.overrides;
  a.reviewed += e.counts.reviewed;
  a.cost += e.counts.cost;
  if (needs.dist[kDistTool]) {
    for (const auto& [value, count] : e.tools) a.AddToolCount(value, count);
  }
  const bool finish = needs.finish_match != kNoId;
  if (!needs.calibration && !needs.corr && !finish) return;
  const HourBuckets::HourDetail& h = buckets.DetailOf(it);
  if (needs.corr) a.corr_hours.Merge(h.pairs.Moments());
  if (finish) {
    for (const auto& [id, count] : h.finishes) {
      if (id == needs.finish_match) a.matches += count;
    }
  }
  if (needs.calibration && h.bins != 0) {
    a.brier += h.brier;
    auto cell = h.cells.begin();
    for (int bin = 0; bin < stats::kCalibrationBins; ++bin) {
      if ((h.bins & (1u << bin)) == 0) continue;
      stats::CalibrationBin& b = a.calibration[bin];
      b.count += cell->count;
      b.confirms += cell->confirms;
      b.confidence_sum += cell->confidence_sum;
      a.brier_n += cell->count;
      ++cell;
    }
  }
}

void WindowEngine::Impl::AddWindowFromBuckets(const AgentState& ag, TimeMs lo, TimeMs end,
                                              int64_t first, int64_t last, bool whole_hours,
                                              const Needs& needs, Acc& a) const {
  const auto& order = ag.order;
  const int64_t lo_hour = BucketOf(lo);
  const auto scan = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const TimeMs ts = recs[order[i]].ts;
      if (ts > lo && ts <= end) Add(a, order[i], needs);
    }
  };
  // Walking back from the newest hour, `begin` is where the records of the
  // hour at `it` start.
  size_t begin = order.size();
  auto it = ag.buckets.end();
  const auto step_back = [&] {
    --it;
    const size_t to = begin;
    begin -= static_cast<size_t>(RecordsOf(it->counts));
    return to;
  };
  // The hours after the whole ones: the edge at `end`, and records after it.
  while (it != ag.buckets.begin() && std::prev(it)->hour > last && std::prev(it)->hour >= lo_hour) {
    const size_t to = step_back();
    scan(begin, to);
  }
  if (lo_hour > last) return;  // no whole hour; the walk covered the window
  if (!whole_hours) {
    // The caller adds the whole hours (the fleet's): one search finds the
    // edge at `lo` instead of a walk over every hour in between.
    auto [b, e] = Range(order, lo, first * kBucketMs - 1);
    scan(b, e);
    return;
  }
  while (it != ag.buckets.begin() && std::prev(it)->hour >= first) {
    step_back();
    AddWholeHour(ag.buckets, it, needs, a);
  }
  if (it != ag.buckets.begin() && std::prev(it)->hour == lo_hour) {
    const size_t to = step_back();
    scan(begin, to);
  }
}

int64_t WindowEngine::Impl::AddLatestFromBuckets(const AgentState& ag, TimeMs end, int64_t n,
                                                 const Needs& needs, Acc& a) const {
  const auto& order = ag.order;
  const int64_t end_hour = BucketOf(end);
  int64_t need = n;
  const auto take_latest = [&](size_t from, size_t to) {  // the latest `need` of [from, to)
    const size_t k = std::min(to - from, static_cast<size_t>(need));
    for (size_t i = to - k; i < to; ++i) Add(a, order[i], needs);
    need -= static_cast<int64_t>(k);
  };
  // Newest hour first: the records of the hour holding `end` up to `end`,
  // older hours whole from their counts while they fit, and the hour where
  // `n` runs out by its records.
  size_t begin = order.size();  // of the records of the hour at `it`, walking back
  for (auto it = ag.buckets.end(); need > 0 && it != ag.buckets.begin();) {
    --it;
    const int64_t records = RecordsOf(it->counts);
    const size_t to = begin;
    begin -= static_cast<size_t>(records);
    if (it->hour > end_hour) continue;
    if (it->hour == end_hour) {
      size_t upto = to;
      while (upto > begin && recs[order[upto - 1]].ts > end) --upto;
      take_latest(begin, upto);
    } else if (records <= need) {
      AddWholeHour(ag.buckets, it, Needs{}, a);
      need -= records;
    } else {
      take_latest(begin, to);
    }
  }
  return n - need;
}

// ---- Snapshot ----

std::vector<std::pair<std::string, uint32_t>> WindowEngine::Impl::SortedAgents(
    const std::string& only_agent) const {
  std::vector<std::pair<std::string, uint32_t>> names;
  for (uint32_t i = 0; i < agents.size(); ++i) {
    if (agents[i].order.empty()) continue;
    const std::string& name = agent_names.Name(i);
    if (!only_agent.empty() && name != only_agent) continue;
    names.emplace_back(name, i);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void WindowEngine::Impl::AgentRows(const std::string& name, const AgentState& ag,
                                   const std::vector<WindowSpec>& windows, TimeMs now, Acc& a,
                                   std::vector<SliRow>& rows) const {
  Needs needs;
  for (bool& d : needs.dist) d = true;
  needs.corr = true;
  static const Sli kDistSlis[kNumDist] = {Sli::kCostPerInvestigation, Sli::kToolCalls,
                                          Sli::kInputTokens, Sli::kOutputTokens, Sli::kDurationMs};
  // Nothing below reads `now` but through CollectAgent's window membership
  // (ValidUntil relies on it): the values are functions of the records in
  // each window, their verdicts, resolutions and prices.
  for (const WindowSpec& w : windows) {
    CollectAgent(ag, w, now, needs, a);
    for (Sli sli : AllSlis()) {
      if (sli == Sli::kFinishReasonRate) continue;
      const std::optional<Dist> dist = DistOf(sli);
      if (!dist) {
        const SliValue v = ScalarValue(a, sli);
        rows.push_back(SliRow{name, {}, sli, w.name, Stat::kNone, v.value, v.samples});
        continue;
      }
      std::vector<double>& d = a.dist[*dist];
      std::optional<AllStats> st;
      if (!d.empty()) st = StatsOf(d);
      for (Stat stat : DistributionStats()) {
        SliRow row{
            name, {}, kDistSlis[*dist], w.name, stat, std::nullopt, static_cast<int64_t>(d.size())};
        if (st) row.value = st->Get(stat);
        rows.push_back(std::move(row));
      }
    }
  }
}

std::vector<SliRow> WindowEngine::Impl::Snapshot(const std::vector<WindowSpec>& windows, TimeMs now,
                                                 const std::string& only_agent) const {
  const auto names = SortedAgents(only_agent);
  std::vector<SliRow> rows;
  rows.reserve(names.size() * windows.size() * 37);
  Acc a;  // reused: its vectors keep their capacity across agents
  for (const auto& [name, id] : names) AgentRows(name, agents[id], windows, now, a, rows);
  return rows;
}

TimeMs WindowEngine::Impl::ValidUntil(const AgentState& ag, const std::vector<WindowSpec>& windows,
                                      TimeMs now) const {
  const auto& order = ag.order;
  // The ts of the first record with ts > x, or kForever.
  const auto first_after = [&](TimeMs x) -> TimeMs {
    const auto it = std::partition_point(order.begin(), order.end(),
                                         [&](uint32_t s) { return recs[s].ts <= x; });
    return it == order.end() ? kForever : recs[*it].ts;
  };
  TimeMs until = kForever;
  bool any = false;
  for (const WindowSpec& w : windows) {
    if (w.kind == WindowSpec::Kind::kTime) {
      const int64_t d = w.duration.count();
      if (d <= 0) continue;  // always empty
      any = true;
      // Leaves: the oldest record still in the window, at its ts + W.
      const TimeMs oldest = first_after(now - d);
      if (oldest != kForever)
        until = std::min(until, oldest > kForever - d ? kForever : oldest + d);
    } else {
      if (w.count <= 0) continue;
      any = true;
    }
  }
  // Enters: the first record after now, for any non-empty window.
  if (any) until = std::min(until, first_after(now));
  return until;
}

TimeMs WindowEngine::Impl::QueryValidUntil(const SliQuery& q, TimeMs now) const {
  const int64_t offset = q.offset.count();
  const std::vector<WindowSpec> windows{q.window};
  std::string only = q.only_agent;
  if (auto it = q.where.find("agent"); only.empty() && it != q.where.end()) only = it->second;
  TimeMs until = kForever;
  if (!only.empty()) {
    const uint32_t id = agent_names.Find(only);
    // An agent not seen yet gets its first record through a write, which
    // moves the version.
    if (id != kNoId && id < agents.size()) until = ValidUntil(agents[id], windows, now - offset);
  } else {
    for (const AgentState& ag : agents)
      until = std::min(until, ValidUntil(ag, windows, now - offset));
  }
  if (until == kForever || until > kForever - offset) return kForever;
  return until + offset;
}

std::vector<AgentSnapshot> WindowEngine::Impl::SnapshotAgents(
    const std::vector<WindowSpec>& windows, TimeMs now, const StaleFn& stale) const {
  const auto names = SortedAgents("");
  std::vector<AgentSnapshot> out;
  out.reserve(names.size());
  Acc a;
  for (const auto& [name, id] : names) {
    const AgentState& ag = agents[id];
    AgentSnapshot s;
    s.agent = name;
    s.generation = ag.generation;
    if (stale(name, ag.generation)) {
      s.computed = true;
      s.valid_until = ValidUntil(ag, windows, now);
      s.rows.reserve(windows.size() * 37);
      AgentRows(name, ag, windows, now, a, s.rows);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace aw::windows
