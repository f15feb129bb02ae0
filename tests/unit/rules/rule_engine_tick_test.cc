// A tick in parts (EvaluateAgents over chunks of TickAgents(), then
// EvaluateFleet) against one full Evaluate(): two engines over the same
// windows engine, fed the same records, must make the same transitions,
// notifications and store changes, and report the same rule health, at
// every step of a scenario that fires and ends per-agent rules, fleet rules,
// a name shared by both, SLOs and a budget, removes a rule and prunes an
// agent's records while its alert fires.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rules/rule_engine.h"
#include "tests/unit/rules/rule_engine_fixture.h"
#include "windows/window_engine.h"

namespace aw::rules {
namespace {

constexpr const char* kGroups = R"(groups:
- name: agents
  rules:
  - alert: ToolCalls
    sli: tool_calls
    stat: max
    window: 10m
    threshold: 10
    for: 2m
    keep_firing_for: 3m
  - alert: Cost
    sli: cost_usd
    window: 10m
    threshold: 5
- name: fleet
  rules:
  - alert: FleetToolCalls
    sli: tool_calls
    stat: max
    window: 10m
    by: []
    threshold: 30
  - alert: Cost
    sli: cost_usd
    window: 10m
    by: [model]
    threshold: 40
slos:
- name: AgentAccuracy
  sli: override_rate
  objective: 0.99
  by: [agent]
- name: FleetAccuracy
  sli: override_rate
  objective: 0.99
)";

constexpr const char* kBudget = R"(budgets:
- name: Daily
  amount_usd: 100
  period: day
  timezone: UTC
  alert_at: [0.5]
)";

// Without the per-agent rule ToolCalls: its alerts resolve.
std::string WithoutToolCalls() {
  std::string y = kGroups;
  const size_t from = y.find("  - alert: ToolCalls");
  const size_t to = y.find("  - alert: Cost");
  y.erase(from, to - from);
  return y + kBudget;
}

std::string Describe(const AlertEvent& e) {
  std::string s = e.name + (e.resolved ? " resolved" : " active") + " fp=" + e.fingerprint;
  for (const auto& [k, v] : e.labels) s += " " + k + "=" + v;
  for (const auto& [k, v] : e.annotations) s += " @" + k + "=" + v;
  char num[96];
  std::snprintf(num, sizeof num, " v=%.9g since=%lld fired=%lld end=%lld", e.value,
                static_cast<long long>(e.active_since_ms), static_cast<long long>(e.fired_at_ms),
                static_cast<long long>(e.resolved_at_ms));
  return s + num;
}

std::string Describe(const StoredAlert& a) {
  std::string s = a.rule + " fp=" + a.fingerprint + " state=" + AlertStateName(a.state);
  for (const auto& [k, v] : a.labels) s += " " + k + "=" + v;
  char num[128];
  std::snprintf(num, sizeof num, " v=%.9g since=%lld fired=%lld notified=%lld keep=%lld", a.value,
                static_cast<long long>(a.active_since_ms), static_cast<long long>(a.fired_at_ms),
                static_cast<long long>(a.last_notified_ms),
                static_cast<long long>(a.keep_firing_since_ms));
  return s + num;
}

// A step's effects as sorted lines: a tick in parts reaches the same
// effects in another order.
std::vector<std::string> Effects(const std::vector<StepResult>& steps) {
  std::vector<std::string> out;
  for (const StepResult& r : steps) {
    for (const auto& n : r.notifications)
      out.push_back("notify " + n.receiver + " " + Describe(n.event));
    for (const auto& t : r.transitions) {
      out.push_back(std::string("transition ") + TransitionName(t.kind) + " " + Describe(t.event));
    }
    for (const StoredAlert& a : r.upserts) out.push_back("upsert " + Describe(a));
    for (const std::string& fp : r.deleted) out.push_back("delete " + fp);
    for (const BudgetFired& f : r.budget_fired) {
      out.push_back("budget_fired " + f.budget + " " + f.threshold + " " +
                    std::to_string(f.period_start_ms) + " " + std::to_string(f.fired_at_ms));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Health(const RuleEngine& e) {
  std::vector<std::string> out;
  for (const RuleGroupStatus& g : e.RuleGroups()) {
    for (const RuleStatus& r : g.rules) {
      out.push_back(g.name + "/" + r.name + " " + r.type +
                    " at=" + std::to_string(r.last_evaluation_ms) + " error=" + r.last_error);
    }
  }
  return out;
}

class RuleEngineTickTest : public ::testing::Test {
 protected:
  RuleEngineTickTest()
      : full_(Load(std::string(kGroups) + kBudget), DefaultSettings()),
        split_(Load(std::string(kGroups) + kBudget), DefaultSettings()) {}

  void Span(const std::string& agent, TimeMs ts, int64_t tool_calls, double cost,
            const std::string& model = "m1", Verdict verdict = Verdict::kNone) {
    ++seq_;
    aw::Span s;
    s.investigation_id = "i" + std::to_string(seq_);
    s.agent = agent;
    s.ts_ms = ts;
    s.model = model;
    s.tool_calls = tool_calls;
    s.cost_usd = cost;
    windows_.ApplySpan(s, seq_);
    if (verdict != Verdict::kNone) {
      Feedback f;
      f.investigation_id = s.investigation_id;
      f.verdict = verdict;
      f.ts_ms = ts;
      f.agent = agent;
      windows_.ApplyFeedback(f, ++seq_);
    }
  }

  // One tick both ways at `now`; the split one in chunks of `chunk` agents.
  // Returns the split tick's effects after checking they match.
  std::vector<std::string> Tick(TimeMs now, size_t chunk = 2) {
    const std::vector<std::string> expected = Effects({full_.Evaluate(windows_, now)});
    std::vector<StepResult> parts;
    const std::set<std::string> agents = split_.TickAgents(windows_.Agents());
    std::set<std::string> part;
    for (const std::string& a : agents) {
      part.insert(a);
      if (part.size() == chunk) {
        parts.push_back(split_.EvaluateAgents(windows_, now, part));
        part.clear();
      }
    }
    if (!part.empty()) parts.push_back(split_.EvaluateAgents(windows_, now, part));
    parts.push_back(split_.EvaluateFleet(windows_, now));
    const std::vector<std::string> got = Effects(parts);
    EXPECT_EQ(got, expected) << "at +" << (now - kT0) / kMin << "m";
    std::vector<std::string> full_alerts, split_alerts;
    for (const StoredAlert& a : full_.Alerts()) full_alerts.push_back(Describe(a));
    for (const StoredAlert& a : split_.Alerts()) split_alerts.push_back(Describe(a));
    EXPECT_EQ(split_alerts, full_alerts) << "at +" << (now - kT0) / kMin << "m";
    EXPECT_EQ(Health(split_), Health(full_)) << "at +" << (now - kT0) / kMin << "m";
    for (const std::string& line : got) seen_.insert(line.substr(0, line.find(" fp=")));
    return got;
  }

  static bool Has(const std::vector<std::string>& effects, const std::string& prefix) {
    return std::any_of(effects.begin(), effects.end(),
                       [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  }

  windows::WindowEngine windows_{Pricing{}};
  RuleEngine full_;
  RuleEngine split_;
  int64_t seq_ = 0;
  std::set<std::string> seen_;  // "transition firing ToolCalls active", ...
};

TEST_F(RuleEngineTickTest, PartsMatchOneFullEvaluationThroughAScenario) {
  const std::vector<std::string> agents = {"a1", "a2", "a3", "a4", "a5"};
  TimeMs t = kT0;
  // Quiet traffic from every agent.
  for (const std::string& a : agents) Span(a, t, 2, 0.5);
  Tick(t);
  // a2 and a4 breach ToolCalls (for 2m), a3 Cost at once; a5 is overridden
  // on every investigation (AgentAccuracy and FleetAccuracy burn).
  t += kMin;
  Span("a2", t, 15, 0.5);
  Span("a4", t, 12, 0.5);
  Span("a3", t, 2, 6);
  for (int i = 0; i < 12; ++i) Span("a5", t, 1, 0.1, "m1", Verdict::kOverride);
  Tick(t);
  for (int i = 0; i < 3; ++i) {
    t += kMin;
    Span("a1", t, 2, 0.5);
    Tick(t, 1 + i);  // chunk sizes vary: the result must not depend on them
  }
  // The fleet goes over 30 tool calls and model m2 over 40 USD (Cost shares
  // its name between the per-agent and the fleet group); the budget passes
  // 75 USD.
  t += kMin;
  Span("a1", t, 35, 1, "m2");
  Span("a2", t, 1, 45, "m2");
  Tick(t);
  // The windows (10m) move past it all; a4's ToolCalls keeps firing for 3m.
  for (int i = 0; i < 12; ++i) {
    t += kMin;
    Span("a1", t, 2, 0.2);
    Tick(t);
  }
  // a2 breaches again, then ToolCalls is removed: its alert resolves.
  Span("a2", t, 20, 0.1);
  for (int i = 0; i < 3; ++i) {
    t += kMin;
    Tick(t);
  }
  full_.Replace(Load(WithoutToolCalls()));
  split_.Replace(Load(WithoutToolCalls()));
  t += kMin;
  const std::vector<std::string> removed = Tick(t);
  EXPECT_TRUE(Has(removed, "transition resolved ToolCalls resolved"))
      << ::testing::PrintToString(removed);

  for (const char* kind :
       {"transition pending ToolCalls", "transition firing ToolCalls", "transition firing Cost",
        "transition resolved Cost", "transition firing FleetToolCalls",
        "transition resolved FleetToolCalls", "transition firing AgentAccuracy",
        "transition resolved AgentAccuracy", "transition firing FleetAccuracy",
        "transition resolved FleetAccuracy", "transition firing Daily", "budget_fired Daily"}) {
    EXPECT_TRUE(std::any_of(seen_.begin(), seen_.end(),
                            [&](const std::string& s) { return s.rfind(kind, 0) == 0; }))
        << "the scenario never made " << kind;
  }
}

TEST_F(RuleEngineTickTest, AlertOfAnAgentWhoseRecordsWerePrunedEnds) {
  // Only per-agent rules: the agent chunks alone can end the alert.
  const std::string yaml = R"(groups:
- name: agents
  rules:
  - alert: Cost
    sli: cost_usd
    window: 10m
    threshold: 5
)";
  full_.Replace(Load(yaml));
  split_.Replace(Load(yaml));
  Span("a1", kT0, 2, 0.5);
  Span("gone", kT0, 2, 9);  // Cost fires for "gone" at once
  const std::vector<std::string> fired = Tick(kT0);
  ASSERT_TRUE(Has(fired, "transition firing Cost active")) << ::testing::PrintToString(fired);
  // Retention drops every record of "gone" while its alert fires: the
  // windows engine no longer lists it, so only the alert names it.
  windows_.PruneBefore(kT0 + 1);
  Span("a1", kT0 + kMin, 2, 0.5);
  const std::vector<std::string> agents = windows_.Agents();
  ASSERT_EQ(std::count(agents.begin(), agents.end(), "gone"), 0);
  EXPECT_EQ(split_.TickAgents(agents).count("gone"), 1u);
  const std::vector<std::string> ended = Tick(kT0 + kMin);
  EXPECT_TRUE(Has(ended, "transition resolved Cost resolved")) << ::testing::PrintToString(ended);
  EXPECT_TRUE(split_.Alerts().empty());
}

TEST_F(RuleEngineTickTest, ChunkErrorsStandInTheTicksHealth) {
  // Two rules of one name whose labels collide for agent a1 only: the error
  // comes from a1's chunk, and a later chunk without it must not clear it.
  const std::string yaml = R"(groups:
- name: g
  rules:
  - alert: Same
    sli: cost_usd
    window: 10m
    threshold: 1
- name: h
  rules:
  - alert: Same
    sli: cost_usd
    window: 10m
    where: {agent: a1}
    threshold: 1
)";
  full_.Replace(Load(yaml));
  split_.Replace(Load(yaml));
  Span("a1", kT0, 1, 5);
  Span("a2", kT0, 1, 5);
  Tick(kT0, 1);
  bool error = false;
  for (const RuleGroupStatus& g : split_.RuleGroups()) {
    for (const RuleStatus& r : g.rules) error |= !r.last_error.empty();
  }
  EXPECT_TRUE(error) << ::testing::PrintToString(Health(split_));
}

TEST_F(RuleEngineTickTest, WithoutAgentsTheFleetPassStillSetsEveryRulesHealth) {
  // No records at all: no agent chunk runs, yet every rule was evaluated.
  Tick(kT0);
  for (const RuleGroupStatus& g : split_.RuleGroups()) {
    for (const RuleStatus& r : g.rules) EXPECT_EQ(r.last_evaluation_ms, kT0) << r.name;
  }
}

}  // namespace
}  // namespace aw::rules
