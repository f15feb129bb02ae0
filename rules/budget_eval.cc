#include <algorithm>
#include <cmath>

#include "daemon/common/time_util.h"
#include "rules/budget_engine.h"

namespace aw::rules {

namespace {

constexpr const char* kProjected = "projected";

// Sum of cost_usd over from_ms <= ts <= now after `where`. Time windows
// hold now - W < ts <= now, hence the extra millisecond.
double CostSince(const ComputeFn& compute, const Labels& where, TimeMs from_ms, TimeMs now) {
  if (now < from_ms) return 0;
  SliQuery q;
  q.sli = Sli::kCostUsd;
  q.window.kind = WindowSpec::Kind::kTime;
  q.window.duration = Millis(now - from_ms + 1);
  q.window.name = "budget";
  q.by = {};
  q.where = where;
  double sum = 0;
  for (const SliValue& v : compute(q, now)) sum += v.value.value_or(0);
  return sum;
}

BudgetStatus StatusOf(const Budget& b, const ComputeFn& compute, TimeMs now) {
  BudgetStatus s;
  s.name = b.name;
  s.amount_usd = b.amount_usd;
  const PeriodBounds p = PeriodAt(b.period, b.timezone, now);
  s.period_start_ms = p.start_ms;
  s.period_end_ms = p.end_ms;
  s.spent_usd = CostSince(compute, b.where, p.start_ms, now);
  s.projected_usd = s.spent_usd;
  double rate = 0;  // USD per millisecond
  if ((now - p.start_ms) * 10 >= p.end_ms - p.start_ms) {
    s.projection_made = true;
    const TimeMs w = b.projection_window.count();
    rate = CostSince(compute, b.where, now - w + 1, now) / static_cast<double>(w);
    s.projected_usd = s.spent_usd + rate * static_cast<double>(p.end_ms - now);
  }
  if (s.spent_usd >= b.amount_usd) {
    s.exhausted_at_ms = now;
  } else if (rate > 0) {
    const double ms = (b.amount_usd - s.spent_usd) / rate;
    if (ms < 1e15) s.exhausted_at_ms = now + std::llround(ms);
  }
  return s;
}

// Reached, with a relative tolerance so sums such as 0.1 + 0.7 count as 0.8.
bool Reached(double value, double target) { return value >= target - 1e-9 * std::fabs(target); }

}  // namespace

void BudgetEngine::SetBudgets(std::vector<Budget> budgets) { budgets_ = std::move(budgets); }

bool BudgetEngine::Owns(const std::string& alert_name) const {
  return std::any_of(budgets_.begin(), budgets_.end(),
                     [&](const Budget& b) { return b.name == alert_name; });
}

void BudgetEngine::RestoreAlerts(const std::vector<StoredAlert>& alerts) {
  alerts_.clear();
  for (const StoredAlert& a : alerts) {
    if (a.state != AlertState::kFiring) continue;
    alerts_[a.fingerprint] = a;
  }
}

void BudgetEngine::RestoreFired(const std::vector<BudgetFired>& fired) {
  fired_.clear();
  for (const BudgetFired& f : fired) fired_[{f.budget, f.threshold}].insert(f.period_start_ms);
}

std::vector<StoredAlert> BudgetEngine::Alerts() const {
  std::vector<StoredAlert> out;
  for (const auto& [fp, a] : alerts_) out.push_back(a);
  return out;
}

bool BudgetEngine::Acknowledge(const std::string& fingerprint) {
  auto it = alerts_.find(fingerprint);
  if (it == alerts_.end()) return false;
  it->second.acknowledged = true;
  return true;
}

std::vector<BudgetStatus> BudgetEngine::Statuses(const ComputeFn& compute, TimeMs now) const {
  std::vector<BudgetStatus> out;
  for (const Budget& b : budgets_) out.push_back(StatusOf(b, compute, now));
  return out;
}

void BudgetEngine::Evaluate(const ComputeFn& compute, TimeMs now, const Settings& settings,
                            StepResult* out) {
  last_evaluation_ms_ = now;
  auto receivers_of = [&](const std::string& name) -> const std::vector<std::string>& {
    for (const Budget& b : budgets_) {
      if (b.name == name && !b.receivers.empty()) return b.receivers;
    }
    return settings.default_receivers;
  };
  auto event_of = [](const StoredAlert& a) {
    AlertEvent e;
    e.name = a.rule;
    e.labels = a.labels;
    e.annotations = a.annotations;
    e.value = a.value;
    e.op = ">=";
    e.sli = "cost_usd";
    e.active_since_ms = a.active_since_ms;
    e.fired_at_ms = a.fired_at_ms;
    e.fingerprint = a.fingerprint;
    return e;
  };
  auto notify = [&](const StoredAlert& a, const AlertEvent& e) {
    for (const std::string& r : receivers_of(a.rule)) out->notifications.push_back({r, e});
  };
  auto silenced = [&](const StoredAlert& a) {
    return settings.silenced && settings.silenced(a.labels, now);
  };

  // Wanted this evaluation: fingerprint -> the alert as it should stand.
  std::map<std::string, StoredAlert> want;
  std::map<std::string, double> thresholds;  // fingerprint -> USD it compares with
  std::map<std::string, double> observed;    // fingerprint -> value now (for resolves)
  for (const Budget& b : budgets_) {
    const BudgetStatus st = StatusOf(b, compute, now);
    const std::string exhausted = st.exhausted_at_ms ? FormatRfc3339(st.exhausted_at_ms) : "";
    auto consider = [&](const std::string& threshold, double value, double target, bool holds) {
      Labels labels;
      for (const BudgetTemplate& t : b.labels)
        labels[t.key] = RenderBudgetTemplate(t.source, {}, value, exhausted);
      labels["threshold"] = threshold;
      labels["alertname"] = b.name;
      const std::string fp = Fingerprint(b.name, labels);
      observed[fp] = value;
      auto existing = alerts_.find(fp);
      const bool same_period =
          existing != alerts_.end() && existing->second.fired_at_ms >= st.period_start_ms;
      const bool already = fired_[{b.name, threshold}].count(st.period_start_ms) > 0;
      // Fraction alerts stay firing for the rest of their period.
      const bool keep = same_period && (threshold != kProjected || holds);
      if (!keep && (!holds || already)) return;
      if (existing != alerts_.end() && !keep) {
        // Last period's alert, breached again at once in this one: it
        // resolves and the new period's fires. The row is overwritten, not
        // deleted (the store applies upserts before deletes).
        AlertEvent e = event_of(existing->second);
        e.value = value;
        e.resolved = true;
        e.resolved_at_ms = now;
        if (!existing->second.unannounced) notify(existing->second, e);
        out->transitions.push_back({now, Transition::kResolved, e});
        alerts_.erase(existing);
      }
      StoredAlert a;
      a.fingerprint = fp;
      a.rule = b.name;
      a.labels = labels;
      for (const BudgetTemplate& t : b.annotations)
        a.annotations[t.key] = RenderBudgetTemplate(t.source, labels, value, exhausted);
      a.state = AlertState::kFiring;
      a.value = value;
      a.active_since_ms = now;
      a.fired_at_ms = now;
      want[fp] = std::move(a);
      thresholds[fp] = target;
      if (!keep) fired_[{b.name, threshold}].insert(st.period_start_ms);
      if (!keep) out->budget_fired.push_back({b.name, threshold, st.period_start_ms, now});
    };
    for (const auto& [text, fraction] : b.alert_at) {
      const double target = fraction * b.amount_usd;
      consider(text, st.spent_usd, target, Reached(st.spent_usd, target));
    }
    if (b.projected) {
      consider(kProjected, st.projected_usd, b.amount_usd,
               st.projection_made && Reached(st.projected_usd, b.amount_usd));
    }
  }

  // Resolve what is no longer wanted (period over, projection fell, budget
  // or threshold removed).
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    AlertEvent e = event_of(it->second);
    if (auto o = observed.find(it->first); o != observed.end()) e.value = o->second;
    e.resolved = true;
    e.resolved_at_ms = now;
    // As for rule alerts: no resolve for a trigger nobody heard.
    if (!it->second.unannounced) notify(it->second, e);
    out->transitions.push_back({now, Transition::kResolved, e});
    out->deleted.push_back(it->first);
    it = alerts_.erase(it);
  }
  for (auto& [fp, a] : want) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end()) {
      a.last_notified_ms = now;
      a.unannounced = silenced(a);
      AlertEvent e = event_of(a);
      e.threshold = thresholds[fp];
      out->transitions.push_back({now, Transition::kPending, e});
      out->transitions.push_back({now, Transition::kFiring, e});
      if (!a.unannounced) notify(a, e);
      out->upserts.push_back(a);
      alerts_[fp] = std::move(a);
      continue;
    }
    StoredAlert& cur = it->second;
    const bool changed = cur.annotations != a.annotations;
    cur.value = a.value;
    cur.annotations = a.annotations;
    // A trigger held back by a silence goes out once the silence ends;
    // repeats skip silenced and acknowledged alerts.
    const bool announce = cur.unannounced && !silenced(cur);
    bool repeat =
        announce ||
        (!cur.unannounced && !cur.acknowledged && settings.repeat_interval.count() > 0 &&
         now - cur.last_notified_ms >= settings.repeat_interval.count() && !silenced(cur));
    if (repeat) {
      cur.unannounced = false;
      cur.last_notified_ms = now;
      AlertEvent e = event_of(cur);
      e.threshold = thresholds[fp];
      notify(cur, e);
    }
    if (repeat || changed) out->upserts.push_back(cur);
  }
}

void AppendBudgetGroups(const BudgetEngine& engine, std::vector<RuleGroupStatus>& groups) {
  std::vector<std::string> files;
  for (const Budget& b : engine.budgets()) {
    if (std::find(files.begin(), files.end(), b.file) == files.end()) files.push_back(b.file);
  }
  for (const std::string& file : files) {
    RuleGroupStatus group{"budgets", file, {}};
    for (const Budget& b : engine.budgets()) {
      if (b.file != file) continue;
      RuleStatus r;
      r.name = b.name;
      r.type = "budget";
      r.last_evaluation_ms = engine.last_evaluation_ms();
      r.budget = RuleStatus::BudgetFacts{b.amount_usd, BudgetPeriodName(b.period), b.timezone};
      group.rules.push_back(std::move(r));
    }
    groups.push_back(std::move(group));
  }
}

}  // namespace aw::rules
