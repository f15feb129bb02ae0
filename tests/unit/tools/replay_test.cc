#include "tools/replay.h"

#include <gtest/gtest.h>

#include <sstream>

#include "rules/rule_loader.h"
#include "tests/testing/temp_dir.h"

namespace aw::tools {
using namespace aw::rules;  // NOLINT
namespace {

RuleSet Rules() {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(R"(groups:
- name: g
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 1h
    threshold: 25
    labels: {severity: page}
  - alert: AgentCostSpike
    sli: cost_usd
    window: 1h
    threshold: 1
    for: 30m
)",
                          "rules.yaml", o);
  EXPECT_TRUE(set.ok()) << set.status().message();
  return *set;
}

// Out of order on purpose. b1 (03:05 as Unix seconds) is priced from the
// pricing table, if one is given.
constexpr const char* kEvents =
    R"({"span": {"investigation_id": "a2", "agent": "ir", "ts": "2026-11-20T03:14:00Z", "tool_calls": 31}}
{"span": {"investigation_id": "a1", "agent": "ir", "ts": "2026-11-20T03:00:00Z", "tool_calls": 10}}

{"feedback": {"investigation_id": "a1", "verdict": "override", "ts": "2026-11-20T03:20:00Z"}}
{"span": {"investigation_id": "b1", "agent": "cb", "ts": 1795143900, "tool_calls": 3, "model": "m", "input_tokens": 1000000}}
)";

TEST(ReplayTest, PrintsTransitionsInEventTime) {
  aw::testing::TempDir dir;
  const std::string events = dir.Write("events.ndjson", kEvents);
  std::ostringstream out, err;
  Pricing pricing = {{"m", ModelPrice{2.0, 0, 0, 0}}};  // b1 costs $2
  ASSERT_EQ(Replay(Rules(), pricing, events, false, Millis(60'000), out, err), 0) << err.str();
  EXPECT_EQ(out.str(),
            "2026-11-20T03:14:00Z firing   AgentToolCallExplosion {agent=\"ir\", "
            "severity=\"page\"} "
            "value=31\n"
            "2026-11-20T03:35:00Z firing   AgentCostSpike {agent=\"cb\"} value=2\n"
            "2026-11-20T04:05:00Z resolved AgentCostSpike {agent=\"cb\"}\n"
            "2026-11-20T04:14:00Z resolved AgentToolCallExplosion {agent=\"ir\", "
            "severity=\"page\"}\n");
  EXPECT_EQ(err.str(), "");
}

TEST(ReplayTest, JsonLines) {
  aw::testing::TempDir dir;
  const std::string events = dir.Write("events.ndjson", kEvents);
  std::ostringstream out, err;
  ASSERT_EQ(Replay(Rules(), {}, events, true, Millis(60'000), out, err), 0) << err.str();
  EXPECT_EQ(
      out.str(),
      R"({"alert":"AgentToolCallExplosion","labels":{"agent":"ir","severity":"page"},"state":"firing","time":"2026-11-20T03:14:00Z","value":31.0})"
      "\n"
      R"({"alert":"AgentToolCallExplosion","labels":{"agent":"ir","severity":"page"},"state":"resolved","time":"2026-11-20T04:14:00Z","value":31.0})"
      "\n");
}

TEST(ReplayTest, CostSpikeFiresAfterFor) {
  aw::testing::TempDir dir;
  const std::string events = dir.Write(
      "events.ndjson",
      R"({"span": {"investigation_id": "c1", "agent": "cb", "ts": "2026-11-20T03:00:00Z", "estimated_cost_usd": 2}})"
      "\n");
  std::ostringstream out, err;
  ASSERT_EQ(Replay(Rules(), {}, events, false, Millis(60'000), out, err), 0) << err.str();
  EXPECT_EQ(out.str(),
            "2026-11-20T03:30:00Z firing   AgentCostSpike {agent=\"cb\"} value=2\n"
            "2026-11-20T04:00:00Z resolved AgentCostSpike {agent=\"cb\"}\n");
}

TEST(ReplayTest, BadLinesAreErrorsWithLineNumbers) {
  aw::testing::TempDir dir;
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{not json", ":2: malformed JSON"},
      {R"({"spam": {}})", ":2: unknown record \"spam\""},
      {R"({"span": {"investigation_id": "x", "agent": "ir"}})", ":2: span.ts: required in replay"},
      {R"({"resolution": {"incident_id": "I"}})", ":2: resolution.resolved_at: required in replay"},
      {R"({"span": {"investigation_id": "x", "agent": "ir", "ts": 1795662300, "tool_calls": -1}})",
       ":2: span: tool_calls"},
      {R"({"span": {}, "feedback": {}})", ":2: expected one of"},
  };
  for (const Case& c : cases) {
    const std::string events = dir.Write(
        "e.ndjson", R"({"span": {"investigation_id": "a", "agent": "ir", "ts": 1795662300}})"
                    "\n" +
                        c.line + "\n");
    std::ostringstream out, err;
    EXPECT_EQ(Replay(Rules(), {}, events, false, Millis(60'000), out, err), 1) << c.line;
    EXPECT_NE(err.str().find(events + c.message), std::string::npos) << err.str();
    EXPECT_EQ(out.str(), "");
  }
  std::ostringstream out, err;
  EXPECT_EQ(Replay(Rules(), {}, dir.File("none.ndjson"), false, Millis(60'000), out, err), 1);
  EXPECT_NE(err.str().find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace aw::tools
