#include "alerting/group_payloads.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using json = nlohmann::json;
using test::kStart;
using ::testing::HasSubstr;

AlertEvent Alert(const std::string& agent, const std::string& team, bool resolved = false) {
  AlertEvent e = test::FiringEvent("HighOverride");
  e.labels = {{"agent", agent}, {"team", team}, {"severity", "page"}};
  e.annotations = {{"summary", "override rate high on " + agent}, {"runbook", "rb"}};
  e.fingerprint = "fp-" + agent;
  e.resolved = resolved;
  if (resolved) e.resolved_at_ms = kStart + 60'000;
  return e;
}

GroupNotification Group() {
  return {"{}:{alertname=\"HighOverride\"}",
          {{"alertname", "HighOverride"}},
          {Alert("a", "sre"), Alert("b", "sre", true), Alert("c", "ml")},
          {"fp-b"}};
}

PayloadOptions Options() {
  PayloadOptions o;
  o.external_url = "http://aw.example:9464";
  return o;
}

TEST(GroupPayloadsTest, WebhookListsEveryAlertWithItsOwnStatus) {
  const GroupNotification g = Group();
  const json j = test::Json(BuildGroupWebhookV4("hook", g, Options()));
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["groupKey"], g.key);
  EXPECT_EQ(j["receiver"], "hook");
  EXPECT_EQ(j["status"], "firing");  // while any alert fires
  EXPECT_EQ(j["groupLabels"], (json{{"alertname", "HighOverride"}}));
  // Shared by all three: alertname and severity, not agent or team.
  EXPECT_EQ(j["commonLabels"], (json{{"alertname", "HighOverride"}, {"severity", "page"}}));
  EXPECT_EQ(j["commonAnnotations"], (json{{"runbook", "rb"}}));
  ASSERT_EQ(j["alerts"].size(), 3u);
  for (size_t i = 0; i < g.alerts.size(); ++i) {
    // Each entry is what the per-alert payload carries for that alert.
    const json one = test::Json(BuildWebhookV4("hook", g.alerts[i], Options()))["alerts"][0];
    EXPECT_EQ(j["alerts"][i], one);
    EXPECT_EQ(j["alerts"][i]["status"], g.alerts[i].resolved ? "resolved" : "firing");
  }
}

TEST(GroupPayloadsTest, WebhookOfAnAllResolvedGroupIsResolved) {
  GroupNotification g = Group();
  for (AlertEvent& e : g.alerts) e.resolved = true;
  EXPECT_EQ(test::Json(BuildGroupWebhookV4("hook", g, Options()))["status"], "resolved");
}

TEST(GroupPayloadsTest, AlertmanagerGetsOneArrayWithEveryAlert) {
  const GroupNotification g = Group();
  const json j = test::Json(BuildGroupAlertmanagerAlerts(g, Options(), kStart));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  for (size_t i = 0; i < g.alerts.size(); ++i) {
    EXPECT_EQ(j[i], test::Json(BuildAlertmanagerAlerts(g.alerts[i], Options(), kStart))[0]);
  }
}

TEST(GroupPayloadsTest, SlackIsOneMessageWithALinePerAlert) {
  const GroupNotification g = Group();
  const json j = test::Json(BuildGroupSlackMessage(g, Options()));
  const std::string text = j["text"];
  EXPECT_EQ(text.rfind("[FIRING:2] HighOverride", 0), 0u) << text;
  for (const AlertEvent& e : g.alerts) {
    EXPECT_THAT(text,
                HasSubstr(test::Json(BuildSlackMessage(e, Options()))["text"].get<std::string>()));
  }
}

TEST(GroupPayloadsTest, PagerDutyGetsOneEventPerAlertToSend) {
  const GroupNotification g = Group();
  const auto events = BuildGroupPagerDutyEvents("rk", g, Options(), kStart);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], BuildPagerDutyEvent("rk", g.alerts[1], Options(), kStart));
  EXPECT_EQ(test::Json(events[0])["dedup_key"], "fp-b");
  EXPECT_EQ(test::Json(events[0])["event_action"], "resolve");
}

}  // namespace
}  // namespace aw::alerting
