// RuleEngine: one evaluation over every rule and SLO (evaluation.h), then
// the state machine (alert_state.h), then budgets (budget_engine.h); and
// what the engine reports about itself.

#include "rules/rule_engine.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "daemon/common/time_util.h"
#include "rules/alert_state.h"
#include "rules/budget_engine.h"
#include "rules/evaluation.h"

namespace aw::rules {

namespace {

constexpr const char* kAlertname = "alertname";

struct Health {
  TimeMs last_evaluation_ms = 0;
  std::string last_error;
};

// The tier of a stored SLO alert. The store keeps labels, not the tier, so
// a restart reads it back from the long_window label its tier gave it;
// from then on the tier travels with the alert.
const BurnRateTier* StoredTier(const Labels& labels) {
  auto lw = labels.find("long_window");
  if (lw == labels.end()) return nullptr;
  for (const BurnRateTier& t : BurnRateTiers()) {
    if (FormatDuration(t.long_window) == lw->second) return &t;
  }
  return nullptr;
}

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
  AlertStates states{settings};
  std::map<std::string, Health> health;  // by Alerting::Key()
  // Errors of the tick's agent chunks since its last fleet pass, by Key().
  std::map<std::string, std::string> tick_errors;
  // The budget alerts before the last evaluation, when it evaluated budgets
  // (few: one per budget threshold), for UndoLastEvaluation().
  std::optional<std::vector<StoredAlert>> budgets_before;

  void BeginStep(bool with_budgets);
  void DropStep() {
    states.DropStep();
    budgets_before.reset();
  }

  enum class Pass : uint8_t {
    kFull,        // every rule and SLO, every agent
    kIngest,      // rules grouping by agent, for some agents
    kTickAgents,  // names all of whose rules group by agent, for some agents
    kTickFleet,   // every other name, every agent
  };

  // The first rule or SLO named `name` (alert names are shared only by
  // rules of different groups), or null.
  std::optional<Alerting> Find(const std::string& name) const {
    for (const Alerting& a : AlertingOf(rules)) {
      if (a.name() == name) return a;
    }
    return std::nullopt;
  }

  // An alert's meta from the current rule of its name; an alert of a
  // removed rule keeps its last meta for the resolve.
  void RefreshMeta(Instance& inst) const {
    if (auto a = Find(inst.stored.rule)) inst.meta = MetaFor(*a, inst.meta.tier);
  }

  // Whether every rule and SLO named `name` groups by agent (a tick
  // evaluates such a name per agent chunk; any other in its fleet pass).
  bool AgentScoped(const std::string& name) const {
    bool any = false;
    for (const Alerting& a : AlertingOf(rules)) {
      if (a.name() != name) continue;
      if (!ByHasAgent(a.by())) return false;
      any = true;
    }
    return any;
  }

  // The alerts an evaluation may end, in fingerprint order (the order of
  // its transitions): those of removed rules, those of names evaluated in
  // full, and, when only `agents` were evaluated (non-null), those agents'
  // alerts. A superset of what Evaluate() ends, found through the index so
  // that its cost follows the alerts of these agents, not all alerts held.
  std::vector<std::string> MayEnd(const std::map<std::string, bool>& complete,
                                  const std::set<std::string>* agents) const {
    std::vector<std::string> out;
    for (const auto& [name, fps] : states.by_rule()) {
      auto it = complete.find(name);
      const bool removed = it == complete.end();
      if (removed || (agents == nullptr && it->second))
        out.insert(out.end(), fps.begin(), fps.end());
    }
    if (agents != nullptr) {
      for (const std::string& agent : *agents) {
        if (const AlertStates::FingerprintSet* fps = states.OfAgent(agent)) {
          out.insert(out.end(), fps->begin(), fps->end());
        }
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  StepResult Evaluate(const ComputeFn& compute, const FirstSeenFn& first_seen, TimeMs now,
                      Pass pass, const std::set<std::string>* agents) {
    StepResult out;
    Findings found;
    // Only these passes look at some agents' groups; the others at all.
    const bool per_agent = pass == Pass::kIngest || pass == Pass::kTickAgents;
    const EvalInput in{compute, first_seen, now, per_agent ? agents : nullptr};
    // Per alert name: whether every rule and SLO of that name was evaluated.
    // An alert that was not found is deactivated only when all of them were:
    // any one skipped could have produced it.
    std::map<std::string, bool> complete;
    std::map<std::string, bool> scoped;  // AgentScoped(), by name
    for (const Alerting& a : AlertingOf(rules)) {
      auto [it, inserted] = complete.emplace(a.name(), true);
      if (pass == Pass::kTickAgents || pass == Pass::kTickFleet) {
        if (!scoped.count(a.name())) scoped[a.name()] = AgentScoped(a.name());
      }
      Health& h = health[a.Key()];
      switch (pass) {
        case Pass::kFull:
          break;
        case Pass::kIngest:
          // Rules that do not group by agent scan every agent's records;
          // they are left to the periodic evaluation, and their alerts stay
          // as they are.
          if (!ByHasAgent(a.by())) {
            it->second = false;
            continue;
          }
          break;
        case Pass::kTickAgents:
          if (!scoped[a.name()]) {
            it->second = false;
            continue;
          }
          // The tick's health is settled by its fleet pass: an error of any
          // chunk stands, as it would in one evaluation of all agents.
          h.last_evaluation_ms = now;
          if (std::string e = EvaluateAlerting(a, in, found); !e.empty()) {
            tick_errors[a.Key()] = std::move(e);
          }
          continue;
        case Pass::kTickFleet:
          if (scoped[a.name()]) {
            it->second = false;
            // With no agents it computes nothing, but still reports an
            // error that does not depend on the agents (a compare that
            // cannot run).
            static const std::set<std::string> kNoAgents;
            Findings none;
            std::string e = EvaluateAlerting(a, {compute, first_seen, now, &kNoAgents}, none);
            if (e.empty()) {
              if (auto t = tick_errors.find(a.Key()); t != tick_errors.end()) e = t->second;
            }
            h.last_error = std::move(e);
            h.last_evaluation_ms = now;
            continue;
          }
          break;
      }
      h.last_error = EvaluateAlerting(a, in, found);
      h.last_evaluation_ms = now;
    }
    if (pass == Pass::kTickFleet) tick_errors.clear();
    for (const Active& a : found.actives) states.Activate(a, now, &out);
    std::vector<std::string> gone;
    for (const std::string& fp : MayEnd(complete, per_agent ? agents : nullptr)) {
      const Instance& inst = states.alerts().at(fp);
      if (found.seen.count(fp)) continue;
      auto it = complete.find(inst.stored.rule);
      if (it == complete.end()) {
        gone.push_back(fp);  // its rule was removed
        continue;
      }
      if (!it->second) continue;
      if (per_agent) {  // only these agents' groups were evaluated
        auto agent = inst.stored.labels.find("agent");
        if (agent == inst.stored.labels.end() || !agents->count(agent->second)) continue;
      }
      gone.push_back(fp);
    }
    if (gone.empty()) return out;
    const std::map<std::string, Observed> observed = found.ObservedByFingerprint();
    for (const std::string& fp : gone) {
      if (complete.count(states.alerts().at(fp).stored.rule)) {
        states.Deactivate(fp, now, observed, &out);
      } else {
        states.Resolve(fp, now, observed, &out);
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
  impl_->DropStep();
  impl_->states.Clear();
  std::vector<StoredAlert> budget_alerts;
  for (const StoredAlert& a : alerts) {
    if (impl_->budgets.Owns(a.rule) && a.labels.count("threshold")) {
      budget_alerts.push_back(a);
      continue;
    }
    if (a.state != AlertState::kPending && a.state != AlertState::kFiring) continue;
    Instance inst;
    inst.stored = a;
    if (inst.stored.labels.count(kAlertname) == 0) inst.stored.labels[kAlertname] = a.rule;
    if (auto rule = impl_->Find(a.rule)) {
      inst.meta = MetaFor(*rule, rule->slo ? StoredTier(a.labels) : nullptr);
    }
    impl_->states.Put(std::move(inst));
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

void RuleEngine::Impl::BeginStep(bool with_budgets) {
  states.BeginStep();
  budgets_before.reset();
  if (with_budgets) budgets_before = budgets.Alerts();
}

void RuleEngine::UndoLastEvaluation() {
  impl_->states.UndoStep();
  if (impl_->budgets_before) impl_->budgets.RestoreAlerts(*impl_->budgets_before);
  impl_->budgets_before.reset();
}

StepResult RuleEngine::Evaluate(const ComputeFn& compute, const FirstSeenFn& first_seen, TimeMs now,
                                const std::set<std::string>* only_agents) {
  impl_->BeginStep(only_agents == nullptr);
  StepResult out = impl_->Evaluate(
      compute, first_seen, now, only_agents ? Impl::Pass::kIngest : Impl::Pass::kFull, only_agents);
  // Budgets sum every agent's cost, so the periodic evaluation covers them.
  if (only_agents == nullptr) impl_->budgets.Evaluate(compute, now, impl_->settings, &out);
  return out;
}

std::set<std::string> RuleEngine::TickAgents(const std::vector<std::string>& with_records) const {
  std::set<std::string> out(with_records.begin(), with_records.end());
  // An agent whose records are all gone still has its alerts to end.
  std::map<std::string, bool> scoped;
  for (const auto& [fp, inst] : impl_->states.alerts()) {
    auto agent = inst.stored.labels.find("agent");
    if (agent == inst.stored.labels.end()) continue;
    auto [it, inserted] = scoped.emplace(inst.stored.rule, false);
    if (inserted) it->second = impl_->AgentScoped(inst.stored.rule);
    if (it->second) out.insert(agent->second);
  }
  return out;
}

StepResult RuleEngine::EvaluateAgents(const ComputeFn& compute, const FirstSeenFn& first_seen,
                                      TimeMs now, const std::set<std::string>& agents) {
  impl_->BeginStep(false);
  return impl_->Evaluate(compute, first_seen, now, Impl::Pass::kTickAgents, &agents);
}

StepResult RuleEngine::EvaluateFleet(const ComputeFn& compute, const FirstSeenFn& first_seen,
                                     TimeMs now) {
  impl_->BeginStep(true);
  StepResult out = impl_->Evaluate(compute, first_seen, now, Impl::Pass::kTickFleet, nullptr);
  impl_->budgets.Evaluate(compute, now, impl_->settings, &out);
  return out;
}

std::vector<BudgetStatus> RuleEngine::BudgetStatuses(const ComputeFn& compute, TimeMs now) const {
  return impl_->budgets.Statuses(compute, now);
}

std::vector<SloStatus> RuleEngine::SloStatuses(const ComputeFn& compute, TimeMs now) const {
  return SloStatusesOf(impl_->rules, compute, now);
}

void RuleEngine::Replace(RuleSet rules) {
  impl_->budgets.SetBudgets(rules.budgets);  // removed budgets resolve at the next Evaluate()
  impl_->DropStep();
  impl_->rules = std::move(rules);
  impl_->states.RefreshMeta([this](Instance& inst) { impl_->RefreshMeta(inst); });
  std::map<std::string, Health> kept;
  for (const Alerting& a : AlertingOf(impl_->rules)) {
    auto it = impl_->health.find(a.Key());
    if (it != impl_->health.end()) kept.insert(*it);
  }
  impl_->health = std::move(kept);
}

void RuleEngine::SetSettings(Settings settings) { impl_->settings = std::move(settings); }

bool RuleEngine::Acknowledge(const std::string& fingerprint) {
  impl_->DropStep();
  if (impl_->states.alerts().count(fingerprint)) return impl_->states.Acknowledge(fingerprint);
  return impl_->budgets.Acknowledge(fingerprint);
}

const RuleSet& RuleEngine::rules() const { return impl_->rules; }

std::vector<RuleGroupStatus> RuleEngine::RuleGroups() const {
  std::vector<RuleGroupStatus> groups;
  for (const RuleGroup& g : impl_->rules.groups) {
    RuleGroupStatus group{g.name, g.file, {}};
    for (const Alerting& a : AlertingOf(g)) {
      auto it = impl_->health.find(a.Key());
      const Health h = it == impl_->health.end() ? Health{} : it->second;
      RuleStatus r;
      r.name = a.name();
      r.type = a.type();
      r.last_error = h.last_error;
      r.last_evaluation_ms = h.last_evaluation_ms;
      group.rules.push_back(std::move(r));
    }
    groups.push_back(std::move(group));
  }
  AppendBudgetGroups(impl_->budgets, groups);
  return groups;
}

std::vector<StoredAlert> RuleEngine::Alerts() const {
  std::vector<StoredAlert> out;
  for (const auto& [fp, inst] : impl_->states.alerts()) out.push_back(inst.stored);
  for (StoredAlert& a : impl_->budgets.Alerts()) out.push_back(std::move(a));
  std::sort(out.begin(), out.end(), [](const StoredAlert& a, const StoredAlert& b) {
    return std::tie(a.rule, a.labels) < std::tie(b.rule, b.labels);
  });
  return out;
}

std::optional<StoredAlert> RuleEngine::FindAlert(const std::string& fingerprint) const {
  if (auto it = impl_->states.alerts().find(fingerprint); it != impl_->states.alerts().end()) {
    return it->second.stored;
  }
  for (StoredAlert& a : impl_->budgets.Alerts()) {
    if (a.fingerprint == fingerprint) return std::move(a);
  }
  return std::nullopt;
}

std::vector<SliQuery> RuleEngine::Queries() const {
  std::vector<SliQuery> out;
  for (const Alerting& a : AlertingOf(impl_->rules)) {
    const SliQuery q = a.Query();
    const bool known = std::any_of(out.begin(), out.end(), [&q](const SliQuery& o) {
      return o.sli == q.sli && o.stat == q.stat && o.window == q.window && o.by == q.by &&
             o.where == q.where && o.match == q.match;
    });
    if (!known) out.push_back(q);
  }
  return out;
}

std::map<std::pair<std::string, std::string>, int64_t> RuleEngine::AlertCounts() const {
  std::map<std::pair<std::string, std::string>, int64_t> out;
  auto zero = [&out](const std::string& name) {
    out[{name, "pending"}] += 0;
    out[{name, "firing"}] += 0;
  };
  for (const Alerting& a : AlertingOf(impl_->rules)) zero(a.name());
  for (const Budget& b : impl_->budgets.budgets()) zero(b.name);
  // Counted in place: /metrics asks under the runtime's lock, and a sorted
  // copy of every alert would hold evaluations up for nothing.
  for (const auto& [fp, inst] : impl_->states.alerts()) {
    ++out[{inst.stored.rule, AlertStateName(inst.stored.state)}];
  }
  for (const StoredAlert& a : impl_->budgets.Alerts()) ++out[{a.rule, AlertStateName(a.state)}];
  return out;
}

std::optional<AlertScope> RuleEngine::ScopeOf(const std::string& fingerprint, TimeMs now) const {
  if (auto it = impl_->states.alerts().find(fingerprint); it != impl_->states.alerts().end()) {
    const Instance& inst = it->second;
    const std::optional<Alerting> a = impl_->Find(inst.stored.rule);
    if (!a) return std::nullopt;  // its rule was removed: it resolves at the next evaluation
    AlertScope scope;
    scope.alert = inst.stored;
    if (a->rule) {
      const AlertRule& r = *a->rule;
      scope.query = r.query;
      if (!r.compare) {
        scope.threshold = r.threshold;
        scope.op = OpName(r.op);
      } else {
        scope.kind =
            r.compare->baseline_previous ? AlertScope::Kind::kBaseline : AlertScope::Kind::kCompare;
        scope.compare = r.compare;
        if (!r.compare->baseline_previous) {
          scope.bound = r.threshold;
          scope.bound_op = OpName(r.op);
        }
      }
      return scope;
    }
    if (!inst.meta.tier) return std::nullopt;
    const Slo& slo = *a->slo;
    const BurnRateTier& tier = *inst.meta.tier;
    scope.kind = AlertScope::Kind::kSlo;
    scope.query.sli = slo.sli;
    scope.query.window = TimeWindow(tier.long_window);
    scope.query.by = slo.by;
    scope.query.where = slo.where;
    scope.objective = slo.objective;
    scope.bound = BurnRateFactor(tier, slo.period);
    scope.bound_op = OpName(Op::kGt);
    scope.tier_severity = tier.severity;
    scope.tier_budget_fraction = tier.budget_fraction;
    scope.tier_long_window = tier.long_window;
    scope.period_name = slo.period_name;
    return scope;
  }
  for (StoredAlert& alert : impl_->budgets.Alerts()) {
    if (alert.fingerprint != fingerprint) continue;
    for (const Budget& b : impl_->budgets.budgets()) {
      if (b.name != alert.rule) continue;
      // The investigations placed in the current period that it counts.
      const PeriodBounds period = PeriodAt(b.period, b.timezone, now);
      AlertScope scope;
      scope.kind = AlertScope::Kind::kBudget;
      scope.query.sli = Sli::kCostUsd;
      scope.query.window.kind = WindowSpec::Kind::kTime;
      scope.query.window.duration = Millis(now - period.start_ms + 1);
      scope.query.window.name = BudgetPeriodName(b.period);
      scope.query.where = b.where;
      scope.budget_amount_usd = b.amount_usd;
      scope.period = period;
      // The `threshold` label names the alert_at fraction, or "projected"
      // (the projection reaching the amount).
      if (const auto t = alert.labels.find("threshold"); t != alert.labels.end()) {
        for (const auto& [text, fraction] : b.alert_at) {
          if (text == t->second) scope.bound = fraction * b.amount_usd;
        }
        if (t->second == "projected") scope.bound = b.amount_usd;
      }
      scope.bound_op = OpName(Op::kGe);
      scope.alert = std::move(alert);
      return scope;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace aw::rules
