#pragma once

// Hints for error messages: the closest valid name to a typo, and the
// duration spelling a word-form window ("10 minutes") most likely meant.
// Header-only so the config and rule loaders share it without a new link.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace aw {

// Levenshtein distance, case-insensitive (a typo in case is still a typo).
inline size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The valid name closest to `got`, or "" when none is close enough to be a
// plausible typo (at most a third of the name's letters differ, minimum 1;
// a name that contains `got`, or is contained in it, also counts).
inline std::string ClosestName(const std::string& got, const std::vector<std::string>& valid) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& v : valid) {
    size_t d = EditDistance(got, v);
    const size_t limit = std::max<size_t>(1, std::max(got.size(), v.size()) / 3);
    const bool contains =
        got.size() >= 3 && (v.find(got) != std::string::npos || got.find(v) != std::string::npos);
    if (d > limit && !contains) continue;
    if (contains && d > limit) d = limit;  // rank a containment like a close typo
    if (d < best_distance) {
      best = v;
      best_distance = d;
    }
  }
  return best;
}

inline std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// " (did you mean \"x\"? valid: a, b, c)" or " (valid: a, b, c)".
inline std::string DidYouMean(const std::string& got, const std::vector<std::string>& valid) {
  const std::string best = ClosestName(got, valid);
  std::string out = " (";
  if (!best.empty()) out += "did you mean \"" + best + "\"? ";
  if (valid.empty()) return best.empty() ? "" : out.substr(0, out.size() - 1) + ")";
  return out + "valid: " + JoinNames(valid) + ")";
}

// "10 minutes" -> "10m", "2 hours" -> "2h", "1 week" -> "7d"; "" when
// `text` is not a number followed by a time unit word.
inline std::string SuggestDuration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  const size_t start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == start || i - start > 9) return "";
  const long long n = std::stoll(text.substr(start, i - start));
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit;
  for (; i < text.size(); ++i)
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  while (!unit.empty() && unit.back() == ' ') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 's' && unit != "ms") unit.pop_back();
  struct Unit {
    const char* word;
    const char* suffix;
    long long mul;
  };
  static const Unit kUnits[] = {
      {"millisecond", "ms", 1},
      {"msec", "ms", 1},
      {"second", "s", 1},
      {"sec", "s", 1},
      {"minute", "m", 1},
      {"min", "m", 1},
      {"mn", "m", 1},
      {"hour", "h", 1},
      {"hr", "h", 1},
      {"day", "d", 1},
      {"week", "d", 7},
      {"wk", "d", 7},
      {"w", "d", 7},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.word) return std::to_string(n * u.mul) + u.suffix;
  }
  return "";
}

}  // namespace aw
