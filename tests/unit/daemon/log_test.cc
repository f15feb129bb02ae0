#include "daemon/common/log.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/testing/logfmt.h"

namespace aw {
namespace {

using testing::ParseLogfmt;

constexpr int64_t kTs = 1'764'442'800'000;  // 2025-11-29T19:00:00Z

TEST(LogTest, LogfmtEscapesQuotesBackslashesAndNewlines) {
  const std::string msg = "rule \"AgentHighOverrideRate\" failed: C:\\tmp\nsecond line\tend";
  const std::string line = FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kWarn, msg, {});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  auto kv = ParseLogfmt(line);
  ASSERT_TRUE(kv) << line;
  EXPECT_EQ((*kv)["msg"], msg);
  EXPECT_EQ((*kv)["level"], "warn");
  EXPECT_EQ((*kv)["ts"], "2025-11-29T19:00:00Z");
}

TEST(LogTest, LogfmtQuotesFieldValuesOnlyWhenNeeded) {
  const LogFields fields = {
      {"agent", "incident-response"}, {"summary", "p95 is now 41"},  {"expr", "a=b"}, {"empty", ""},
      {"quote", "say \"hi\""},        {"ctl", std::string("a\x01z")}};
  const std::string line = FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kInfo, "m", fields);
  EXPECT_NE(line.find(" agent=incident-response"), std::string::npos) << line;
  EXPECT_NE(line.find(" summary=\"p95 is now 41\""), std::string::npos) << line;
  auto kv = ParseLogfmt(line);
  ASSERT_TRUE(kv) << line;
  for (const auto& [k, v] : fields) EXPECT_EQ((*kv)[k], v) << k;
}

TEST(LogTest, FieldsCannotShadowTheLinesOwnKeys) {
  const std::string line = FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kInfo, "real",
                                         {{"msg", "fake"}, {"level", "error"}, {"bad key", "x"}});
  auto kv = ParseLogfmt(line);
  ASSERT_TRUE(kv) << line;
  EXPECT_EQ((*kv)["msg"], "real");
  EXPECT_EQ((*kv)["level"], "info");
  EXPECT_EQ((*kv)["_msg"], "fake");
  EXPECT_EQ((*kv)["bad_key"], "x");
}

TEST(LogTest, JsonIsOneObjectPerLineWithFields) {
  const std::string msg = "rule \"X\" \\ fired\nnext";
  const std::string line = FormatLogLine(LogFormat::kJson, kTs, LogLevel::kError, msg,
                                         {{"agent", "ir"}, {"alertname", "AgentLoop"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const auto j = nlohmann::json::parse(line);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("ts"), "2025-11-29T19:00:00Z");
  EXPECT_EQ(j.at("level"), "error");
  EXPECT_EQ(j.at("msg"), msg);
  EXPECT_EQ(j.at("agent"), "ir");
  EXPECT_EQ(j.at("alertname"), "AgentLoop");
  // Keys keep their order: ts, level, msg first.
  EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u);
}

TEST(LogTest, JsonEscapesControlCharacters) {
  const std::string msg = std::string("bell\x07 and del\x7f");
  const auto j =
      nlohmann::json::parse(FormatLogLine(LogFormat::kJson, kTs, LogLevel::kInfo, msg, {}));
  EXPECT_EQ(j.at("msg"), msg);
}

TEST(LogTest, SetLogFormatRejectsUnknownNames) {
  EXPECT_TRUE(SetLogFormat("json"));
  EXPECT_TRUE(SetLogFormat("logfmt"));
  EXPECT_FALSE(SetLogFormat("xml"));
}

}  // namespace
}  // namespace aw

namespace aw {
namespace {

TEST(LogRateLimiterTest, OneLinePerKeyPerIntervalCountingTheRest) {
  LogRateLimiter limiter(60'000);
  int64_t held = -1;
  EXPECT_TRUE(limiter.Allow("pd", 1'000, &held));
  EXPECT_EQ(held, 0);
  EXPECT_FALSE(limiter.Allow("pd", 2'000));
  EXPECT_FALSE(limiter.Allow("pd", 60'999));
  EXPECT_TRUE(limiter.Allow("slack", 2'000));  // keys are independent
  EXPECT_TRUE(limiter.Allow("pd", 61'000, &held));
  EXPECT_EQ(held, 2);
  EXPECT_FALSE(limiter.Allow("pd", 61'001));
}

}  // namespace
}  // namespace aw
