#include "tools/event_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"

namespace aw::tools::internal {
namespace {

nlohmann::json YamlValue(const YAML::Node& node) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (size_t i = 0; i < node.size(); ++i) a.push_back(YamlValue(node[i]));
    return a;
  }
  if (node.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      o[it->first.Scalar()] = YamlValue(it->second);
    }
    return o;
  }
  const std::string s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (!s.empty()) {
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0) return static_cast<int64_t>(i);
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (*end == '\0' && errno == 0 && std::isfinite(d) &&
        s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      return d;
    }
  }
  return s;
}

}  // namespace

std::string YamlToJson(const YAML::Node& node) {
  return YamlValue(node).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ingest::ParseOptions ReplayParseOptions(TimeMs now_ms) {
  ingest::ParseOptions o;
  o.now_ms = now_ms;
  o.max_event_age = Millis(std::numeric_limits<int64_t>::max() / 4);
  o.max_clock_skew = Millis(std::numeric_limits<int64_t>::max() / 4);
  return o;
}

std::optional<TimeMs> JsonTime(std::string_view json_value) {
  const nlohmann::json j = nlohmann::json::parse(json_value, nullptr, /*allow_exceptions=*/false);
  if (j.is_string()) return ParseRfc3339(j.get<std::string>());
  if (j.is_number()) {
    const double s = j.get<double>();
    if (!std::isfinite(s) || std::fabs(s) > 1e13) return std::nullopt;
    return static_cast<TimeMs>(std::llround(s * 1000));
  }
  return std::nullopt;
}

}  // namespace aw::tools::internal
