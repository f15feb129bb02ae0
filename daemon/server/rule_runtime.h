#pragma once

// Rules and delivery at run time: the RuleEngine (evaluated on ingest and on
// every tick), the persistence of its state changes together with their
// notifications, and the outbox sender that delivers them.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "alerting/http_notifier.h"
#include "alerting/outbox_sender.h"
#include "alerting/silences.h"
#include "daemon/config/config.h"
#include "daemon/server/ingest_writer.h"
#include "daemon/store/sqlite_store.h"
#include "exporters/daemon_metrics.h"
#include "exporters/sli_collector.h"
#include "rules/rule_engine.h"

namespace aw::server {

// Loads the rule files a config names (globs resolved against its folder),
// checking receiver names against the config. Errors read FILE:LINE: ...
Result<rules::RuleSet> LoadRulesFor(const Config& config);
rules::Settings RuleSettingsFor(const Config& config);

// Thread-safe.
class RuleRuntime {
 public:
  RuleRuntime(SqliteStore& store, const Clock& clock, exporters::DaemonMetrics& metrics);
  ~RuleRuntime();

  // Restores alert state from the store and starts delivery.
  Status Start(const Config& config, rules::RuleSet rules);
  void Stop();
  // Hot reload: rules that stay keep their alerts; the sender restarts
  // with the new receivers.
  void Reconfigure(const Config& config, rules::RuleSet rules);
  void RecordReload(bool success, TimeMs at, const std::string& error);

  // Evaluates (all agents, or only `touched`), persists state changes and
  // notifications in one transaction, and wakes the sender. The new alert
  // state is kept only once the store has committed it; after a failed
  // commit the engine is back where it was and the next call retries.
  void Evaluate(const EngineState& state, TimeMs now, const std::set<std::string>* touched);

  nlohmann::json RulesJson() const;  // with "last_reload"
  // Each alert with "silencedBy": the ids of the active silences matching it.
  nlohmann::json AlertsJson() const;

  // Silences (CONTRACT.md "Delivery"). Stored first, then applied: the
  // next evaluation holds back (or, once a silence ends, sends) the
  // notifications of the alerts they match.
  // Assigns the id and returns it; Unavailable when the store refuses.
  Result<std::string> AddSilence(Silence silence);
  // Ends the silence now (endsAt = now; one already over keeps its end).
  // NotFound for an unknown id.
  Status ExpireSilence(const std::string& id);
  nlohmann::json SilencesJson() const;  // {"silences": [...]}
  // Deletes the silences that expired at least `retention` before `now`
  // (store first, then memory). Returns how many.
  Result<int64_t> PurgeSilences(TimeMs now, Millis retention);
  // A silence of `duration` from now matching every label of the active
  // alert `fingerprint` exactly. NotFound when no active alert has it.
  Result<std::string> SilenceAlert(const std::string& fingerprint, Millis duration,
                                   const std::string& created_by, const std::string& comment);
  // PagerDuty acknowledged the incident of `fingerprint`: no more repeats
  // until it resolves. NotFound when no alert with it is firing.
  Status Acknowledge(const std::string& fingerprint);

  // Delivery health per configured receiver (and any receiver that still
  // has items pending): what GET /api/v1/receivers shows.
  struct ReceiverStatus {
    std::string name;
    int64_t pending = 0;  // messages in the outbox not yet delivered
    // Grouped receivers: alert changes held in a group until its
    // group_wait / group_interval passes, and the earliest time one goes out.
    int64_t waiting_in_groups = 0;
    TimeMs next_group_flush_ms = 0;  // 0: none waiting
    TimeMs last_success_ms = 0;  // 0: none since start
    TimeMs last_error_ms = 0;    // 0: none since start
    std::string last_error;
  };
  std::vector<ReceiverStatus> Receivers() const;
  std::vector<SliQuery> Queries() const;

  // What stands behind an active (pending or firing) alert: the alert and
  // the query whose figure it watches (an SLO alert: its long window, `by`
  // and `where`; a budget alert: its current period and `where`). nullopt
  // for a fingerprint no active alert has.
  struct AlertScope {
    enum class Kind : uint8_t { kThreshold, kCompare, kBaseline, kSlo, kBudget };
    Kind kind = Kind::kThreshold;
    StoredAlert alert;
    SliQuery query;
    // A threshold rule's threshold and operator, in the SLI's unit; nullopt
    // for compare, SLO and budget alerts.
    std::optional<double> threshold;
    std::string op;
    // What the alert's $value is held against when it is not the SLI
    // itself: kSlo the tier's burn-rate factor, kBudget the spend in USD
    // that fires it, kCompare the ratio bound. With bound_op (> >= <).
    std::optional<double> bound;
    std::string bound_op;
    std::optional<rules::Compare> compare;  // kCompare, kBaseline
    double objective = 0;                   // kSlo
    std::string tier;                       // kSlo: "page 2% of 28d in 1h"
    double budget_amount_usd = 0;           // kBudget
    rules::PeriodBounds period;             // kBudget
  };
  std::optional<AlertScope> ScopeOf(const std::string& fingerprint) const;
  void FillSnapshot(const windows::WindowEngine& engine, TimeMs now,
                    exporters::ExportSnapshot& snapshot) const;

 private:
  std::vector<AlertEvent> FiringEvents() const;
  Result<std::vector<BudgetFired>> LoadRecentBudgetFired();
  void StartSender(const Config& config);
  rules::Settings SettingsFor(const Config& config);

  SqliteStore& store_;
  const Clock& clock_;
  exporters::DaemonMetrics& metrics_;
  std::unique_ptr<alerting::HttpNotifier> notifier_;  // set in Start
  alerting::Silences silences_;  // own lock; taken inside mu_, never the other way

  mutable std::mutex mu_;
  std::unique_ptr<rules::RuleEngine> engine_;       // guarded by mu_
  std::unique_ptr<alerting::OutboxSender> sender_;  // guarded by mu_
  // Counts of senders replaced by a reload, so counters never go down.
  std::map<std::string, alerting::OutboxSender::ReceiverCounts> retired_counts_;
  bool reload_ok_ = true;  // guarded by mu_
  TimeMs reload_at_ = 0;
  std::string reload_error_;
  Millis delivery_max_age_{0};
};

}  // namespace aw::server
