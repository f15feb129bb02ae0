#include "daemon/server/rule_json.h"

#include <gtest/gtest.h>

#include <limits>

#include "daemon/common/time_util.h"

namespace aw::server {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;

TEST(RuleJsonTest, GroupsListEachRuleWithHealthAndBudgetFacts) {
  rules::RuleStatus alert;
  alert.name = "Cost";
  alert.type = "alert";
  alert.last_evaluation_ms = kT0;
  rules::RuleStatus broken;
  broken.name = "Broken";
  broken.type = "slo";
  broken.last_error = "duplicate alert label set {}";
  rules::RuleStatus budget;
  budget.name = "ir-daily";
  budget.type = "budget";
  budget.budget = rules::RuleStatus::BudgetFacts{200, "day", "UTC"};
  const nlohmann::json groups =
      RuleGroupsToJson({{"g", "a.yaml", {alert, broken}}, {"budgets", "b.yaml", {budget}}});

  const nlohmann::json expected = nlohmann::json::parse(R"([
    {"name": "g", "file": "a.yaml", "rules": [
      {"name": "Cost", "type": "alert", "health": "ok", "last_error": "",
       "last_evaluation": ")" + FormatRfc3339(kT0) + R"("},
      {"name": "Broken", "type": "slo", "health": "error",
       "last_error": "duplicate alert label set {}", "last_evaluation": ""}]},
    {"name": "budgets", "file": "b.yaml", "rules": [
      {"name": "ir-daily", "type": "budget", "health": "ok", "last_error": "",
       "last_evaluation": "", "amount_usd": 200, "period": "day", "timezone": "UTC"}]}
  ])");
  EXPECT_EQ(groups, expected) << groups.dump();
}

TEST(RuleJsonTest, AlertCarriesEveryField) {
  StoredAlert a;
  a.rule = "Cost";
  a.labels = {{"agent", "ir"}, {"alertname", "Cost"}};
  a.annotations = {{"summary", "high"}};
  a.state = AlertState::kFiring;
  a.value = 0.25;
  a.active_since_ms = kT0;
  a.fingerprint = "0123456789abcdef";
  a.acknowledged = true;
  const nlohmann::json expected = {{"name", "Cost"},
                                   {"labels", {{"agent", "ir"}, {"alertname", "Cost"}}},
                                   {"annotations", {{"summary", "high"}}},
                                   {"state", "firing"},
                                   {"value", 0.25},
                                   {"active_since", FormatRfc3339(kT0)},
                                   {"fingerprint", "0123456789abcdef"},
                                   {"acknowledged", true}};
  EXPECT_EQ(AlertToJson(a), expected) << AlertToJson(a).dump();
}

TEST(RuleJsonTest, NonFiniteValueIsWrittenAsText) {
  StoredAlert a;
  a.value = std::numeric_limits<double>::infinity();
  const nlohmann::json j = AlertToJson(a);
  ASSERT_TRUE(j["value"].is_string()) << j.dump();
  EXPECT_EQ(j["value"], "+Inf");
}

TEST(RuleJsonTest, SilenceHasAlertmanagerFieldsAndItsStatusAtNow) {
  Silence s;
  s.id = "5f0c7a2e-0000-4000-8000-000000000001";
  s.matchers = {{"agent", "ir", false, true}, {"team", "sre|ops", true, false}};
  s.starts_at_ms = kT0 + 1000;
  s.ends_at_ms = kT0 + 2000;
  s.updated_at_ms = kT0;
  s.created_by = "ana";
  s.comment = "deploy";
  nlohmann::json expected = {
      {"id", s.id},
      {"matchers",
       {{{"name", "agent"}, {"value", "ir"}, {"isRegex", false}, {"isEqual", true}},
        {{"name", "team"}, {"value", "sre|ops"}, {"isRegex", true}, {"isEqual", false}}}},
      {"startsAt", FormatRfc3339(kT0 + 1000)},
      {"endsAt", FormatRfc3339(kT0 + 2000)},
      {"updatedAt", FormatRfc3339(kT0)},
      {"createdBy", "ana"},
      {"comment", "deploy"},
      {"status", "pending"}};
  EXPECT_EQ(SilenceToJson(s, kT0), expected) << SilenceToJson(s, kT0).dump();
  // Active from startsAt, expired from endsAt.
  EXPECT_EQ(SilenceToJson(s, kT0 + 1000)["status"], "active");
  EXPECT_EQ(SilenceToJson(s, kT0 + 1999)["status"], "active");
  EXPECT_EQ(SilenceToJson(s, kT0 + 2000)["status"], "expired");
}

}  // namespace
}  // namespace aw::server
