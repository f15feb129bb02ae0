#include "rules/rule_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "daemon/common/time_util.h"
#include "rules/budget_engine.h"
#include "rules/compare_previous.h"
#include "windows/stats.h"

namespace aw::rules {

namespace {

constexpr const char* kAlertname = "alertname";

bool ByHasAgent(const std::vector<std::string>& by) {
  return std::find(by.begin(), by.end(), "agent") != by.end();
}

// What a rule (or SLO tier) produced for one group this evaluation.
struct Active {
  std::string fingerprint;
  std::string name;
  Labels labels;  // with alertname
  Labels annotations;
  double value = 0;
};

// Per-alert facts from the rule that produced it, used in its events.
struct Meta {
  std::vector<std::string> receivers;  // empty: default receivers
  double threshold = 0;
  std::string op, sli, stat, window;
  Millis for_duration{0};
  Millis keep_firing_for{0};
};

struct Instance {
  StoredAlert stored;
  Meta meta;
};

struct Health {
  TimeMs last_evaluation_ms = 0;
  std::string last_error;
};

Labels Render(const TemplatedLabels& templates, const Labels& labels,
              double value, const TemplateVars& vars = {}) {
  Labels out;
  for (const auto& [k, t] : templates) out[k] = t.tmpl->Render(labels, value, vars);
  return out;
}

std::string SloErrorSli(const Slo& s) { return SliName(s.sli); }

}  // namespace

const char* TransitionName(Transition t) {
  switch (t) {
    case Transition::kPending:
      return "pending";
    case Transition::kFiring:
      return "firing";
    case Transition::kResolved:
      return "resolved";
    case Transition::kCleared:
      return "cleared";
  }
  return "";
}

std::string Fingerprint(const std::string& name, const Labels& labels) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // separator: not valid UTF-8, cannot occur in a name
    h *= 1099511628211ULL;
  };
  mix(name);
  for (const auto& [k, v] : labels) {
    if (k == kAlertname) continue;
    mix(k);
    mix(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct RuleEngine::Impl {
  RuleSet rules;
  BudgetEngine budgets;
  Settings settings;
  std::map<std::string, Instance> alerts;  // by fingerprint
  std::map<std::string, Health> health;    // by RuleKey
  // This evaluation's value of every group that has one, breaching or not,
  // by the fingerprint its alert would have: a resolve reports the value
  // that ended the alert, not the last one that breached.
  struct Observed {
    double value = 0;
    Labels labels;
    const TemplatedLabels* annotations = nullptr;  // the rule's; valid during Evaluate
    TemplateVars vars;
  };
  std::map<std::string, Observed> observed;

  static std::string RuleKey(const RuleGroup& g, const std::string& name,
                             bool slo) {
    return g.file + "\x1f" + g.name + "\x1f" + (slo ? "slo:" : "alert:") + name;
  }

  Meta MetaFor(const AlertRule& r) const {
    Meta m;
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

  Meta MetaFor(const Slo& s, const BurnRateTier* tier) const {
    Meta m;
    m.receivers = s.receivers;
    m.op = ">";
    m.sli = SloErrorSli(s);
    if (tier) {
      m.threshold = BurnRateFactor(*tier, s.period);
      m.window = FormatDuration(tier->long_window);
    }
    return m;
  }

  // The current meta of the rule or SLO named `name` (first match).
  bool FindMeta(const std::string& name, const Labels& labels,
                Meta* out) const {
    for (const RuleGroup& g : rules.groups) {
      for (const AlertRule& r : g.rules) {
        if (r.name == name) {
          *out = MetaFor(r);
          return true;
        }
      }
      for (const Slo& s : g.slos) {
        if (s.name != name) continue;
        const BurnRateTier* tier = nullptr;
        auto lw = labels.find("long_window");
        for (const BurnRateTier& t : BurnRateTiers()) {
          if (lw != labels.end() && FormatDuration(t.long_window) == lw->second)
            tier = &t;
        }
        *out = MetaFor(s, tier);
        return true;
      }
    }
    return false;
  }

  void RefreshMeta() {
    for (auto& [fp, inst] : alerts) {
      FindMeta(inst.stored.rule, inst.stored.labels, &inst.meta);
    }
  }

  AlertEvent EventOf(const Instance& inst) const {
    AlertEvent e;
    e.name = inst.stored.rule;
    e.labels = inst.stored.labels;
    e.annotations = inst.stored.annotations;
    e.value = inst.stored.value;
    e.threshold = inst.meta.threshold;
    e.op = inst.meta.op;
    e.sli = inst.meta.sli;
    e.stat = inst.meta.stat;
    e.window = inst.meta.window;
    e.active_since_ms = inst.stored.active_since_ms;
    e.fired_at_ms = inst.stored.fired_at_ms;
    e.fingerprint = inst.stored.fingerprint;
    return e;
  }

  void Notify(const Instance& inst, const AlertEvent& e,
              StepResult* out) const {
    const auto& receivers = inst.meta.receivers.empty()
                                ? settings.default_receivers
                                : inst.meta.receivers;
    for (const std::string& r : receivers) out->notifications.push_back({r, e});
  }

  // ---- phase 1: what is active ----

  void Observe(const std::string& name, const Labels& group, const AlertRule& rule,
               double value, const TemplateVars& vars = {}) {
    Labels labels = group;
    for (auto& [k, v] : Render(rule.labels, group, value, vars)) labels[k] = v;
    labels[kAlertname] = name;
    std::string fp = Fingerprint(name, labels);
    observed[std::move(fp)] = {value, std::move(labels), &rule.annotations, vars};
  }

  void Add(std::vector<Active>* actives, std::set<std::string>* seen,
           const std::string& name, const Labels& group,
           const TemplatedLabels& label_templates,
           const TemplatedLabels& annotation_templates, const Labels& extra,
           double value, std::string* error, const TemplateVars& vars = {}) {
    Labels labels = group;
    for (auto& [k, v] : Render(label_templates, group, value, vars)) labels[k] = v;
    for (const auto& [k, v] : extra) labels[k] = v;
    labels[kAlertname] = name;
    Active a;
    a.fingerprint = Fingerprint(name, labels);
    if (!seen->insert(a.fingerprint).second) {
      *error = "duplicate alert label set " + FormatLabels(labels);
      return;
    }
    a.name = name;
    a.annotations = Render(annotation_templates, labels, value, vars);
    a.labels = std::move(labels);
    a.value = value;
    actives->push_back(std::move(a));
  }

  std::vector<SliValue> Run(const ComputeFn& compute, SliQuery q, TimeMs now,
                            const std::set<std::string>* only_agents) const {
    if (!only_agents || !ByHasAgent(q.by)) return compute(q, now);
    std::vector<SliValue> out;
    for (const std::string& agent : *only_agents) {
      q.only_agent = agent;
      for (SliValue& v : compute(q, now)) out.push_back(std::move(v));
    }
    return out;
  }

  void EvalRule(const AlertRule& r, const ComputeFn& compute,
                const FirstSeenFn& first_seen, TimeMs now,
                const std::set<std::string>* only_agents,
                std::vector<Active>* actives, std::set<std::string>* seen,
                std::string* error) {
    if (r.compare && r.compare->baseline_previous) {
      if (!first_seen) {
        *error = "compare baseline: previous needs the label history of the windows engine";
        return;
      }
      for (const Regression& g :
           CompareWithPrevious(r, compute, first_seen, now, only_agents)) {
        const TemplateVars vars = {{"baseline", g.baseline}};
        Observe(r.name, g.group, r, g.value, vars);
        if (!g.fires) continue;
        Add(actives, seen, r.name, g.group, r.labels, r.annotations, {}, g.value,
            error, vars);
      }
      return;
    }
    std::vector<SliValue> current = Run(compute, r.query, now, only_agents);
    if (!r.compare) {
      for (const SliValue& v : current) {
        if (!v.value || v.samples < r.min_samples) continue;
        // Low-volume guard: > >= test the Wilson lower bound, < <= the upper.
        double compared = *v.value;
        TemplateVars vars;
        if (r.confidence) {
          const bool lower = r.op == Op::kGt || r.op == Op::kGe;
          compared = stats::WilsonBound(*v.value, v.samples, *r.confidence, lower);
          vars["bound"] = compared;
        }
        Observe(r.name, v.group, r, *v.value, vars);
        if (!OpHolds(r.op, compared, r.threshold)) continue;
        Add(actives, seen, r.name, v.group, r.labels, r.annotations, {},
            *v.value, error, vars);
      }
      return;
    }
    SliQuery earlier_q = r.query;
    earlier_q.offset = r.compare->offset;
    std::map<Labels, SliValue> earlier;
    for (SliValue& v : Run(compute, earlier_q, now, only_agents)) {
      earlier[v.group] = std::move(v);
    }
    for (const SliValue& v : current) {
      if (!v.value || v.samples < r.min_samples) continue;
      auto it = earlier.find(v.group);
      if (it == earlier.end() || !it->second.value ||
          it->second.samples < r.min_samples || *it->second.value == 0) {
        continue;
      }
      const double ratio = *v.value / *it->second.value;
      Observe(r.name, v.group, r, ratio);
      const bool holds = r.compare->ratio_above
                             ? ratio > *r.compare->ratio_above
                             : ratio < *r.compare->ratio_below;
      if (!holds) continue;
      Add(actives, seen, r.name, v.group, r.labels, r.annotations, {}, ratio,
          error);
    }
  }

  // Error ratio per group over window w (nullopt value = no samples).
  std::map<Labels, SliValue> SloErrors(
      const Slo& s, const WindowSpec& w, const ComputeFn& compute, TimeMs now,
      const std::set<std::string>* only_agents) const {
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

  static WindowSpec TimeWindow(Millis d) {
    WindowSpec w;
    w.kind = WindowSpec::Kind::kTime;
    w.duration = d;
    w.name = FormatDuration(d);
    return w;
  }

  static WindowSpec PeriodWindow(const Slo& s) {
    WindowSpec w = TimeWindow(s.period);
    w.name = s.period_name;
    return w;
  }

  void EvalSlo(const Slo& s, const ComputeFn& compute, TimeMs now,
               const std::set<std::string>* only_agents,
               std::vector<Active>* actives, std::set<std::string>* seen,
               std::string* error) {
    if (!s.multiwindow) return;
    const double budget = 1 - s.objective;
    for (const BurnRateTier& tier : BurnRateTiers()) {
      const double factor = BurnRateFactor(tier, s.period);
      auto long_e =
          SloErrors(s, TimeWindow(tier.long_window), compute, now, only_agents);
      auto short_e = SloErrors(s, TimeWindow(tier.short_window), compute, now,
                               only_agents);
      for (const auto& [group, lv] : long_e) {
        auto sit = short_e.find(group);
        if (sit == short_e.end()) continue;
        const SliValue& sv = sit->second;
        if (!lv.value || !sv.value || lv.samples < s.min_samples ||
            sv.samples < s.min_samples) {
          continue;
        }
        const double br_long = *lv.value / budget;
        const double br_short = *sv.value / budget;
        if (!(br_long > factor && br_short > factor)) continue;
        const std::string long_name = FormatDuration(tier.long_window);
        Labels extra = {{"slo", s.name},
                        {"severity", tier.severity},
                        {"long_window", long_name}};
        TemplatedLabels annotations = s.annotations;
        if (annotations.empty()) {
          char buf[256];
          std::snprintf(
              buf, sizeof buf,
              "SLO %s is burning its error budget at {{ $value | humanize }}x "
              "over %s (and %.4gx over %s); threshold %.4gx",
              s.name.c_str(), long_name.c_str(), br_short,
              FormatDuration(tier.short_window).c_str(), factor);
          auto t = Template::Parse(buf);
          if (t.ok())
            annotations.emplace_back("summary", TemplatedString{buf, *t});
        }
        Add(actives, seen, s.name, group, s.labels, annotations, extra, br_long,
            error);
      }
    }
  }

  // ---- phase 2: the state machine ----

  void Upsert(const Instance& inst, StepResult* out) {
    out->upserts.push_back(inst.stored);
  }

  bool Silenced(const Instance& inst, TimeMs now) const {
    return settings.silenced && settings.silenced(inst.stored.labels, now);
  }

  void Fire(Instance& inst, TimeMs now, StepResult* out) {
    inst.stored.state = AlertState::kFiring;
    inst.stored.fired_at_ms = now;
    inst.stored.last_notified_ms = now;
    inst.stored.acknowledged = false;
    inst.stored.unannounced = Silenced(inst, now);
    AlertEvent e = EventOf(inst);
    if (!inst.stored.unannounced) Notify(inst, e, out);
    out->transitions.push_back({now, Transition::kFiring, e});
  }

  // Announces a firing alert whose silence has ended, else re-sends it
  // every repeat_interval (not while silenced or acknowledged). Returns
  // true if sent.
  bool MaybeRepeat(Instance& inst, TimeMs now, StepResult* out) {
    if (inst.stored.unannounced) {
      if (Silenced(inst, now)) return false;
      inst.stored.unannounced = false;
      inst.stored.last_notified_ms = now;
      Notify(inst, EventOf(inst), out);
      return true;
    }
    if (inst.stored.acknowledged) return false;
    if (settings.repeat_interval.count() <= 0) return false;
    if (now - inst.stored.last_notified_ms < settings.repeat_interval.count())
      return false;
    if (Silenced(inst, now)) return false;
    inst.stored.last_notified_ms = now;
    Notify(inst, EventOf(inst), out);
    return true;
  }

  void Resolve(const std::string& fp, TimeMs now, StepResult* out) {
    Instance& inst = alerts.at(fp);
    if (inst.stored.state == AlertState::kFiring) {
      AlertEvent e = EventOf(inst);
      if (auto it = observed.find(fp); it != observed.end()) {
        e.value = it->second.value;
        e.annotations = Render(*it->second.annotations, it->second.labels, e.value,
                               it->second.vars);
      }
      e.resolved = true;
      e.resolved_at_ms = now;
      // Nobody heard the trigger (silenced throughout): nothing to resolve.
      if (!inst.stored.unannounced) Notify(inst, e, out);
      out->transitions.push_back({now, Transition::kResolved, e});
    } else {
      out->transitions.push_back({now, Transition::kCleared, EventOf(inst)});
    }
    out->deleted.push_back(fp);
    alerts.erase(fp);
  }

  void Activate(const Active& a, const Meta& meta, TimeMs now,
                StepResult* out) {
    auto it = alerts.find(a.fingerprint);
    if (it == alerts.end()) {
      Instance inst;
      inst.stored.fingerprint = a.fingerprint;
      inst.stored.rule = a.name;
      inst.stored.labels = a.labels;
      inst.stored.annotations = a.annotations;
      inst.stored.state = AlertState::kPending;
      inst.stored.value = a.value;
      inst.stored.active_since_ms = now;
      inst.meta = meta;
      it = alerts.emplace(a.fingerprint, std::move(inst)).first;
      out->transitions.push_back(
          {now, Transition::kPending, EventOf(it->second)});
      if (now - it->second.stored.active_since_ms >=
          meta.for_duration.count()) {
        Fire(it->second, now, out);
      }
      Upsert(it->second, out);
      return;
    }
    Instance& inst = it->second;
    bool changed = inst.stored.annotations != a.annotations ||
                   inst.stored.keep_firing_since_ms != 0 ||
                   inst.stored.labels != a.labels;
    inst.stored.rule = a.name;
    inst.stored.labels = a.labels;
    inst.stored.annotations = a.annotations;
    inst.stored.value = a.value;
    inst.stored.keep_firing_since_ms = 0;
    inst.meta = meta;
    if (inst.stored.state == AlertState::kPending) {
      if (now - inst.stored.active_since_ms >= meta.for_duration.count()) {
        Fire(inst, now, out);
        changed = true;
      }
    } else if (inst.stored.state == AlertState::kFiring) {
      changed = MaybeRepeat(inst, now, out) || changed;
    }
    if (changed) Upsert(inst, out);
  }

  // The condition no longer holds for this alert.
  void Deactivate(const std::string& fp, TimeMs now, StepResult* out) {
    Instance& inst = alerts.at(fp);
    if (inst.stored.state == AlertState::kFiring &&
        inst.meta.keep_firing_for.count() > 0) {
      bool changed = false;
      if (inst.stored.keep_firing_since_ms == 0) {
        inst.stored.keep_firing_since_ms = now;
        changed = true;
      }
      if (now - inst.stored.keep_firing_since_ms <
          inst.meta.keep_firing_for.count()) {
        changed = MaybeRepeat(inst, now, out) || changed;
        if (changed) Upsert(inst, out);
        return;
      }
    }
    Resolve(fp, now, out);
  }

  StepResult Evaluate(const ComputeFn& compute, const FirstSeenFn& first_seen,
                      TimeMs now, const std::set<std::string>* only_agents) {
    StepResult out;
    observed.clear();
    // Names evaluated, and for each whether only some agents were.
    std::map<std::string, bool> evaluated;    // name -> partial (agent-scoped)
    std::map<std::string, Meta> active_meta;  // fingerprint -> meta
    std::vector<Active> all;
    std::set<std::string> seen;
    // On ingest (only_agents), rules that do not group by agent scan every
    // agent's records; they are left to the periodic evaluation, and their
    // alerts stay as they are.
    std::set<std::string> skipped;
    for (const RuleGroup& g : rules.groups) {
      for (const AlertRule& r : g.rules) {
        if (only_agents && !ByHasAgent(r.query.by)) {
          skipped.insert(r.name);
          continue;
        }
        Health& h = health[RuleKey(g, r.name, false)];
        h.last_error.clear();
        std::vector<Active> actives;
        EvalRule(r, compute, first_seen, now, only_agents, &actives, &seen,
                 &h.last_error);
        h.last_evaluation_ms = now;
        const bool partial = only_agents && ByHasAgent(r.query.by);
        auto [it, inserted] = evaluated.emplace(r.name, partial);
        if (!inserted) it->second = it->second && partial;
        const Meta meta = MetaFor(r);
        for (Active& a : actives) {
          active_meta[a.fingerprint] = meta;
          all.push_back(std::move(a));
        }
      }
      for (const Slo& s : g.slos) {
        if (only_agents && !ByHasAgent(s.by)) {
          skipped.insert(s.name);
          continue;
        }
        Health& h = health[RuleKey(g, s.name, true)];
        h.last_error.clear();
        std::vector<Active> actives;
        EvalSlo(s, compute, now, only_agents, &actives, &seen, &h.last_error);
        h.last_evaluation_ms = now;
        const bool partial = only_agents && ByHasAgent(s.by);
        evaluated[s.name] = partial;
        for (Active& a : actives) {
          const BurnRateTier* tier = nullptr;
          for (const BurnRateTier& t : BurnRateTiers()) {
            if (FormatDuration(t.long_window) == a.labels["long_window"])
              tier = &t;
          }
          active_meta[a.fingerprint] = MetaFor(s, tier);
          all.push_back(std::move(a));
        }
      }
    }
    std::set<std::string> active_fps;
    for (const Active& a : all) {
      active_fps.insert(a.fingerprint);
      Activate(a, active_meta[a.fingerprint], now, &out);
    }
    std::vector<std::string> gone;
    for (const auto& [fp, inst] : alerts) {
      if (active_fps.count(fp)) continue;
      if (skipped.count(inst.stored.rule) && !evaluated.count(inst.stored.rule)) continue;
      auto it = evaluated.find(inst.stored.rule);
      if (it == evaluated.end()) {
        gone.push_back(fp);  // its rule was removed
        continue;
      }
      if (it->second) {  // only some agents were evaluated
        auto agent = inst.stored.labels.find("agent");
        if (agent == inst.stored.labels.end() ||
            !only_agents->count(agent->second)) {
          continue;
        }
      }
      gone.push_back(fp);
    }
    for (const std::string& fp : gone) {
      if (evaluated.count(alerts.at(fp).stored.rule)) {
        Deactivate(fp, now, &out);
      } else {
        Resolve(fp, now, &out);
      }
    }
    return out;
  }

  std::vector<SloStatus> SloStatuses(const ComputeFn& compute,
                                     TimeMs now) const {
    std::vector<SloStatus> out;
    for (const RuleGroup& g : rules.groups) {
      for (const Slo& s : g.slos) {
        const double budget = 1 - s.objective;
        std::vector<WindowSpec> windows;
        for (Millis d :
             {Millis(5 * 60'000), Millis(30 * 60'000), Millis(3'600'000),
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
            const bool has = it != errors.end() && it->second.value &&
                             it->second.samples > 0;
            st.burn_rates[w.name] = has ? *it->second.value / budget : 0;
          }
        }
      }
    }
    return out;
  }
};

RuleEngine::RuleEngine(RuleSet rules, Settings settings) : impl_(new Impl) {
  impl_->budgets.SetBudgets(rules.budgets);
  impl_->rules = std::move(rules);
  impl_->settings = std::move(settings);
}
RuleEngine::~RuleEngine() = default;

void RuleEngine::Restore(const std::vector<StoredAlert>& alerts) {
  impl_->alerts.clear();
  std::vector<StoredAlert> budget_alerts;
  for (const StoredAlert& a : alerts) {
    if (impl_->budgets.Owns(a.rule) && a.labels.count("threshold")) {
      budget_alerts.push_back(a);
      continue;
    }
    if (a.state != AlertState::kPending && a.state != AlertState::kFiring)
      continue;
    Instance inst;
    inst.stored = a;
    if (inst.stored.labels.count(kAlertname) == 0)
      inst.stored.labels[kAlertname] = a.rule;
    impl_->FindMeta(a.rule, a.labels, &inst.meta);
    impl_->alerts[a.fingerprint] = std::move(inst);
  }
  impl_->budgets.RestoreAlerts(budget_alerts);
}

void RuleEngine::RestoreBudgetFired(const std::vector<BudgetFired>& fired) {
  impl_->budgets.RestoreFired(fired);
}

StepResult RuleEngine::Evaluate(const ComputeFn& compute, TimeMs now,
                                const std::set<std::string>* only_agents) {
  return Evaluate(compute, FirstSeenFn{}, now, only_agents);
}

StepResult RuleEngine::Evaluate(const ComputeFn& compute,
                                const FirstSeenFn& first_seen, TimeMs now,
                                const std::set<std::string>* only_agents) {
  StepResult out = impl_->Evaluate(compute, first_seen, now, only_agents);
  // Budgets sum every agent's cost, so the periodic evaluation covers them.
  if (only_agents == nullptr) impl_->budgets.Evaluate(compute, now, impl_->settings, &out);
  return out;
}

std::vector<BudgetStatus> RuleEngine::BudgetStatuses(const ComputeFn& compute, TimeMs now) const {
  return impl_->budgets.Statuses(compute, now);
}

std::vector<SloStatus> RuleEngine::SloStatuses(const ComputeFn& compute,
                                               TimeMs now) const {
  return impl_->SloStatuses(compute, now);
}

void RuleEngine::Replace(RuleSet rules) {
  impl_->budgets.SetBudgets(rules.budgets);  // removed budgets resolve at the next Evaluate()
  impl_->rules = std::move(rules);
  impl_->RefreshMeta();  // removed rules keep their last meta for the resolve
  std::map<std::string, Health> kept;
  for (const RuleGroup& g : impl_->rules.groups) {
    for (const AlertRule& r : g.rules) {
      auto it = impl_->health.find(Impl::RuleKey(g, r.name, false));
      if (it != impl_->health.end()) kept.insert(*it);
    }
    for (const Slo& s : g.slos) {
      auto it = impl_->health.find(Impl::RuleKey(g, s.name, true));
      if (it != impl_->health.end()) kept.insert(*it);
    }
  }
  impl_->health = std::move(kept);
}

void RuleEngine::SetSettings(Settings settings) {
  impl_->settings = std::move(settings);
}

bool RuleEngine::Acknowledge(const std::string& fingerprint) {
  auto it = impl_->alerts.find(fingerprint);
  if (it != impl_->alerts.end()) {
    if (it->second.stored.state != AlertState::kFiring) return false;
    it->second.stored.acknowledged = true;
    return true;
  }
  return impl_->budgets.Acknowledge(fingerprint);
}
const RuleSet& RuleEngine::rules() const { return impl_->rules; }

std::vector<RuleGroupStatus> RuleEngine::RuleGroups() const {
  std::vector<RuleGroupStatus> groups;
  auto entry = [&](const RuleGroup& g, const std::string& name, bool slo) {
    auto it = impl_->health.find(Impl::RuleKey(g, name, slo));
    const Health h = it == impl_->health.end() ? Health{} : it->second;
    RuleStatus r;
    r.name = name;
    r.type = slo ? "slo" : "alert";
    r.last_error = h.last_error;
    r.last_evaluation_ms = h.last_evaluation_ms;
    return r;
  };
  for (const RuleGroup& g : impl_->rules.groups) {
    RuleGroupStatus group{g.name, g.file, {}};
    for (const AlertRule& r : g.rules) group.rules.push_back(entry(g, r.name, false));
    for (const Slo& s : g.slos) group.rules.push_back(entry(g, s.name, true));
    groups.push_back(std::move(group));
  }
  AppendBudgetGroups(impl_->budgets, groups);
  return groups;
}

std::vector<StoredAlert> RuleEngine::Alerts() const {
  std::vector<StoredAlert> out;
  for (const auto& [fp, inst] : impl_->alerts) out.push_back(inst.stored);
  for (StoredAlert& a : impl_->budgets.Alerts()) out.push_back(std::move(a));
  std::sort(out.begin(), out.end(),
            [](const StoredAlert& a, const StoredAlert& b) {
              return std::tie(a.rule, a.labels) < std::tie(b.rule, b.labels);
            });
  return out;
}

std::vector<SliQuery> RuleEngine::Queries() const {
  std::vector<SliQuery> out;
  auto add = [&out](const SliQuery& q) {
    for (const SliQuery& o : out) {
      if (o.sli == q.sli && o.stat == q.stat && o.window == q.window &&
          o.by == q.by && o.where == q.where && o.match == q.match) {
        return;
      }
    }
    out.push_back(q);
  };
  for (const RuleGroup& g : impl_->rules.groups) {
    for (const AlertRule& r : g.rules) add(r.query);
    for (const Slo& s : g.slos) {
      SliQuery q;
      q.sli = s.sli;
      q.window = Impl::PeriodWindow(s);
      q.by = s.by;
      q.where = s.where;
      add(q);
    }
  }
  return out;
}

std::map<std::pair<std::string, std::string>, int64_t> RuleEngine::AlertCounts()
    const {
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (const RuleGroup& g : impl_->rules.groups) {
    for (const AlertRule& r : g.rules) {
      out[{r.name, "pending"}] += 0;
      out[{r.name, "firing"}] += 0;
    }
    for (const Slo& s : g.slos) {
      out[{s.name, "pending"}] += 0;
      out[{s.name, "firing"}] += 0;
    }
  }
  for (const auto& [fp, inst] : impl_->alerts) {
    ++out[{inst.stored.rule, AlertStateName(inst.stored.state)}];
  }
  for (const Budget& b : impl_->budgets.budgets()) {
    out[{b.name, "pending"}] += 0;
    out[{b.name, "firing"}] += 0;
  }
  for (const StoredAlert& a : impl_->budgets.Alerts()) ++out[{a.rule, AlertStateName(a.state)}];
  return out;
}

}  // namespace aw::rules
