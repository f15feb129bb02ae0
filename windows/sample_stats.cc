#include "windows/sample_stats.h"

#include <algorithm>
#include <cmath>

#include <boost/accumulators/accumulators.hpp>
#include <boost/accumulators/statistics/max.hpp>
#include <boost/accumulators/statistics/mean.hpp>
#include <boost/accumulators/statistics/min.hpp>
#include <boost/accumulators/statistics/stats.hpp>

namespace aw::windows {

int QuantilePct(Stat s) {
  switch (s) {
    case Stat::kP50:
      return 50;
    case Stat::kP90:
      return 90;
    case Stat::kP95:
      return 95;
    case Stat::kP99:
      return 99;
    default:
      return 0;
  }
}

size_t RankIndex(int q, size_t n) {
  const size_t rank = (static_cast<size_t>(q) * n + 99) / 100;
  return rank == 0 ? 0 : rank - 1;
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double StatOf(std::vector<double>& v, Stat stat) {
  switch (stat) {
    case Stat::kMean:
      return Sum(v) / static_cast<double>(v.size());
    case Stat::kMax:
      return *std::max_element(v.begin(), v.end());
    default: {
      auto nth = v.begin() + static_cast<ptrdiff_t>(RankIndex(QuantilePct(stat), v.size()));
      std::nth_element(v.begin(), nth, v.end());
      return *nth;
    }
  }
}

AllStats StatsOf(std::vector<double>& v) {
  AllStats s{};
  s.mean = Sum(v) / static_cast<double>(v.size());
  double* out[] = {&s.p50, &s.p90, &s.p95, &s.p99};
  const int pct[] = {50, 90, 95, 99};
  auto from = v.begin();
  for (int k = 0; k < 4; ++k) {
    auto nth = v.begin() + static_cast<ptrdiff_t>(RankIndex(pct[k], v.size()));
    std::nth_element(from, nth, v.end());
    *out[k] = *nth;
    from = nth;  // later ranks are >= this one: everything they need is right of it
  }
  s.max = *std::max_element(from, v.end());
  return s;
}

std::optional<double> Pearson(const std::vector<std::pair<double, double>>& p) {
  namespace ba = boost::accumulators;
  if (p.size() < 2) return std::nullopt;
  ba::accumulator_set<double, ba::stats<ba::tag::mean, ba::tag::min, ba::tag::max>> ax, ay;
  for (const auto& [x, y] : p) {
    ax(x);
    ay(y);
  }
  if (ba::min(ax) == ba::max(ax) || ba::min(ay) == ba::max(ay)) return std::nullopt;
  const double mx = ba::mean(ax), my = ba::mean(ay);
  double sxy = 0, sxx = 0, syy = 0;
  for (const auto& [x, y] : p) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
    syy += (y - my) * (y - my);
  }
  if (sxx <= 0 || syy <= 0) return std::nullopt;
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

}  // namespace aw::windows
