#pragma once

// Pearson r from its definition, for tests to check the engine's against:
// two passes in long double over the pairs as given.

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace aw::testing {

// Null with fewer than 2 pairs or when a side's values are all equal.
inline std::optional<double> ReferencePearson(
    const std::vector<std::pair<long double, long double>>& pairs) {
  if (pairs.size() < 2) return std::nullopt;
  long double mx = 0, my = 0;
  for (const auto& [x, y] : pairs) {
    mx += x;
    my += y;
  }
  mx /= pairs.size();
  my /= pairs.size();
  long double sxx = 0, syy = 0, sxy = 0;
  for (const auto& [x, y] : pairs) {
    sxx += (x - mx) * (x - mx);
    syy += (y - my) * (y - my);
    sxy += (x - mx) * (y - my);
  }
  if (sxx == 0 || syy == 0) return std::nullopt;
  return static_cast<double>(sxy / std::sqrt(sxx * syy));
}

}  // namespace aw::testing
