#pragma once

// Exact statistics of one window's sample: nearest-rank quantiles, the
// mean and max, and Pearson's r from mergeable co-moments.

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

// What Pearson's r needs of a sample of pairs (x, y): its size, means and
// co-moments (sums of products of deviations from the means). Two merge
// into those of their samples joined (Chan et al.; exact but for
// rounding), so a window sums the moments of its hours instead of reading
// their pairs.
struct Comoments {
  // Whether every value of one side is the same, and which: exact, unlike a
  // floating-point variance of equal values, which need not come out as 0.
  struct SameValue {
    enum class State : uint8_t { kEmpty, kOne, kMixed } state = State::kEmpty;
    double value = 0;
    static SameValue One(double v) { return {State::kOne, v}; }
    static SameValue Mixed() { return {State::kMixed, 0}; }
    void Merge(const SameValue& o) {
      if (o.state == State::kEmpty || state == State::kMixed) return;
      if (state == State::kEmpty) {
        *this = o;
      } else if (o.state == State::kMixed || o.value != value) {
        *this = Mixed();
      }
    }
  };

  int64_t n = 0;
  double mean_x = 0, mean_y = 0;
  double cxx = 0, cyy = 0, cxy = 0;
  SameValue same_x, same_y;

  void Merge(const Comoments& o);
};

// A sample of pairs added one by one; its moments in two passes (the means
// and extremes with Boost.Accumulators, then the deviations from the means).
class PairSample {
 public:
  void Add(double x, double y) { pairs_.emplace_back(x, y); }
  Comoments Moments() const;
  int64_t size() const { return static_cast<int64_t>(pairs_.size()); }
  void Clear() { pairs_.clear(); }

 private:
  std::vector<std::pair<double, double>> pairs_;
};

// Pearson r. Null with fewer than 2 pairs or when either side is constant.
std::optional<double> Pearson(const Comoments& m);

}  // namespace aw::windows
