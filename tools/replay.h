#pragma once

// `agentwatch replay`: runs the rules over recorded events in event time
// and prints each alert transition (CONTRACT.md "Replay"):
//
//   2026-11-20T03:14:00Z firing   AgentToolCallExplosion {agent="ir"} value=31
//   2026-11-20T05:02:00Z resolved AgentToolCallExplosion {agent="ir"}
//
// EVENTS holds one JSON object a line, in any order: {"span": {...}},
// {"feedback": {...}} or {"resolution": {...}}, each with its own time
// (span/feedback `ts`, resolution `resolved_at`; required here). Records
// are applied in event time (ties in file order) and the rules are
// evaluated at every event time and every evaluation_interval from the
// first event, and on past the last event for as long as an alert could
// still change (the longest time window, `for` and keep_firing_for, 3d
// with SLOs). Labels print sorted, without alertname. Nothing is sent.
// Owns its own windows and rule engines per run; touches no store or
// network. One call per thread.

#include <ostream>
#include <string>

#include "daemon/common/types.h"
#include "rules/rule.h"

namespace aw::tools {

// json: print {"time","state","alert","labels","value"} lines instead.
// Returns 0, or 1 with "EVENTS:LINE: message" on `err` for an unreadable
// file or a bad line (nothing is printed on `out` then).
int Replay(const rules::RuleSet& rules, const Pricing& pricing, const std::string& events_path,
           bool json, Millis evaluation_interval, std::ostream& out, std::ostream& err);

}  // namespace aw::tools
