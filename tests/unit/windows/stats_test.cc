#include "windows/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace aw::stats {
namespace {

// The standard normal density integrated with composite Simpson from z to
// 12 (far enough that the rest is below 1e-30): an upper tail obtained
// without erf/erfc, so it checks NormalUpperTail independently.
double UpperTailBySimpson(double z) {
  const int n = 20000;  // even
  const double hi = 12, h = (hi - z) / n;
  const auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
  double sum = phi(z) + phi(hi);
  for (int i = 1; i < n; ++i) sum += phi(z + i * h) * (i % 2 ? 4 : 2);
  return sum * h / 3;
}

// z with P(Z > z) = 1 - p, by bisection on the Simpson tail: a quantile
// obtained separately from Boost's.
double QuantileByBisection(double p) {
  double lo = -8, hi = 8;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (1 - UpperTailBySimpson(mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

TEST(NormalQuantileTest, MatchesPublishedValues) {
  // Abramowitz & Stegun 26.2 / any normal table, to the digits printed.
  EXPECT_NEAR(NormalQuantile(0.95), 1.644853626951, 1e-11);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540, 1e-11);
  EXPECT_NEAR(NormalQuantile(0.99), 2.326347874041, 1e-11);
  EXPECT_NEAR(NormalQuantile(0.999), 3.090232306168, 1e-11);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(NormalQuantile(0.05), -1.644853626951, 1e-11);
}

TEST(NormalQuantileTest, MatchesBisectionOnTheDensity) {
  for (double p : {0.6, 0.8, 0.9, 0.95, 0.99, 0.995}) {
    EXPECT_NEAR(NormalQuantile(p), QuantileByBisection(p), 1e-7) << p;
  }
}

TEST(NormalUpperTailTest, MatchesNormalTable) {
  // Table values of 1 - Phi(z).
  EXPECT_NEAR(NormalUpperTail(1.0), 0.15866, 5e-6);
  EXPECT_NEAR(NormalUpperTail(1.645), 0.04998, 5e-6);
  EXPECT_NEAR(NormalUpperTail(1.96), 0.02500, 5e-6);
  EXPECT_NEAR(NormalUpperTail(2.326), 0.01001, 5e-6);
  EXPECT_NEAR(NormalUpperTail(3.0), 0.00135, 5e-6);
  EXPECT_NEAR(NormalUpperTail(0.0), 0.5, 1e-15);
  for (double z : {-1.5, 0.3, 2.2, 4.0}) {
    EXPECT_NEAR(NormalUpperTail(z), UpperTailBySimpson(z), 1e-9) << z;
  }
}

// The contract's formula, written out here with a z found by bisection.
WilsonInterval WilsonByFormula(double p, double n, double z) {
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  return {centre - half, centre + half};
}

TEST(WilsonTest, MatchesTheFormulaAtSeveralNPAndZ) {
  for (double conf : {0.9, 0.95, 0.99}) {
    const double z = QuantileByBisection(conf);
    for (int n : {1, 5, 10, 37, 100, 1000}) {
      for (int x : {0, 1, n / 3, n / 2, n}) {
        const double p = static_cast<double>(x) / n;
        const WilsonInterval want = WilsonByFormula(p, n, z);
        EXPECT_NEAR(WilsonBound(p, n, conf, true), std::max(0.0, want.lower), 1e-7)
            << x << "/" << n << " at " << conf;
        EXPECT_NEAR(WilsonBound(p, n, conf, false), std::min(1.0, want.upper), 1e-7)
            << x << "/" << n << " at " << conf;
      }
    }
  }
}

TEST(WilsonTest, MatchesPublishedIntervals) {
  // Newcombe (1998), Stat. Med. 17:857, Table I, method 3 (Wilson score,
  // no continuity correction), 95 % two-sided: z = Phi^-1(0.975).
  struct Case {
    int x, n;
    double lower, upper;
  } cases[] = {{81, 263, 0.2553, 0.3662},
               {15, 148, 0.0624, 0.1605},
               {0, 20, 0.0, 0.1611},
               {1, 29, 0.0061, 0.1718}};
  for (const Case& c : cases) {
    const double p = static_cast<double>(c.x) / c.n;
    EXPECT_NEAR(WilsonBound(p, c.n, 0.975, true), c.lower, 5e-5) << c.x << "/" << c.n;
    EXPECT_NEAR(WilsonBound(p, c.n, 0.975, false), c.upper, 5e-5) << c.x << "/" << c.n;
  }
}

TEST(WilsonTest, ContractWorkedExample) {
  // 3 overrides in 10 at 0.95 one-sided: lower bound 0.127; 1 in 10: 0.023.
  EXPECT_NEAR(WilsonBound(0.3, 10, 0.95, true), 0.127, 5e-4);
  EXPECT_NEAR(WilsonBound(0.1, 10, 0.95, true), 0.023, 5e-4);
  EXPECT_GT(WilsonBound(0.3, 10, 0.95, true), 0.05);
  EXPECT_LT(WilsonBound(0.1, 10, 0.95, true), 0.05);
}

TEST(TwoProportionTest, PValueIsTheUpperTailOfThePooledZ) {
  struct Case {
    int x1, n1, x2, n2;
  } cases[] = {{30, 100, 15, 100}, {12, 40, 8, 60}, {5, 50, 5, 50}, {2, 30, 9, 30}};
  for (const Case& c : cases) {
    const double p1 = static_cast<double>(c.x1) / c.n1, p2 = static_cast<double>(c.x2) / c.n2;
    const double pooled = static_cast<double>(c.x1 + c.x2) / (c.n1 + c.n2);
    const double z = (p1 - p2) / std::sqrt(pooled * (1 - pooled) * (1.0 / c.n1 + 1.0 / c.n2));
    EXPECT_NEAR(TwoProportionPValue(c.x1, c.n1, c.x2, c.n2), UpperTailBySimpson(z), 1e-9);
  }
}

TEST(TwoProportionTest, KnownNormalTableCases) {
  // 30/100 vs 15/100: pooled 0.225, se = sqrt(.225*.775*.02) = 0.059054,
  // z = 2.540; table: 1 - Phi(2.54) = 0.00554.
  EXPECT_NEAR(TwoProportionPValue(30, 100, 15, 100), 0.00554, 5e-5);
  // Equal ratios: z = 0, p = 0.5.
  EXPECT_NEAR(TwoProportionPValue(5, 50, 5, 50), 0.5, 1e-12);
  // Candidate better than baseline: p > 0.5.
  EXPECT_GT(TwoProportionPValue(2, 30, 9, 30), 0.5);
  // No spread at all (no overrides anywhere): nothing to tell apart.
  EXPECT_EQ(TwoProportionPValue(0, 30, 0, 30), 1.0);
  EXPECT_EQ(TwoProportionPValue(30, 30, 30, 30), 1.0);
}

TEST(CalibrationTest, BinsAreEqualWidthAndTheLastIncludesOne) {
  EXPECT_EQ(CalibrationBinOf(0.0), 0);
  EXPECT_EQ(CalibrationBinOf(0.0999), 0);
  EXPECT_EQ(CalibrationBinOf(0.1), 1);
  EXPECT_EQ(CalibrationBinOf(0.3), 3);
  EXPECT_EQ(CalibrationBinOf(0.7), 7);
  EXPECT_EQ(CalibrationBinOf(0.8999), 8);
  EXPECT_EQ(CalibrationBinOf(0.9), 9);
  EXPECT_EQ(CalibrationBinOf(1.0), 9);
  for (int k = 0; k < kCalibrationBins; ++k) {
    EXPECT_DOUBLE_EQ(CalibrationBinLower(k), k * 0.1);
    EXPECT_DOUBLE_EQ(CalibrationBinUpper(k), (k + 1) * 0.1);
  }
}

TEST(CalibrationTest, EceAgainstBruteForceOverRandomData) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int round = 0; round < 50; ++round) {
    const int n = 1 + static_cast<int>(rng() % 400);
    std::vector<std::pair<double, bool>> data;  // (confidence, confirmed)
    CalibrationBins bins{};
    for (int i = 0; i < n; ++i) {
      // Some exact edges and 1.0 too.
      const double c = rng() % 10 == 0 ? static_cast<double>(rng() % 11) / 10 : u(rng);
      const bool confirmed = u(rng) < c * 0.8 + 0.1;
      data.emplace_back(c, confirmed);
      CalibrationBin& b = bins[CalibrationBinOf(c)];
      ++b.count;
      b.confirms += confirmed;
      b.confidence_sum += c;
    }
    // Brute force: for each bin, walk all data and pick its members by the
    // half-open interval [k/10, (k+1)/10) (closed for the last bin).
    double ece = 0;
    for (int k = 0; k < 10; ++k) {
      const double lo = k / 10.0, hi = (k + 1) / 10.0;
      double sum = 0, confirms = 0, count = 0;
      for (const auto& [c, ok] : data) {
        if (c >= lo && (c < hi || (k == 9 && c <= 1.0))) {
          sum += c;
          confirms += ok;
          ++count;
        }
      }
      if (count > 0) ece += count / n * std::abs(sum / count - confirms / count);
    }
    ASSERT_TRUE(ExpectedCalibrationError(bins).has_value());
    EXPECT_NEAR(*ExpectedCalibrationError(bins), ece, 1e-12) << round;
  }
  EXPECT_FALSE(ExpectedCalibrationError(CalibrationBins{}).has_value());
}

TEST(CalibrationTest, ThresholdIsTheLowestEdgeWhoseUpperBoundMeetsTarget) {
  CalibrationBins bins{};
  // Low confidence: many overrides. High confidence: all confirmed.
  bins[2] = {40, 20, 40 * 0.25};
  bins[7] = {50, 48, 50 * 0.75};
  bins[9] = {200, 200, 200 * 0.95};
  // Brute force over the edges with the contract's formula.
  const double z = QuantileByBisection(0.95);
  std::optional<double> want;
  for (int k = 0; k < 10 && !want; ++k) {
    double n = 0, o = 0;
    for (int b = k; b < 10; ++b) {
      n += static_cast<double>(bins[b].count);
      o += static_cast<double>(bins[b].count - bins[b].confirms);
    }
    if (n == 0) continue;
    if (WilsonByFormula(o / n, n, z).upper <= 0.05) want = k / 10.0;
  }
  ASSERT_TRUE(want.has_value());
  EXPECT_DOUBLE_EQ(*want, 0.3);  // 2 overrides in 250: upper bound ~0.022
  ASSERT_TRUE(CalibrationThreshold(bins, 0.05).has_value());
  EXPECT_DOUBLE_EQ(*CalibrationThreshold(bins, 0.05), *want);
  // No edge reaches a target of 0: null.
  EXPECT_FALSE(CalibrationThreshold(bins, 0.0).has_value());
  EXPECT_FALSE(CalibrationThreshold(CalibrationBins{}, 0.05).has_value());
}

}  // namespace
}  // namespace aw::stats
