#include "daemon/otlp/otlp_types.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace aw::otlp {

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::optional<std::string> Attributes::String(std::string_view key) const {
  const AttrValue* v = Find(key);
  if (!v) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return std::nullopt;
}

std::optional<int64_t> Attributes::Int(std::string_view key) const {
  const AttrValue* v = Find(key);
  if (!v) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(v)) return *i;
  if (const auto* d = std::get_if<double>(v)) {
    // SDKs in languages without integers (JS) send whole numbers as doubles.
    if (std::isfinite(*d) && *d == std::floor(*d) && std::fabs(*d) < 9.0e18) {
      return static_cast<int64_t>(*d);
    }
    return std::nullopt;
  }
  if (const auto* s = std::get_if<std::string>(v)) {
    int64_t out = 0;
    const char* end = s->data() + s->size();
    auto [ptr, ec] = std::from_chars(s->data(), end, out);
    if (ec == std::errc() && ptr == end && !s->empty()) return out;
  }
  return std::nullopt;
}

std::optional<double> Attributes::Double(std::string_view key) const {
  const AttrValue* v = Find(key);
  if (!v) return std::nullopt;
  if (const auto* d = std::get_if<double>(v)) return *d;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  if (const auto* s = std::get_if<std::string>(v)) {
    if (s->empty()) return std::nullopt;
    char* end = nullptr;
    const double d = std::strtod(s->c_str(), &end);
    if (end == s->c_str() + s->size() && std::isfinite(d)) return d;
  }
  return std::nullopt;
}

std::optional<std::string> Attributes::FirstString(std::string_view key) const {
  const AttrValue* v = Find(key);
  if (!v) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* a = std::get_if<std::vector<AttrScalar>>(v)) {
    if (!a->empty()) {
      if (const auto* s = std::get_if<std::string>(&a->front())) return *s;
    }
  }
  return std::nullopt;
}

}  // namespace aw::otlp
