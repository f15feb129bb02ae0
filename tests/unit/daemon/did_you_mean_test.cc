#include "daemon/common/did_you_mean.h"

#include <gtest/gtest.h>

namespace aw {
namespace {

TEST(DidYouMeanTest, SuggestsTheClosestName) {
  const std::vector<std::string> keys = {"listen", "storage", "evaluation_interval", "receivers"};
  EXPECT_EQ(ClosestName("recievers", keys), "receivers");
  EXPECT_EQ(ClosestName("evaluation_intervl", keys), "evaluation_interval");
  EXPECT_EQ(ClosestName("Listen", keys), "listen");
  EXPECT_EQ(ClosestName("interval", keys), "evaluation_interval");  // contained
  EXPECT_EQ(ClosestName("zzz", keys), "");
}

TEST(DidYouMeanTest, MessageListsTheValidNames) {
  EXPECT_EQ(DidYouMean("p59", {"p50", "p95"}), " (did you mean \"p50\"? valid: p50, p95)");
  EXPECT_EQ(DidYouMean("xyz", {"mean", "max"}), " (valid: mean, max)");
}

TEST(DidYouMeanTest, WordDurationsSuggestTheShortForm) {
  EXPECT_EQ(SuggestDuration("10 minutes"), "10m");
  EXPECT_EQ(SuggestDuration("10 minute"), "10m");
  EXPECT_EQ(SuggestDuration("10min"), "10m");
  EXPECT_EQ(SuggestDuration("2 hours"), "2h");
  EXPECT_EQ(SuggestDuration("30 Seconds"), "30s");
  EXPECT_EQ(SuggestDuration("7 days"), "7d");
  EXPECT_EQ(SuggestDuration("1 week"), "7d");
  EXPECT_EQ(SuggestDuration("500 milliseconds"), "500ms");
  EXPECT_EQ(SuggestDuration("100 investigations"), "");
  EXPECT_EQ(SuggestDuration("soon"), "");
  EXPECT_EQ(SuggestDuration("10 fortnights"), "");
}

}  // namespace
}  // namespace aw
