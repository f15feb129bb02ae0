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

TEST(TimeUtil, RejectsDatesNotOnTheCalendar) {
  EXPECT_FALSE(ParseRfc3339("2025-02-29T00:00:00Z"));  // not a leap year
  EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z"));  // century, not /400
  EXPECT_FALSE(ParseRfc3339("2026-04-31T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-06-31T12:00:00Z"));
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(ParseRfc3339("2000-02-29T00:00:00Z"), 951'782'400'000);
}

TEST(TimeUtil, LeapSecondReadsAsLastMillisecondOfTheMinute) {
  // 2016-12-31T23:59:60Z was a real leap second; it stays on Dec 31.
  const auto last = ParseRfc3339("2016-12-31T23:59:59Z");
  ASSERT_TRUE(last);
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), *last + 999);
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60.5Z"), *last + 999);
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2016-12-31T23:59:60Z")), "2016-12-31T23:59:59.999Z");
}

TEST(TimeUtilTest, FormatRoundTrips) {
  EXPECT_EQ(FormatRfc3339(1'795'622'400'000), "2026-11-25T16:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'795'622'400'123), "2026-11-25T16:00:00.123Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(1'795'622'400'123)), 1'795'622'400'123);
}

}  // namespace
}  // namespace aw
