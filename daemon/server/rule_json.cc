#include "daemon/server/rule_json.h"

#include <cmath>

#include "alerting/silences.h"
#include "daemon/common/time_util.h"
#include "rules/template.h"

namespace aw::server {

using json = nlohmann::json;

json RuleGroupsToJson(const std::vector<rules::RuleGroupStatus>& groups) {
  json out = json::array();
  for (const rules::RuleGroupStatus& g : groups) {
    json list = json::array();
    for (const rules::RuleStatus& r : g.rules) {
      json entry = {
          {"name", r.name},
          {"type", r.type},
          {"health", r.last_error.empty() ? "ok" : "error"},
          {"last_error", r.last_error},
          {"last_evaluation", r.last_evaluation_ms ? FormatRfc3339(r.last_evaluation_ms) : ""},
      };
      if (r.budget) {
        entry["amount_usd"] = r.budget->amount_usd;
        entry["period"] = r.budget->period;
        entry["timezone"] = r.budget->timezone;
      }
      list.push_back(std::move(entry));
    }
    out.push_back({{"name", g.name}, {"file", g.file}, {"rules", std::move(list)}});
  }
  return out;
}

json AlertToJson(const StoredAlert& a) {
  json value = a.value;
  if (!std::isfinite(a.value)) value = rules::FormatValue(a.value);
  return json{{"name", a.rule},
              {"labels", a.labels},
              {"annotations", a.annotations},
              {"state", AlertStateName(a.state)},
              {"value", value},
              {"active_since", FormatRfc3339(a.active_since_ms)},
              {"fingerprint", a.fingerprint},
              {"acknowledged", a.acknowledged}};
}

json SilenceToJson(const Silence& s, TimeMs now) {
  json matchers = json::array();
  for (const SilenceMatcher& m : s.matchers) {
    matchers.push_back(
        {{"name", m.name}, {"value", m.value}, {"isRegex", m.is_regex}, {"isEqual", m.is_equal}});
  }
  return {{"id", s.id},
          {"matchers", std::move(matchers)},
          {"startsAt", FormatRfc3339(s.starts_at_ms)},
          {"endsAt", FormatRfc3339(s.ends_at_ms)},
          {"updatedAt", FormatRfc3339(s.updated_at_ms)},
          {"createdBy", s.created_by},
          {"comment", s.comment},
          {"status", alerting::SilenceStatusName(alerting::StatusAt(s, now))}};
}

}  // namespace aw::server
