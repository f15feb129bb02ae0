#include "alerting/alert_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using test::FiringEvent;

TEST(AlertJsonTest, RoundTripsEveryField) {
  AlertEvent e = FiringEvent();
  e.resolved = true;
  e.stat = "p95";
  e.resolved_at_ms = e.fired_at_ms + 60'000;
  auto back = AlertEventFromJson(AlertEventToJson(e));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->name, e.name);
  EXPECT_EQ(back->labels, e.labels);
  EXPECT_EQ(back->annotations, e.annotations);
  EXPECT_TRUE(back->resolved);
  EXPECT_DOUBLE_EQ(back->value, e.value);
  EXPECT_DOUBLE_EQ(back->threshold, e.threshold);
  EXPECT_EQ(back->op, e.op);
  EXPECT_EQ(back->sli, e.sli);
  EXPECT_EQ(back->stat, e.stat);
  EXPECT_EQ(back->window, e.window);
  EXPECT_EQ(back->active_since_ms, e.active_since_ms);
  EXPECT_EQ(back->fired_at_ms, e.fired_at_ms);
  EXPECT_EQ(back->resolved_at_ms, e.resolved_at_ms);
  EXPECT_EQ(back->fingerprint, e.fingerprint);
}

TEST(AlertJsonTest, UsesMemberNamesAndMilliseconds) {
  nlohmann::json j = nlohmann::json::parse(AlertEventToJson(FiringEvent()));
  EXPECT_EQ(j["name"], "low_accuracy");
  EXPECT_EQ(j["fired_at_ms"], test::kStart);
  EXPECT_EQ(j["labels"]["agent"], "incident-response");
  EXPECT_EQ(j["resolved"], false);
}

TEST(AlertJsonTest, NonFiniteValueIsNullAndReadsBackAsNaN) {
  AlertEvent e = FiringEvent();
  e.value = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json j = nlohmann::json::parse(AlertEventToJson(e));
  EXPECT_TRUE(j["value"].is_null());
  auto back = AlertEventFromJson(j.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->value));
}

TEST(AlertJsonTest, RejectsMalformedInputNamingTheField) {
  EXPECT_FALSE(AlertEventFromJson("not json").ok());
  EXPECT_FALSE(AlertEventFromJson("[1]").ok());
  auto missing = AlertEventFromJson(R"({"labels":{}})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("name"), std::string::npos);
  auto wrong = AlertEventFromJson(R"({"name":"x","value":"high"})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("value"), std::string::npos);
  auto label = AlertEventFromJson(R"({"name":"x","labels":{"a":1}})");
  ASSERT_FALSE(label.ok());
  EXPECT_NE(label.status().message().find("labels.a"), std::string::npos);
}

}  // namespace
}  // namespace aw::alerting
