// Notification grouping end to end: the real daemon with its wall clock set
// from a file (AGENTWATCH_TEST_NOW_FILE), a real SQLite store, and loopback
// webhook receivers, one grouped and one not. A group's first message waits
// group_wait, later changes wait group_interval and go out as one message,
// group_by partitions, an ungrouped receiver still gets each change at once,
// and a group waiting when the daemon is killed goes out once after restart.

#include <stdlib.h>

#include <algorithm>
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

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kWait = 30 * kSec;
constexpr int64_t kInterval = 5 * kMin;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: ToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 10 investigations
    threshold: 25
    min_samples: 5
    labels: {severity: page}
    annotations: {summary: "too many tool calls"}
)";

class GroupingIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = ParseRfc3339("2026-11-25T10:00:00Z").value();
    SetNow(t0_);
    dir_.Write("rules/agents.yaml", kRules);
  }

  std::string Config(const std::string& group_by) {
    return dir_.Write(
        "agentwatch.yaml",
        "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
        "repeat_interval: 1000d\n"
        "receivers:\n"
        "  - name: grouped\n    webhook: {url: \"" +
            sink_.Url("/grouped") +
            "\"}\n"
            "    group_by: " +
            group_by +
            "\n    group_wait: 30s\n    group_interval: 5m\n"
            "  - name: plain\n    webhook: {url: \"" +
            sink_.Url("/plain") +
            "\"}\n"
            "default_receivers: [grouped, plain]\n"
            "rule_files: [rules/*.yaml]\n");
  }

  std::unique_ptr<DaemonProcess> Start(const std::string& config) {
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  void SetNow(TimeMs t) {
    now_ = t;
    now_file_.Set(t);
  }

  // `n` investigations of `agent` with `tool_calls` each.
  void Post(DaemonProcess& d, const std::string& agent, int n, int tool_calls) {
    std::string body;
    for (int i = 0; i < n; ++i) {
      body += json{{"investigation_id",
                    agent + "-" + std::to_string(tool_calls) + "-" + std::to_string(seq_++)},
                   {"agent", agent},
                   {"ts", FormatRfc3339(now_)},
                   {"tool_calls", tool_calls}}
                  .dump() +
              "\n";
    }
    auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  void Breach(DaemonProcess& d, const std::string& agent) { Post(d, agent, 6, 50); }
  void Recover(DaemonProcess& d, const std::string& agent) { Post(d, agent, 10, 1); }

  // Lets the daemon run evaluations and its delivery workers look at the
  // outbox (they poll at least every second) at the clock set.
  static void Settle(DaemonProcess& d) { ASSERT_TRUE(d.WaitForEvaluations(8)); }
  // Items of `receiver` not yet delivered (alert items folded into a group
  // are not pending).
  static int64_t Pending(DaemonProcess& d, const std::string& receiver) {
    const json body = json::parse(d.Client()->Get("/api/v1/receivers")->body);
    for (const json& r : body["receivers"]) {
      if (r["name"] == receiver) return r["pending"].get<int64_t>();
    }
    return -1;
  }

  // Per message to `path`: its alerts as "status agent", in order.
  std::vector<std::vector<std::string>> Messages(const std::string& path) const {
    std::vector<std::vector<std::string>> out;
    for (const auto& r : sink_.Requests(path)) {
      const json body = json::parse(r.body);
      std::vector<std::string> alerts;
      for (const json& a : body["alerts"]) {
        alerts.push_back(a["status"].get<std::string>() + " " +
                         a["labels"]["agent"].get<std::string>());
      }
      std::sort(alerts.begin(), alerts.end());
      out.push_back(std::move(alerts));
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  testing::HttpSink sink_;
  TimeMs t0_ = 0;
  TimeMs now_ = 0;  // what the daemon's clock reads
  int seq_ = 0;
};

using Msgs = std::vector<std::vector<std::string>>;

TEST_F(GroupingIntegrationTest, GroupedByAlertnameOneMessagePerFlush) {
  auto d = Start(Config("[alertname]"));
  ASSERT_TRUE(d->running());
  for (const char* agent : {"a", "b", "c"}) Breach(*d, agent);
  // The ungrouped receiver hears of each alert at once.
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 3, seconds(10))) << d->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return Pending(*d, "grouped") == 0; })) << d->Log();
  SetNow(t0_ + kWait - 1);
  Settle(*d);
  EXPECT_EQ(sink_.RequestCount("/grouped"), 0u) << "sent before group_wait";

  SetNow(t0_ + kWait);
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 1, seconds(10))) << d->Log();
  Settle(*d);
  EXPECT_EQ(Messages("/grouped"), (Msgs{{"firing a", "firing b", "firing c"}}));
  const json first = json::parse(sink_.Requests("/grouped")[0].body);
  EXPECT_EQ(first["groupLabels"], (json{{"alertname", "ToolCallExplosion"}}));
  EXPECT_EQ(first["groupKey"], "{}:{alertname=\"ToolCallExplosion\"}");
  EXPECT_EQ(first["commonLabels"],
            (json{{"alertname", "ToolCallExplosion"}, {"severity", "page"}}));
  EXPECT_EQ(first["status"], "firing");

  // A fourth within the group interval waits for it.
  SetNow(t0_ + kWait + kMin);
  Breach(*d, "d");
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 4, seconds(10))) << d->Log();
  SetNow(t0_ + kWait + kInterval - 1);
  Settle(*d);
  EXPECT_EQ(sink_.RequestCount("/grouped"), 1u) << "sent before group_interval";
  SetNow(t0_ + kWait + kInterval);
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 2, seconds(10))) << d->Log();
  EXPECT_EQ(Messages("/grouped")[1],
            (std::vector<std::string>{"firing a", "firing b", "firing c", "firing d"}));

  // All resolve: one resolved message at the next interval.
  for (const char* agent : {"a", "b", "c", "d"}) Recover(*d, agent);
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 8, seconds(10))) << d->Log();
  SetNow(t0_ + kWait + 2 * kInterval);
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 3, seconds(10))) << d->Log();
  SetNow(t0_ + kWait + 3 * kInterval);
  Settle(*d);
  const Msgs all = Messages("/grouped");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2],
            (std::vector<std::string>{"resolved a", "resolved b", "resolved c", "resolved d"}));
  EXPECT_EQ(json::parse(sink_.Requests("/grouped")[2].body)["status"], "resolved");
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(GroupingIntegrationTest, ReceiversShowAlertsWaitingInGroupsAndWhenTheyGoOut) {
  auto d = Start(Config("[alertname]"));
  ASSERT_TRUE(d->running());
  const auto receiver = [&](const std::string& name) {
    const json body = json::parse(d->Client()->Get("/api/v1/receivers")->body);
    for (const json& r : body["receivers"]) {
      if (r["name"] == name) return r;
    }
    return json();
  };
  for (const char* agent : {"a", "b", "c"}) Breach(*d, agent);
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 3, seconds(10))) << d->Log();
  // The three changes sit in one group until group_wait has passed.
  ASSERT_TRUE(testing::WaitFor([&] { return receiver("grouped")["waiting_in_groups"] == 3; }))
      << receiver("grouped").dump();
  json r = receiver("grouped");
  EXPECT_EQ(r["pending"], 0) << "nothing in the outbox yet";
  EXPECT_EQ(r["next_group_flush"], FormatRfc3339(t0_ + kWait));
  EXPECT_EQ(receiver("plain")["waiting_in_groups"], 0);
  EXPECT_TRUE(receiver("plain")["next_group_flush"].is_null());

  SetNow(t0_ + kWait);
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return receiver("grouped")["waiting_in_groups"] == 0; }))
      << receiver("grouped").dump();
  EXPECT_TRUE(receiver("grouped")["next_group_flush"].is_null());

  // A fourth alert waits for the group interval after the first message.
  SetNow(t0_ + kWait + kMin);
  Breach(*d, "d");
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 4, seconds(10))) << d->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return receiver("grouped")["waiting_in_groups"] == 1; }))
      << receiver("grouped").dump();
  EXPECT_EQ(receiver("grouped")["next_group_flush"], FormatRfc3339(t0_ + kWait + kInterval));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(GroupingIntegrationTest, GroupedByAgentOneMessagePerAgent) {
  auto d = Start(Config("[agent]"));
  ASSERT_TRUE(d->running());
  for (const char* agent : {"a", "b", "c"}) Breach(*d, agent);
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 3, seconds(10))) << d->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return Pending(*d, "grouped") == 0; })) << d->Log();
  Settle(*d);
  EXPECT_EQ(sink_.RequestCount("/grouped"), 0u) << "sent before group_wait";
  SetNow(t0_ + kWait);
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 3, seconds(10))) << d->Log();
  Settle(*d);
  Msgs got = Messages("/grouped");
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Msgs{{"firing a"}, {"firing b"}, {"firing c"}}));
  std::set<std::string> group_agents;
  for (const auto& r : sink_.Requests("/grouped")) {
    const json body = json::parse(r.body);
    ASSERT_EQ(body["groupLabels"].size(), 1u);
    group_agents.insert(body["groupLabels"]["agent"].get<std::string>());
  }
  EXPECT_EQ(group_agents, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(GroupingIntegrationTest, AGroupWaitingAtKill9GoesOutOnceAfterRestart) {
  const std::string config = Config("[alertname]");
  auto d = Start(config);
  ASSERT_TRUE(d->running());
  for (const char* agent : {"a", "b", "c"}) Breach(*d, agent);
  ASSERT_TRUE(sink_.WaitForRequests("/plain", 3, seconds(10))) << d->Log();
  // Folded into the stored group, not merely sitting in the outbox; and
  // the plain items marked delivered (a kill between a POST and its mark
  // sends that item again: delivery is at least once).
  ASSERT_TRUE(testing::WaitFor([&] {
    return Pending(*d, "grouped") == 0 && Pending(*d, "plain") == 0;
  })) << d->Log();
  EXPECT_EQ(sink_.RequestCount("/grouped"), 0u);
  d->Kill9();

  SetNow(t0_ + kWait);
  d = Start(config);
  ASSERT_TRUE(d->running());
  ASSERT_TRUE(sink_.WaitForRequests("/grouped", 1, seconds(10))) << d->Log();
  SetNow(t0_ + kWait + kInterval);
  Settle(*d);
  EXPECT_EQ(Messages("/grouped"), (Msgs{{"firing a", "firing b", "firing c"}}));
  EXPECT_EQ(sink_.RequestCount("/plain"), 3u) << "a restart re-announced firing alerts";
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace aw
