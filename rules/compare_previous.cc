#include "rules/compare_previous.h"

#include <cmath>
#include <map>

#include "windows/stats.h"

namespace aw::rules {

namespace {

// The rule's figures for one label value of one agent, by group.
std::map<Labels, SliValue> Figures(const AlertRule& r, const ComputeFn& compute,
                                   const std::string& agent, const std::string& value, TimeMs now) {
  SliQuery q = r.query;
  q.where[r.compare->label] = value;
  q.only_agent = agent;
  std::map<Labels, SliValue> out;
  for (SliValue& v : compute(q, now)) out[v.group] = std::move(v);
  return out;
}

int64_t Successes(const SliValue& v) {
  return std::llround(*v.value * static_cast<double>(v.samples));
}

}  // namespace

std::vector<Regression> CompareWithPrevious(const AlertRule& r, const ComputeFn& compute,
                                            const FirstSeenFn& first_seen, TimeMs now,
                                            const std::set<std::string>* only_agents) {
  const Compare& cmp = *r.compare;
  std::vector<Regression> out;
  // On ingest only the touched agents' histories are scanned.
  std::map<std::string, std::vector<std::string>> by_agent;
  if (only_agents) {
    for (const std::string& agent : *only_agents) {
      for (auto& [a, values] : first_seen(cmp.label, r.query.where, agent))
        by_agent[a] = std::move(values);
    }
  } else {
    by_agent = first_seen(cmp.label, r.query.where, "");
  }
  for (const auto& [agent, values] : by_agent) {
    if (values.size() < 2) continue;
    const std::string& candidate = values[values.size() - 1];
    const std::string& baseline = values[values.size() - 2];
    const auto cand = Figures(r, compute, agent, candidate, now);
    const auto base = Figures(r, compute, agent, baseline, now);
    for (const auto& [group, cv] : cand) {
      auto it = base.find(group);
      if (it == base.end()) continue;
      const SliValue& bv = it->second;
      if (!cv.value || !bv.value || cv.samples < cmp.min_samples || bv.samples < cmp.min_samples) {
        continue;
      }
      Regression g;
      g.group = group;
      g.group[cmp.label] = candidate;
      g.group["baseline_" + cmp.label] = baseline;
      g.value = *cv.value;
      g.baseline = *bv.value;
      if (IsRatioSli(r.query.sli)) {
        const double p =
            stats::TwoProportionPValue(Successes(cv), cv.samples, Successes(bv), bv.samples);
        g.fires = p < 1 - cmp.confidence;
      } else {
        // A zero baseline makes any positive candidate +inf (a regression);
        // 0/0 is NaN and fires nothing.
        g.fires = *cv.value / *bv.value >= *cmp.ratio_above;
      }
      out.push_back(std::move(g));
    }
  }
  return out;
}

}  // namespace aw::rules
