// The statistics rules: the low-volume guard (confidence: Wilson bound),
// compare with baseline: previous, and confidence_ece in rules. Driven by a
// real WindowEngine, so the figures come from the same code as in the daemon.

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "rules/rule_engine.h"
#include "rules/rule_loader.h"
#include "tools/rule_test_runner.h"
#include "windows/window_engine.h"

namespace aw::rules {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr int64_t kMin = 60'000;

// The contract's Wilson formula with z from A&S 26.2.23 (a rational
// approximation, |error| < 4.5e-4, then one Newton step on erfc): a z
// obtained independently of Boost.
double ZFor(double confidence) {
  const double t = std::sqrt(-2 * std::log(1 - confidence));
  double z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                     (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  for (int i = 0; i < 3; ++i) {
    const double tail = 0.5 * std::erfc(z / std::sqrt(2.0));
    const double pdf = std::exp(-z * z / 2) / std::sqrt(2 * M_PI);
    z += (tail - (1 - confidence)) / pdf;
  }
  return z;
}
double WilsonLower(double p, double n, double z) {
  return ((p + z * z / (2 * n)) - z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n))) /
         (1 + z * z / n);
}
double WilsonUpper(double p, double n, double z) {
  return ((p + z * z / (2 * n)) + z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n))) /
         (1 + z * z / n);
}

class StatsRulesTest : public ::testing::Test {
 protected:
  StatsRulesTest() : engine_(Pricing{}) {}

  std::unique_ptr<RuleEngine> Make(const std::string& yaml) {
    LoadOptions o;
    o.check_receivers = false;
    auto set = LoadRuleText(yaml, "rules.yaml", o);
    EXPECT_TRUE(set.ok()) << set.status().message();
    Settings s;
    s.default_receivers = {"slack"};
    return std::make_unique<RuleEngine>(set.ok() ? *set : RuleSet{}, s);
  }

  // n investigations of `agent` at ts, the first `overrides` overridden and
  // the rest confirmed.
  void Verdicts(const std::string& agent, int n, int overrides, TimeMs ts,
                const Labels& labels = {}) {
    for (int i = 0; i < n; ++i) {
      Span s;
      s.investigation_id = agent + "-" + std::to_string(next_);
      s.agent = agent;
      s.ts_ms = ts;
      s.labels = labels;
      s.tool_calls = tools_;
      ASSERT_TRUE(engine_.ApplySpan(s, ++seq_));
      Feedback f;
      f.investigation_id = s.investigation_id;
      f.verdict = i < overrides ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = ts;
      engine_.ApplyFeedback(f, ++seq_);
      ++next_;
    }
  }

  static std::map<std::string, AlertEvent> Fired(const StepResult& r) {
    std::map<std::string, AlertEvent> out;
    for (const auto& n : r.notifications) out[n.event.labels.at("agent")] = n.event;
    return out;
  }

  windows::WindowEngine engine_;
  int64_t seq_ = 0;
  int next_ = 0;
  int64_t tools_ = 1;
};

constexpr const char* kGuard = R"(groups:
- name: g
  rules:
  - alert: HighOverrides
    sli: override_rate
    window: 1h
    op: OP
    threshold: 0.05
    confidence: 0.95
    annotations:
      summary: "{{ $value }} bound {{ $bound | printf \"%.3f\" }}"
)";

std::string WithOp(const std::string& op) {
  std::string y = kGuard;
  y.replace(y.find("OP"), 2, "\"" + op + "\"");
  return y;
}

TEST_F(StatsRulesTest, WilsonGuardContractExample) {
  auto rules = Make(WithOp(">"));
  Verdicts("three", 10, 3, kT0);  // lower bound 0.127 > 0.05: fires
  Verdicts("one", 10, 1, kT0);    // lower bound 0.023: does not
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + kMin));
  ASSERT_EQ(fired.count("three"), 1u);
  EXPECT_EQ(fired.count("one"), 0u);
  const AlertEvent& e = fired.at("three");
  EXPECT_DOUBLE_EQ(e.value, 0.3);  // $value stays p
  char want[32];
  std::snprintf(want, sizeof want, "%.3f", WilsonLower(0.3, 10, ZFor(0.95)));
  EXPECT_EQ(std::string(want), "0.127");
  EXPECT_EQ(e.annotations.at("summary"), "0.3 bound " + std::string(want));
}

TEST_F(StatsRulesTest, WithoutConfidenceOneInTenFires) {
  // The same data without the guard fires on the point estimate 0.1 > 0.05:
  // the guard is what keeps it quiet.
  std::string yaml = WithOp(">");
  yaml.erase(yaml.find("    confidence: 0.95\n"), std::string("    confidence: 0.95\n").size());
  auto rules = Make(yaml);
  Verdicts("one", 10, 1, kT0);
  EXPECT_EQ(Fired(rules->Evaluate(engine_, kT0 + kMin)).count("one"), 1u);
}

TEST_F(StatsRulesTest, WilsonGuardAtTheEdges) {
  // For each n, the smallest override count whose lower bound exceeds 0.05
  // (found with the independent formula) fires; one fewer does not.
  const double z = ZFor(0.95);
  auto rules = Make(WithOp(">"));
  std::map<int, int> edges;
  for (int n : {10, 20, 50, 200}) {
    int edge = 0;
    while (WilsonLower(static_cast<double>(edge) / n, n, z) <= 0.05) ++edge;
    edges[n] = edge;
    Verdicts("at" + std::to_string(n), n, edge, kT0);
    Verdicts("below" + std::to_string(n), n, edge - 1, kT0);
  }
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + kMin));
  for (const auto& [n, edge] : edges) {
    EXPECT_EQ(fired.count("at" + std::to_string(n)), 1u) << n << " " << edge;
    EXPECT_EQ(fired.count("below" + std::to_string(n)), 0u) << n << " " << edge;
  }
}

TEST_F(StatsRulesTest, LessThanComparesTheUpperBound) {
  // "< 0.3": 0 overrides in 5 has p = 0 but an upper bound of ~0.35: no
  // proof yet that the rate is below 0.3; 0 in 20 (upper ~0.12) fires.
  std::string yaml = WithOp("<");
  yaml.replace(yaml.find("threshold: 0.05"), 15, "threshold: 0.3");
  auto rules = Make(yaml);
  Verdicts("few", 5, 0, kT0);
  Verdicts("many", 20, 0, kT0);
  const double z = ZFor(0.95);
  ASSERT_GT(WilsonUpper(0, 5, z), 0.3);
  ASSERT_LT(WilsonUpper(0, 20, z), 0.3);
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + kMin));
  EXPECT_EQ(fired.count("few"), 0u);
  EXPECT_EQ(fired.count("many"), 1u);
}

TEST_F(StatsRulesTest, ConfidenceOnlyOnRatioSlis) {
  LoadOptions o;
  o.check_receivers = false;
  auto bad = LoadRuleText(R"(groups:
- name: g
  rules:
  - alert: X
    sli: tool_calls
    stat: p95
    window: 1h
    threshold: 5
    confidence: 0.95
)",
                          "r.yaml", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("r.yaml:9"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("confidence"), std::string::npos);
  auto range = LoadRuleText(R"(groups:
- name: g
  rules:
  - alert: X
    sli: review_coverage
    window: 1h
    threshold: 0.5
    confidence: 1.5
)",
                            "r.yaml", o);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("confidence: must be between 0 and 1"), std::string::npos)
      << range.status().message();
}

constexpr const char* kRegression = R"(groups:
- name: g
  rules:
  - alert: Regressed
    sli: override_rate
    window: 7d
    compare: {baseline: previous, label: version, confidence: 0.99, min_samples: 30}
    annotations:
      summary: "{{ $labels.version }} {{ $value }} vs {{ $labels.baseline_version }} {{ $baseline }}"
)";

TEST_F(StatsRulesTest, RegressionFiresOnASignificantIncrease) {
  auto rules = Make(kRegression);
  // First seen: v9 before v10 (not lexical order). 4/50 then 15/50:
  // pooled z = (0.3 - 0.08) / sqrt(0.19 * 0.81 * 0.04) = 2.804,
  // p = 0.0025 < 0.01.
  Verdicts("ir", 50, 4, kT0, {{"version", "v9"}});
  Verdicts("ir", 50, 15, kT0 + 10 * kMin, {{"version", "v10"}});
  const double z = (0.3 - 0.08) / std::sqrt(0.19 * 0.81 * (2.0 / 50));
  ASSERT_LT(0.5 * std::erfc(z / std::sqrt(2.0)), 0.01);
  const StepResult r = rules->Evaluate(engine_, kT0 + 20 * kMin);
  ASSERT_EQ(r.notifications.size(), 1u);
  const AlertEvent& e = r.notifications[0].event;
  EXPECT_EQ(e.labels.at("agent"), "ir");
  EXPECT_EQ(e.labels.at("version"), "v10");
  EXPECT_EQ(e.labels.at("baseline_version"), "v9");
  EXPECT_DOUBLE_EQ(e.value, 0.3);
  EXPECT_EQ(e.annotations.at("summary"), "v10 0.3 vs v9 0.08");
}

TEST_F(StatsRulesTest, RegressionNeedsSignificanceAndSamples) {
  auto rules = Make(kRegression);
  // 4/50 vs 8/50: z = 0.08 / sqrt(0.12 * 0.88 * 0.04) = 1.231, p = 0.109.
  Verdicts("ir", 50, 4, kT0, {{"version", "v1"}});
  Verdicts("ir", 50, 8, kT0 + kMin, {{"version", "v2"}});
  // A big jump on too few samples (29 < 30).
  Verdicts("cb", 50, 0, kT0, {{"version", "a"}});
  Verdicts("cb", 29, 20, kT0 + kMin, {{"version", "b"}});
  EXPECT_TRUE(rules->Evaluate(engine_, kT0 + 2 * kMin).notifications.empty());
  // One more sample for cb's candidate: 30 >= min_samples, now it fires.
  Verdicts("cb", 1, 1, kT0 + 3 * kMin, {{"version", "b"}});
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + 4 * kMin));
  EXPECT_EQ(fired.count("cb"), 1u);
  EXPECT_EQ(fired.count("ir"), 0u);
}

TEST_F(StatsRulesTest, RegressionComparesTheNewestTwoVersions) {
  auto rules = Make(kRegression);
  Verdicts("ir", 40, 30, kT0, {{"version", "v1"}});            // bad, old
  Verdicts("ir", 40, 2, kT0 + kMin, {{"version", "v2"}});      // good
  Verdicts("ir", 40, 3, kT0 + 2 * kMin, {{"version", "v3"}});  // as good as v2
  // v3 vs v2 (not v1): no regression.
  EXPECT_TRUE(rules->Evaluate(engine_, kT0 + 3 * kMin).notifications.empty());
  // More v1 traffic later does not make v1 newer: first seen decides.
  Verdicts("ir", 40, 0, kT0 + 4 * kMin, {{"version", "v1"}});
  EXPECT_TRUE(rules->Evaluate(engine_, kT0 + 5 * kMin).notifications.empty());
}

TEST_F(StatsRulesTest, DistributionRegressionUsesRatioAbove) {
  auto rules = Make(R"(groups:
- name: g
  rules:
  - alert: ToolCallsUp
    sli: tool_calls
    stat: mean
    window: 24h
    compare: {baseline: previous, label: version, ratio_above: 1.5, min_samples: 5}
)");
  tools_ = 4;
  Verdicts("ir", 5, 0, kT0, {{"version", "v1"}});
  Verdicts("cb", 5, 0, kT0, {{"version", "v1"}});
  tools_ = 6;  // 6/4 = 1.5: at the edge, fires (>=)
  Verdicts("ir", 5, 0, kT0 + kMin, {{"version", "v2"}});
  tools_ = 5;  // 5/4 = 1.25: does not
  Verdicts("cb", 5, 0, kT0 + kMin, {{"version", "v2"}});
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + 2 * kMin));
  ASSERT_EQ(fired.count("ir"), 1u);
  EXPECT_EQ(fired.count("cb"), 0u);
  EXPECT_DOUBLE_EQ(fired.at("ir").value, 6);
}

TEST_F(StatsRulesTest, CompareLoadErrors) {
  LoadOptions o;
  o.check_receivers = false;
  const auto error = [&](const std::string& compare, const std::string& sli = "override_rate",
                         const std::string& extra = "") {
    auto r = LoadRuleText("groups:\n- name: g\n  rules:\n  - alert: X\n    sli: " + sli +
                              "\n    window: 1h\n" + extra + "    compare: " + compare + "\n",
                          "r.yaml", o);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error("{baseline: previous, label: version}"), "");
  EXPECT_NE(error("{baseline: latest, label: version}").find("compare.baseline"),
            std::string::npos);
  EXPECT_NE(error("{baseline: previous}").find("compare.label: required"), std::string::npos);
  EXPECT_NE(
      error("{baseline: previous, label: version, ratio_above: 2}").find("compare.ratio_above"),
      std::string::npos);
  EXPECT_NE(error("{baseline: previous, label: version, confidence: 0.9}", "tool_calls",
                  "    stat: p95\n")
                .find("compare.confidence: only for ratio SLIs"),
            std::string::npos);
  EXPECT_NE(error("{baseline: previous, label: version}", "tool_calls", "    stat: p95\n")
                .find("compare.ratio_above: required"),
            std::string::npos);
  EXPECT_NE(error("{baseline: previous, label: version}", "override_rate", "    by: []\n")
                .find("by must include agent"),
            std::string::npos);
  const std::string line = error("{baseline: previous, label: version, confidence: 2}");
  EXPECT_NE(line.find("r.yaml:7"), std::string::npos) << line;
  // The offset form still loads.
  EXPECT_EQ(error("{offset: 7d, ratio_above: 1.5}", "tool_calls", "    stat: p95\n"), "");
}

TEST_F(StatsRulesTest, CompareMinSamplesDefaultsToTheRules) {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(R"(groups:
- name: g
  rules:
  - alert: X
    sli: override_rate
    window: 1h
    min_samples: 17
    compare: {baseline: previous, label: version}
)",
                          "r.yaml", o);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->groups[0].rules[0].compare->min_samples, 17);
  EXPECT_DOUBLE_EQ(set->groups[0].rules[0].compare->confidence, 0.95);
}

TEST_F(StatsRulesTest, EceIsUsableInRules) {
  auto rules = Make(R"(groups:
- name: g
  rules:
  - alert: Miscalibrated
    sli: confidence_ece
    window: 1h
    threshold: 0.3
)");
  // Confidence 0.9 but half overridden: ECE = |0.9 - 0.5| = 0.4 > 0.3.
  for (int i = 0; i < 10; ++i) {
    Span s;
    s.investigation_id = "e" + std::to_string(i);
    s.agent = "ir";
    s.ts_ms = kT0;
    s.confidence = 0.9;
    ASSERT_TRUE(engine_.ApplySpan(s, ++seq_));
    Feedback f;
    f.investigation_id = s.investigation_id;
    f.verdict = i % 2 ? Verdict::kOverride : Verdict::kConfirm;
    f.ts_ms = kT0;
    engine_.ApplyFeedback(f, ++seq_);
  }
  const auto fired = Fired(rules->Evaluate(engine_, kT0 + kMin));
  ASSERT_EQ(fired.count("ir"), 1u);
  EXPECT_NEAR(fired.at("ir").value, 0.4, 1e-12);
}

TEST(StatsExampleTest, ExampleRuleTestsPass) {
  std::ostringstream out;
  EXPECT_EQ(
      tools::RunRuleTests({std::string(AW_SOURCE_DIR) + "/examples/tests/stats_test.yaml"}, out), 0)
      << out.str();
  EXPECT_NE(out.str().find("stats_test.yaml: PASS (8 tests"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace aw::rules
