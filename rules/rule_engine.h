#pragma once

// Evaluates alerting rules and SLOs against the windows engine and runs the
// Prometheus alert state machine (inactive -> pending -> firing ->
// resolved; CONTRACT.md "Rule files", protocols.md section 4).
//
// Evaluate() does no I/O: it returns the state changes and the
// notifications they cause, which the caller persists in ONE store
// transaction (AlertStore::SaveAlertChanges; each notification becomes an
// OutboxItem whose payload is aw::alerting::AlertEventToJson(event)).
//
// Semantics:
// - An alert's identity is Fingerprint(name, labels): its labels are the
//   query's group labels plus the rendered rule labels (rule labels win),
//   plus `alertname`.
// - A group with no value, or with fewer than min_samples samples, is not
//   active (fires nothing). A new active alert is pending from now and fires
//   once now - active_since >= for (for: 0 fires on the first evaluation).
// - Firing: one notification per receiver, again every repeat_interval
//   (measured from last_notified_ms), and once on resolve. Pending alerts
//   are never sent; a pending alert that clears is deleted silently.
// - keep_firing_for: a firing alert whose condition clears stays firing
//   until it has been clear for keep_firing_for (reset when it reappears).
// - Resolved alerts are deleted from the state right after the resolve
//   notification (the outbox makes its delivery durable, so no
//   Prometheus-style 15m resolved retention is needed).
// - Alerts of rules that no longer exist (after Replace() or Restore())
//   resolve at the next Evaluate(); firing ones send their resolve.
// - A reload that raises `for` leaves an already firing alert firing
//   (Prometheus would send it back to pending).
// - Silences and acks: a firing alert that Settings::silenced holds gets no
//   trigger or repeat; it is marked unannounced, and the first evaluation
//   that finds it firing and no longer silenced sends its trigger. A resolve
//   goes out only to receivers that heard the trigger: an alert silenced
//   for its whole episode resolves without a word (as in Alertmanager), and
//   an announced one sends its resolve even while silenced, so no incident
//   is left open. An acknowledged alert (Acknowledge()) gets no repeats;
//   its resolve still goes out; the next episode starts unacknowledged.
// - Only state changes are returned as upserts: a value-only change is not
//   persisted (it is refreshed at the first evaluation after a restart).
// - compare: value = current / earlier (same window ending `offset`
//   earlier); no value when either side has no value, fewer than
//   min_samples samples, or the earlier value is 0.
// - confidence (low-volume guard): the group is active when the Wilson
//   bound (lower for > >=, upper for < <=) holds against the threshold;
//   $value stays the ratio, $bound is the bound.
// - compare baseline: previous: see compare_previous.h; labels agent,
//   <label> (candidate), baseline_<label>; $value = the candidate's
//   figure, $baseline = the baseline's.
// - SLOs (multiwindow): E(w) = error ratio over w (override_rate, or
//   1 - review_coverage), BR(w) = E(w) / (1 - objective). Tier (page 2%
//   1h/5m, page 5% 6h/30m, ticket 10% 3d/6h) fires when BR(long) > factor
//   AND BR(short) > factor, both with >= min_samples samples, where
//   factor = budget_fraction * period / long_window. The alert is named
//   after the SLO with labels slo, severity, long_window; $value = BR(long).
//
// - On ingest (only_agents), an alert that was not found ends only if every
//   rule and SLO of its name ran (rules of different groups may share a
//   name; one that does not group by agent is skipped and could have
//   produced it) and it belongs to an agent evaluated.
//
// Parts: evaluation.h (which groups are active: rule_eval.cc, slo_eval.cc),
// alert_state.h (the state machine and the alerts it owns), budget_engine.h
// (spend budgets). RuleEngine owns all their state.
//
// Not thread-safe: the owner serialises all calls.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/alert_store.h"
#include "daemon/common/types.h"
#include "rules/rule.h"

namespace aw::windows {
class WindowEngine;
}

namespace aw::rules {

struct BudgetStatus;  // rules/budget_engine.h

struct Settings {
  std::vector<std::string> default_receivers;
  Millis repeat_interval{4LL * 3600 * 1000};  // 0: never re-send
  // Whether an alert with these labels is silenced at `now` (null: none
  // is). A silenced alert evaluates and changes state as usual but
  // notifies nobody; see "Silences and acks" above.
  std::function<bool(const Labels& labels, TimeMs now)> silenced;
};

// Figures for one query at `now`: the seam to the windows engine (tests
// pass a fake). WindowEngine::Compute fits it.
using ComputeFn = std::function<std::vector<SliValue>(const SliQuery& query, TimeMs now)>;

// Per agent, the values of a span label ordered by first appearance
// (compare with baseline: previous). WindowEngine::LabelValuesByFirstSeen
// fits it.
using FirstSeenFn = std::function<std::map<std::string, std::vector<std::string>>(
    const std::string& label, const Labels& where, const std::string& only_agent)>;

enum class Transition : uint8_t {
  kPending,   // inactive -> pending
  kFiring,    // -> firing
  kResolved,  // firing -> resolved (deleted)
  kCleared,   // pending -> inactive (deleted, never announced)
};
const char* TransitionName(Transition t);  // pending|firing|resolved|cleared

struct StepResult {
  std::vector<StoredAlert> upserts;
  std::vector<std::string> deleted;  // fingerprints
  struct Notification {
    std::string receiver;
    AlertEvent event;
  };
  std::vector<Notification> notifications;
  struct Change {
    TimeMs at = 0;
    Transition kind = Transition::kPending;
    AlertEvent event;  // labels include alertname
  };
  std::vector<Change> transitions;  // in evaluation order (replay, logs)
  // Budget thresholds that fired, persisted with the step.
  std::vector<BudgetFired> budget_fired;

  bool empty() const {
    return upserts.empty() && deleted.empty() && notifications.empty() && budget_fired.empty();
  }
};

struct SloStatus {
  std::string name;
  Labels group;                       // the SLO's `by` labels ({} by default)
  std::optional<double> error_ratio;  // E(period); nullopt: no samples
  int64_t samples = 0;                // over the period
  double error_budget_remaining = 1;  // 1 - E(period)/(1 - objective)
  // BR(w) for 5m, 30m, 1h, 6h, 3d and the period ("28d"); 0 without samples.
  std::map<std::string, double> burn_rates;
};

// One rule, SLO or budget as GET /api/v1/rules lists it (the server shapes
// the JSON).
struct RuleStatus {
  std::string name;
  std::string type;               // "alert", "slo" or "budget"
  std::string last_error;         // empty: healthy
  TimeMs last_evaluation_ms = 0;  // 0: not evaluated yet
  struct BudgetFacts {
    double amount_usd = 0;
    std::string period;  // "day" | "week" | "month"
    std::string timezone;
  };
  std::optional<BudgetFacts> budget;  // budgets only
};

// A rule group in file order; each file's budgets form a group "budgets"
// after the rule groups.
struct RuleGroupStatus {
  std::string name;
  std::string file;
  std::vector<RuleStatus> rules;
};

// What stands behind an active (pending or firing) alert: the alert and the
// query whose figure it watches (an SLO alert: its tier's long window, `by`
// and `where`; a budget alert: its current period and `where`).
struct AlertScope {
  enum class Kind : uint8_t { kThreshold, kCompare, kBaseline, kSlo, kBudget };
  Kind kind = Kind::kThreshold;
  StoredAlert alert;
  SliQuery query;
  // A threshold rule's threshold and operator, in the SLI's unit; nullopt
  // for compare, SLO and budget alerts.
  std::optional<double> threshold;
  std::string op;
  // What the alert's $value is held against when it is not the SLI itself:
  // kSlo the tier's burn-rate factor, kBudget the spend in USD that fires
  // it, kCompare the ratio bound. With bound_op (> >= <).
  std::optional<double> bound;
  std::string bound_op;
  std::optional<Compare> compare;  // kCompare, kBaseline
  double objective = 0;            // kSlo
  // kSlo: the burn-rate tier that fires it and the SLO's period, as facts
  // (the alert page words them).
  std::string tier_severity;  // "page" | "ticket"
  double tier_budget_fraction = 0;
  Millis tier_long_window{0};
  std::string period_name;       // the SLO's period as written, e.g. "28d"
  double budget_amount_usd = 0;  // kBudget
  PeriodBounds period;           // kBudget
};

// Stable identity: FNV-1a 64 over the name and the sorted labels (without
// alertname), as 16 hex digits.
std::string Fingerprint(const std::string& name, const Labels& labels);

class RuleEngine {
 public:
  RuleEngine(RuleSet rules, Settings settings);
  ~RuleEngine();
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // State from the store after a restart: pending alerts keep their
  // active_since (the `for` timer), firing ones are not announced again
  // (repeat_interval continues from last_notified_ms). Replaces any state.
  void Restore(const std::vector<StoredAlert>& alerts);

  // Which budget thresholds fired in which period (from the store).
  void RestoreBudgetFired(const std::vector<BudgetFired>& fired);

  // Evaluates every rule and SLO at `now` (budgets too, without only_agents). With only_agents
  // (evaluation on ingest), rules whose `by` includes agent evaluate just those agents' groups
  // (alerts of other agents are left as they are); rules and SLOs that do not group by agent are
  // skipped (they scan every agent's records, so the periodic evaluation, without only_agents,
  // covers them).
  StepResult Evaluate(const windows::WindowEngine& engine, TimeMs now,
                      const std::set<std::string>* only_agents = nullptr);
  StepResult Evaluate(const ComputeFn& compute, TimeMs now,
                      const std::set<std::string>* only_agents = nullptr);
  // As above; rules with compare baseline: previous need `first_seen`
  // (without it they report an error in their health).
  StepResult Evaluate(const ComputeFn& compute, const FirstSeenFn& first_seen, TimeMs now,
                      const std::set<std::string>* only_agents = nullptr);

  // The periodic evaluation in parts, so that the owner can run evaluations on
  // ingest between them. A rule or SLO name is per-agent when every rule and SLO
  // of that name groups by agent, fleet-wide otherwise.
  // - EvaluateAgents() evaluates the per-agent names for `agents` only, and
  //   ends their alerts (of those agents) that no longer hold.
  // - EvaluateFleet() evaluates the fleet-wide names over every agent, then
  //   the budgets, and sets the health of the per-agent rules: evaluated now,
  //   with the last error any EvaluateAgents() since the previous
  //   EvaluateFleet() met.
  // - Alerts of removed rules resolve in either.
  // EvaluateAgents() over chunks that together hold TickAgents(), then
  // EvaluateFleet(), all at one `now`, change the alerts and notify exactly as
  // one Evaluate() without only_agents.
  //
  // The agents a tick covers: `with_records` (the agents the windows engine
  // holds records of) and the agent of every active alert of a per-agent name,
  // whose records may all be gone.
  std::set<std::string> TickAgents(const std::vector<std::string>& with_records) const;
  StepResult EvaluateAgents(const windows::WindowEngine& engine, TimeMs now,
                            const std::set<std::string>& agents);
  StepResult EvaluateAgents(const ComputeFn& compute, const FirstSeenFn& first_seen, TimeMs now,
                            const std::set<std::string>& agents);
  StepResult EvaluateFleet(const windows::WindowEngine& engine, TimeMs now);
  StepResult EvaluateFleet(const ComputeFn& compute, const FirstSeenFn& first_seen, TimeMs now);

  // Puts the alerts back as they were before the last Evaluate(),
  // EvaluateAgents() or EvaluateFleet(), for a step the store refused. Its
  // cost is that of the alerts the step touched. Only straight after the
  // evaluation: Restore(), Replace() or Acknowledge() in between make it do
  // nothing. Rule health is not undone.
  void UndoLastEvaluation();

  std::vector<SloStatus> SloStatuses(const windows::WindowEngine& engine, TimeMs now) const;
  std::vector<SloStatus> SloStatuses(const ComputeFn& compute, TimeMs now) const;
  // Each budget's spend and projection at `now`.
  std::vector<BudgetStatus> BudgetStatuses(const windows::WindowEngine& engine, TimeMs now) const;
  std::vector<BudgetStatus> BudgetStatuses(const ComputeFn& compute, TimeMs now) const;

  // Hot reload: alerts of rules whose name stays keep their state (and
  // pick up the new for/labels/receivers); alerts of removed rules resolve
  // at the next Evaluate().
  void Replace(RuleSet rules);
  void SetSettings(Settings settings);
  // Marks a firing alert acknowledged (no more repeats this episode).
  // False when no firing alert has `fingerprint`. The caller persists the
  // change first (the alert from Alerts() with acknowledged set).
  bool Acknowledge(const std::string& fingerprint);
  const RuleSet& rules() const;

  // Every group with each rule's (SLO's, budget's) health.
  std::vector<RuleGroupStatus> RuleGroups() const;
  // Each rule's query (and each SLO's period query), de-duplicated, so
  // /api/v1/slis and /metrics can show them.
  std::vector<SliQuery> Queries() const;
  // agentwatch_alerts{alertname,state}: (alertname, "pending"|"firing") ->
  // count, with 0 entries for every rule and SLO.
  std::map<std::pair<std::string, std::string>, int64_t> AlertCounts() const;
  // The active (pending or firing) alerts, sorted by name then labels.
  std::vector<StoredAlert> Alerts() const;
  // The active alert with `fingerprint` (budget alerts too), without copying
  // the others.
  std::optional<StoredAlert> FindAlert(const std::string& fingerprint) const;
  // nullopt for a fingerprint no active alert has, and for an alert whose
  // rule is gone (it resolves at the next Evaluate()).
  std::optional<AlertScope> ScopeOf(const std::string& fingerprint, TimeMs now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aw::rules
