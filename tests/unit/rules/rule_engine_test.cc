#include "rules/rule_engine.h"

#include <gtest/gtest.h>

#include "daemon/common/time_util.h"
#include "rules/rule_loader.h"
#include "tests/unit/rules/rule_engine_fixture.h"

namespace aw::rules {
namespace {

TEST_F(RuleEngineTest, PendingThenFiringAfterFor) {
  Make(ToolCallsRule("    for: 5m\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10), V("cost", 10, 10)});

  StepResult r = Eval(kT0);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"pending"});
  EXPECT_TRUE(r.notifications.empty());
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].state, AlertState::kPending);
  EXPECT_EQ(r.upserts[0].active_since_ms, kT0);
  EXPECT_EQ(r.upserts[0].rule, "AgentToolCallExplosion");

  r = Eval(kT0 + 5 * kMin - 1);
  EXPECT_TRUE(r.transitions.empty());
  EXPECT_TRUE(r.empty());  // nothing but the value changed

  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 33, 11)});
  r = Eval(kT0 + 5 * kMin);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"firing"});
  ASSERT_EQ(r.notifications.size(), 1u);
  const auto& n = r.notifications[0];
  EXPECT_EQ(n.receiver, "slack");
  const AlertEvent& e = n.event;
  EXPECT_EQ(e.name, "AgentToolCallExplosion");
  EXPECT_EQ(
      e.labels,
      (Labels{{"agent", "ir"}, {"alertname", "AgentToolCallExplosion"}, {"severity", "page"}}));
  EXPECT_EQ(e.annotations, (Labels{{"summary", "ir p95 tool calls 33"}}));
  EXPECT_FALSE(e.resolved);
  EXPECT_EQ(e.value, 33);
  EXPECT_EQ(e.threshold, 25);
  EXPECT_EQ(e.op, ">");
  EXPECT_EQ(e.sli, "tool_calls");
  EXPECT_EQ(e.stat, "p95");
  EXPECT_EQ(e.window, "24h");
  EXPECT_EQ(e.active_since_ms, kT0);
  EXPECT_EQ(e.fired_at_ms, kT0 + 5 * kMin);
  EXPECT_EQ(e.fingerprint,
            Fingerprint("AgentToolCallExplosion", {{"agent", "ir"}, {"severity", "page"}}));
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].state, AlertState::kFiring);
  EXPECT_EQ(r.upserts[0].last_notified_ms, kT0 + 5 * kMin);
  EXPECT_EQ(r.upserts[0].fired_at_ms, kT0 + 5 * kMin);
}

TEST_F(RuleEngineTest, ForZeroFiresOnFirstEvaluation) {
  Make(ToolCallsRule(""));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  StepResult r = Eval(kT0);
  EXPECT_EQ(Kinds(r), (std::vector<std::string>{"pending", "firing"}));
  EXPECT_EQ(r.notifications.size(), 1u);
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].state, AlertState::kFiring);
}

TEST_F(RuleEngineTest, OperatorsCompareAgainstThreshold) {
  for (const auto& [op, value, fires] : std::vector<std::tuple<std::string, double, bool>>{
           {">", 25, false}, {">=", 25, true}, {"<", 24.9, true}, {"<=", 25.1, false}}) {
    Make(ToolCallsRule("    op: \"" + op + "\"\n"));
    windows_.Set(Sli::kToolCalls, "24h", {V("ir", value, 10)});
    EXPECT_EQ(Eval(kT0).notifications.size(), fires ? 1u : 0u) << op << " " << value;
  }
}

TEST_F(RuleEngineTest, PendingThatClearsIsDeletedSilently) {
  Make(ToolCallsRule("    for: 10m\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  StepResult r = Eval(kT0);
  const std::string fp = r.upserts.at(0).fingerprint;
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 20, 10)});
  r = Eval(kT0 + kMin);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"cleared"});
  EXPECT_TRUE(r.notifications.empty());
  EXPECT_EQ(r.deleted, std::vector<std::string>{fp});
  // Coming back restarts the `for` timer.
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  r = Eval(kT0 + 2 * kMin);
  EXPECT_EQ(r.upserts.at(0).active_since_ms, kT0 + 2 * kMin);
  EXPECT_TRUE(Eval(kT0 + 11 * kMin).notifications.empty());
  EXPECT_EQ(Eval(kT0 + 12 * kMin).notifications.size(), 1u);
}

TEST_F(RuleEngineTest, MinSamplesAndNullValuesFireNothing) {
  Make(ToolCallsRule(""));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 40, 2), V("cost", std::nullopt, 0)});
  StepResult r = Eval(kT0);
  EXPECT_TRUE(r.transitions.empty());
  EXPECT_TRUE(r.empty());
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 40, 3)});
  EXPECT_EQ(Eval(kT0 + kMin).notifications.size(), 1u);
  // Dropping below min_samples is "no value": the alert resolves.
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 40, 2)});
  r = Eval(kT0 + 2 * kMin);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"resolved"});
}

TEST_F(RuleEngineTest, ResolveCarriesTheValueThatEndedTheAlert) {
  Make(ToolCallsRule("    receivers: [pd]\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 41, 10)});
  ASSERT_EQ(Eval(kT0).notifications.size(), 1u);
  // Back under the threshold: the resolve says 7, not the 41 that fired.
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 7, 10)});
  StepResult r = Eval(kT0 + kMin);
  ASSERT_EQ(Kinds(r), std::vector<std::string>{"resolved"});
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
  EXPECT_EQ(r.notifications[0].event.value, 7);
  EXPECT_EQ(r.notifications[0].event.annotations.at("summary"), "ir p95 tool calls 7");
  // With no value at all (the window emptied), the last known value stays.
  Make(ToolCallsRule("    receivers: [pd]\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 41, 10)});
  ASSERT_EQ(Eval(kT0 + 2 * kMin).notifications.size(), 1u);
  windows_.Clear();
  r = Eval(kT0 + 3 * kMin);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].event.value, 41);
}

TEST_F(RuleEngineTest, RepeatsEveryRepeatIntervalAndResolvesOnce) {
  Make(ToolCallsRule("    receivers: [pd, slack]\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  EXPECT_EQ(Eval(kT0).notifications.size(), 2u);
  EXPECT_TRUE(Eval(kT0 + 4 * kHour - 1).notifications.empty());
  StepResult r = Eval(kT0 + 4 * kHour);
  ASSERT_EQ(r.notifications.size(), 2u);
  EXPECT_EQ(r.notifications[0].receiver, "pd");
  EXPECT_EQ(r.notifications[1].receiver, "slack");
  EXPECT_FALSE(r.notifications[0].event.resolved);
  EXPECT_TRUE(r.transitions.empty());  // a re-send is not a transition
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].last_notified_ms, kT0 + 4 * kHour);
  EXPECT_TRUE(Eval(kT0 + 8 * kHour - 1).notifications.empty());
  EXPECT_EQ(Eval(kT0 + 8 * kHour).notifications.size(), 2u);

  windows_.Clear();
  r = Eval(kT0 + 9 * kHour);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"resolved"});
  ASSERT_EQ(r.notifications.size(), 2u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
  EXPECT_EQ(r.notifications[0].event.resolved_at_ms, kT0 + 9 * kHour);
  EXPECT_EQ(r.notifications[0].event.fired_at_ms, kT0);
  EXPECT_EQ(r.deleted.size(), 1u);
  EXPECT_TRUE(Eval(kT0 + 10 * kHour).empty());
  EXPECT_TRUE(engine_->Alerts().empty());
}

TEST_F(RuleEngineTest, RepeatIntervalZeroNeverResends) {
  Settings s = DefaultSettings();
  s.repeat_interval = Millis(0);
  Make(ToolCallsRule(""), s);
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  EXPECT_EQ(Eval(kT0).notifications.size(), 1u);
  EXPECT_TRUE(Eval(kT0 + 100 * kHour).notifications.empty());
}

TEST_F(RuleEngineTest, KeepFiringFor) {
  Make(ToolCallsRule("    keep_firing_for: 10m\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  EXPECT_EQ(Eval(kT0).notifications.size(), 1u);
  windows_.Clear();
  StepResult r = Eval(kT0 + kMin);
  EXPECT_TRUE(r.transitions.empty());
  EXPECT_TRUE(r.notifications.empty());
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].keep_firing_since_ms, kT0 + kMin);
  EXPECT_EQ(r.upserts[0].state, AlertState::kFiring);
  EXPECT_TRUE(Eval(kT0 + 10 * kMin).transitions.empty());
  // It reappears: the keep_firing_for clock resets.
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  r = Eval(kT0 + 10 * kMin + 1);
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_EQ(r.upserts[0].keep_firing_since_ms, 0);
  windows_.Clear();
  EXPECT_TRUE(Eval(kT0 + 12 * kMin).transitions.empty());
  EXPECT_TRUE(Eval(kT0 + 22 * kMin - 1).transitions.empty());
  r = Eval(kT0 + 22 * kMin);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"resolved"});
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
}

TEST_F(RuleEngineTest, RestoreKeepsPendingStartAndDoesNotReannounceFiring) {
  Make(ToolCallsRule("    for: 10m\n"));
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  std::vector<StoredAlert> stored = Eval(kT0).upserts;  // ir pending since kT0
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10), V("cost", 40, 10)});
  for (const StoredAlert& a : Eval(kT0 + 10 * kMin).upserts) {  // ir fires, cost pending
    std::erase_if(stored, [&](const StoredAlert& s) { return s.fingerprint == a.fingerprint; });
    stored.push_back(a);
  }
  ASSERT_EQ(stored.size(), 2u);

  // "Restart": a new engine from the stored state.
  Make(ToolCallsRule("    for: 10m\n"));
  engine_->Restore(stored);
  ASSERT_EQ(engine_->Alerts().size(), 2u);
  StepResult r = Eval(kT0 + 15 * kMin);
  EXPECT_TRUE(r.notifications.empty()) << "firing ir re-announced";
  EXPECT_TRUE(r.transitions.empty());
  r = Eval(kT0 + 20 * kMin);  // cost: pending since kT0+10m, so fires now
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].event.labels.at("agent"), "cost");
  EXPECT_EQ(r.notifications[0].event.active_since_ms, kT0 + 10 * kMin);
  r = Eval(kT0 + 10 * kMin + 4 * kHour);  // ir's repeat continues from before
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].event.labels.at("agent"), "ir");
  EXPECT_EQ(r.notifications[0].event.threshold, 25);  // meta from the rule

  // A restored firing alert whose condition is gone resolves, with a notice.
  windows_.Clear();
  r = Eval(kT0 + 5 * kHour);
  EXPECT_EQ(r.notifications.size(), 2u);
  EXPECT_EQ(r.deleted.size(), 2u);
}

TEST_F(RuleEngineTest, RestoredAlertOfUnknownRuleResolves) {
  Make(ToolCallsRule(""));
  StoredAlert a;
  a.fingerprint = Fingerprint("Gone", {{"agent", "ir"}});
  a.rule = "Gone";
  a.labels = {{"agent", "ir"}, {"alertname", "Gone"}};
  a.state = AlertState::kFiring;
  a.active_since_ms = a.fired_at_ms = a.last_notified_ms = kT0;
  engine_->Restore({a});
  StepResult r = Eval(kT0 + kMin);
  EXPECT_EQ(Kinds(r), std::vector<std::string>{"resolved"});
  ASSERT_EQ(r.notifications.size(), 1u);  // to the default receivers
  EXPECT_EQ(r.notifications[0].receiver, "slack");
  EXPECT_EQ(r.deleted, std::vector<std::string>{a.fingerprint});
}

TEST_F(RuleEngineTest, ReplaceKeepsStateAndResolvesRemovedRules) {
  const std::string two = ToolCallsRule("    for: 10m\n") + R"(  - alert: AgentCostSpike
    sli: cost_usd
    window: 1d
    threshold: 50
    receivers: [pd]
)";
  Make(two);
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  windows_.Set(Sli::kCostUsd, "1d", {V("ir", 80, 10)});
  StepResult r = Eval(kT0);
  ASSERT_EQ(r.notifications.size(), 1u);  // cost fires, tool calls pending

  // Reload: tool calls stays (with a new label), cost is removed.
  engine_->Replace(Load(ToolCallsRule("    for: 10m\n    receivers: [pd2]\n")));
  r = Eval(kT0 + 10 * kMin);
  ASSERT_EQ(r.notifications.size(), 2u);
  std::map<std::string, AlertEvent> by_receiver;
  for (const auto& n : r.notifications) by_receiver[n.receiver] = n.event;
  ASSERT_TRUE(by_receiver.count("pd"));
  EXPECT_EQ(by_receiver["pd"].name, "AgentCostSpike");
  EXPECT_TRUE(by_receiver["pd"].resolved);
  ASSERT_TRUE(by_receiver.count("pd2"));  // pending timer survived the reload
  EXPECT_EQ(by_receiver["pd2"].name, "AgentToolCallExplosion");
  EXPECT_EQ(by_receiver["pd2"].active_since_ms, kT0);
}

TEST_F(RuleEngineTest, CompareFiresOnRatio) {
  Make(R"(groups:
- name: g
  rules:
  - alert: Drift
    sli: tool_calls
    stat: p95
    window: 24h
    min_samples: 2
    compare: {offset: 7d, ratio_above: 1.5}
  - alert: Drop
    sli: investigations
    window: 1h
    compare: {offset: 1d, ratio_below: 0.5}
)");
  const Millis week(7 * 24 * kHour), day(24 * kHour);
  windows_.Set(Sli::kToolCalls, "24h",
               {V("a", 30, 5), V("b", 30, 5), V("c", 30, 5), V("d", 30, 5), V("e", 30, 1)});
  windows_.Set(Sli::kToolCalls, "24h",
               {V("a", 15, 5), V("b", 25, 5), V("c", 0, 5), V("d", std::nullopt, 0), V("e", 10, 5)},
               week);
  windows_.Set(Sli::kInvestigations, "1h", {V("a", 4, 4), V("b", 6, 6)});
  windows_.Set(Sli::kInvestigations, "1h", {V("a", 10, 10), V("b", 10, 10)}, day);
  StepResult r = Eval(kT0);
  ASSERT_EQ(r.notifications.size(), 2u);
  std::map<std::string, AlertEvent> fired;
  for (const auto& n : r.notifications) fired[n.event.name] = n.event;
  EXPECT_EQ(fired["Drift"].labels.at("agent"), "a");  // 30/15 = 2 > 1.5
  EXPECT_EQ(fired["Drift"].value, 2);
  EXPECT_EQ(fired["Drift"].threshold, 1.5);
  EXPECT_EQ(fired["Drop"].labels.at("agent"), "a");  // 4/10 < 0.5; b: 0.6
  EXPECT_EQ(fired["Drop"].value, 0.4);
  EXPECT_EQ(fired["Drop"].op, "<");
  // The earlier window was asked with the offset.
  bool offset_seen = false;
  for (const SliQuery& q : windows_.calls) offset_seen |= q.offset == week;
  EXPECT_TRUE(offset_seen);
}

TEST_F(RuleEngineTest, OnlyAgentsLeavesOtherAgentsAndFleetRulesAlone) {
  Make(ToolCallsRule("") + R"(  - alert: FleetCost
    sli: cost_usd
    window: 1d
    by: []
    threshold: 50
)");
  windows_.Set(Sli::kToolCalls, "24h", {V("a", 31, 10), V("b", 31, 10)});
  windows_.Set(Sli::kCostUsd, "1d", {V("", 80, 10)});
  EXPECT_EQ(Eval(kT0).notifications.size(), 3u);

  windows_.Clear();  // everything cleared, but only agent a was touched
  windows_.calls.clear();
  const std::set<std::string> only = {"a"};
  StepResult r = Eval(kT0 + kMin, &only);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
  EXPECT_EQ(r.notifications[0].event.name, "AgentToolCallExplosion");
  EXPECT_EQ(r.notifications[0].event.labels.at("agent"), "a");
  for (const SliQuery& q : windows_.calls) {
    EXPECT_EQ(q.sli, Sli::kToolCalls) << "a fleet-wide rule was evaluated on ingest";
    EXPECT_EQ(q.only_agent, "a");
  }
  EXPECT_EQ(engine_->Alerts().size(), 2u);  // b and the fleet alert still firing
  r = Eval(kT0 + 2 * kMin);                 // a full evaluation resolves them
  std::set<std::string> resolved;
  for (const auto& n : r.notifications) {
    EXPECT_TRUE(n.event.resolved);
    auto agent = n.event.labels.find("agent");
    resolved.insert(n.event.name + "/" + (agent == n.event.labels.end() ? "" : agent->second));
  }
  EXPECT_EQ(resolved, (std::set<std::string>{"AgentToolCallExplosion/b", "FleetCost/"}));
}

TEST_F(RuleEngineTest, TemplatedLabelsAreIdentityAndDuplicatesAreErrors) {
  Make(R"(groups:
- name: g1
  rules:
  - alert: Cost
    sli: cost_usd
    window: 1d
    threshold: 50
    labels: {who: "{{ $labels.agent | toUpper }}"}
- name: g2
  rules:
  - alert: Cost
    sli: cost_usd
    window: 1d
    threshold: 60
    labels: {who: "{{ $labels.agent | toUpper }}"}
)");
  windows_.Set(Sli::kCostUsd, "1d", {V("ir", 80, 10)});
  StepResult r = Eval(kT0);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].event.labels.at("who"), "IR");
  auto groups = engine_->RuleGroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].rules[0].last_error, "");
  EXPECT_NE(groups[1].rules[0].last_error.find("duplicate alert label set"), std::string::npos);
}

TEST_F(RuleEngineTest, IntrospectionShapes) {
  Make(ToolCallsRule("    for: 5m\n") + R"(slos:
- name: acc
  sli: override_rate
  objective: 0.95
  period: 28d
)");
  auto groups = engine_->RuleGroups();
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(groups[0].rules[0].last_evaluation_ms, 0);
  windows_.Set(Sli::kToolCalls, "24h", {V("ir", 31, 10)});
  (void)Eval(kT0);
  groups = engine_->RuleGroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "g");
  EXPECT_EQ(groups[0].file, "rules.yaml");
  const RuleStatus& r0 = groups[0].rules[0];
  EXPECT_EQ(r0.name, "AgentToolCallExplosion");
  EXPECT_EQ(r0.type, "alert");
  EXPECT_EQ(r0.last_error, "");
  EXPECT_EQ(r0.last_evaluation_ms, kT0);
  EXPECT_FALSE(r0.budget);
  EXPECT_EQ(groups[1].rules[0].type, "slo");

  auto alerts = engine_->Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  const StoredAlert& a = alerts[0];
  EXPECT_EQ(a.rule, "AgentToolCallExplosion");
  EXPECT_EQ(a.state, AlertState::kPending);
  EXPECT_EQ(a.value, 31);
  EXPECT_EQ(a.active_since_ms, kT0);
  EXPECT_EQ(a.labels.at("agent"), "ir");
  EXPECT_EQ(a.labels.at("alertname"), "AgentToolCallExplosion");
  EXPECT_EQ(a.annotations.at("summary"), "ir p95 tool calls 31");
  EXPECT_EQ(a.fingerprint.size(), 16u);

  auto counts = engine_->AlertCounts();
  EXPECT_EQ((counts[{"AgentToolCallExplosion", "pending"}]), 1);
  EXPECT_EQ((counts[{"AgentToolCallExplosion", "firing"}]), 0);
  EXPECT_TRUE(counts.count({"acc", "firing"}));

  auto queries = engine_->Queries();
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].sli, Sli::kToolCalls);
  EXPECT_EQ(queries[0].stat, Stat::kP95);
  EXPECT_EQ(queries[0].window.name, "24h");
  EXPECT_EQ(queries[1].sli, Sli::kOverrideRate);
  EXPECT_EQ(queries[1].window.name, "28d");
  EXPECT_TRUE(queries[1].by.empty());
}

TEST(FingerprintTest, StableAndLabelSensitive) {
  const std::string fp = Fingerprint("A", {{"agent", "ir"}, {"severity", "page"}});
  EXPECT_EQ(fp.size(), 16u);
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fp, Fingerprint("A", {{"severity", "page"}, {"agent", "ir"}, {"alertname", "A"}}));
  EXPECT_NE(fp, Fingerprint("B", {{"agent", "ir"}, {"severity", "page"}}));
  EXPECT_NE(fp, Fingerprint("A", {{"agent", "ir"}, {"severity", "ticket"}}));
  EXPECT_NE(Fingerprint("A", {{"ab", "c"}}), Fingerprint("A", {{"a", "bc"}}));
  // FNV-1a 64 of "A\xff" with no labels, computed by hand.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : std::string("A\xff")) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  EXPECT_EQ(Fingerprint("A", {}), buf);
}

}  // namespace
}  // namespace aw::rules
