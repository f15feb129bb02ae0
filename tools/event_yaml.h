#pragma once

// Helpers shared by the rule test runner and replay (internal to tools/):
// YAML values as JSON for the ingest parser, its options for recorded
// events, and JSON timestamps. Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "daemon/common/clock.h"
#include "daemon/ingest/parser.h"

namespace YAML {
class Node;
}

namespace aw::tools::internal {

// A YAML value as JSON: quoted scalars are strings; plain scalars become
// null, booleans, integers or floats when they read as such.
nlohmann::json YamlToJson(const YAML::Node& node);

// Parse options for recorded events: `now` is the event's own time and no
// age or skew limit applies.
ingest::ParseOptions ReplayParseOptions(TimeMs now_ms);

// A JSON timestamp: RFC 3339 string or Unix seconds. nullopt if neither.
std::optional<TimeMs> JsonTime(const nlohmann::json& j);

}  // namespace aw::tools::internal
