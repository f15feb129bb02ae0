#pragma once

// Strict number parsing for text that crosses a trust boundary (headers,
// flags): the whole string must be the number, no sign games, no spaces.

#include <charconv>
#include <cstddef>
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

// The byte (from 1) where JSON `text` opens its (max_depth + 1)th level of
// nesting, outside strings, or 0. A DOM parser builds every level it meets:
// a few MiB of "[" cost hundreds of MiB, so callers refuse such text first.
inline size_t JsonTooDeepAt(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return 0;
}

}  // namespace aw
