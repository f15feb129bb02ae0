#pragma once

// A silence as stored and served (CONTRACT.md "Delivery"): Alertmanager's
// shape. Plain data; matching lives in alerting/silences.h.

#include <string>
#include <vector>

#include "daemon/common/clock.h"

namespace aw {

struct SilenceMatcher {
  std::string name;
  std::string value;
  bool is_regex = false;
  bool is_equal = true;  // false: != or !~

  bool operator==(const SilenceMatcher&) const = default;
};

struct Silence {
  std::string id;
  std::vector<SilenceMatcher> matchers;
  TimeMs starts_at_ms = 0;
  TimeMs ends_at_ms = 0;
  std::string created_by;
  std::string comment;
  TimeMs updated_at_ms = 0;

  bool operator==(const Silence&) const = default;
};

// The action_id of the "Silence 1h" button on Slack notifications
// (alerting/payloads.cc); its value is the alert's fingerprint.
inline constexpr const char* kSlackSilenceActionId = "agentwatch_silence_1h";

}  // namespace aw
