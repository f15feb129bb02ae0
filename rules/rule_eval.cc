// Phase 1 for alerting rules: threshold, confidence (Wilson bound),
// compare with an offset, and compare baseline: previous.

#include <algorithm>

#include "daemon/common/time_util.h"
#include "rules/compare_previous.h"
#include "rules/evaluation.h"
#include "windows/stats.h"

namespace aw::rules {

namespace {

constexpr const char* kAlertname = "alertname";

// Records the value of a group that did not breach (see Observation).
void Observe(Findings& found, const AlertRule& rule, Labels group, double value,
             TemplateVars vars = {}) {
  found.observations.push_back({&rule, std::move(group), value, std::move(vars)});
}

std::string EvaluateRule(const Alerting& a, const EvalInput& in, Findings& found) {
  const AlertRule& r = *a.rule;
  const Meta meta = MetaFor(a, nullptr);
  std::string error;
  auto add = [&](const Labels& group, double value, const TemplateVars& vars = {}) {
    std::string e = AddActive(found, r.name, group, r.labels, r.annotations, {}, value, meta, vars);
    if (!e.empty()) error = std::move(e);
  };
  if (r.compare && r.compare->baseline_previous) {
    if (!in.first_seen) {
      return "compare baseline: previous needs the label history of the windows engine";
    }
    for (const Regression& g :
         CompareWithPrevious(r, in.compute, in.first_seen, in.now, in.only_agents)) {
      TemplateVars vars = {{"baseline", g.baseline}};
      if (g.fires) {
        add(g.group, g.value, vars);
      } else {
        Observe(found, r, g.group, g.value, std::move(vars));
      }
    }
    return error;
  }
  std::vector<SliValue> current = Run(in.compute, r.query, in.now, in.only_agents);
  if (!r.compare) {
    for (SliValue& v : current) {
      if (!v.value || v.samples < r.min_samples) continue;
      // Low-volume guard: > >= test the Wilson lower bound, < <= the upper.
      double compared = *v.value;
      TemplateVars vars;
      if (r.confidence) {
        const bool lower = r.op == Op::kGt || r.op == Op::kGe;
        compared = stats::WilsonBound(*v.value, v.samples, *r.confidence, lower);
        vars["bound"] = compared;
      }
      if (OpHolds(r.op, compared, r.threshold)) {
        add(v.group, *v.value, vars);
      } else {
        Observe(found, r, std::move(v.group), *v.value, std::move(vars));
      }
    }
    return error;
  }
  SliQuery earlier_q = r.query;
  earlier_q.offset = r.compare->offset;
  std::map<Labels, SliValue> earlier;
  for (SliValue& v : Run(in.compute, earlier_q, in.now, in.only_agents)) {
    earlier[v.group] = std::move(v);
  }
  for (const SliValue& v : current) {
    if (!v.value || v.samples < r.min_samples) continue;
    auto it = earlier.find(v.group);
    if (it == earlier.end() || !it->second.value || it->second.samples < r.min_samples ||
        *it->second.value == 0) {
      continue;
    }
    const double ratio = *v.value / *it->second.value;
    const bool holds =
        r.compare->ratio_above ? ratio > *r.compare->ratio_above : ratio < *r.compare->ratio_below;
    if (holds) {
      add(v.group, ratio);
    } else {
      Observe(found, r, v.group, ratio);
    }
  }
  return error;
}

}  // namespace

std::string Alerting::Key() const {
  // Appended piece by piece: g++ 12 warns (-Wrestrict) on this operator+ chain.
  std::string key = group->file;
  key += '\x1f';
  key += group->name;
  key += '\x1f';
  key += rule ? "alert:" : "slo:";
  key += name();
  return key;
}

SliQuery Alerting::Query() const {
  if (rule) return rule->query;
  SliQuery q;
  q.sli = slo->sli;
  q.window = PeriodWindow(*slo);
  q.by = slo->by;
  q.where = slo->where;
  return q;
}

std::vector<Alerting> AlertingOf(const RuleGroup& group) {
  std::vector<Alerting> out;
  for (const AlertRule& r : group.rules) out.push_back({&group, &r, nullptr});
  for (const Slo& s : group.slos) out.push_back({&group, nullptr, &s});
  return out;
}

std::vector<Alerting> AlertingOf(const RuleSet& rules) {
  std::vector<Alerting> out;
  for (const RuleGroup& g : rules.groups) {
    for (Alerting& a : AlertingOf(g)) out.push_back(a);
  }
  return out;
}

bool ByHasAgent(const std::vector<std::string>& by) {
  return std::find(by.begin(), by.end(), "agent") != by.end();
}

Meta MetaFor(const Alerting& a, const BurnRateTier* tier) {
  Meta m;
  if (a.rule) {
    const AlertRule& r = *a.rule;
    m.receivers = r.receivers;
    m.threshold = r.threshold;
    m.op = OpName(r.op);
    m.sli = SliName(r.query.sli);
    m.stat = StatName(r.query.stat);
    m.window = r.query.window.name;
    m.for_duration = r.for_duration;
    m.keep_firing_for = r.keep_firing_for;
    return m;
  }
  const Slo& s = *a.slo;
  m.receivers = s.receivers;
  m.op = OpName(Op::kGt);  // burn rate above the factor
  m.sli = SliName(s.sli);
  m.tier = tier;
  if (tier) {
    m.threshold = BurnRateFactor(*tier, s.period);
    m.window = FormatDuration(tier->long_window);
  }
  return m;
}

Labels Render(const TemplatedLabels& templates, const Labels& labels, double value,
              const TemplateVars& vars) {
  Labels out;
  for (const auto& [k, t] : templates) out[k] = t.tmpl->Render(labels, value, vars);
  return out;
}

std::vector<SliValue> Run(const ComputeFn& compute, SliQuery q, TimeMs now,
                          const std::set<std::string>* only_agents) {
  if (!only_agents || !ByHasAgent(q.by)) return compute(q, now);
  std::vector<SliValue> out;
  for (const std::string& agent : *only_agents) {
    q.only_agent = agent;
    for (SliValue& v : compute(q, now)) out.push_back(std::move(v));
  }
  return out;
}

std::string AddActive(Findings& found, const std::string& name, const Labels& group,
                      const TemplatedLabels& label_templates,
                      const TemplatedLabels& annotation_templates, const Labels& extra,
                      double value, Meta meta, const TemplateVars& vars) {
  Labels labels = group;
  for (auto& [k, v] : Render(label_templates, group, value, vars)) labels[k] = v;
  for (const auto& [k, v] : extra) labels[k] = v;
  labels[kAlertname] = name;
  Active a;
  a.fingerprint = Fingerprint(name, labels);
  if (!found.seen.insert(a.fingerprint).second) {
    return "duplicate alert label set " + FormatLabels(labels);
  }
  a.name = name;
  a.annotations = Render(annotation_templates, labels, value, vars);
  a.labels = std::move(labels);
  a.value = value;
  a.meta = std::move(meta);
  found.actives.push_back(std::move(a));
  return "";
}

std::map<std::string, Observed> Findings::ObservedByFingerprint() const {
  std::map<std::string, Observed> out;
  for (const Observation& o : observations) {
    const AlertRule& rule = *o.rule;
    Labels labels = o.group;
    for (auto& [k, v] : Render(rule.labels, o.group, o.value, o.vars)) labels[k] = v;
    labels[kAlertname] = rule.name;
    std::string fp = Fingerprint(rule.name, labels);
    out[std::move(fp)] = {o.value, std::move(labels), &rule.annotations, o.vars};
  }
  return out;
}

std::string EvaluateAlerting(const Alerting& a, const EvalInput& in, Findings& found) {
  return a.rule ? EvaluateRule(a, in, found) : EvaluateSlo(a, in, found);
}

}  // namespace aw::rules
