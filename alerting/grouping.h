#pragma once

// Notification grouping per receiver, with Alertmanager's meaning
// (ReceiverOptions::grouping). The design:
//
//  - Rules put every alert change in the outbox as one item per receiver,
//    grouped or not (an "alert item": an AlertEvent, alert_json.h). For an
//    ungrouped receiver that item is what gets sent, at once.
//  - For a grouped receiver the OutboxSender's worker folds its alert items
//    into this Grouper and, in ONE store transaction (GroupStore::SaveGroups),
//    marks them grouped and writes the groups they changed. Nothing is lost
//    across a crash: an alert item is either still pending (folded again
//    after a restart) or its change is in a persisted group.
//  - Grouper::Flush(now) turns every due group into one GroupNotification,
//    which the same worker writes to the outbox as a "group item" (payload:
//    GroupNotificationToJson) in the same transaction that saves the group
//    after the flush. From there the outbox delivers it with its usual
//    retries. A group that was waiting when the daemon died is in the store
//    and flushes after the restart at its own time.
//
// Invariants of one group (Alertmanager's aggregation group):
//  - Alerts whose group_by label values are equal share one group; a label
//    an alert lacks is left out of its group labels. group_by [...] puts
//    each alert in its own group (keyed by all its labels).
//  - The first notification goes out group_wait after the group's first
//    alert. A change after that (an alert new, firing again, or resolved)
//    goes out at last notification + group_interval (or at once when that
//    has passed), never sooner. A repeated state (an alert that fires on)
//    is not a change.
//  - A notification lists every alert the group holds, firing and resolved;
//    resolved alerts leave the group once they have been notified, and a
//    group with no alerts left is deleted.
//  - An unchanged group with a firing alert is notified again every
//    repeat_interval after its last notification.
//
// Order per alert: group items of webhook, Slack and alertmanager receivers
// carry the fingerprint GroupFingerprint(key), so a newer message of a group
// supersedes an older undelivered one (OutboxSender); the newer one carries
// over the older ones' resolved alerts (CarryOver), so the receiver's last
// word on each alert is still its latest state. PagerDuty's items are one
// per alert (its dedup key) with the alert's own fingerprint.

#include <map>
#include <string>
#include <vector>

#include "alerting/receiver.h"
#include "daemon/common/clock.h"
#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace aw::alerting {

struct GroupedAlert {
  AlertEvent event;     // its latest state
  bool changed = true;  // since the group's last notification
};

struct AlertGroup {
  std::string key;                             // Alertmanager's groupKey: {}:{alertname="x"}
  Labels labels;                               // groupLabels
  std::map<std::string, GroupedAlert> alerts;  // by fingerprint
  TimeMs created_ms = 0;
  TimeMs last_flush_ms = 0;  // 0: never notified
  TimeMs next_flush_ms = 0;  // when the group is looked at next
  bool dirty = true;         // a change not yet notified
};

// One message for a group.
struct GroupNotification {
  std::string key;
  Labels labels;
  std::vector<AlertEvent> alerts;  // every alert of the group, by fingerprint
  // Alerts a per-alert receiver (PagerDuty) is sent: the changed ones, or
  // on a repeat every firing one.
  std::vector<std::string> send_fingerprints;
};

// The group key and group labels of an alert with `labels` (AlertLabels:
// alertname included).
std::string GroupKeyFor(const GroupingOptions& config, const Labels& labels, Labels* group_labels);

// The outbox fingerprint of a group's messages.
std::string GroupFingerprint(const std::string& key);

// Not thread-safe; one per grouped receiver, owned by its delivery worker.
class Grouper {
 public:
  explicit Grouper(GroupingOptions config);

  // Folds one alert change into its group and returns the group's key.
  std::string Add(const AlertEvent& event, TimeMs now);

  // Every group due at `now` as one notification, oldest group first;
  // updates (or deletes) those groups.
  std::vector<GroupNotification> Flush(TimeMs now);

  // Every group with a change not yet notified as one notification, then
  // forgets every group: for a receiver a reload made ungrouped, whose
  // waiting changes must still go out.
  std::vector<GroupNotification> Drain();

  // The earliest next_flush_ms of any group, or -1 when there is none.
  TimeMs NextFlushMs() const;

  const std::map<std::string, AlertGroup>& groups() const { return groups_; }
  void Restore(std::vector<AlertGroup> groups);

 private:
  const GroupingOptions config_;
  std::map<std::string, AlertGroup> groups_;
};

// The group as stored (GroupStore). Never throws.
std::string GroupToJson(const AlertGroup& group);
Result<AlertGroup> GroupFromJson(const std::string& text);

// The outbox payload of a group item:
//   {"group_key": "...", "group_labels": {...}, "alerts": [AlertEvent...],
//    "send": [fingerprint...]}
std::string GroupNotificationToJson(const GroupNotification& n);
// InvalidArgument naming the field when `text` is not a group payload.
Result<GroupNotification> GroupNotificationFromJson(const std::string& text);
bool IsGroupPayload(const std::string& payload);

// Adds to `newer` the resolved alerts of `older` (an undelivered message of
// the same group that `newer` will supersede) that `newer` does not list.
void CarryOver(const GroupNotification& older, GroupNotification& newer);

}  // namespace aw::alerting
