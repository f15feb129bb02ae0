// The periodic evaluation in steps against the real binary: its wall clock
// set from a file (AGENTWATCH_TEST_NOW_FILE), a real SQLite store and a
// loopback webhook. With more agents than one step holds, alerts fire on
// ingest, the fleet-wide rule fires on a tick, and once the clock moves past
// the window a tick resolves every agent's alert (in every step) and the
// fleet one, and reports every rule evaluated at that time.

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

constexpr TimeMs kMinute = 60'000;
// More than three steps' worth of agents (a step holds 32).
constexpr int kAgents = 100;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentCost
    sli: cost_usd
    window: 10m
    threshold: 5
- name: fleet
  rules:
  - alert: FleetCost
    sli: cost_usd
    window: 10m
    by: []
    threshold: 100
)";

class TickIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = ParseRfc3339("2026-11-25T12:00:00Z").value();
    SetNow(t0_);
    dir_.Write("rules/agents.yaml", kRules);
    config_ =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   "repeat_interval: 1000d\n"
                   "receivers:\n"
                   "  - name: hook\n    webhook: {url: \"" +
                       sink_.Url("/hook") +
                       "\"}\n"
                       "default_receivers: [hook]\nrule_files: [rules/*.yaml]\n");
  }

  void SetNow(TimeMs t) { now_file_.Set(t); }

  static std::string Agent(int i) {
    char name[16];
    std::snprintf(name, sizeof name, "agent-%03d", i);
    return name;
  }

  // Every alert the webhook heard, as (status, "alertname agent").
  std::vector<std::pair<std::string, std::string>> Heard() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : sink_.Requests("/hook")) {
      const json body = json::parse(r.body);
      for (const json& a : body["alerts"]) {
        out.emplace_back(a["status"].get<std::string>(),
                         a["labels"]["alertname"].get<std::string>() + " " +
                             a["labels"].value("agent", std::string("-")));
      }
    }
    return out;
  }

  // Distinct "alertname agent" the webhook heard with `status`.
  std::set<std::string> Received(const std::string& status) const {
    std::set<std::string> out;
    for (const auto& [s, name] : Heard()) {
      if (s == status) out.insert(name);
    }
    return out;
  }

  // How many times the webhook heard `status` for "alertname agent".
  int Count(const std::string& status, const std::string& alert) const {
    int n = 0;
    for (const auto& [s, name] : Heard()) n += s == status && name == alert;
    return n;
  }

  static json Alerts(DaemonProcess& d) {
    return json::parse(d.Client()->Get("/api/v1/alerts")->body)["alerts"];
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  testing::HttpSink sink_;
  std::string config_;
  TimeMs t0_ = 0;
};

TEST_F(TickIntegrationTest, IngestFiresAndStepwiseTicksResolveEveryAgent) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();

  // Every agent spends 6 USD (over AgentCost's 5); together 600 (over
  // FleetCost's 100).
  std::string body;
  std::set<std::string> expected_firing = {"FleetCost -"};
  for (int i = 0; i < kAgents; ++i) {
    body += json{{"investigation_id", "inv-" + std::to_string(i)},
                 {"agent", Agent(i)},
                 {"ts", FormatRfc3339(t0_)},
                 {"estimated_cost_usd", 6}}
                .dump() +
            "\n";
    expected_firing.insert("AgentCost " + Agent(i));
  }
  auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  ASSERT_TRUE(testing::WaitFor([&] { return Received("firing") == expected_firing; }))
      << Received("firing").size() << " of " << expected_firing.size() << "\n"
      << d.Log();
  EXPECT_EQ(Alerts(d).size(), expected_firing.size());
  EXPECT_TRUE(Received("resolved").empty());

  // Past the window: nothing holds any more, and only ticks can tell.
  const TimeMs later = t0_ + 11 * kMinute;
  SetNow(later);
  ASSERT_TRUE(testing::WaitFor([&] { return Received("resolved") == expected_firing; }))
      << Received("resolved").size() << " of " << expected_firing.size() << "\n"
      << d.Log();
  EXPECT_TRUE(Alerts(d).empty()) << Alerts(d).dump();

  // A tick reports every rule evaluated, per-agent and fleet-wide alike.
  ASSERT_TRUE(d.WaitForEvaluations(2));
  const json rules = json::parse(d.Client()->Get("/api/v1/rules")->body);
  int listed = 0;
  for (const json& g : rules["groups"]) {
    for (const json& r : g["rules"]) {
      ++listed;
      EXPECT_EQ(r["last_evaluation"], FormatRfc3339(later)) << r.dump();
      EXPECT_EQ(r["health"], "ok") << r.dump();
    }
  }
  EXPECT_EQ(listed, 2);

  // An agent breaching again fires again.
  res = d.Client()->Post("/v1/spans",
                         json{{"investigation_id", "inv-again"},
                              {"agent", Agent(57)},
                              {"ts", FormatRfc3339(later)},
                              {"estimated_cost_usd", 7}}
                             .dump(),
                         "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  ASSERT_TRUE(testing::WaitFor([&] { return Count("firing", "AgentCost " + Agent(57)) == 2; }))
      << d.Log();
  const json alerts = Alerts(d);
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["agent"], Agent(57));
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace aw
