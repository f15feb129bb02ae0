// StatOf over a sample joined with value counts (whole hours' tool calls)
// equals StatOf over the same values expanded one by one, for every stat,
// including values outside the counts (negative, or past their range) and
// samples that are all counts or all values.

#include <gtest/gtest.h>

#include <random>
#include <vector>

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

}  // namespace
}  // namespace aw::windows
