// SLOs: error ratios, burn rates, the multiwindow tiers that alert and the
// statuses /metrics and the status page show.

#include <cstdio>

#include "daemon/common/time_util.h"
#include "rules/evaluation.h"

namespace aw::rules {

namespace {

// Error ratio per group over window w (nullopt value = no samples).
std::map<Labels, SliValue> SloErrors(const Slo& s, const WindowSpec& w, const ComputeFn& compute,
                                     TimeMs now, const std::set<std::string>* only_agents) {
  SliQuery q;
  q.sli = s.sli;
  q.window = w;
  q.by = s.by;
  q.where = s.where;
  std::map<Labels, SliValue> out;
  for (SliValue& v : Run(compute, q, now, only_agents)) {
    if (v.value && s.sli == Sli::kReviewCoverage) v.value = 1 - *v.value;
    out[v.group] = std::move(v);
  }
  return out;
}

}  // namespace

WindowSpec TimeWindow(Millis d) {
  WindowSpec w;
  w.kind = WindowSpec::Kind::kTime;
  w.duration = d;
  w.name = FormatDuration(d);
  return w;
}

WindowSpec PeriodWindow(const Slo& s) {
  WindowSpec w = TimeWindow(s.period);
  w.name = s.period_name;
  return w;
}

std::string EvaluateSlo(const Alerting& a, const EvalInput& in, Findings& found) {
  const Slo& s = *a.slo;
  if (!s.multiwindow) return "";
  std::string error;
  const double budget = 1 - s.objective;
  for (const BurnRateTier& tier : BurnRateTiers()) {
    const double factor = BurnRateFactor(tier, s.period);
    auto long_e = SloErrors(s, TimeWindow(tier.long_window), in.compute, in.now, in.only_agents);
    auto short_e = SloErrors(s, TimeWindow(tier.short_window), in.compute, in.now, in.only_agents);
    for (const auto& [group, lv] : long_e) {
      auto sit = short_e.find(group);
      if (sit == short_e.end()) continue;
      const SliValue& sv = sit->second;
      if (!lv.value || !sv.value || lv.samples < s.min_samples || sv.samples < s.min_samples) {
        continue;
      }
      const double br_long = *lv.value / budget;
      const double br_short = *sv.value / budget;
      if (!(br_long > factor && br_short > factor)) continue;
      const std::string long_name = FormatDuration(tier.long_window);
      Labels extra = {{"slo", s.name}, {"severity", tier.severity}, {"long_window", long_name}};
      TemplatedLabels annotations = s.annotations;
      if (annotations.empty()) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "SLO %s is burning its error budget at {{ $value | humanize }}x "
                      "over %s (and %.4gx over %s); threshold %.4gx",
                      s.name.c_str(), long_name.c_str(), br_short,
                      FormatDuration(tier.short_window).c_str(), factor);
        auto t = Template::Parse(buf);
        if (t.ok()) annotations.emplace_back("summary", TemplatedString{buf, *t});
      }
      std::string e =
          AddActive(found, s.name, group, s.labels, annotations, extra, br_long, MetaFor(a, &tier));
      if (!e.empty()) error = std::move(e);
    }
  }
  return error;
}

std::vector<SloStatus> SloStatusesOf(const RuleSet& rules, const ComputeFn& compute, TimeMs now) {
  std::vector<SloStatus> out;
  for (const RuleGroup& g : rules.groups) {
    for (const Slo& s : g.slos) {
      const double budget = 1 - s.objective;
      std::vector<WindowSpec> windows;
      for (Millis d : {Millis(5 * 60'000), Millis(30 * 60'000), Millis(3'600'000),
                       Millis(6 * 3'600'000), Millis(3 * 86'400'000LL)}) {
        windows.push_back(TimeWindow(d));
      }
      windows.push_back(PeriodWindow(s));
      auto period = SloErrors(s, windows.back(), compute, now, nullptr);
      if (period.empty() && s.by.empty()) period[Labels{}] = SliValue{};
      for (const auto& [group, pv] : period) {
        SloStatus st;
        st.name = s.name;
        st.group = group;
        st.samples = pv.samples;
        if (pv.value && pv.samples > 0) {
          st.error_ratio = pv.value;
          st.error_budget_remaining = 1 - *pv.value / budget;
        }
        out.push_back(std::move(st));
      }
      for (const WindowSpec& w : windows) {
        auto errors = SloErrors(s, w, compute, now, nullptr);
        for (SloStatus& st : out) {
          if (st.name != s.name) continue;
          auto it = errors.find(st.group);
          const bool has = it != errors.end() && it->second.value && it->second.samples > 0;
          st.burn_rates[w.name] = has ? *it->second.value / budget : 0;
        }
      }
    }
  }
  return out;
}

}  // namespace aw::rules
