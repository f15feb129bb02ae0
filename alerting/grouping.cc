#include "alerting/grouping.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "alerting/alert_json.h"
#include "alerting/payloads.h"

namespace aw::alerting {

using json = nlohmann::json;

namespace {

// Alertmanager's label-set text: {a="x", b="y"}, values quoted.
std::string LabelSetText(const Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ", ";
    first = false;
    out += k + "=" + json(v).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out + "}";
}

}  // namespace

std::string GroupKeyFor(const GroupingOptions& config, const Labels& labels, Labels* group_labels) {
  Labels picked;
  if (config.by_all) {
    picked = labels;
  } else {
    for (const std::string& name : config.by) {
      auto it = labels.find(name);
      if (it != labels.end()) picked.emplace(name, it->second);
    }
  }
  std::string key = "{}:" + LabelSetText(picked);
  if (group_labels != nullptr) *group_labels = std::move(picked);
  return key;
}

std::string GroupFingerprint(const std::string& key) { return "group:" + key; }

Grouper::Grouper(GroupingOptions config) : config_(std::move(config)) {}

std::string Grouper::Add(const AlertEvent& event, TimeMs now) {
  Labels group_labels;
  const std::string key = GroupKeyFor(config_, AlertLabels(event), &group_labels);
  auto [it, created] = groups_.try_emplace(key);
  AlertGroup& g = it->second;
  if (created) {
    g.key = key;
    g.labels = std::move(group_labels);
    g.created_ms = now;
    g.next_flush_ms = now + config_.wait.count();
    g.dirty = true;
  }
  auto [alert, fresh] = g.alerts.try_emplace(event.fingerprint);
  const bool changed = fresh || alert->second.event.resolved != event.resolved;
  alert->second.event = event;
  if (!changed) return key;
  alert->second.changed = true;
  g.dirty = true;
  if (g.last_flush_ms > 0) {
    // Already notified: the change waits for the group interval.
    g.next_flush_ms =
        std::min(g.next_flush_ms, std::max(now, g.last_flush_ms + config_.interval.count()));
  }
  return key;
}

std::vector<GroupNotification> Grouper::Flush(TimeMs now) {
  std::vector<const AlertGroup*> due;
  for (const auto& [key, g] : groups_) {
    if (g.next_flush_ms <= now) due.push_back(&g);
  }
  std::sort(due.begin(), due.end(), [](const AlertGroup* a, const AlertGroup* b) {
    return std::tie(a->created_ms, a->key) < std::tie(b->created_ms, b->key);
  });
  std::vector<std::string> keys;
  for (const AlertGroup* g : due) keys.push_back(g->key);

  std::vector<GroupNotification> out;
  for (const std::string& key : keys) {
    AlertGroup& g = groups_.at(key);
    bool firing = false;
    for (const auto& [fp, a] : g.alerts) firing |= !a.event.resolved;
    const bool repeat = !g.dirty && firing && g.last_flush_ms > 0 &&
                        now >= g.last_flush_ms + config_.repeat.count();
    if (g.dirty || repeat) {
      GroupNotification n;
      n.key = g.key;
      n.labels = g.labels;
      for (const auto& [fp, a] : g.alerts) {
        n.alerts.push_back(a.event);
        if (g.dirty ? a.changed : !a.event.resolved) n.send_fingerprints.push_back(fp);
      }
      out.push_back(std::move(n));
      g.last_flush_ms = now;
      g.dirty = false;
      for (auto it = g.alerts.begin(); it != g.alerts.end();) {
        if (it->second.event.resolved) {
          it = g.alerts.erase(it);
        } else {
          it->second.changed = false;
          ++it;
        }
      }
    }
    if (g.alerts.empty()) {
      groups_.erase(key);
      continue;
    }
    // Nothing changed since the last notification: the next look is the
    // repeat. (A change pulls it in to the group interval; see Add.)
    g.next_flush_ms = g.last_flush_ms > 0 ? g.last_flush_ms + config_.repeat.count()
                                          : now + config_.repeat.count();
  }
  return out;
}

std::vector<GroupNotification> Grouper::Drain() {
  std::vector<const AlertGroup*> order;
  for (const auto& [key, g] : groups_) order.push_back(&g);
  std::sort(order.begin(), order.end(), [](const AlertGroup* a, const AlertGroup* b) {
    return std::tie(a->created_ms, a->key) < std::tie(b->created_ms, b->key);
  });
  std::vector<GroupNotification> out;
  for (const AlertGroup* g : order) {
    if (!g->dirty) continue;
    GroupNotification n;
    n.key = g->key;
    n.labels = g->labels;
    for (const auto& [fp, a] : g->alerts) {
      n.alerts.push_back(a.event);
      if (a.changed) n.send_fingerprints.push_back(fp);
    }
    out.push_back(std::move(n));
  }
  groups_.clear();
  return out;
}

TimeMs Grouper::NextFlushMs() const {
  TimeMs next = -1;
  for (const auto& [key, g] : groups_) {
    if (next < 0 || g.next_flush_ms < next) next = g.next_flush_ms;
  }
  return next;
}

void Grouper::Restore(std::vector<AlertGroup> groups) {
  groups_.clear();
  for (AlertGroup& g : groups) {
    std::string key = g.key;
    groups_.emplace(std::move(key), std::move(g));
  }
}

std::string GroupToJson(const AlertGroup& g) {
  json alerts = json::array();
  for (const auto& [fp, a] : g.alerts) {
    alerts.push_back({{"event", json::parse(AlertEventToJson(a.event))}, {"changed", a.changed}});
  }
  json j = {{"key", g.key},
            {"labels", g.labels},
            {"alerts", std::move(alerts)},
            {"created_ms", g.created_ms},
            {"last_flush_ms", g.last_flush_ms},
            {"next_flush_ms", g.next_flush_ms},
            {"dirty", g.dirty}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

Status Bad(const std::string& what) { return Status::InvalidArgument("group: " + what); }

Result<Labels> LabelsFrom(const json& j, const std::string& field) {
  if (!j.is_object()) return Bad(field + ": expected an object");
  Labels out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Bad(field + "." + k + ": expected a string");
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

Result<AlertEvent> EventFrom(const json& j, const std::string& field) {
  auto e = AlertEventFromJson(j.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!e.ok()) return Bad(field + ": " + e.status().message());
  return e;
}

}  // namespace

Result<AlertGroup> GroupFromJson(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  AlertGroup g;
  for (const char* f : {"created_ms", "last_flush_ms", "next_flush_ms"}) {
    if (!j.contains(f) || !j[f].is_number_integer()) {
      return Bad(std::string(f) + ": expected an integer");
    }
  }
  if (!j.contains("key") || !j["key"].is_string()) return Bad("key: expected a string");
  if (!j.contains("alerts") || !j["alerts"].is_array()) return Bad("alerts: expected an array");
  g.key = j["key"].get<std::string>();
  auto labels = LabelsFrom(j.value("labels", json::object()), "labels");
  if (!labels.ok()) return labels.status();
  g.labels = std::move(labels).value();
  g.created_ms = j["created_ms"].get<TimeMs>();
  g.last_flush_ms = j["last_flush_ms"].get<TimeMs>();
  g.next_flush_ms = j["next_flush_ms"].get<TimeMs>();
  g.dirty = j.value("dirty", true);
  for (size_t i = 0; i < j["alerts"].size(); ++i) {
    const json& a = j["alerts"][i];
    const std::string field = "alerts[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("event")) return Bad(field + ": expected {event, changed}");
    auto e = EventFrom(a["event"], field + ".event");
    if (!e.ok()) return e.status();
    GroupedAlert ga{std::move(e).value(), a.value("changed", true)};
    g.alerts.emplace(ga.event.fingerprint, std::move(ga));
  }
  return g;
}

std::string GroupNotificationToJson(const GroupNotification& n) {
  json alerts = json::array();
  for (const AlertEvent& e : n.alerts) alerts.push_back(json::parse(AlertEventToJson(e)));
  json j = {{"group_key", n.key},
            {"group_labels", n.labels},
            {"alerts", std::move(alerts)},
            {"send", n.send_fingerprints}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<GroupNotification> GroupNotificationFromJson(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  if (!j.contains("group_key") || !j["group_key"].is_string()) {
    return Bad("group_key: expected a string");
  }
  if (!j.contains("alerts") || !j["alerts"].is_array()) return Bad("alerts: expected an array");
  GroupNotification n;
  n.key = j["group_key"].get<std::string>();
  auto labels = LabelsFrom(j.value("group_labels", json::object()), "group_labels");
  if (!labels.ok()) return labels.status();
  n.labels = std::move(labels).value();
  for (size_t i = 0; i < j["alerts"].size(); ++i) {
    auto e = EventFrom(j["alerts"][i], "alerts[" + std::to_string(i) + "]");
    if (!e.ok()) return e.status();
    n.alerts.push_back(std::move(e).value());
  }
  const json send = j.value("send", json::array());
  if (!send.is_array()) return Bad("send: expected an array");
  for (const json& fp : send) {
    if (!fp.is_string()) return Bad("send[]: expected a string");
    n.send_fingerprints.push_back(fp.get<std::string>());
  }
  return n;
}

bool IsGroupPayload(const std::string& payload) {
  // Alert items (alert_json.h) never have a top-level group_key.
  const json j = json::parse(payload, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("group_key");
}

void CarryOver(const GroupNotification& older, GroupNotification& newer) {
  std::set<std::string> listed;
  for (const AlertEvent& e : newer.alerts) listed.insert(e.fingerprint);
  for (const AlertEvent& e : older.alerts) {
    if (e.resolved && listed.insert(e.fingerprint).second) {
      newer.alerts.push_back(e);
      newer.send_fingerprints.push_back(e.fingerprint);
    }
  }
  std::sort(newer.alerts.begin(), newer.alerts.end(),
            [](const AlertEvent& a, const AlertEvent& b) { return a.fingerprint < b.fingerprint; });
}

}  // namespace aw::alerting
