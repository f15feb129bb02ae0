// The alert page's chart for alerts whose $value is not the SLI itself: an
// SLO's burn rate against its tier's burn-rate threshold, a budget's spend
// against the spend that fires it, a compare rule's ratio against its bound.
// The real daemon with its clock set from a file (AGENTWATCH_TEST_NOW_FILE).

#include <stdlib.h>

#include <cstdio>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/now_file.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr int64_t kMin = 60'000;
constexpr double kObjective = 0.95;
constexpr double kPeriodHours = 28 * 24;
constexpr double kBudgetUsd = 10;
constexpr double kAlertAt = 0.25;
constexpr double kRatioAbove = 1.5;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: CostClimbing
    sli: cost_usd
    window: 1h
    compare: {offset: 1h, ratio_above: 1.5}
slos:
- name: reviewed
  sli: review_coverage
  objective: 0.95
  period: 28d
budgets:
- name: daily
  amount_usd: 10
  period: day
  alert_at: [0.25]
)";

// "13.4×": how the page writes multiples.
std::string Times(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g\u00d7", v);
  return buf;
}
std::string Usd(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.2f", v);
  return buf;
}

class AlertPageFiguresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = ParseRfc3339("2026-11-25T12:00:00Z").value();
    now_file_.Set(now_);
    dir_.Write("rules/agents.yaml", kRules);
    config_ = dir_.Write("agentwatch.yaml",
                         "listen: 127.0.0.1:0\nstorage: {path: events.db}\n"
                         "evaluation_interval: 200ms\nrule_files: [rules/*.yaml]\n");
  }

  // Fingerprint of each active alert by "name" or "name long_window".
  static std::map<std::string, std::string> Alerts(DaemonProcess& d) {
    std::map<std::string, std::string> out;
    auto r = d.Client()->Get("/api/v1/alerts");
    if (!r) return out;
    const json body = json::parse(r->body);
    for (const json& a : body["alerts"]) {
      std::string key = a["name"].get<std::string>();
      if (a["labels"].contains("long_window")) {
        key.append(" ").append(a["labels"]["long_window"].get<std::string>());
      }
      out[key] = a["fingerprint"].get<std::string>();
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  std::string config_;
  TimeMs now_ = 0;
};

TEST_F(AlertPageFiguresTest, SloBudgetAndCompareChartsDrawWhatFiresThem) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  // Agent ir: 1.00 in the hour before last, 3.00 in the last hour, nothing
  // reviewed. (ts minutes before now, cost)
  const std::vector<std::pair<int, double>> spans = {
      {80, 0.5}, {75, 0.5}, {10, 1.0}, {3, 1.0}, {2, 1.0}};
  double earlier = 0, current = 0, today = 0;
  std::string body;
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto& [ago, cost] = spans[i];
    (ago < 60 ? current : earlier) += cost;
    today += cost;
    body += json{{"investigation_id", "inv-" + std::to_string(i)},
                 {"agent", "ir"},
                 {"ts", FormatRfc3339(now_ - ago * kMin)},
                 {"estimated_cost_usd", cost}}
                .dump() +
            "\n";
  }
  auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no reply");

  std::map<std::string, std::string> fps;
  ASSERT_TRUE(testing::WaitFor([&] {
    fps = Alerts(d);
    return fps.count("reviewed 1h") && fps.count("daily") && fps.count("CostClimbing");
  })) << d.Client()->Get("/api/v1/alerts")->body;

  const auto page = [&](const std::string& fp) {
    auto r = d.Client()->Get(("/alerts/" + fp).c_str());
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : "";
  };

  // SLO: nothing reviewed, so the error ratio is 1 and the burn rate
  // 1 / (1 - objective); the 1h page tier fires above 2% of 28d in 1h.
  {
    const std::string html = page(fps["reviewed 1h"]);
    const double burn = 1 / (1 - kObjective);
    const double factor = 0.02 * kPeriodHours / 1;
    EXPECT_NE(html.find("burn rate over 1h"), std::string::npos) << html;
    EXPECT_NE(html.find(Times(burn) + " <span class=\"muted\">&gt;</span>"), std::string::npos)
        << html;
    EXPECT_NE(html.find("burn-rate threshold " + Times(factor)), std::string::npos) << html;
    EXPECT_NE(html.find("<title>burn-rate threshold " + Times(factor) + "</title>"),
              std::string::npos)
        << "the threshold line in the chart, labelled";
    EXPECT_NE(html.find("class=\"scale-max\""), std::string::npos);
    EXPECT_NE(html.find("text-anchor=\"end\">" + Times(burn) + "</text>"), std::string::npos)
        << "the scale reads in burn-rate multiples";
    EXPECT_NE(html.find("Dashed red: the burn-rate threshold (&gt; " + Times(factor) +
                        "; page tier: 2% of the 28d error budget in 1h)"),
              std::string::npos)
        << html;
  }

  // Budget: the day's spend against the fraction of the amount that fires it.
  {
    const std::string html = page(fps["daily"]);
    const double bound = kAlertAt * kBudgetUsd;
    EXPECT_NE(html.find("spend this day"), std::string::npos) << html;
    EXPECT_NE(html.find(Usd(today)), std::string::npos) << html;
    EXPECT_NE(html.find("<title>budget threshold " + Usd(bound) + "</title>"), std::string::npos)
        << html;
    EXPECT_NE(html.find("Dashed red: the budget threshold (&gt;= " + Usd(bound) + "; 0.25 of " +
                        Usd(kBudgetUsd) + ")"),
              std::string::npos)
        << html;
  }

  // Compare: this hour's cost over the hour before, against ratio_above.
  {
    const std::string html = page(fps["CostClimbing"]);
    EXPECT_NE(html.find("cost_usd over 1h vs 1 h earlier"), std::string::npos) << html;
    EXPECT_NE(html.find("id=\"alert-value\">" + Times(current / earlier)), std::string::npos)
        << html;
    EXPECT_NE(html.find("<title>ratio bound " + Times(kRatioAbove) + "</title>"), std::string::npos)
        << html;
    EXPECT_NE(html.find("Dashed red: the ratio bound (&gt; " + Times(kRatioAbove) + ")"),
              std::string::npos)
        << html;
  }
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace aw
