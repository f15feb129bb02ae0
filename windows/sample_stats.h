#pragma once

// Exact statistics of one window's sample: nearest-rank quantiles, the
// mean and max, and Pearson's r. Pure functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {

int QuantilePct(Stat s);  // 50 for kP50 ...; 0 for mean and max

// Nearest rank: the index of the smallest v with at least q% of the n
// samples <= v.
size_t RankIndex(int q, size_t n);

double Sum(const std::vector<double>& v);

// One stat of an unsorted sample; reorders `v`. REQUIRES: !v.empty().
double StatOf(std::vector<double>& v, Stat stat);
// The same stat of the sample `v` joined with `counted` more of small
// integers, `counts[x]` of the value x: exact, in O(|v| log |v| +
// |counts|), without expanding the counts. REQUIRES: !v.empty() || counted > 0.
double StatOf(std::vector<double>& v, const std::vector<int64_t>& counts, int64_t counted,
              Stat stat);

// All six stats of a sample at once, exactly; reorders `v`. Instead of a
// full sort, nth_element for p50, then p90 within the part right of it, and
// so on (ranks ascend): about 2-3 linear passes. REQUIRES: !v.empty().
struct AllStats {
  double mean, p50, p90, p95, p99, max;
  double Get(Stat s) const {
    switch (s) {
      case Stat::kMean:
        return mean;
      case Stat::kP50:
        return p50;
      case Stat::kP90:
        return p90;
      case Stat::kP95:
        return p95;
      case Stat::kP99:
        return p99;
      default:
        return max;
    }
  }
};
AllStats StatsOf(std::vector<double>& v);

// Pearson r, two-pass for accuracy. Null with fewer than 2 pairs or when
// either side is constant (checked exactly with min == max, since a
// floating-point variance of equal values need not come out as 0).
std::optional<double> Pearson(const std::vector<std::pair<double, double>>& p);

}  // namespace aw::windows
