#pragma once

// The durable seams between rules/alerting and the store. SqliteStore
// implements both; tests may use their own fakes.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace aw {

// An alert's persisted state, so a restart neither re-announces a firing
// alert nor restarts a pending `for` timer.
struct StoredAlert {
  std::string fingerprint;  // stable hash of name + labels
  std::string rule;         // rule (or generated SLO alert) name
  Labels labels;
  Labels annotations;
  AlertState state = AlertState::kInactive;
  double value = 0;
  TimeMs active_since_ms = 0;
  TimeMs fired_at_ms = 0;
  TimeMs last_notified_ms = 0;
  TimeMs keep_firing_since_ms = 0;  // 0 = condition currently true
  // Acknowledged in PagerDuty: no repeats until it resolves.
  bool acknowledged = false;
  // Firing, but no receiver has heard of it yet (it fired while silenced).
  bool unannounced = false;
};

// A budget threshold that fired in a period: budgets alert at most once per
// period, also across restarts.
struct BudgetFired {
  std::string budget;
  std::string threshold;  // "0.8", "1.0", "projected"
  TimeMs period_start_ms = 0;
  TimeMs fired_at_ms = 0;
};

// One notification waiting for (or in) delivery.
struct OutboxItem {
  int64_t id = 0;  // assigned by the store
  std::string receiver;
  std::string fingerprint;
  std::string payload;  // the AlertEvent as JSON (alerting/alert_json.h)
  TimeMs created_ms = 0;
  TimeMs next_attempt_ms = 0;
  int attempts = 0;
  std::string last_error;
};

// Thread-safe.
class AlertStore {
 public:
  virtual ~AlertStore() = default;
  // One transaction: the state change and the notifications it causes.
  virtual Status SaveAlertChanges(const std::vector<StoredAlert>& upserts,
                                  const std::vector<std::string>& deleted,
                                  std::vector<OutboxItem> notifications) = 0;
  virtual Result<std::vector<StoredAlert>> LoadAlerts() = 0;
};

// Thread-safe.
//
// An item is pending until it is delivered, failed, or superseded: a newer
// item for the same receiver and fingerprint (the same alert) replaces an
// older one not yet delivered, so a receiver never sees an alert's states
// out of order.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  // Pending items with next_attempt_ms <= now, oldest first.
  virtual Result<std::vector<OutboxItem>> DueOutbox(TimeMs now, int limit) = 0;
  // Earliest next_attempt_ms of any pending item, or -1 when empty.
  virtual Result<int64_t> NextOutboxAttempt() = 0;
  // `at`: when the receiver took it (shown with its notifications).
  virtual Status MarkDelivered(int64_t id, TimeMs at) = 0;
  virtual Status Reschedule(int64_t id, TimeMs next_attempt_ms, int attempts,
                            const std::string& last_error) = 0;
  virtual Status MarkFailed(int64_t id, const std::string& error) = 0;
  // Makes every pending item of `receiver` due later than `now` due at
  // `now`: the receiver answers again. Returns how many it moved.
  virtual Result<int64_t> ExpediteReceiver(const std::string& receiver, TimeMs now) = 0;
  // Marks every pending item of `receiver` and `fingerprint` with an id below
  // `newer_id` superseded (never to be sent). Returns how many it marked.
  virtual Result<int64_t> SupersedeOlder(const std::string& receiver,
                                         const std::string& fingerprint, int64_t newer_id) = 0;
  virtual Result<int64_t> OutboxDepth() = 0;  // pending items
  // Pending items per receiver name (receivers with none are absent).
  virtual Result<std::map<std::string, int64_t>> PendingByReceiver() = 0;
};

// One notification group of a receiver as stored: `state` is the group as
// alerting/grouping.h writes it (GroupToJson).
struct StoredGroup {
  std::string key;
  std::string state;
};

// Thread-safe. The persistence of notification groups beside the outbox.
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  virtual Result<std::vector<StoredGroup>> LoadGroups(const std::string& receiver) = 0;
  // One transaction: marks the pending outbox items `grouped_ids` grouped
  // (folded into a group: never sent as such), writes `upserts` and deletes
  // the groups `deleted` of `receiver`, and adds `items` to the outbox.
  virtual Status SaveGroups(const std::string& receiver, const std::vector<int64_t>& grouped_ids,
                            const std::vector<StoredGroup>& upserts,
                            const std::vector<std::string>& deleted,
                            std::vector<OutboxItem> items) = 0;
  // Pending items of `receiver` and `fingerprint`, oldest first.
  virtual Result<std::vector<OutboxItem>> PendingOutbox(const std::string& receiver,
                                                        const std::string& fingerprint) = 0;
};

}  // namespace aw
