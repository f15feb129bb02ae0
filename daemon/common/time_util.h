#pragma once

#include <optional>
#include <string>

#include "daemon/common/clock.h"

namespace aw {

// Prometheus-style durations: "0", "500ms", "15s", "5m", "4h", "7d", "2w",
// and sums such as "1h30m". nullopt when malformed or negative.
std::optional<Millis> ParseDuration(const std::string& text);

// Renders the shortest Prometheus-style form: 90000 -> "1m30s", 0 -> "0s".
std::string FormatDuration(Millis d);

// RFC 3339 ("2026-11-25T16:00:00Z", fractions and offsets allowed).
// nullopt for a date that is not on the calendar (2025-02-29, 04-31). A leap
// second (23:59:60, fraction ignored) reads as 23:59:59.999 of that day.
std::optional<TimeMs> ParseRfc3339(const std::string& text);

// "2026-11-25T16:00:00Z", with ".123" only when there are milliseconds.
std::string FormatRfc3339(TimeMs t);

}  // namespace aw
