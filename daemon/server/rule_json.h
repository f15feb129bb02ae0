#pragma once

// The JSON of GET /api/v1/rules, /api/v1/alerts and /api/v1/silences (CONTRACT.md
// "HTTP API"), built from the plain structs the rule engine reports.
// Pure functions; no state.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/alert_store.h"
#include "daemon/common/silence.h"
#include "rules/rule_engine.h"

namespace aw::server {

// {"name", "file", "rules": [...]} per group; each rule has name, type,
// health ("ok" | "error"), last_error and last_evaluation (RFC 3339, ""
// before the first), and a budget also amount_usd, period and timezone.
nlohmann::json RuleGroupsToJson(const std::vector<rules::RuleGroupStatus>& groups);

// One pending or firing alert: name, labels, annotations, state, value (a
// non-finite value as its text), active_since, fingerprint, acknowledged.
nlohmann::json AlertToJson(const StoredAlert& alert);

// One GET /api/v1/silences entry for `s`, its status as of `now`.
nlohmann::json SilenceToJson(const Silence& s, TimeMs now);

}  // namespace aw::server
