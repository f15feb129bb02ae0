#include "daemon/server/receiver_options.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace aw::server {
namespace {

using namespace std::chrono_literals;
using Kind = alerting::ReceiverOptions::Kind;

// A receiver whose every field differs from its default, with a distinct
// URL per kind, so the test sees which one the conversion picks.
ReceiverConfig Full(ReceiverConfig::Kind kind, std::string name = "oncall") {
  ReceiverConfig c;
  c.name = std::move(name);
  c.kind = kind;
  c.pagerduty.routing_key = std::string(32, 'k');
  c.pagerduty.url = "https://pd.example/enqueue";
  c.slack.webhook_url = "https://slack.example/hook";
  c.webhook.url = "https://hook.example/in";
  c.webhook.secret = "s3cret";
  c.alertmanager.url = "http://am.example:9093/";
  c.timeout = 2500ms;
  c.grouping.enabled = true;
  c.grouping.by_all = false;
  c.grouping.by = {"alertname", "agent"};
  c.grouping.wait = 30s;
  c.grouping.interval = 7min;
  c.grouping.repeat = 3h;
  return c;
}

void ExpectCommonFields(const ReceiverConfig& c, const alerting::ReceiverOptions& o) {
  EXPECT_EQ(o.name, c.name);
  EXPECT_EQ(o.routing_key, c.pagerduty.routing_key);
  EXPECT_EQ(o.secret, c.webhook.secret);
  EXPECT_EQ(o.timeout, c.timeout);
  EXPECT_EQ(o.grouping.enabled, c.grouping.enabled);
  EXPECT_EQ(o.grouping.by_all, c.grouping.by_all);
  EXPECT_EQ(o.grouping.by, c.grouping.by);
  EXPECT_EQ(o.grouping.wait, c.grouping.wait);
  EXPECT_EQ(o.grouping.interval, c.grouping.interval);
  EXPECT_EQ(o.grouping.repeat, c.grouping.repeat);
}

TEST(ReceiverOptions, TheFixtureSetsEveryFieldAwayFromItsDefault) {
  // Otherwise a field the conversion forgets could still compare equal.
  const ReceiverConfig c = Full(ReceiverConfig::Kind::kWebhook);
  const alerting::ReceiverOptions d;
  EXPECT_NE(c.name, d.name);
  EXPECT_NE(c.pagerduty.routing_key, d.routing_key);
  EXPECT_NE(c.webhook.secret, d.secret);
  EXPECT_NE(c.timeout, d.timeout);
  EXPECT_NE(c.grouping.enabled, d.grouping.enabled);
  EXPECT_NE(c.grouping.by_all, d.grouping.by_all);
  EXPECT_NE(c.grouping.by, d.grouping.by);
  EXPECT_NE(c.grouping.wait, d.grouping.wait);
  EXPECT_NE(c.grouping.interval, d.grouping.interval);
  EXPECT_NE(c.grouping.repeat, d.grouping.repeat);
}

TEST(ReceiverOptions, CarriesEveryFieldAndTheKindsUrl) {
  const ReceiverConfig pd = Full(ReceiverConfig::Kind::kPagerDuty);
  const ReceiverConfig slack = Full(ReceiverConfig::Kind::kSlack);
  const ReceiverConfig hook = Full(ReceiverConfig::Kind::kWebhook);
  const ReceiverConfig am = Full(ReceiverConfig::Kind::kAlertmanager);

  const alerting::ReceiverOptions o_pd = ToReceiverOptions(pd);
  EXPECT_EQ(o_pd.kind, Kind::kPagerDuty);
  EXPECT_EQ(o_pd.url, pd.pagerduty.url);
  ExpectCommonFields(pd, o_pd);

  const alerting::ReceiverOptions o_slack = ToReceiverOptions(slack);
  EXPECT_EQ(o_slack.kind, Kind::kSlack);
  EXPECT_EQ(o_slack.url, slack.slack.webhook_url);
  ExpectCommonFields(slack, o_slack);

  const alerting::ReceiverOptions o_hook = ToReceiverOptions(hook);
  EXPECT_EQ(o_hook.kind, Kind::kWebhook);
  EXPECT_EQ(o_hook.url, hook.webhook.url);
  ExpectCommonFields(hook, o_hook);

  // The base URL as configured; the notifier appends /api/v2/alerts.
  const alerting::ReceiverOptions o_am = ToReceiverOptions(am);
  EXPECT_EQ(o_am.kind, Kind::kAlertmanager);
  EXPECT_EQ(o_am.url, am.alertmanager.url);
  ExpectCommonFields(am, o_am);
}

TEST(ReceiverOptions, ConvertsAListInOrder) {
  const ReceiverConfig a = Full(ReceiverConfig::Kind::kSlack, "first");
  ReceiverConfig b = Full(ReceiverConfig::Kind::kPagerDuty, "second");
  b.grouping = GroupingConfig{};
  const std::vector<alerting::ReceiverOptions> out = ToReceiverOptions({a, b});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "first");
  EXPECT_EQ(out[0].url, a.slack.webhook_url);
  EXPECT_EQ(out[1].name, "second");
  EXPECT_EQ(out[1].url, b.pagerduty.url);
  EXPECT_FALSE(out[1].grouping.enabled);
}

}  // namespace
}  // namespace aw::server
