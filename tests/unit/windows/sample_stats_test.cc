// StatOf over a sample joined with value counts (whole hours' tool calls)
// equals StatOf over the same values expanded one by one, for every stat,
// including values outside the counts (negative, or past their range) and
// samples that are all counts or all values. Co-moments of parts merged
// in any grouping give the whole sample's Pearson r, and a side whose
// values are all equal stays exactly constant across merges (r is null).

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/testing/reference_pearson.h"
#include "windows/sample_stats.h"

namespace aw::windows {
namespace {

TEST(SampleStats, CountedStatEqualsTheExpandedSample) {
  std::mt19937_64 rng(20261201);
  const Stat stats[] = {Stat::kMean, Stat::kP50, Stat::kP90, Stat::kP95, Stat::kP99, Stat::kMax};
  for (int round = 0; round < 2000; ++round) {
    std::vector<double> loose;
    std::vector<int64_t> counts(1 + rng() % 40, 0);
    int64_t counted = 0;
    const int n_loose = static_cast<int>(rng() % 12);
    for (int i = 0; i < n_loose; ++i) {
      // Inside the counts' range, and past both of its ends.
      loose.push_back(static_cast<double>(static_cast<int64_t>(rng() % 60) - 5));
    }
    if (round % 7 != 0) {
      for (size_t x = 0; x < counts.size(); ++x) {
        if (rng() % 3 == 0) {
          counts[x] = static_cast<int64_t>(rng() % 9);
          counted += counts[x];
        }
      }
    }
    if (loose.empty() && counted == 0) loose.push_back(3);
    std::vector<double> expanded = loose;
    for (size_t x = 0; x < counts.size(); ++x) {
      expanded.insert(expanded.end(), static_cast<size_t>(counts[x]), static_cast<double>(x));
    }
    for (Stat stat : stats) {
      std::vector<double> a = loose, b = expanded;
      EXPECT_EQ(StatOf(a, counts, counted, stat), StatOf(b, stat))
          << "round " << round << " stat " << static_cast<int>(stat) << " loose " << loose.size()
          << " counted " << counted;
    }
  }
}

TEST(SampleStats, CountedQuantilesPickTheNearestRank) {
  // 1 x 0, 3 x 1, 6 x 2, and a loose 5: ranks 0..10.
  const std::vector<int64_t> counts = {1, 3, 6};
  std::vector<double> loose = {5};
  EXPECT_EQ(StatOf(loose, counts, 10, Stat::kP50), 2);  // rank 6 of 11
  EXPECT_EQ(StatOf(loose, counts, 10, Stat::kP99), 5);  // rank 11 of 11
  EXPECT_EQ(StatOf(loose, counts, 10, Stat::kMax), 5);
  EXPECT_DOUBLE_EQ(StatOf(loose, counts, 10, Stat::kMean), (0 + 3 + 12 + 5) / 11.0);
  std::vector<double> none;
  EXPECT_EQ(StatOf(none, counts, 10, Stat::kP90), 2);
  EXPECT_EQ(StatOf(none, counts, 10, Stat::kMax), 2);
}

TEST(SampleStats, MomentsOfPartsMergeIntoThoseOfTheWhole) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> conf(0, 1);
  for (int round = 0; round < 500; ++round) {
    // Times to resolve around a large base that differ by milliseconds in
    // some rounds: their raw squares would cancel to nothing in a double.
    const double base = round % 3 == 0 ? 1e7 : 0;
    const double spread = round % 3 == 0 ? 5.0 : 3600.0;
    std::vector<std::pair<long double, long double>> all;
    Comoments merged;
    const int parts = 1 + static_cast<int>(rng() % 8);
    for (int part = 0; part < parts; ++part) {
      PairSample sample;
      const int n = static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        const double x = conf(rng);
        const double y = base + std::round(conf(rng) * spread * 1000) / 1000;
        sample.Add(x, y);
        all.emplace_back(x, y);
      }
      merged.Merge(sample.Moments());
    }
    ASSERT_EQ(merged.n, static_cast<int64_t>(all.size()));
    const auto want = testing::ReferencePearson(all);
    const auto got = Pearson(merged);
    ASSERT_EQ(got.has_value(), want.has_value()) << "round " << round;
    if (want) {
      EXPECT_NEAR(*got, *want, 1e-9) << "round " << round;
    }
  }
}

TEST(SampleStats, AConstantSideStaysExactlyConstantAcrossMerges) {
  // 0.1 * 3 is not 0.3 in doubles: a variance from sums of equal values
  // need not come out as 0, so constancy is tracked, not inferred.
  Comoments m;
  for (int part = 0; part < 5; ++part) {
    PairSample s;
    for (int i = 0; i < 3; ++i) s.Add(0.1 * (part + i), 1800.7);
    m.Merge(s.Moments());
  }
  EXPECT_EQ(m.n, 15);
  EXPECT_EQ(Pearson(m), std::nullopt);  // every time to resolve the same
  PairSample other;
  other.Add(0.9, 1800.8);
  m.Merge(other.Moments());
  ASSERT_TRUE(Pearson(m).has_value());
  EXPECT_GT(*Pearson(m), 0);
  PairSample one;
  one.Add(0.5, 10);
  EXPECT_EQ(Pearson(one.Moments()), std::nullopt);  // fewer than 2 pairs
}

}  // namespace
}  // namespace aw::windows
