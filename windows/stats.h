#pragma once

// The statistics behind "Statistics that keep pages honest" (CONTRACT.md):
// the Wilson score bound of a ratio, the pooled two-proportion z-test, and
// the calibration figures (expected calibration error, the confidence
// threshold). Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <optional>

namespace aw::stats {

// z = Phi^-1(p), the standard normal quantile (Boost.Math). REQUIRES: 0<p<1.
double NormalQuantile(double p);
// P(Z > z) for a standard normal Z, accurate in the far tail.
double NormalUpperTail(double z);

struct WilsonInterval {
  double lower = 0;
  double upper = 0;
};
// The Wilson score interval of a ratio p over n samples at a normal
// quantile z: centre = (p + z^2/2n) / (1 + z^2/n),
// half = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n). REQUIRES: n > 0.
WilsonInterval Wilson(double p, int64_t n, double z);
// The bound a one-sided test at `confidence` compares: the lower bound when
// `lower`, else the upper.
double WilsonBound(double p, int64_t n, double confidence, bool lower);

// One-sided pooled two-proportion z-test of H1: p1 > p2, with x successes
// out of n. The p-value P(Z >= z); 1 when the pooled ratio is 0 or 1 (no
// spread: nothing to tell apart). REQUIRES: n1 > 0, n2 > 0.
double TwoProportionPValue(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

// Calibration bins: [0, 0.1), ..., [0.8, 0.9), [0.9, 1.0].
constexpr int kCalibrationBins = 10;
// The bin of a confidence in [0, 1]: compared against each lower edge k/10
// (as a double), so "confidence >= edge" means the same everywhere.
int CalibrationBinOf(double confidence);
double CalibrationBinLower(int bin);  // k / 10
double CalibrationBinUpper(int bin);  // (k + 1) / 10

struct CalibrationBin {
  int64_t count = 0;  // investigations with a confidence and a verdict
  int64_t confirms = 0;
  double confidence_sum = 0;
};
using CalibrationBins = std::array<CalibrationBin, kCalibrationBins>;

// sum_b (n_b / n) |mean confidence_b - confirm rate_b|; nullopt when n = 0.
std::optional<double> ExpectedCalibrationError(const CalibrationBins& bins);

// The lowest lower edge c such that the investigations with confidence >= c
// have an override rate whose Wilson upper bound at `confidence` (0.95 in
// the API) is <= target; nullopt when no edge qualifies.
std::optional<double> CalibrationThreshold(const CalibrationBins& bins, double target,
                                           double confidence = 0.95);

}  // namespace aw::stats
