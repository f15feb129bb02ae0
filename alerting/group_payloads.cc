#include "alerting/group_payloads.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace aw::alerting {

using json = nlohmann::json;

namespace {

// The pairs every label set shares (Alertmanager's commonLabels).
Labels Common(const std::vector<Labels>& sets) {
  if (sets.empty()) return {};
  Labels common = sets.front();
  for (const Labels& s : sets) {
    for (auto it = common.begin(); it != common.end();) {
      auto found = s.find(it->first);
      if (found == s.end() || found->second != it->second) {
        it = common.erase(it);
      } else {
        ++it;
      }
    }
  }
  return common;
}

json LabelsObject(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

// The per-alert bodies (payloads.h) come as text; the group's are built
// from their parsed values, so both carry the same fields byte for byte.
json Parse(const std::string& text) { return json::parse(text); }

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool AnyFiring(const GroupNotification& g) {
  return std::any_of(g.alerts.begin(), g.alerts.end(),
                     [](const AlertEvent& e) { return !e.resolved; });
}

}  // namespace

std::string BuildGroupWebhookV4(const std::string& receiver_name, const GroupNotification& g,
                                const PayloadOptions& o) {
  json alerts = json::array();
  std::vector<Labels> labels;
  std::vector<Labels> annotations;
  for (const AlertEvent& e : g.alerts) {
    json one = Parse(BuildWebhookV4(receiver_name, e, o));
    for (json& a : one["alerts"]) alerts.push_back(std::move(a));
    labels.push_back(AlertLabels(e));
    annotations.push_back(e.annotations);
  }
  return Dump(json{{"version", "4"},
                   {"groupKey", g.key},
                   {"truncatedAlerts", 0},
                   {"status", AnyFiring(g) ? "firing" : "resolved"},
                   {"receiver", receiver_name},
                   {"groupLabels", LabelsObject(g.labels)},
                   {"commonLabels", LabelsObject(Common(labels))},
                   {"commonAnnotations", LabelsObject(Common(annotations))},
                   {"externalURL", o.external_url},
                   {"alerts", std::move(alerts)}});
}

std::string BuildGroupAlertmanagerAlerts(const GroupNotification& g, const PayloadOptions& o,
                                         TimeMs now) {
  json out = json::array();
  for (const AlertEvent& e : g.alerts) {
    for (json& a : Parse(BuildAlertmanagerAlerts(e, o, now))) out.push_back(std::move(a));
  }
  return Dump(out);
}

std::string BuildGroupSlackMessage(const GroupNotification& g, const PayloadOptions& o) {
  size_t firing = 0;
  for (const AlertEvent& e : g.alerts) firing += e.resolved ? 0 : 1;
  // Alertmanager's default title: [FIRING:n] then the group label values.
  // Appended piece by piece: g++ 12 at -O3 warns (-Wrestrict, a false
  // positive) on "literal" + std::string here.
  std::string text = firing > 0 ? "[FIRING:" : "[RESOLVED:";
  text.append(std::to_string(firing > 0 ? firing : g.alerts.size()));
  text.append("]");
  for (const auto& [k, v] : g.labels) {
    text.append(" ");
    text.append(v);
  }
  for (const AlertEvent& e : g.alerts) {
    const json one = Parse(BuildSlackMessage(e, o));
    const auto it = one.find("text");
    text.append("\n");
    text.append(it != one.end() && it->is_string() ? it->get<std::string>() : AlertHeadline(e));
  }
  return Dump(json{{"text", TruncateRunes(text, kSlackTextMaxRunes)}});
}

std::vector<std::string> BuildGroupPagerDutyEvents(const std::string& routing_key,
                                                   const GroupNotification& g,
                                                   const PayloadOptions& o, TimeMs now) {
  const std::set<std::string> send(g.send_fingerprints.begin(), g.send_fingerprints.end());
  std::vector<std::string> out;
  for (const AlertEvent& e : g.alerts) {
    if (send.count(e.fingerprint) != 0) out.push_back(BuildPagerDutyEvent(routing_key, e, o, now));
  }
  return out;
}

}  // namespace aw::alerting
