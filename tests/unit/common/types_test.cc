#include "daemon/common/types.h"

#include <gtest/gtest.h>

namespace aw {
namespace {

TEST(TypesTest, ParsesTimeAndCountWindows) {
  std::string err;
  auto w = ParseWindow("24h", &err);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->kind, WindowSpec::Kind::kTime);
  EXPECT_EQ(w->duration, Millis(86'400'000));
  auto c = ParseWindow("100 investigations", &err);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, WindowSpec::Kind::kCount);
  EXPECT_EQ(c->count, 100);
  EXPECT_EQ(c->name, "100 investigations");
  EXPECT_FALSE(ParseWindow("0 investigations", &err));
  EXPECT_FALSE(ParseWindow("10 spans", &err));
  EXPECT_NE(err.find("investigations"), std::string::npos);
  EXPECT_FALSE(ParseWindow("forever", &err));
  EXPECT_FALSE(ParseWindow("0s", &err));
}

TEST(TypesTest, PricesSpanFromTableWhenItHasNoCost) {
  Pricing pricing{{"m", ModelPrice{3, 15, 0.3, 3.75}}};
  Span s;
  s.model = "m";
  s.input_tokens = 1'000'000;
  s.output_tokens = 100'000;
  s.cache_read_tokens = 1'000'000;
  s.cache_creation_tokens = 0;
  EXPECT_DOUBLE_EQ(*PriceSpan(s, pricing), 3 + 1.5 + 0.3);
  s.cost_usd = 0.5;
  EXPECT_DOUBLE_EQ(*PriceSpan(s, pricing), 0.5);
  Span unknown;
  unknown.model = "other";
  EXPECT_FALSE(PriceSpan(unknown, pricing));
}

TEST(TypesTest, SliAndStatNamesRoundTrip) {
  for (Sli s : AllSlis()) EXPECT_EQ(ParseSli(SliName(s)), s);
  for (Stat s : DistributionStats()) EXPECT_EQ(ParseStat(StatName(s)), s);
  EXPECT_EQ(ParseStat(""), Stat::kNone);
  EXPECT_FALSE(ParseSli("nope"));
  EXPECT_TRUE(IsDistribution(Sli::kToolCalls));
  EXPECT_FALSE(IsDistribution(Sli::kOverrideRate));
}

}  // namespace
}  // namespace aw
