// RuleEngine's SLOs: multiwindow burn-rate tiers, their factors across
// periods, and review_coverage's uncovered share.

#include <gtest/gtest.h>

#include "rules/rule_engine.h"
#include "tests/unit/rules/rule_engine_fixture.h"

namespace aw::rules {
namespace {

TEST_F(RuleEngineTest, SloMultiwindowBurnRates) {
  Make(R"(slos:
- name: diagnosis-accuracy
  sli: override_rate
  objective: 0.95
  min_samples: 10
)");  // period 30d: factors 14.4, 6, 1
  auto set = [&](const char* w, double e, int64_t n = 50) {
    windows_.Set(Sli::kOverrideRate, w, {V("", e, n)});
  };
  set("5m", 0.9);    // BR 18
  set("1h", 0.8);    // BR 16 > 14.4  -> page 1h fires
  set("30m", 0.5);   // BR 10
  set("6h", 0.2);    // BR 4 < 6 -> page 6h does not
  set("3d", 0.06);   // BR 1.2 > 1 and 6h BR 4 > 1 -> ticket fires
  set("30d", 0.01);  // budget remaining 1 - 0.01/0.05 = 0.8
  StepResult r = Eval(kT0);
  ASSERT_EQ(r.notifications.size(), 2u);
  std::map<std::string, AlertEvent> by_window;
  for (const auto& n : r.notifications) by_window[n.event.labels.at("long_window")] = n.event;
  ASSERT_TRUE(by_window.count("1h"));
  ASSERT_TRUE(by_window.count("3d"));
  const AlertEvent& page = by_window["1h"];
  EXPECT_EQ(page.name, "diagnosis-accuracy");
  EXPECT_EQ(page.labels, (Labels{{"alertname", "diagnosis-accuracy"},
                                 {"long_window", "1h"},
                                 {"severity", "page"},
                                 {"slo", "diagnosis-accuracy"}}));
  EXPECT_NEAR(page.value, 16, 1e-9);
  EXPECT_NEAR(page.threshold, 14.4, 1e-9);
  EXPECT_NE(page.annotations.at("summary").find("16x over 1h"), std::string::npos)
      << page.annotations.at("summary");
  EXPECT_EQ(by_window["3d"].labels.at("severity"), "ticket");
  EXPECT_NEAR(by_window["3d"].value, 1.2, 1e-9);

  auto statuses = engine_->SloStatuses(windows_.Fn(), kT0);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].name, "diagnosis-accuracy");
  EXPECT_TRUE(statuses[0].group.empty());
  EXPECT_NEAR(statuses[0].error_budget_remaining, 0.8, 1e-9);
  EXPECT_NEAR(*statuses[0].error_ratio, 0.01, 1e-12);
  EXPECT_NEAR(statuses[0].burn_rates.at("1h"), 16, 1e-9);
  EXPECT_NEAR(statuses[0].burn_rates.at("5m"), 18, 1e-9);
  EXPECT_NEAR(statuses[0].burn_rates.at("30d"), 0.2, 1e-9);
  EXPECT_EQ(statuses[0].burn_rates.size(), 6u);

  // The short window cooling down resets the page quickly.
  set("5m", 0.5);  // BR 10 < 14.4
  r = Eval(kT0 + kMin);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
  EXPECT_EQ(r.notifications[0].event.labels.at("long_window"), "1h");

  // Too few samples in either window: no value.
  set("5m", 0.9, 9);
  EXPECT_TRUE(Eval(kT0 + 2 * kMin).notifications.empty());
}

TEST_F(RuleEngineTest, SloFactorsScaleWithPeriodAndStatusWithoutSamples) {
  const std::string slo = R"(slos:
- name: s
  sli: override_rate
  objective: 0.95
  period: PERIOD
)";
  auto with_period = [&](const std::string& p) {
    std::string y = slo;
    y.replace(y.find("PERIOD"), 6, p);
    return y;
  };
  windows_.Set(Sli::kOverrideRate, "5m", {V("", 0.7, 5)});
  windows_.Set(Sli::kOverrideRate, "1h", {V("", 0.68, 5)});  // BR 13.6
  Make(with_period("30d"));                                  // factor 14.4: no
  EXPECT_TRUE(Eval(kT0).notifications.empty());
  Make(with_period("28d"));  // factor 13.44: yes
  StepResult r = Eval(kT0);
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_NEAR(r.notifications[0].event.threshold, 13.44, 1e-9);

  windows_.Clear();
  auto statuses = engine_->SloStatuses(windows_.Fn(), kT0);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].error_budget_remaining, 1);
  EXPECT_FALSE(statuses[0].error_ratio);
  EXPECT_EQ(statuses[0].burn_rates.at("28d"), 0);
}

TEST_F(RuleEngineTest, ReviewCoverageSloUsesUncoveredShare) {
  Make(
      "slos:\n- name: cov\n  sli: review_coverage\n  objective: 0.9\n  by: "
      "[agent]\n");
  windows_.Set(Sli::kReviewCoverage, "30d", {V("ir", 0.85, 100), V("cb", 0.95, 100)});
  auto statuses = engine_->SloStatuses(windows_.Fn(), kT0);
  ASSERT_EQ(statuses.size(), 2u);
  std::map<std::string, double> remaining;
  for (const auto& s : statuses) remaining[s.group.at("agent")] = s.error_budget_remaining;
  EXPECT_NEAR(remaining["ir"], -0.5, 1e-9);  // 1 - 0.15/0.1
  EXPECT_NEAR(remaining["cb"], 0.5, 1e-9);   // 1 - 0.05/0.1
}

}  // namespace
}  // namespace aw::rules
