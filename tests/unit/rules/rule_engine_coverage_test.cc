// Which alerts an evaluation may end (rules sharing a name across groups,
// evaluation on ingest), and SLO alerts keeping their tier across a restart
// and a reload.

#include <gtest/gtest.h>

#include "rules/rule_engine.h"
#include "rules/rule_loader.h"

namespace aw::rules {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

RuleSet Load(const std::string& yaml) {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(yaml, "rules.yaml", o);
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : RuleSet{};
}

Settings OneReceiver() {
  Settings s;
  s.default_receivers = {"hook"};
  s.repeat_interval = Millis(0);
  return s;
}

// Canned figures per (sli, window name); a query scoped to one agent sees
// only that agent's groups.
struct Figures {
  std::map<std::pair<Sli, std::string>, std::vector<SliValue>> data;
  void Set(Sli sli, const std::string& window, const Labels& group, double value) {
    SliValue v;
    v.group = group;
    v.value = value;
    v.samples = 100;
    data[{sli, window}] = {v};
  }
  ComputeFn Fn() const {
    return [this](const SliQuery& q, TimeMs) {
      std::vector<SliValue> out;
      auto it = data.find({q.sli, q.window.name});
      if (it == data.end()) return out;
      for (const SliValue& v : it->second) {
        auto agent = v.group.find("agent");
        if (!q.only_agent.empty() && (agent == v.group.end() || agent->second != q.only_agent))
          continue;
        out.push_back(v);
      }
      return out;
    };
  }
};

// Two groups with an alert named Spend: one per agent, one fleet-wide that
// labels its alert with the agent it watches.
std::string SharedNameRules(bool per_agent_first) {
  const std::string per_agent = R"(- name: per-agent
  rules:
  - alert: Spend
    sli: cost_usd
    window: 1d
    threshold: 1000
)";
  const std::string fleet = R"(- name: fleet
  rules:
  - alert: Spend
    sli: cost_usd
    window: 7d
    by: []
    where: {agent: ir}
    threshold: 50
    labels: {agent: ir}
)";
  return "groups:\n" + (per_agent_first ? per_agent + fleet : fleet + per_agent);
}

// On ingest only the per-agent rule runs; the fleet rule, which could have
// produced the alert, does not. Its alert must stay firing whatever the
// order of the groups: it ends only when an evaluation ran every rule named
// Spend.
TEST(RuleEngineCoverageTest, AlertOfASkippedRuleSharingItsNameStaysFiringOnIngest) {
  for (bool per_agent_first : {true, false}) {
    SCOPED_TRACE(per_agent_first ? "per-agent group first" : "fleet group first");
    RuleEngine engine(Load(SharedNameRules(per_agent_first)), OneReceiver());
    Figures f;
    f.Set(Sli::kCostUsd, "1d", {{"agent", "ir"}}, 5);  // below 1000
    f.Set(Sli::kCostUsd, "7d", {}, 80);                // above 50
    StepResult r = engine.Evaluate(f.Fn(), kT0);
    ASSERT_EQ(r.notifications.size(), 1u);
    EXPECT_EQ(r.notifications[0].event.labels.at("agent"), "ir");
    const std::string fp = r.notifications[0].event.fingerprint;

    const std::set<std::string> touched = {"ir"};
    r = engine.Evaluate(f.Fn(), kT0 + kMin, &touched);
    EXPECT_TRUE(r.notifications.empty()) << "resolved by a rule that did not produce it";
    EXPECT_TRUE(r.deleted.empty());
    ASSERT_EQ(engine.Alerts().size(), 1u);
    EXPECT_EQ(engine.Alerts()[0].fingerprint, fp);
    EXPECT_EQ(engine.Alerts()[0].state, AlertState::kFiring);

    // The periodic evaluation, which runs the fleet rule, ends it.
    f.Set(Sli::kCostUsd, "7d", {}, 10);
    r = engine.Evaluate(f.Fn(), kT0 + 2 * kMin);
    ASSERT_EQ(r.notifications.size(), 1u);
    EXPECT_TRUE(r.notifications[0].event.resolved);
    EXPECT_EQ(r.notifications[0].event.fingerprint, fp);
  }
}

// The per-agent rule's own alert still ends on ingest for the agent touched.
TEST(RuleEngineCoverageTest, PerAgentAlertEndsOnIngestOfItsAgent) {
  RuleEngine engine(Load(R"(groups:
- name: per-agent
  rules:
  - alert: Spend
    sli: cost_usd
    window: 1d
    threshold: 100
)"),
                    OneReceiver());
  Figures f;
  f.Set(Sli::kCostUsd, "1d", {{"agent", "ir"}}, 500);
  ASSERT_EQ(engine.Evaluate(f.Fn(), kT0).notifications.size(), 1u);
  f.Set(Sli::kCostUsd, "1d", {{"agent", "ir"}}, 5);
  const std::set<std::string> other = {"cb"};
  EXPECT_TRUE(engine.Evaluate(f.Fn(), kT0 + kMin, &other).notifications.empty());
  const std::set<std::string> touched = {"ir"};
  StepResult r = engine.Evaluate(f.Fn(), kT0 + 2 * kMin, &touched);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
}

std::string Slo(const std::string& period) {
  return "slos:\n- name: acc\n  sli: override_rate\n  objective: 0.95\n  period: " + period + "\n";
}

// Burn rate 16 over 1h and 5m: the page tier (1h/5m) fires for a 30d
// period (factor 0.02 * 30d / 1h = 14.4), not the 6h or 3d tiers (no data).
void PageBurn(Figures& f) {
  f.Set(Sli::kOverrideRate, "1h", {}, 0.8);
  f.Set(Sli::kOverrideRate, "5m", {}, 0.8);
}

TEST(RuleEngineCoverageTest, SloAlertKeepsItsTierAcrossRestartAndReload) {
  Figures f;
  PageBurn(f);
  RuleEngine first(Load(Slo("30d")), OneReceiver());
  StepResult r = first.Evaluate(f.Fn(), kT0);
  ASSERT_EQ(r.notifications.size(), 1u);
  const std::string fp = r.notifications[0].event.fingerprint;
  EXPECT_EQ(r.notifications[0].event.window, "1h");

  RuleEngine restarted(Load(Slo("30d")), OneReceiver());
  restarted.Restore(first.Alerts());
  auto scope = restarted.ScopeOf(fp, kT0 + kMin);
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->query.sli, Sli::kOverrideRate);
  EXPECT_EQ(scope->query.window.name, "1h");
  EXPECT_EQ(scope->query.window.duration, Millis(kHour));
  EXPECT_FALSE(scope->threshold);
  // The tier's facts, not its wording: the first (page) tier of the 30d SLO.
  const BurnRateTier& page = BurnRateTiers().front();
  EXPECT_EQ(scope->tier_severity, page.severity);
  EXPECT_EQ(scope->tier_budget_fraction, page.budget_fraction);
  EXPECT_EQ(scope->tier_long_window, page.long_window);
  EXPECT_EQ(scope->period_name, "30d");

  // A reload to a 28d period rescales the tier's factor: the resolve
  // reports 0.02 * 28d / 1h.
  restarted.Replace(Load(Slo("28d")));
  f.data.clear();
  r = restarted.Evaluate(f.Fn(), kT0 + 2 * kMin);
  ASSERT_EQ(r.notifications.size(), 1u);
  const AlertEvent& resolved = r.notifications[0].event;
  EXPECT_TRUE(resolved.resolved);
  EXPECT_EQ(resolved.window, "1h");
  EXPECT_NEAR(resolved.threshold, 0.02 * 28 * 24, 1e-9);
}

TEST(RuleEngineCoverageTest, ScopeOfRuleAlertHasItsThresholdAndUnknownIsNone) {
  RuleEngine engine(Load(R"(groups:
- name: g
  rules:
  - alert: Spend
    sli: cost_usd
    window: 1d
    threshold: 100
    op: ">="
)"),
                    OneReceiver());
  Figures f;
  f.Set(Sli::kCostUsd, "1d", {{"agent", "ir"}}, 500);
  StepResult r = engine.Evaluate(f.Fn(), kT0);
  ASSERT_EQ(r.notifications.size(), 1u);
  auto scope = engine.ScopeOf(r.notifications[0].event.fingerprint, kT0);
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->query.window.name, "1d");
  EXPECT_EQ(scope->threshold, 100);
  EXPECT_EQ(scope->op, ">=");
  EXPECT_EQ(scope->alert.labels.at("agent"), "ir");
  EXPECT_FALSE(engine.ScopeOf("0000000000000000", kT0));
}

}  // namespace
}  // namespace aw::rules
