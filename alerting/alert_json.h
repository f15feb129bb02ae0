#pragma once

// The outbox payload format: an AlertEvent as JSON. Field names are the
// AlertEvent member names; times are Unix milliseconds. Owns only the
// format: what is written is read back field for field. Pure functions;
// thread-safe.
//
//   {"name":"low_accuracy","labels":{"agent":"ir"},"annotations":{},
//    "resolved":false,"value":0.31,"threshold":0.2,"op":">",
//    "sli":"override_rate","stat":"","window":"1h",
//    "active_since_ms":..., "fired_at_ms":..., "resolved_at_ms":0,
//    "fingerprint":"9f2c..."}

#include <string>

#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace aw::alerting {

// The payload text. A non-finite `value` or `threshold` is written as null;
// invalid UTF-8 in a label is replaced (U+FFFD), so this never throws.
std::string AlertEventToJson(const AlertEvent& event);

// Parses what AlertEventToJson wrote. Missing fields keep their defaults
// (null numbers read as NaN); `name` is required. Returns InvalidArgument
// naming the field on malformed input. Never throws.
Result<AlertEvent> AlertEventFromJson(const std::string& text);

}  // namespace aw::alerting
