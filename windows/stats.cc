#include "windows/stats.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>

namespace aw::stats {

double NormalQuantile(double p) {
  return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

double NormalUpperTail(double z) {
  // erfc keeps its precision where 1 - cdf would cancel to 0.
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

WilsonInterval Wilson(double p, int64_t n, double z) {
  const double nn = static_cast<double>(n);
  const double z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double centre = (p + z2 / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double WilsonBound(double p, int64_t n, double confidence, bool lower) {
  const WilsonInterval w = Wilson(p, n, NormalQuantile(confidence));
  return lower ? w.lower : w.upper;
}

double TwoProportionPValue(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  const double a = static_cast<double>(n1), b = static_cast<double>(n2);
  const double p1 = static_cast<double>(x1) / a;
  const double p2 = static_cast<double>(x2) / b;
  const double pooled = static_cast<double>(x1 + x2) / (a + b);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / a + 1 / b));
  if (!(se > 0)) return 1;
  return NormalUpperTail((p1 - p2) / se);
}

int CalibrationBinOf(double confidence) {
  int bin = 0;
  for (int k = 1; k < kCalibrationBins; ++k) {
    if (confidence >= CalibrationBinLower(k)) bin = k;
  }
  return bin;
}

double CalibrationBinLower(int bin) { return bin / 10.0; }
double CalibrationBinUpper(int bin) { return (bin + 1) / 10.0; }

std::optional<double> ExpectedCalibrationError(const CalibrationBins& bins) {
  int64_t n = 0;
  for (const CalibrationBin& b : bins) n += b.count;
  if (n == 0) return std::nullopt;
  double ece = 0;
  for (const CalibrationBin& b : bins) {
    if (b.count == 0) continue;
    const double c = static_cast<double>(b.count);
    ece += (c / static_cast<double>(n)) *
           std::abs(b.confidence_sum / c - static_cast<double>(b.confirms) / c);
  }
  return ece;
}

std::optional<double> CalibrationThreshold(const CalibrationBins& bins, double target,
                                           double confidence) {
  // Suffix sums: the investigations at or above each lower edge.
  int64_t n[kCalibrationBins + 1] = {}, overrides[kCalibrationBins + 1] = {};
  for (int k = kCalibrationBins - 1; k >= 0; --k) {
    n[k] = n[k + 1] + bins[k].count;
    overrides[k] = overrides[k + 1] + bins[k].count - bins[k].confirms;
  }
  for (int k = 0; k < kCalibrationBins; ++k) {
    if (n[k] == 0) continue;
    const double p = static_cast<double>(overrides[k]) / static_cast<double>(n[k]);
    if (WilsonBound(p, n[k], confidence, false) <= target) return CalibrationBinLower(k);
  }
  return std::nullopt;
}

}  // namespace aw::stats
