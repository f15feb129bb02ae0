#pragma once

// Rules and delivery at run time: the RuleEngine (evaluated on ingest and on
// every tick), the persistence of its state changes together with their
// notifications, and the outbox sender that delivers them.
//
// Owns the rule state of the daemon: the engine (alerts, for and
// keep_firing_for timers, rule health, budgets), the sender, the delivery
// counts of senders a reload retired, and the last reload's outcome. All of
// it is guarded by one private lock, mu_; nothing outside this class reaches
// it except through these methods.
//
// Invariants: the engine's state is what the store has committed (a step
// the store refuses is rolled back); mu_ is held across an evaluation and
// its commit, so no evaluation builds on uncommitted state. The sender calls
// back into FiringEvents(), which takes mu_, so a sender is stopped only
// with mu_ released.
//
// Thread-safe. Lock order: mu_, then the silences' own lock.

#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "alerting/http_notifier.h"
#include "alerting/outbox_sender.h"
#include "alerting/silences.h"
#include "daemon/common/thread_annotations.h"
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

class RuleRuntime {
 public:
  RuleRuntime(SqliteStore& store, const Clock& clock, exporters::DaemonMetrics& metrics);
  ~RuleRuntime();

  // Restores alert state from the store and starts delivery.
  Status Start(const Config& config, rules::RuleSet rules) EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);
  // Hot reload: rules that stay keep their alerts; the sender restarts
  // with the new receivers.
  void Reconfigure(const Config& config, rules::RuleSet rules) EXCLUDES(mu_);
  void RecordReload(bool success, TimeMs at, const std::string& error) EXCLUDES(mu_);

  // Evaluates (all agents, or only `touched`), persists state changes and
  // notifications in one transaction, and wakes the sender. The new alert
  // state is kept only once the store has committed it; after a failed
  // commit the engine is back where it was and the next call retries.
  void Evaluate(const EngineState& state, TimeMs now, const std::set<std::string>* touched)
      EXCLUDES(mu_);

  // The periodic evaluation in parts (rules::RuleEngine::EvaluateAgents and
  // EvaluateFleet; daemon/server/tick_planner.h): each part takes mu_ and
  // commits as Evaluate() does, so evaluations on ingest run between parts.
  // The agents a tick covers: those with records, and those with alerts.
  std::set<std::string> TickAgents(const EngineState& state) const EXCLUDES(mu_);
  void EvaluateAgents(const EngineState& state, TimeMs now, const std::set<std::string>& agents)
      EXCLUDES(mu_);
  // Ends the tick: also observes its evaluation time (the sum of its parts)
  // as one evaluation, after its commit.
  void EvaluateFleet(const EngineState& state, TimeMs now) EXCLUDES(mu_);

  nlohmann::json RulesJson() const EXCLUDES(mu_);  // with "last_reload"
  // Each alert with "silencedBy": the ids of the active silences matching it.
  nlohmann::json AlertsJson() const EXCLUDES(mu_);

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
                                   const std::string& created_by, const std::string& comment)
      EXCLUDES(mu_);
  // PagerDuty acknowledged the incident of `fingerprint`: no more repeats
  // until it resolves. NotFound when no alert with it is firing.
  Status Acknowledge(const std::string& fingerprint) EXCLUDES(mu_);

  // Delivery health per configured receiver (and any receiver that still
  // has items pending): what GET /api/v1/receivers shows.
  struct ReceiverStatus {
    std::string name;
    int64_t pending = 0;  // messages in the outbox not yet delivered
    // Grouped receivers: alert changes held in a group until its
    // group_wait / group_interval passes, and the earliest time one goes out.
    int64_t waiting_in_groups = 0;
    TimeMs next_group_flush_ms = 0;  // 0: none waiting
    TimeMs last_success_ms = 0;      // 0: none since start
    TimeMs last_error_ms = 0;        // 0: none since start
    std::string last_error;
  };
  std::vector<ReceiverStatus> Receivers() const EXCLUDES(mu_);
  std::vector<SliQuery> Queries() const EXCLUDES(mu_);

  // What stands behind an active alert (rules::RuleEngine::ScopeOf).
  using AlertScope = rules::AlertScope;
  std::optional<AlertScope> ScopeOf(const std::string& fingerprint) const EXCLUDES(mu_);
  void FillSnapshot(const windows::WindowEngine& engine, TimeMs now,
                    exporters::ExportSnapshot& snapshot) const EXCLUDES(mu_);

 private:
  std::vector<AlertEvent> FiringEvents() const EXCLUDES(mu_);
  Result<std::vector<BudgetFired>> LoadRecentBudgetFired();
  void StartSender(const Config& config) REQUIRES(mu_);
  // Persists an evaluation's step (the engine undoes it when the store
  // refuses it), logs its transitions and wakes the sender.
  void CommitLocked(rules::StepResult result, TimeMs now) REQUIRES(mu_);
  rules::Settings SettingsFor(const Config& config);

  // Constant after construction.
  SqliteStore& store_;
  const Clock& clock_;
  exporters::DaemonMetrics& metrics_;
  alerting::Silences silences_;  // own lock; taken inside mu_, never the other way

  mutable Mutex mu_;
  std::unique_ptr<alerting::HttpNotifier> notifier_ GUARDED_BY(mu_);  // set in Start
  std::unique_ptr<rules::RuleEngine> engine_ GUARDED_BY(mu_);
  std::unique_ptr<alerting::OutboxSender> sender_ GUARDED_BY(mu_);
  // Counts of senders replaced by a reload, so counters never go down.
  std::map<std::string, alerting::OutboxSender::ReceiverCounts> retired_counts_ GUARDED_BY(mu_);
  bool reload_ok_ GUARDED_BY(mu_) = true;
  TimeMs reload_at_ GUARDED_BY(mu_) = 0;
  std::string reload_error_ GUARDED_BY(mu_);
  double tick_seconds_ GUARDED_BY(mu_) = 0;  // the tick's parts so far
};

}  // namespace aw::server
