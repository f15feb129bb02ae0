#include "daemon/common/time_util.h"

#include <gtest/gtest.h>

namespace aw {
namespace {

TEST(TimeUtilTest, ParsesPrometheusDurations) {
  EXPECT_EQ(ParseDuration("0"), Millis(0));
  EXPECT_EQ(ParseDuration("15s"), Millis(15'000));
  EXPECT_EQ(ParseDuration("1h30m"), Millis(5'400'000));
  EXPECT_EQ(ParseDuration("7d"), Millis(604'800'000));
  EXPECT_EQ(ParseDuration("250ms"), Millis(250));
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("5"));
  EXPECT_FALSE(ParseDuration("5x"));
  EXPECT_FALSE(ParseDuration("-5m"));
  EXPECT_FALSE(ParseDuration("m"));
}

TEST(TimeUtilTest, FormatsDurationsShortest) {
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(FormatDuration(Millis(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(Millis(86'400'000)), "1d");
}

TEST(TimeUtilTest, ParsesRfc3339WithFractionsAndOffsets) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2026-11-25T16:00:00Z"), 1'795'622'400'000);
  EXPECT_EQ(ParseRfc3339("2026-11-25T16:00:00.5Z"), 1'795'622'400'500);
  EXPECT_EQ(ParseRfc3339("2026-11-25T17:00:00+01:00"), 1'795'622'400'000);
  EXPECT_FALSE(ParseRfc3339("2026-11-25"));
  EXPECT_FALSE(ParseRfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-25T16:00:00"));
  EXPECT_FALSE(ParseRfc3339("2026-11-25T16:00:00Zjunk"));
}

TEST(TimeUtilTest, FormatRoundTrips) {
  EXPECT_EQ(FormatRfc3339(1'795'622'400'000), "2026-11-25T16:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'795'622'400'123), "2026-11-25T16:00:00.123Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(1'795'622'400'123)), 1'795'622'400'123);
}

}  // namespace
}  // namespace aw
