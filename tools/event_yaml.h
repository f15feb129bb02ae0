#pragma once

// Helpers shared by the rule test runner and replay (internal to tools/):
// YAML values as JSON for the ingest parser, its options for recorded
// events, and JSON timestamps. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "daemon/common/clock.h"
#include "daemon/ingest/parser.h"

namespace YAML {
class Node;
}

namespace aw::tools::internal {

// A YAML value as JSON text: quoted scalars are strings; plain scalars
// become null, booleans, integers or floats when they read as such.
std::string YamlToJson(const YAML::Node& node);

// Parse options for recorded events: `now` is the event's own time and no
// age or skew limit applies.
ingest::ParseOptions ReplayParseOptions(TimeMs now_ms);

// A JSON timestamp (the text of one JSON value): RFC 3339 string or Unix
// seconds. nullopt if neither.
std::optional<TimeMs> JsonTime(std::string_view json_value);

}  // namespace aw::tools::internal
