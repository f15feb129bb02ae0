#pragma once

// `agentwatch test FILE...`: rule unit tests (CONTRACT.md "Rule tests").
//
//   rule_files: [../rules/agents.yaml]   # relative to this file; globs ok
//   evaluation_interval: 1m              # default 1m
//   tests:
//   - name: tool calls explode            # optional
//     start: 2026-11-20T00:00:00Z   # optional; default 2026-01-01T00:00:00Z
//     events:                       # `at` is relative to start
//     - {at: 0m, span: {investigation_id: a1, agent: ir, tool_calls: 40}}
//     - {at: 1m, feedback: {investigation_id: a1, verdict: override}}
//     - {at: 2m, resolution: {investigation_id: a1, time_to_resolve_s: 60}}
//     expect:
//     - {at: 5m, alert: AgentToolCallExplosion, labels: {agent: ir},
//        state: firing}
//
// A record's own time (span/feedback `ts`, resolution `resolved_at`)
// defaults to start + at. Each test runs a fresh windows engine and rule
// engine, evaluating at every event time and every evaluation_interval from
// start up to the last expectation. An expectation's `labels` select the
// alerts of that name whose labels include them (alertname and rule labels
// need not be listed): `firing`/`pending` hold if one of them is in that
// state, `inactive` if none is pending or firing. Naming an alert that no
// rule or SLO defines is an error, so a typo cannot pass as "inactive".
// Each test owns fresh engines; nothing is stored or sent. One call per
// thread.

#include <ostream>
#include <string>
#include <vector>

namespace aw::tools {

// Runs every file, printing a PASS/FAIL line per file and, for each failed
// expectation, what was expected and what the alerts were instead. Returns
// 0 when all expectations hold, 1 otherwise (also for unreadable or invalid
// test or rule files, reported as FILE:LINE: message).
int RunRuleTests(const std::vector<std::string>& files, std::ostream& out);

}  // namespace aw::tools
