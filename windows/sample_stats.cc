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

double StatOf(std::vector<double>& v, const std::vector<int64_t>& counts, int64_t counted,
              Stat stat) {
  if (counted == 0) return StatOf(v, stat);
  switch (stat) {
    case Stat::kMean: {
      // Integers below 2^53 add exactly in any order: the same sum as the
      // sample's expanded.
      double sum = Sum(v);
      for (size_t x = 0; x < counts.size(); ++x) {
        sum += static_cast<double>(x) * static_cast<double>(counts[x]);
      }
      return sum / static_cast<double>(v.size() + static_cast<size_t>(counted));
    }
    case Stat::kMax: {
      size_t top = counts.size();
      while (top > 0 && counts[top - 1] == 0) --top;
      const double counted_max = static_cast<double>(top - 1);  // counted > 0: top >= 1
      return v.empty() ? counted_max : std::max(counted_max, *std::max_element(v.begin(), v.end()));
    }
    default: {
      // Walk both in ascending order to the rank: the sorted sample (few:
      // a window's edge records) and the counts.
      std::sort(v.begin(), v.end());
      const size_t n = v.size() + static_cast<size_t>(counted);
      size_t rank = RankIndex(QuantilePct(stat), n);  // 0-based, counts down
      size_t i = 0;
      for (size_t x = 0; x < counts.size(); ++x) {
        const double value = static_cast<double>(x);
        for (; i < v.size() && v[i] < value; ++i) {
          if (rank-- == 0) return v[i];
        }
        if (static_cast<size_t>(counts[x]) > rank) return value;
        rank -= static_cast<size_t>(counts[x]);
      }
      return v[i + rank];
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

void Comoments::Merge(const Comoments& o) {
  if (o.n == 0) return;
  if (n == 0) {
    *this = o;
    return;
  }
  const double total = static_cast<double>(n + o.n);
  const double dx = o.mean_x - mean_x, dy = o.mean_y - mean_y;
  const double weight = static_cast<double>(n) * static_cast<double>(o.n) / total;
  cxx += o.cxx + dx * dx * weight;
  cyy += o.cyy + dy * dy * weight;
  cxy += o.cxy + dx * dy * weight;
  // Equal means move by exactly 0: a constant side stays exactly constant.
  mean_x += dx * static_cast<double>(o.n) / total;
  mean_y += dy * static_cast<double>(o.n) / total;
  n += o.n;
  same_x.Merge(o.same_x);
  same_y.Merge(o.same_y);
}

Comoments PairSample::Moments() const {
  namespace ba = boost::accumulators;
  Comoments m;
  m.n = size();
  if (m.n == 0) return m;
  ba::accumulator_set<double, ba::stats<ba::tag::mean, ba::tag::min, ba::tag::max>> ax, ay;
  for (const auto& [x, y] : pairs_) {
    ax(x);
    ay(y);
  }
  m.mean_x = ba::mean(ax);
  m.mean_y = ba::mean(ay);
  for (const auto& [x, y] : pairs_) {
    m.cxx += (x - m.mean_x) * (x - m.mean_x);
    m.cyy += (y - m.mean_y) * (y - m.mean_y);
    m.cxy += (x - m.mean_x) * (y - m.mean_y);
  }
  const auto same = [](double lo, double hi) {
    return lo == hi ? Comoments::SameValue::One(lo) : Comoments::SameValue::Mixed();
  };
  m.same_x = same(ba::min(ax), ba::max(ax));
  m.same_y = same(ba::min(ay), ba::max(ay));
  return m;
}

std::optional<double> Pearson(const Comoments& m) {
  using State = Comoments::SameValue::State;
  if (m.n < 2 || m.same_x.state != State::kMixed || m.same_y.state != State::kMixed) {
    return std::nullopt;
  }
  if (m.cxx <= 0 || m.cyy <= 0) return std::nullopt;
  return std::clamp(m.cxy / std::sqrt(m.cxx * m.cyy), -1.0, 1.0);
}

}  // namespace aw::windows
