#pragma once

// Evaluates spend budgets (rules/budget.h) on the rule evaluation tick and
// runs their alerts (CONTRACT.md "Spend budgets"). Owned by RuleEngine, which
// merges its alerts and step results with the rules'.
//
// Semantics:
// - spent = cost_usd of the investigations with period start <= ts <= now,
//   after `where`. rate = cost over the last projection_window / its
//   seconds; projection = spent + rate * seconds left in the period, made
//   only once 10 % of the period has passed (before that it equals spent and
//   no projection alert can fire).
// - Alert `<budget>{threshold="<fraction as written>"}` fires when
//   spent >= fraction * amount_usd; `{threshold="projected"}` when
//   projection >= amount_usd. Each fires at most once per period: what fired
//   is returned as BudgetFired marks for the caller to persist with the step,
//   and restored after a restart. A fraction alert stays firing until its
//   period ends; a projection alert until the projection falls below the
//   amount or the period ends. Both resolve at the first evaluation after
//   that, and nothing fires at a period's start from the old period's spend.
// - Firing alerts are re-sent every repeat_interval, as rule alerts are.
// - $value is spent (projection for `projected`); $exhausted_at is the
//   projected exhaustion time (now when already spent, "" when no cost flows).
//
// Not thread-safe: the owning RuleEngine's caller serialises calls.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon/common/alert_store.h"
#include "rules/budget.h"
#include "rules/rule_engine.h"

namespace aw::rules {

struct BudgetStatus {
  std::string name;
  double amount_usd = 0;
  double spent_usd = 0;
  double projected_usd = 0;  // = spent before 10 % of the period
  bool projection_made = false;
  TimeMs period_start_ms = 0;
  TimeMs period_end_ms = 0;
  TimeMs exhausted_at_ms = 0;  // 0: not projected
};

class BudgetEngine {
 public:
  void SetBudgets(std::vector<Budget> budgets);
  const std::vector<Budget>& budgets() const { return budgets_; }
  bool Owns(const std::string& alert_name) const;

  void RestoreAlerts(const std::vector<StoredAlert>& alerts);
  void RestoreFired(const std::vector<BudgetFired>& fired);

  // Appends state changes, notifications, transitions and fired marks.
  void Evaluate(const ComputeFn& compute, TimeMs now, const Settings& settings, StepResult* out);

  std::vector<BudgetStatus> Statuses(const ComputeFn& compute, TimeMs now) const;
  std::vector<StoredAlert> Alerts() const;
  // Marks a firing budget alert acknowledged (no repeats). False if none.
  bool Acknowledge(const std::string& fingerprint);
  TimeMs last_evaluation_ms() const { return last_evaluation_ms_; }

 private:
  std::vector<Budget> budgets_;
  std::map<std::string, StoredAlert> alerts_;  // by fingerprint
  // (budget, threshold) -> period starts that fired.
  std::map<std::pair<std::string, std::string>, std::set<TimeMs>> fired_;
  TimeMs last_evaluation_ms_ = 0;
};

// One group "budgets" per rule file that has budgets, each budget a rule of
// type "budget", appended to `groups`.
void AppendBudgetGroups(const BudgetEngine& engine, std::vector<RuleGroupStatus>& groups);

}  // namespace aw::rules
