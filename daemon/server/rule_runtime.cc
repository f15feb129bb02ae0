#include "daemon/server/rule_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "alerting/alert_json.h"
#include "alerting/grouping.h"
#include "daemon/common/log.h"
#include "daemon/common/time_util.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/receiver_options.h"
#include "daemon/server/rule_json.h"
#include "rules/budget_engine.h"
#include "rules/rule_loader.h"
#include "rules/template.h"

namespace aw::server {

using json = nlohmann::json;

Result<rules::RuleSet> LoadRulesFor(const Config& config) {
  // rule_files are already resolved against the config folder.
  auto files = rules::ExpandRuleGlobs(config.rule_files, ".");
  if (!files.ok()) return files.status();
  rules::LoadOptions options;
  for (const ReceiverConfig& r : config.receivers) options.receivers.insert(r.name);
  return rules::LoadRuleFiles(*files, options);
}

rules::Settings RuleSettingsFor(const Config& config) {
  rules::Settings s;
  s.default_receivers = config.default_receivers;
  s.repeat_interval = config.repeat_interval;
  return s;
}

namespace {

using ReceiverCounts = alerting::OutboxSender::ReceiverCounts;

// Adds the delivery counters of `from` into `into`, per receiver.
void AddCounts(const std::map<std::string, ReceiverCounts>& from,
               std::map<std::string, ReceiverCounts>& into) {
  for (const auto& [name, c] : from) {
    ReceiverCounts& r = into[name];
    r.sent += c.sent;
    r.retry += c.retry;
    r.failed += c.failed;
    r.superseded += c.superseded;
    r.last_success_ms = std::max(r.last_success_ms, c.last_success_ms);
    if (c.last_error_ms > r.last_error_ms) {
      r.last_error_ms = c.last_error_ms;
      r.last_error = c.last_error;
    }
  }
}

}  // namespace

RuleRuntime::RuleRuntime(SqliteStore& store, const Clock& clock, exporters::DaemonMetrics& metrics)
    : store_(store), clock_(clock), metrics_(metrics) {}

RuleRuntime::~RuleRuntime() { Stop(); }

void RuleRuntime::StartSender(const Config& config) {
  alerting::OutboxSender::Options opts;
  opts.max_age = config.delivery_max_age;
  opts.groups = &store_;
  sender_ = std::make_unique<alerting::OutboxSender>(
      store_, clock_, ToReceiverOptions(config.receivers), *notifier_, opts);
  sender_->SetActiveAlertsSource([this] { return FiringEvents(); });
  sender_->Start();
}

rules::Settings RuleRuntime::SettingsFor(const Config& config) {
  rules::Settings s = RuleSettingsFor(config);
  s.silenced = [this](const Labels& labels, TimeMs now) {
    return !silences_.Matching(labels, now).empty();
  };
  return s;
}

Status RuleRuntime::Start(const Config& config, rules::RuleSet rules) {
  auto stored = store_.LoadAlerts();
  if (!stored.ok()) return stored.status();
  auto silences = store_.LoadSilences();
  if (!silences.ok()) return silences.status();
  for (const Silence& s : *silences) {
    // A stored regex that no longer compiles is skipped, not fatal.
    if (Status put = silences_.Put(s); !put.ok()) LogWarn("silence not loaded: " + put.message());
  }
  auto fired = LoadRecentBudgetFired();
  if (!fired.ok()) return fired.status();
  alerting::HttpNotifier::Options notifier_options;
  // Links in notifications point back at this daemon: at external_url,
  // else at the listen address (reachable only where that address is).
  notifier_options.payload.external_url =
      !config.external_url.empty()
          ? config.external_url
          : (config.tls.cert_file.empty() ? "http://" : "https://") + config.listen;
  MutexLock lock(mu_);
  notifier_ = std::make_unique<alerting::HttpNotifier>(notifier_options);
  engine_ = std::make_unique<rules::RuleEngine>(std::move(rules), SettingsFor(config));
  engine_->Restore(*stored);
  engine_->RestoreBudgetFired(*fired);
  reload_at_ = clock_.NowMs();
  StartSender(config);
  return Status::Ok();
}

void RuleRuntime::Stop() {
  std::unique_ptr<alerting::OutboxSender> sender;
  {
    MutexLock lock(mu_);
    sender = std::move(sender_);
  }
  if (sender) sender->Stop();
}

void RuleRuntime::Reconfigure(const Config& config, rules::RuleSet rules) {
  std::unique_ptr<alerting::OutboxSender> old;
  {
    MutexLock lock(mu_);
    engine_->Replace(std::move(rules));
    engine_->SetSettings(SettingsFor(config));
    old = std::move(sender_);
  }
  if (old) {
    old->Stop();
    const auto counts = old->Counts();
    MutexLock lock(mu_);
    AddCounts(counts, retired_counts_);
  }
  MutexLock lock(mu_);
  StartSender(config);
}

void RuleRuntime::RecordReload(bool success, TimeMs at, const std::string& error) {
  MutexLock lock(mu_);
  reload_ok_ = success;
  reload_at_ = at;
  reload_error_ = error;
}

void RuleRuntime::Evaluate(const EngineState& state, TimeMs now,
                           const std::set<std::string>* touched) {
  const auto start = std::chrono::steady_clock::now();
  // mu_ is held until the step is committed (or rolled back), so no other
  // evaluation builds on a state the store has not accepted.
  MutexLock lock(mu_);
  if (!engine_) return;
  rules::StepResult result = engine_->Evaluate(state.engine, now, touched);
  metrics_.ObserveEvaluation(SecondsSince(start));
  CommitLocked(std::move(result), now);
}

std::set<std::string> RuleRuntime::TickAgents(const EngineState& state) const {
  const std::vector<std::string> with_records = state.engine.Agents();
  MutexLock lock(mu_);
  if (!engine_) return {with_records.begin(), with_records.end()};
  return engine_->TickAgents(with_records);
}

void RuleRuntime::EvaluateAgents(const EngineState& state, TimeMs now,
                                 const std::set<std::string>& agents) {
  const auto start = std::chrono::steady_clock::now();
  // Held for this chunk only: an evaluation on ingest may run before the next.
  MutexLock lock(mu_);
  if (!engine_) return;
  rules::StepResult result = engine_->EvaluateAgents(state.engine, now, agents);
  tick_seconds_ += SecondsSince(start);
  CommitLocked(std::move(result), now);
}

void RuleRuntime::EvaluateFleet(const EngineState& state, TimeMs now) {
  const auto start = std::chrono::steady_clock::now();
  MutexLock lock(mu_);
  if (!engine_) return;
  rules::StepResult result = engine_->EvaluateFleet(state.engine, now);
  const double seconds = tick_seconds_ + SecondsSince(start);
  tick_seconds_ = 0;
  CommitLocked(std::move(result), now);
  // One observation per tick, once all of it is committed: a reader that
  // waits for the count to move sees the whole tick's outcome.
  metrics_.ObserveEvaluation(seconds);
}

void RuleRuntime::CommitLocked(rules::StepResult result, TimeMs now) {
  if (result.empty()) return;
  std::vector<OutboxItem> outbox;
  for (const auto& n : result.notifications) {
    OutboxItem item;
    item.receiver = n.receiver;
    item.fingerprint = n.event.fingerprint;
    item.payload = alerting::AlertEventToJson(n.event);
    item.created_ms = now;
    item.next_attempt_ms = now;
    outbox.push_back(std::move(item));
  }
  // Commit first, then advance: if the store refuses the step, the engine
  // goes back to its state before it, so the next evaluation makes the same
  // transitions again and their notifications are not lost.
  Status s = store_.SaveAlertChanges(result.upserts, result.deleted, std::move(outbox),
                                     result.budget_fired);
  if (!s.ok()) {
    engine_->UndoLastEvaluation();
    if (auto fired = LoadRecentBudgetFired(); fired.ok()) engine_->RestoreBudgetFired(*fired);
    LogError("cannot persist alert changes (retried at the next evaluation): " + s.message());
    return;
  }
  for (const auto& change : result.transitions) {
    // Every label on the line, so "which agent?" is answered by the log alone.
    LogFields fields = {{"alertname", change.event.name},
                        {"value", rules::FormatValue(change.event.value)},
                        {"fingerprint", change.event.fingerprint}};
    for (const auto& [k, v] : change.event.labels) {
      if (k != "alertname") fields.emplace_back(k, v);
    }
    LogInfo(std::string("alert ") + rules::TransitionName(change.kind), fields);
  }
  if (sender_) sender_->Wake();
}

Result<std::vector<BudgetFired>> RuleRuntime::LoadRecentBudgetFired() {
  // A month is the longest period; older marks can no longer matter.
  constexpr TimeMs kKeep = 32LL * 24 * 3600 * 1000;
  return store_.LoadBudgetFired(clock_.NowMs() - kKeep);
}

std::vector<AlertEvent> RuleRuntime::FiringEvents() const {
  std::vector<AlertEvent> events;
  MutexLock lock(mu_);
  if (!engine_) return events;
  const TimeMs now = clock_.NowMs();
  for (const StoredAlert& a : engine_->Alerts()) {
    if (a.state != AlertState::kFiring) continue;
    // Alertmanager receivers hear of silenced alerts no more than others.
    if (a.unannounced || !silences_.Matching(a.labels, now).empty()) continue;
    AlertEvent e;
    e.name = a.rule;
    e.labels = a.labels;
    e.annotations = a.annotations;
    e.value = a.value;
    e.active_since_ms = a.active_since_ms;
    e.fired_at_ms = a.fired_at_ms;
    e.fingerprint = a.fingerprint;
    events.push_back(std::move(e));
  }
  return events;
}

json RuleRuntime::RulesJson() const {
  MutexLock lock(mu_);
  json out = {{"groups", engine_ ? RuleGroupsToJson(engine_->RuleGroups()) : json::array()}};
  out["last_reload"] = {
      {"success", reload_ok_}, {"at", FormatRfc3339(reload_at_)}, {"error", reload_error_}};
  return out;
}

json RuleRuntime::AlertsJson() const {
  std::vector<StoredAlert> alerts;
  {
    MutexLock lock(mu_);
    if (engine_) alerts = engine_->Alerts();
  }
  const TimeMs now = clock_.NowMs();
  json list = json::array();
  for (const StoredAlert& a : alerts) {
    json entry = AlertToJson(a);
    entry["silencedBy"] = silences_.Matching(a.labels, now);
    list.push_back(std::move(entry));
  }
  return json{{"alerts", std::move(list)}};
}

Result<std::string> RuleRuntime::AddSilence(Silence silence) {
  silence.id = alerting::NewSilenceId();
  silence.updated_at_ms = clock_.NowMs();
  if (Status s = store_.SaveSilence(silence); !s.ok()) return s;
  if (Status s = silences_.Put(silence); !s.ok()) return s;
  LogInfo("silence created", {{"id", silence.id},
                              {"created_by", silence.created_by},
                              {"ends_at", FormatRfc3339(silence.ends_at_ms)}});
  return silence.id;
}

Status RuleRuntime::ExpireSilence(const std::string& id) {
  std::optional<Silence> s = silences_.Get(id);
  if (!s) return Status::NotFound("silence " + id + " does not exist");
  const TimeMs now = clock_.NowMs();
  if (s->ends_at_ms > now) {
    s->ends_at_ms = now;
    // A pending silence that never started ends before it begins.
    s->starts_at_ms = std::min(s->starts_at_ms, now);
    s->updated_at_ms = now;
    if (Status st = store_.SaveSilence(*s); !st.ok()) return st;
    if (Status st = silences_.Put(*s); !st.ok()) return st;
    LogInfo("silence expired", {{"id", id}});
  }
  return Status::Ok();
}

Result<int64_t> RuleRuntime::PurgeSilences(TimeMs now, Millis retention) {
  std::vector<std::string> old;
  for (const Silence& s : silences_.List()) {
    if (s.ends_at_ms <= now - retention.count()) old.push_back(s.id);
  }
  if (old.empty()) return int64_t{0};
  if (Status s = store_.DeleteSilences(old); !s.ok()) return s;
  silences_.Erase(old);
  LogInfo("expired silences purged",
          {{"count", std::to_string(old.size())}, {"retention", FormatDuration(retention)}});
  return static_cast<int64_t>(old.size());
}

json RuleRuntime::SilencesJson() const {
  const TimeMs now = clock_.NowMs();
  json list = json::array();
  for (const Silence& s : silences_.List()) list.push_back(SilenceToJson(s, now));
  return json{{"silences", std::move(list)}};
}

Result<std::string> RuleRuntime::SilenceAlert(const std::string& fingerprint, Millis duration,
                                              const std::string& created_by,
                                              const std::string& comment) {
  Labels labels;
  bool found = false;
  {
    MutexLock lock(mu_);
    if (engine_) {
      if (std::optional<StoredAlert> a = engine_->FindAlert(fingerprint)) {
        labels = a->labels;
        found = true;
      }
    }
  }
  if (!found) return Status::NotFound("no active alert has fingerprint " + fingerprint);
  Silence s;
  for (const auto& [name, value] : labels) s.matchers.push_back({name, value, false, true});
  s.starts_at_ms = clock_.NowMs();
  s.ends_at_ms = s.starts_at_ms + duration.count();
  s.created_by = created_by;
  s.comment = comment;
  return AddSilence(std::move(s));
}

Status RuleRuntime::Acknowledge(const std::string& fingerprint) {
  MutexLock lock(mu_);
  if (!engine_) return Status::NotFound("no rules loaded");
  if (std::optional<StoredAlert> found = engine_->FindAlert(fingerprint);
      found && found->state == AlertState::kFiring) {
    StoredAlert& a = *found;
    if (a.acknowledged) return Status::Ok();
    a.acknowledged = true;
    // Commit first, as for every alert state change.
    if (Status s = store_.SaveAlertChanges({a}, {}, {}); !s.ok()) return s;
    (void)engine_->Acknowledge(fingerprint);
    LogInfo("alert acknowledged", {{"alertname", a.rule}, {"fingerprint", fingerprint}});
    return Status::Ok();
  }
  return Status::NotFound("no firing alert has fingerprint " + fingerprint);
}

std::vector<RuleRuntime::ReceiverStatus> RuleRuntime::Receivers() const {
  // Configured receivers (and any with items pending), with what the
  // senders that reloads replaced saw of them.
  std::map<std::string, ReceiverCounts> counts;
  std::map<std::string, ReceiverCounts> all;
  {
    MutexLock lock(mu_);
    if (sender_) counts = sender_->Counts();
    all = counts;
    AddCounts(retired_counts_, all);
  }
  std::map<std::string, int64_t> pending;
  if (auto p = store_.PendingByReceiver(); p.ok()) pending = std::move(p).value();
  for (const auto& [name, n] : pending) counts.try_emplace(name);
  std::vector<ReceiverStatus> out;
  for (const auto& [name, unused] : counts) {
    const ReceiverCounts& c = all[name];
    auto it = pending.find(name);
    ReceiverStatus status;
    status.name = name;
    status.pending = it == pending.end() ? 0 : it->second;
    status.last_success_ms = c.last_success_ms;
    status.last_error_ms = c.last_error_ms;
    status.last_error = c.last_error;
    // The groups as last saved: the worker saves each change it folds in
    // the same transaction that takes the alert item off the outbox.
    if (auto groups = store_.LoadGroups(name); groups.ok()) {
      for (const StoredGroup& stored : *groups) {
        auto g = alerting::GroupFromJson(stored.state);
        if (!g.ok() || !g->dirty) continue;
        for (const auto& [fp, a] : g->alerts) status.waiting_in_groups += a.changed ? 1 : 0;
        if (status.next_group_flush_ms == 0 || g->next_flush_ms < status.next_group_flush_ms) {
          status.next_group_flush_ms = g->next_flush_ms;
        }
      }
    }
    out.push_back(std::move(status));
  }
  return out;
}

std::vector<SliQuery> RuleRuntime::Queries() const {
  MutexLock lock(mu_);
  return engine_ ? engine_->Queries() : std::vector<SliQuery>{};
}

void RuleRuntime::FillSnapshot(const windows::WindowEngine& engine, TimeMs now,
                               exporters::ExportSnapshot& snapshot) const {
  std::map<std::string, int64_t> silences = {{"active", 0}, {"pending", 0}, {"expired", 0}};
  for (const Silence& s : silences_.List()) {
    ++silences[alerting::SilenceStatusName(alerting::StatusAt(s, now))];
  }
  for (const auto& [state, count] : silences) {
    snapshot.silences.push_back({state, static_cast<double>(count)});
  }
  MutexLock lock(mu_);
  if (!engine_) return;
  for (const auto& [key, count] : engine_->AlertCounts()) {
    snapshot.alerts.push_back({key.first, key.second, static_cast<int>(count)});
  }
  for (const rules::SloStatus& s : engine_->SloStatuses(engine, now)) {
    if (!s.group.empty()) continue;  // per-group SLOs stay on the API
    exporters::SloGauge g;
    g.slo = s.name;
    g.error_budget_remaining = s.error_budget_remaining;
    for (const auto& [window, rate] : s.burn_rates) g.burn_rates.emplace_back(window, rate);
    snapshot.slos.push_back(std::move(g));
  }
  for (const rules::BudgetStatus& b : engine_->BudgetStatuses(engine, now)) {
    snapshot.budgets.push_back({b.name, b.spent_usd, b.amount_usd, b.projected_usd});
  }
  auto counts = sender_ ? sender_->Counts() : std::map<std::string, ReceiverCounts>{};
  AddCounts(retired_counts_, counts);
  for (const auto& [name, c] : counts) {
    snapshot.notifications.push_back({name, "sent", static_cast<double>(c.sent)});
    snapshot.notifications.push_back({name, "retry", static_cast<double>(c.retry)});
    snapshot.notifications.push_back({name, "failed", static_cast<double>(c.failed)});
    snapshot.notifications.push_back({name, "superseded", static_cast<double>(c.superseded)});
  }
}

std::optional<RuleRuntime::AlertScope> RuleRuntime::ScopeOf(const std::string& fingerprint) const {
  MutexLock lock(mu_);
  if (!engine_) return std::nullopt;
  return engine_->ScopeOf(fingerprint, clock_.NowMs());
}

}  // namespace aw::server
