#include "alerting/payloads.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/common/time_util.h"
#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using test::FiringEvent;
using test::kStart;
using ::testing::HasSubstr;
using ::testing::Not;

size_t Runes(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool ValidUtf8(const std::string& s) {
  return !nlohmann::json::parse("\"" + s + "\"", nullptr, false).is_discarded();
}

TEST(PayloadsTest, PagerDutySeverityMapping) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"critical", "critical"}, {"error", "error"},   {"warning", "warning"},
      {"info", "info"},         {"page", "critical"}, {"ticket", "warning"},
      {"CRITICAL", "error"},    {"bogus", "error"},   {"", "error"},
  };
  for (const auto& [label, want] : table) {
    EXPECT_EQ(PagerDutySeverity({{"severity", label}}), want) << label;
  }
  EXPECT_EQ(PagerDutySeverity({}), "error");
}

TEST(PayloadsTest, PagerDutyTriggerHasTheEventsV2Fields) {
  AlertEvent e = FiringEvent();
  PayloadOptions o;
  o.external_url = "http://aw.example:9464";
  nlohmann::json j = test::Json(BuildPagerDutyEvent("R0UTINGKEY", e, o, kStart + 5));
  EXPECT_EQ(j["routing_key"], "R0UTINGKEY");
  EXPECT_EQ(j["event_action"], "trigger");
  EXPECT_EQ(j["dedup_key"], e.fingerprint);
  EXPECT_EQ(j["client"], "agentwatch");
  EXPECT_EQ(j["client_url"], "http://aw.example:9464/alerts/" + e.fingerprint);
  const auto& p = j["payload"];
  EXPECT_EQ(p["summary"], "Override rate is high");
  EXPECT_EQ(p["source"], "incident-response");
  EXPECT_EQ(p["severity"], "critical");  // severity=page
  EXPECT_EQ(p["timestamp"], FormatRfc3339(e.fired_at_ms));
  EXPECT_EQ(p["component"], "incident-response");
  EXPECT_EQ(p["group"], "low_accuracy");
  EXPECT_EQ(p["class"], "override_rate");
  const auto& d = p["custom_details"];
  EXPECT_DOUBLE_EQ(d["value"].get<double>(), 0.31);
  EXPECT_DOUBLE_EQ(d["threshold"].get<double>(), 0.2);
  EXPECT_EQ(d["op"], ">");
  EXPECT_EQ(d["window"], "1h");
  EXPECT_EQ(d["stat"], "");
  EXPECT_EQ(d["labels"]["team"], "sre");
  EXPECT_EQ(d["labels"]["alertname"], "low_accuracy");
  EXPECT_EQ(d["annotations"]["summary"], "Override rate is high");
}

TEST(PayloadsTest, PagerDutySummaryWithoutAnnotationAndSourceWithoutAgent) {
  AlertEvent e = FiringEvent();
  e.annotations.clear();
  e.labels.erase("agent");
  nlohmann::json p = test::Json(BuildPagerDutyEvent("k", e, {}, kStart))["payload"];
  EXPECT_EQ(p["source"], "agentwatch");
  EXPECT_FALSE(p.contains("component"));
  EXPECT_EQ(p["summary"], "low_accuracy: override_rate 0.31 > 0.2 (1h)");
}

TEST(PayloadsTest, PagerDutySummaryIsTruncatedTo1024CodePoints) {
  AlertEvent e = FiringEvent();
  std::string long_summary;
  for (int i = 0; i < 2000; ++i) long_summary += "\xC3\xA9";  // é, 2 bytes
  e.annotations["summary"] = long_summary;
  std::string s = test::Json(BuildPagerDutyEvent("k", e, {}, kStart))["payload"]["summary"];
  EXPECT_EQ(Runes(s), 1024u);
  EXPECT_TRUE(ValidUtf8(s));
  EXPECT_EQ(s.substr(s.size() - 3), "\xE2\x80\xA6");  // ends in …

  e.annotations["summary"] = std::string(1024, 'x');  // exactly at the limit
  EXPECT_EQ(test::Json(BuildPagerDutyEvent("k", e, {}, kStart))["payload"]["summary"],
            std::string(1024, 'x'));
}

TEST(PayloadsTest, PagerDutyResolveCarriesOnlyKeyAndAction) {
  AlertEvent e = FiringEvent();
  e.resolved = true;
  e.resolved_at_ms = kStart + 60'000;
  nlohmann::json j = test::Json(BuildPagerDutyEvent("k", e, {}, kStart));
  EXPECT_EQ(j["event_action"], "resolve");
  EXPECT_EQ(j["dedup_key"], e.fingerprint);
  EXPECT_EQ(j["routing_key"], "k");
  EXPECT_FALSE(j.contains("payload"));
}

TEST(PayloadsTest, SlackFiringMessageSaysWhatWhereAndHowMuch) {
  std::string text = test::Json(BuildSlackMessage(FiringEvent(), {}))["text"];
  EXPECT_THAT(text, HasSubstr("[FIRING] low_accuracy"));
  EXPECT_THAT(text, HasSubstr("incident-response"));
  // ">" is a control character in Slack mrkdwn.
  EXPECT_THAT(text, HasSubstr("override_rate = 0.31 &gt; 0.2 over 1h"));
  EXPECT_THAT(text, HasSubstr("Override rate is high"));
  EXPECT_THAT(text, HasSubstr("team=sre"));
  EXPECT_THAT(text, Not(HasSubstr(" > ")));
}

TEST(PayloadsTest, SlackResolvedMessage) {
  AlertEvent e = FiringEvent();
  e.resolved = true;
  e.value = 0.12;
  e.resolved_at_ms = kStart + 600'000;
  std::string text = test::Json(BuildSlackMessage(e, {}))["text"];
  EXPECT_THAT(text, HasSubstr("[RESOLVED] low_accuracy"));
  EXPECT_THAT(text, HasSubstr("override_rate is now 0.12"));
  EXPECT_THAT(text, HasSubstr("resolved at " + FormatRfc3339(kStart + 600'000)));
  EXPECT_THAT(text, Not(HasSubstr("FIRING")));
}

TEST(PayloadsTest, WebhookIsAlertmanagerV4) {
  AlertEvent e = FiringEvent();
  PayloadOptions o;
  o.external_url = "http://aw:9464";
  nlohmann::json j = test::Json(BuildWebhookV4("audit", e, o));
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["status"], "firing");
  EXPECT_EQ(j["receiver"], "audit");
  EXPECT_EQ(j["truncatedAlerts"], 0);
  EXPECT_EQ(j["externalURL"], "http://aw:9464");
  EXPECT_EQ(j["groupKey"],
            "{}:{agent=\"incident-response\", alertname=\"low_accuracy\", "
            "severity=\"page\", team=\"sre\"}");
  EXPECT_EQ(j["groupLabels"]["alertname"], "low_accuracy");
  EXPECT_EQ(j["commonLabels"]["agent"], "incident-response");
  EXPECT_EQ(j["commonAnnotations"]["summary"], "Override rate is high");
  ASSERT_EQ(j["alerts"].size(), 1u);
  const auto& a = j["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["alertname"], "low_accuracy");
  EXPECT_EQ(a["labels"]["team"], "sre");
  EXPECT_EQ(a["annotations"]["summary"], "Override rate is high");
  EXPECT_EQ(a["startsAt"], FormatRfc3339(kStart));
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["generatorURL"], "http://aw:9464/alerts/" + e.fingerprint);
  EXPECT_EQ(a["fingerprint"], "b1946ac92492d234");

  e.resolved = true;
  e.resolved_at_ms = kStart + 90'000;
  j = test::Json(BuildWebhookV4("audit", e, o));
  EXPECT_EQ(j["status"], "resolved");
  EXPECT_EQ(j["alerts"][0]["status"], "resolved");
  EXPECT_EQ(j["alerts"][0]["endsAt"], FormatRfc3339(kStart + 90'000));
}

TEST(PayloadsTest, AlertmanagerEndsAtIsFourResendIntervalsWhileFiring) {
  AlertEvent e = FiringEvent();
  PayloadOptions o;
  o.alertmanager_resend_interval = Millis(60'000);
  TimeMs now = kStart + 10'000;
  nlohmann::json j = test::Json(BuildAlertmanagerAlerts(e, o, now));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "low_accuracy");
  EXPECT_EQ(j[0]["annotations"]["summary"], "Override rate is high");
  EXPECT_EQ(j[0]["startsAt"], FormatRfc3339(kStart));
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(now + 240'000));
  EXPECT_FALSE(j[0].contains("generatorURL"));  // no external_url

  e.resolved = true;
  e.resolved_at_ms = kStart + 30'000;
  j = test::Json(BuildAlertmanagerAlerts(e, o, now));
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(kStart + 30'000));
}

TEST(PayloadsTest, HmacMatchesRfc4231Vector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
            "64ec3843");
}

TEST(PayloadsTest, TruncateRunesNeverSplitsACodePoint) {
  EXPECT_EQ(TruncateRunes("abc", 3), "abc");
  EXPECT_EQ(TruncateRunes("abcd", 3), "ab\xE2\x80\xA6");
  std::string s = TruncateRunes("\xF0\x9F\x94\xA5\xF0\x9F\x94\xA5x", 2);
  EXPECT_EQ(s, "\xF0\x9F\x94\xA5\xE2\x80\xA6");
}

TEST(PayloadsTest, AlertPageUrlDropsTrailingSlashesOfTheBase) {
  EXPECT_EQ(AlertPageUrl("https://aw.example/", "00ff"), "https://aw.example/alerts/00ff");
  EXPECT_EQ(AlertPageUrl("https://aw.example/sub//", "ab"), "https://aw.example/sub/alerts/ab");
  EXPECT_EQ(AlertPageUrl("", "ab"), "");
}

TEST(PayloadsTest, PagerDutyLinksTheAlertPageThenRunbookAndDashboard) {
  AlertEvent e = FiringEvent();
  e.annotations["runbook_url"] = "https://wiki/rb";
  e.annotations["dashboard_url"] = "https://grafana/d/1";
  PayloadOptions o;
  o.external_url = "https://aw.example/";
  nlohmann::json j = test::Json(BuildPagerDutyEvent("k", e, o, kStart));
  const std::string page = "https://aw.example/alerts/" + e.fingerprint;
  EXPECT_EQ(j["client_url"], page);
  ASSERT_EQ(j["links"].size(), 3u) << j.dump();
  EXPECT_EQ(j["links"][0]["href"], page);
  EXPECT_EQ(j["links"][1]["href"], "https://wiki/rb");
  EXPECT_EQ(j["links"][2]["href"], "https://grafana/d/1");
  for (const auto& l : j["links"]) EXPECT_FALSE(l["text"].get<std::string>().empty());

  // Without an external_url only the annotations are linked; without those
  // either, there is no links array.
  j = test::Json(BuildPagerDutyEvent("k", e, {}, kStart));
  EXPECT_FALSE(j.contains("client_url"));
  ASSERT_EQ(j["links"].size(), 2u);
  EXPECT_EQ(j["links"][0]["href"], "https://wiki/rb");
  j = test::Json(BuildPagerDutyEvent("k", FiringEvent(), {}, kStart));
  EXPECT_FALSE(j.contains("links"));
}

TEST(PayloadsTest, SlackColourFollowsSeverityAndState) {
  AlertEvent e = FiringEvent();
  const std::vector<std::pair<std::string, std::string>> table = {
      {"page", "#e01e5a"},    {"critical", "#e01e5a"}, {"ticket", "#ecb22e"},
      {"warning", "#ecb22e"}, {"info", "#36c5f0"},     {"other", "#e01e5a"}};
  for (const auto& [severity, colour] : table) {
    e.labels["severity"] = severity;
    EXPECT_EQ(test::Json(BuildSlackMessage(e, {}))["attachments"][0]["color"], colour) << severity;
  }
  e.resolved = true;
  EXPECT_EQ(SlackColor(e), "#2eb67d");
}

// The blocks of type `type`.
std::vector<nlohmann::json> BlocksOf(const nlohmann::json& blocks, const std::string& type) {
  std::vector<nlohmann::json> out;
  for (const auto& b : blocks) {
    if (b["type"] == type) out.push_back(b);
  }
  return out;
}

TEST(PayloadsTest, SlackBlocksHaveHeaderFieldsSummaryAndLinkButtons) {
  AlertEvent e = FiringEvent();
  e.annotations["runbook_url"] = "https://wiki/rb";
  e.annotations["dashboard_url"] = "https://grafana/d/1";
  e.annotations["description"] = "a <b> & c";
  PayloadOptions o;
  o.external_url = "http://aw:9464";
  const nlohmann::json msg = test::Json(BuildSlackMessage(e, o));
  const std::string page = "http://aw:9464/alerts/" + e.fingerprint;
  EXPECT_THAT(msg["text"].get<std::string>(), HasSubstr("<" + page + "|Alert page>"));
  const nlohmann::json& blocks = msg["attachments"][0]["blocks"];
  // The alert's layout, then the "Silence 1h" actions block of a firing alert.
  nlohmann::json expected = test::Json(SlackAlertBlocks(e, o));
  ASSERT_EQ(blocks.size(), expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(blocks[i], expected[i]);
  EXPECT_EQ(blocks.back()["block_id"], "silence");

  const auto headers = BlocksOf(blocks, "header");
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0]["text"]["text"], "[FIRING] low_accuracy on incident-response");

  std::string fields;
  for (const auto& s : BlocksOf(blocks, "section")) {
    for (const auto& f : s.value("fields", nlohmann::json::array())) {
      fields += f["text"].get<std::string>() + "|";
    }
  }
  EXPECT_THAT(fields, HasSubstr("*Agent*\nincident-response|"));
  EXPECT_THAT(fields, HasSubstr("*Value*\noverride_rate 0.31|"));
  EXPECT_THAT(fields, HasSubstr("*Threshold*\n&gt; 0.2|"));
  EXPECT_THAT(fields, HasSubstr("*Window*\n1h|"));

  std::string texts;
  for (const auto& s : BlocksOf(blocks, "section")) {
    if (s.contains("text")) texts += s["text"]["text"].get<std::string>();
  }
  EXPECT_THAT(texts, HasSubstr("Override rate is high"));
  EXPECT_THAT(texts, HasSubstr("a &lt;b&gt; &amp; c"));

  const auto actions = BlocksOf(expected, "actions");
  ASSERT_EQ(actions.size(), 1u);
  std::vector<std::string> urls;
  for (const auto& b : actions[0]["elements"]) urls.push_back(b["url"]);
  EXPECT_EQ(urls, (std::vector<std::string>{page, "https://wiki/rb", "https://grafana/d/1"}));

  // No links at all: no actions block (Slack rejects an empty one).
  EXPECT_TRUE(BlocksOf(test::Json(SlackAlertBlocks(FiringEvent(), {})), "actions").empty());
}

TEST(PayloadsTest, InvalidUtf8InALabelIsReplacedNotThrown) {
  AlertEvent e = FiringEvent();
  e.labels["team"] =
      "a\xff"
      "b";
  const std::string replaced =
      "a\xef\xbf\xbd"
      "b";  // U+FFFD
  for (const std::string& body :
       {BuildPagerDutyEvent("k", e, {}, kStart), BuildSlackMessage(e, {}),
        BuildWebhookV4("w", e, {}), BuildAlertmanagerAlerts(e, {}, kStart)}) {
    EXPECT_FALSE(nlohmann::json::parse(body, nullptr, false).is_discarded()) << body;
    EXPECT_EQ(body.find("a\xff"), std::string::npos) << body;
  }
  EXPECT_EQ(test::Json(BuildWebhookV4("w", e, {}))["commonLabels"]["team"], replaced);
  EXPECT_EQ(test::Json(BuildAlertmanagerAlerts(e, {}, kStart))[0]["labels"]["team"], replaced);
}

}  // namespace
}  // namespace aw::alerting
