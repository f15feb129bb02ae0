#pragma once

// Strict number parsing for text that crosses a trust boundary (headers,
// flags): the whole string must be the number, no sign games, no spaces.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace aw {

// A base-10 integer spanning all of `text` ("-" allowed); nullopt otherwise,
// including on overflow.
inline std::optional<int64_t> ParseWholeInt(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace aw
