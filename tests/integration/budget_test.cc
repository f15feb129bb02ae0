// Spend budgets end to end: the real daemon with its wall clock set from a
// file (AGENTWATCH_TEST_NOW_FILE), a real SQLite store and a loopback
// webhook receiver. Thresholds fire once, a restart fires nothing again
// (neither a threshold still firing nor a projection that already fired and
// resolved this period), and the next period resets them.

#include <stdlib.h>

#include <cstdio>
#include <set>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/now_file.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::DaemonProcess;

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

constexpr const char* kRules = R"(budgets:
- name: fleet-daily
  amount_usd: 100
  period: day
  timezone: UTC
  alert_at: [0.5, 1.0]
  receivers: [hook]
  annotations: {summary: "spent {{ $value }}"}
- name: burst
  where: {agent: burst}
  amount_usd: 100
  period: day
  timezone: UTC
  projected: true
  receivers: [hook]
)";

class BudgetIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    day_ = ParseRfc3339("2026-11-25T00:00:00Z").value();
    SetNow(day_ + kHour);
    dir_.Write("rules/budgets.yaml", kRules);
    config_ =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   // Hours pass between evaluations here: no repeats muddle the count.
                   "repeat_interval: 1000d\n"
                   "receivers:\n"
                   "  - name: hook\n    webhook: {url: \"" +
                       sink_.Url("/hook") +
                       "\"}\n"
                       "rule_files: [rules/*.yaml]\n");
  }

  void SetNow(TimeMs t) { now_file_.Set(t); }

  void Spend(DaemonProcess& d, const std::string& id, const std::string& agent, TimeMs ts,
             double usd) {
    const json span = {{"investigation_id", id},
                       {"agent", agent},
                       {"ts", FormatRfc3339(ts)},
                       {"estimated_cost_usd", usd}};
    auto res = d.Client()->Post("/v1/spans", span.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  // Every (status, alertname, threshold) the webhook received, in order.
  std::vector<std::string> Received() const {
    std::vector<std::string> out;
    for (const auto& r : sink_.Requests("/hook")) {
      const json body = json::parse(r.body);
      for (const json& a : body["alerts"]) {
        out.push_back(a["status"].get<std::string>() + " " +
                      a["labels"]["alertname"].get<std::string>() + " " +
                      a["labels"]["threshold"].get<std::string>());
      }
    }
    return out;
  }

  // Waits until the daemon has run a few more evaluations (at the clock set).
  static void SettleEvaluations(DaemonProcess& d) { ASSERT_TRUE(d.WaitForEvaluations(3)); }

  // GET /api/v1/investigations?alert=: the ids listed.
  static std::vector<std::string> InvestigationsBehind(DaemonProcess& d, const json& fingerprint) {
    auto res = d.Client()->Get("/api/v1/investigations?alert=" + fingerprint.get<std::string>());
    std::vector<std::string> ids;
    if (!res || res->status != 200) {
      ADD_FAILURE() << (res ? res->body : "no reply");
      return ids;
    }
    const json body = json::parse(res->body);
    for (const json& i : body["investigations"]) {
      ids.push_back(i["investigation_id"].get<std::string>());
    }
    return ids;
  }

  static double Gauge(DaemonProcess& d, const std::string& series) {
    const std::string body = d.Client()->Get("/metrics")->body;
    const size_t at = body.find(series + " ");
    return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 1));
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  testing::HttpSink sink_;
  std::string config_;
  TimeMs day_ = 0;
};

TEST_F(BudgetIntegrationTest, FiresOnceSurvivesRestartsAndResetsNextPeriod) {
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();

  // $49.99 of $100: nothing; one cent more reaches 0.5.
  Spend(*d, "a1", "ir", day_ + 10 * kMin, 49.99);
  SettleEvaluations(*d);
  EXPECT_TRUE(Received().empty());
  Spend(*d, "a2", "cost-bot", day_ + 20 * kMin, 0.01);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();
  EXPECT_EQ(Received(), std::vector<std::string>{"firing fleet-daily 0.5"});
  EXPECT_EQ(json::parse(sink_.Requests("/hook")[0].body)["alerts"][0]["annotations"]["summary"],
            "spent 50");
  EXPECT_DOUBLE_EQ(Gauge(*d, "agentwatch_budget_spent_usd{budget=\"fleet-daily\"}"), 50);
  EXPECT_DOUBLE_EQ(Gauge(*d, "agentwatch_budget_amount_usd{budget=\"fleet-daily\"}"), 100);
  json alerts = json::parse(d->Client()->Get("/api/v1/alerts")->body)["alerts"];
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["name"], "fleet-daily");
  EXPECT_EQ(alerts[0]["labels"]["threshold"], "0.5");
  const json rules = json::parse(d->Client()->Get("/api/v1/rules")->body);
  EXPECT_EQ(rules["groups"][0]["rules"][0]["type"], "budget");
  // The investigations behind it: this period's, newest first.
  EXPECT_EQ(InvestigationsBehind(*d, alerts[0]["fingerprint"]),
            (std::vector<std::string>{"a2", "a1"}));

  // The burst agent spends $6 in the hour before 05:00: 6 + 6/h * 19h
  // projects $120 of its $100 (and the fleet stays at $56).
  SetNow(day_ + 5 * kHour);
  Spend(*d, "b1", "burst", day_ + 4 * kHour + 50 * kMin, 6);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 2, seconds(10))) << d->Log();
  EXPECT_EQ(Received().back(), "firing burst projected");
  // Behind the projection: only what its `where` counts, in this period.
  Spend(*d, "y1", "burst", day_ - kHour, 1);  // yesterday's
  const json firing = json::parse(d->Client()->Get("/api/v1/alerts")->body);
  int bursts = 0;
  for (const json& a : firing["alerts"]) {
    if (a["name"] != "burst") continue;
    ++bursts;
    EXPECT_EQ(InvestigationsBehind(*d, a["fingerprint"]), std::vector<std::string>{"b1"});
  }
  EXPECT_EQ(bursts, 1) << firing;
  EXPECT_NEAR(Gauge(*d, "agentwatch_budget_projected_usd{budget=\"burst\"}"), 6 + 6.0 * 19, 1e-6);
  // A quiet hour: the projection falls to $6 and the alert resolves.
  SetNow(day_ + 6 * kHour + 30 * kMin);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 3, seconds(10))) << d->Log();
  EXPECT_EQ(Received().back(), "resolved burst projected");

  // Restart: the firing 0.5 is not announced again, and a new burst in the
  // same day does not fire the projection a second time.
  ASSERT_EQ(d->Stop(), 0);
  d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  Spend(*d, "b2", "burst", day_ + 6 * kHour + 20 * kMin, 6);
  SettleEvaluations(*d);
  EXPECT_NEAR(Gauge(*d, "agentwatch_budget_projected_usd{budget=\"burst\"}"), 12 + 6.0 * 17.5,
              1e-6);  // over the amount, yet silent
  EXPECT_EQ(Received().size(), 3u);
  alerts = json::parse(d->Client()->Get("/api/v1/alerts")->body)["alerts"];
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["labels"]["threshold"], "0.5");

  // Next day: 0.5 resolves, nothing fires on the fresh period...
  SetNow(day_ + 24 * kHour + 1000);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 4, seconds(10))) << d->Log();
  SettleEvaluations(*d);
  EXPECT_EQ(Received(),
            (std::vector<std::string>{"firing fleet-daily 0.5", "firing burst projected",
                                      "resolved burst projected", "resolved fleet-daily 0.5"}));
  EXPECT_DOUBLE_EQ(Gauge(*d, "agentwatch_budget_spent_usd{budget=\"fleet-daily\"}"), 0);
  // ... and the new day's spend fires 0.5 and 1.0 again.
  Spend(*d, "c1", "ir", day_ + 24 * kHour + 500, 100);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 6, seconds(10))) << d->Log();
  const auto got = Received();
  EXPECT_EQ(std::set<std::string>(got.begin() + 4, got.end()),
            (std::set<std::string>{"firing fleet-daily 0.5", "firing fleet-daily 1.0"}));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(BudgetIntegrationTest, CheckTestAndReplayKnowBudgets) {
  std::string out, err;
  const std::string examples = std::string(AW_SOURCE_DIR) + "/examples";
  EXPECT_EQ(
      testing::RunBinary(AW_BINARY, {"test", examples + "/tests/budgets_test.yaml"}, &out, &err), 0)
      << out << err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", config_}, &out, &err), 0) << err;
  dir_.Write("rules/bad.yaml",
             "budgets:\n- name: x\n  amount_usd: 5\n  period: day\n  timezone: Europe/Berln\n"
             "  alert_at: [1]\n");
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", config_}, &out, &err), 1);
  EXPECT_NE(err.find("bad.yaml:5: budget \"x\": timezone: unknown time zone \"Europe/Berln\""),
            std::string::npos)
      << err;
  ASSERT_EQ(std::remove(dir_.File("rules/bad.yaml").c_str()), 0);

  // Replay: $30 at 01:00 and $25 at 02:00 cross 0.5 of fleet-daily at 02:00.
  const std::string events_file = dir_.Write(
      "events.ndjson",
      R"({"span":{"investigation_id":"r1","agent":"ir","estimated_cost_usd":30,"ts":"2026-11-20T01:00:00Z"}})"
      "\n"
      R"({"span":{"investigation_id":"r2","agent":"ir","estimated_cost_usd":25,"ts":"2026-11-20T02:00:00Z"}})"
      "\n");
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"replay", "--config", config_, events_file}, &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("2026-11-20T02:00:00Z firing   fleet-daily {threshold=\"0.5\"} value=55"),
            std::string::npos)
      << out << err;
  EXPECT_EQ(out.find("threshold=\"1.0\""), std::string::npos) << out;
}

}  // namespace
}  // namespace aw
