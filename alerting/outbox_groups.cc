// OutboxSender's grouped receivers: folding pending alert items into each
// receiver's Grouper, queueing the group notifications that are due, and
// draining the stored groups of a receiver that is no longer grouped.
// Each receiver's state here is touched by its own worker only.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "alerting/alert_json.h"
#include "alerting/outbox_sender.h"

namespace aw::alerting {

void OutboxSender::DrainGroups(const ReceiverOptions& receiver, TimeMs now) {
  auto it = to_drain_.find(receiver.name);
  if (it == to_drain_.end() || !it->second) return;
  auto rows = options_.groups->LoadGroups(receiver.name);
  if (!rows.ok()) return;  // tried again at the next step
  if (rows->empty()) {
    it->second = false;
    return;
  }
  std::vector<AlertGroup> groups;
  std::vector<std::string> keys;
  for (const StoredGroup& row : *rows) {
    keys.push_back(row.key);
    if (auto g = GroupFromJson(row.state); g.ok()) groups.push_back(std::move(g).value());
  }
  Grouper grouper(receiver.grouping);
  grouper.Restore(std::move(groups));
  std::vector<OutboxItem> items;
  for (GroupNotification& n : grouper.Drain()) {
    auto more = GroupItems(receiver, std::move(n), now);
    if (!more.ok()) return;
    for (OutboxItem& item : *more) items.push_back(std::move(item));
  }
  if (options_.groups->SaveGroups(receiver.name, {}, {}, keys, std::move(items)).ok()) {
    LogInfo("receiver is no longer grouped: its waiting groups were sent",
            {{"receiver", receiver.name}, {"groups", std::to_string(keys.size())}});
    it->second = false;
  }
}

bool OutboxSender::Grouped(const ReceiverOptions& receiver) const {
  return options_.groups != nullptr && receiver.grouping.enabled;
}

Result<std::vector<OutboxItem>> OutboxSender::GroupItems(const ReceiverOptions& receiver,
                                                         GroupNotification n, TimeMs now) {
  std::vector<OutboxItem> items;
  auto add = [&](const std::string& fingerprint, const GroupNotification& payload) {
    OutboxItem item;
    item.receiver = receiver.name;
    item.fingerprint = fingerprint;
    item.payload = GroupNotificationToJson(payload);
    item.created_ms = now;
    item.next_attempt_ms = now;
    items.push_back(std::move(item));
  };
  if (receiver.kind == ReceiverOptions::Kind::kPagerDuty) {
    // One item per alert: its dedup key is per alert, and so is its order.
    for (const std::string& fp : n.send_fingerprints) {
      GroupNotification one{n.key, n.labels, {}, {fp}};
      for (const AlertEvent& e : n.alerts) {
        if (e.fingerprint == fp) one.alerts.push_back(e);
      }
      add(fp, one);
    }
    return items;
  }
  const std::string fingerprint = GroupFingerprint(n.key);
  // This message supersedes the group's undelivered ones: keep their
  // resolves, which the group itself has already let go.
  auto pending = options_.groups->PendingOutbox(receiver.name, fingerprint);
  if (!pending.ok()) return pending.status();
  for (const OutboxItem& older : *pending) {
    if (auto g = GroupNotificationFromJson(older.payload); g.ok()) CarryOver(*g, n);
  }
  add(fingerprint, n);
  return items;
}

TimeMs OutboxSender::GroupStep(const ReceiverOptions& receiver, TimeMs now) {
  GroupState& state = groupers_.at(receiver.name);
  Grouper& grouper = state.grouper;
  const TimeMs retry = now + std::max<int64_t>(options_.idle_poll.count(), 1);
  if (!state.loaded) {
    auto rows = options_.groups->LoadGroups(receiver.name);
    if (!rows.ok()) return retry;
    std::vector<AlertGroup> groups;
    for (const StoredGroup& row : *rows) {
      auto g = GroupFromJson(row.state);
      if (!g.ok()) {
        LogWarn("unreadable notification group dropped",
                {{"receiver", receiver.name}, {"group", row.key}, {"error", g.status().message()}});
        continue;
      }
      groups.push_back(std::move(g).value());
    }
    grouper.Restore(std::move(groups));
    state.loaded = true;
  }
  std::vector<int64_t> folded;
  std::set<std::string> touched;
  if (auto due = store_.DueOutbox(now, std::max(options_.batch_limit, 1)); due.ok()) {
    for (const OutboxItem& item : *due) {
      if (item.receiver != receiver.name || IsGroupPayload(item.payload)) continue;
      auto event = AlertEventFromJson(item.payload);
      if (!event.ok()) {
        Process(item, &receiver, now);  // fails it, naming the field
        continue;
      }
      touched.insert(grouper.Add(*event, now));
      folded.push_back(item.id);
    }
  }
  std::vector<OutboxItem> items;
  for (GroupNotification& n : grouper.Flush(now)) {
    touched.insert(n.key);
    auto more = GroupItems(receiver, std::move(n), now);
    if (!more.ok()) {
      state.loaded = false;  // back to what the store holds
      return retry;
    }
    for (OutboxItem& item : *more) items.push_back(std::move(item));
  }
  if (touched.empty()) return grouper.NextFlushMs();
  std::vector<StoredGroup> upserts;
  std::vector<std::string> deleted;
  for (const std::string& key : touched) {
    auto it = grouper.groups().find(key);
    if (it == grouper.groups().end()) {
      deleted.push_back(key);
    } else {
      upserts.push_back({key, GroupToJson(it->second)});
    }
  }
  Status s = options_.groups->SaveGroups(receiver.name, folded, upserts, deleted, std::move(items));
  if (!s.ok()) {
    // Nothing was written: the alert items are still pending and fold again.
    LogWarn("cannot save notification groups (retried)",
            {{"receiver", receiver.name}, {"error", s.message()}});
    state.loaded = false;
    return retry;
  }
  return grouper.NextFlushMs();
}

}  // namespace aw::alerting
