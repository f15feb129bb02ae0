// The alert page (/alerts/<fingerprint>) and the links to it in every
// notification, against the real binary with loopback stand-ins for
// PagerDuty, Slack and a webhook; and the status page for on call.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::DaemonProcess;

constexpr const char* kBase = "https://aw.example.test/oncall";
// Label values are whatever agents send: this one must come out as text.
constexpr const char* kEvil = "<script>alert(1)</script>";
constexpr const char* kEvilEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;";

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: CostRunaway
    sli: cost_usd
    window: 1h
    by: [agent, env]
    threshold: 1.5
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.agent }} spent too much"
      description: "Cost over the last hour is above budget."
      runbook_url: https://wiki.example.test/runbooks/cost
      dashboard_url: https://grafana.example.test/d/cost
)";

int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Sent {
  std::string id;
  double cost;
  std::string incident;
};

class AlertPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("rules/agents.yaml", kRules);
    config_ =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   "external_url: " +
                       std::string(kBase) +
                       "/\n"
                       "receivers:\n"
                       "  - name: hook\n    webhook: {url: \"" +
                       sink_.Url("/hook") +
                       "\"}\n"
                       "  - name: pd\n    pagerduty: {routing_key: rk-1, url: \"" +
                       sink_.Url("/pd") +
                       "\"}\n"
                       "  - name: slack\n    slack: {webhook_url: \"" +
                       sink_.Url("/slack") +
                       "\"}\n"
                       "default_receivers: [hook, pd, slack]\n"
                       "rule_files: [rules/*.yaml]\n");
  }

  // Posts `sent` for agent ir (env kEvil), plus a cheap agent that stays
  // healthy; waits for the alert and returns its fingerprint.
  std::string Breach(DaemonProcess& d) {
    const int64_t now = NowSec();
    breached_ms_ = now * 1000;
    json spans = json::array();
    for (size_t i = 0; i < sent_.size(); ++i) {
      spans.push_back({{"investigation_id", sent_[i].id},
                       {"agent", "ir"},
                       {"ts", now - 600 + static_cast<int64_t>(i) * 30},
                       {"estimated_cost_usd", sent_[i].cost},
                       {"incident_id", sent_[i].incident},
                       {"tool_calls", 3},
                       {"labels", {{"env", kEvil}}}});
    }
    spans.push_back({{"investigation_id", "calm-1"},
                     {"agent", "calm"},
                     {"ts", now - 60},
                     {"estimated_cost_usd", 0.01},
                     {"labels", {{"env", kEvil}}}});
    auto res = d.Client()->Post("/v1/spans", spans.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no reply");
    std::string fp, last;
    EXPECT_TRUE(testing::WaitFor([&] {
      auto r = d.Client()->Get("/api/v1/alerts");
      if (!r) return false;
      last = r->body;
      const json body = json::parse(r->body);
      for (const json& a : body["alerts"]) {
        if (a["name"] == "CostRunaway" && a["state"] == "firing")
          fp = a["fingerprint"].get<std::string>();
      }
      return !fp.empty();
    })) << last;
    return fp;
  }

  std::string Page(DaemonProcess& d, const std::string& path, int* status = nullptr) {
    auto r = d.Client()->Get(path.c_str());
    if (!r) return "";
    if (status) *status = r->status;
    return r->body;
  }

  testing::TempDir dir_;
  testing::HttpSink sink_;
  std::string config_;
  TimeMs breached_ms_ = 0;  // wall clock (whole seconds) when Breach posted
  std::vector<Sent> sent_ = {{"inv-a", 0.40, "INC-1"},
                             {"inv-b", 0.90, "INC-2"},
                             {"inv-c", 0.15, "INC-3"},
                             {"inv-d", 0.55, "INC-4"}};
};

TEST_F(AlertPageTest, FiringAlertPageShowsLabelsValueThresholdAndInvestigations) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  const std::string fp = Breach(d);
  ASSERT_FALSE(fp.empty());

  // Every receiver has delivered once the page says so for all three.
  ASSERT_TRUE(sink_.WaitForRequests("/slack", 1, seconds(10)));
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10)));
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10)));
  std::string page;
  int status = 0;
  ASSERT_TRUE(testing::WaitFor([&] {
    page = Page(d, "/alerts/" + fp, &status);
    size_t delivered = 0;
    for (size_t at = 0; (at = page.find(">delivered<", at)) != std::string::npos; ++at) {
      ++delivered;
    }
    return delivered == 3;
  })) << page;
  EXPECT_EQ(status, 200);

  EXPECT_NE(page.find("CostRunaway"), std::string::npos);
  EXPECT_NE(page.find(">ir<"), std::string::npos) << "agent label";
  EXPECT_NE(page.find(kEvilEscaped), std::string::npos) << "env label, escaped";
  EXPECT_EQ(page.find("<script"), std::string::npos) << "no raw <script> anywhere";
  EXPECT_NE(page.find("ir spent too much"), std::string::npos);
  EXPECT_NE(page.find("Cost over the last hour is above budget."), std::string::npos);
  EXPECT_NE(page.find("href=\"https://wiki.example.test/runbooks/cost\""), std::string::npos);
  EXPECT_NE(page.find("href=\"https://grafana.example.test/d/cost\""), std::string::npos);

  // The value is the sum of the costs sent, in dollars, against $1.50.
  double sum = 0;
  for (const Sent& s : sent_) sum += s.cost;
  char value[32];
  std::snprintf(value, sizeof value, "$%.2f", sum);
  EXPECT_NE(page.find(value), std::string::npos) << value;
  EXPECT_NE(page.find("threshold $1.50"), std::string::npos);
  EXPECT_NE(page.find("class=\"threshold\""), std::string::npos) << "threshold in the chart";
  EXPECT_NE(page.find("firing for "), std::string::npos);

  // The investigations behind it, most expensive first, linked to the API.
  std::vector<Sent> by_cost = sent_;
  std::sort(by_cost.begin(), by_cost.end(),
            [](const Sent& a, const Sent& b) { return a.cost > b.cost; });
  size_t last = 0;
  for (const Sent& s : by_cost) {
    const size_t at = page.find("href=\"/api/v1/investigations/" + s.id + "\"");
    ASSERT_NE(at, std::string::npos) << s.id;
    EXPECT_GT(at, last) << s.id << " out of order";
    last = at;
    EXPECT_NE(page.find(s.incident), std::string::npos);
  }
  EXPECT_EQ(page.find("calm-1"), std::string::npos) << "another agent's investigation";
  for (const char* receiver : {">hook<", ">pd<", ">slack<"}) {
    EXPECT_NE(page.find(receiver), std::string::npos) << receiver;
  }
  // Each delivery with its time: after the alert fired, by now.
  const TimeMs checked_ms = NowSec() * 1000 + 1000;
  constexpr std::string_view kDeliveredAt = "class=\"delivered-at\">";
  int times = 0;
  for (size_t at = 0; (at = page.find(kDeliveredAt, at)) != std::string::npos; ++at) {
    const size_t from = at + kDeliveredAt.size();
    const auto t = ParseRfc3339(page.substr(from, page.find(' ', from) - from));
    ASSERT_TRUE(t.has_value()) << page.substr(from, 40);
    EXPECT_GE(*t, breached_ms_);
    EXPECT_LE(*t, checked_ms);
    ++times;
  }
  EXPECT_EQ(times, 3) << page;
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(AlertPageTest, EveryReceiverLinksTheAlertPage) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  const std::string fp = Breach(d);
  ASSERT_FALSE(fp.empty());
  ASSERT_TRUE(sink_.WaitForRequests("/slack", 1, seconds(10)));
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10)));
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10)));
  const std::string page = std::string(kBase) + "/alerts/" + fp;

  const json pd = json::parse(sink_.Requests("/pd")[0].body);
  EXPECT_EQ(pd["client_url"], page);
  ASSERT_GE(pd["links"].size(), 3u) << pd.dump();
  EXPECT_EQ(pd["links"][0]["href"], page);
  EXPECT_EQ(pd["links"][1]["href"], "https://wiki.example.test/runbooks/cost");
  EXPECT_EQ(pd["links"][2]["href"], "https://grafana.example.test/d/cost");

  const json hook = json::parse(sink_.Requests("/hook")[0].body);
  EXPECT_EQ(hook["alerts"][0]["generatorURL"], page);

  const json slack = json::parse(sink_.Requests("/slack")[0].body);
  EXPECT_NE(slack["text"].get<std::string>().find("<" + page + "|"), std::string::npos)
      << slack.dump();
  std::vector<std::string> buttons;
  for (const json& block : slack["attachments"][0]["blocks"]) {
    if (block["type"] != "actions") continue;
    for (const json& e : block["elements"]) {
      if (e.contains("url")) buttons.push_back(e["url"]);  // the silence button has none
    }
  }
  ASSERT_FALSE(buttons.empty()) << slack.dump();
  EXPECT_EQ(buttons[0], page);

  // And the link leads to the page: the same path on this daemon.
  int status = 0;
  Page(d, "/alerts/" + fp, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(AlertPageTest, UnknownFingerprintIsA404PageThatEscapesIt) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  int status = 0;
  std::string page = Page(d, "/alerts/feedfacefeedface", &status);
  EXPECT_EQ(status, 404);
  EXPECT_NE(page.find("feedfacefeedface"), std::string::npos);
  page = Page(d, "/alerts/%3Cscript%3Ex", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(page.find("<script"), std::string::npos) << page;
  EXPECT_NE(page.find("&lt;script&gt;x"), std::string::npos) << page;
  // Bytes that are not UTF-8 come back as U+FFFD: the page stays valid UTF-8.
  page = Page(d, "/alerts/ab%FF%C0cd", &status);
  EXPECT_EQ(status, 404);
  EXPECT_NE(page.find("ab\xEF\xBF\xBD\xEF\xBF\xBD"
                      "cd"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find('\xFF'), std::string::npos);
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(AlertPageTest, StatusPageListsTheUnhealthyAgentFirstWithItsAlert) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  const std::string fp = Breach(d);
  ASSERT_FALSE(fp.empty());
  const std::string page = Page(d, "/");
  EXPECT_NE(page.find("name=\"viewport\""), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  // "calm" sorts before "ir" by name; ir has the firing alert, so it leads.
  const size_t agents = page.find("id=\"agents\"");
  ASSERT_NE(agents, std::string::npos);
  const size_t ir = page.find("data-agent=\"ir\"", agents);
  const size_t calm = page.find("data-agent=\"calm\"", agents);
  ASSERT_NE(ir, std::string::npos);
  ASSERT_NE(calm, std::string::npos);
  EXPECT_LT(ir, calm);
  EXPECT_NE(page.find(">unhealthy<", ir), std::string::npos);
  EXPECT_LT(page.find(">unhealthy<", ir), calm) << "the mark is on ir's card";
  // The alert, linked to its page, with its summary and threshold.
  EXPECT_NE(page.find("href=\"/alerts/" + fp + "\""), std::string::npos);
  EXPECT_NE(page.find("ir spent too much"), std::string::npos);
  EXPECT_NE(page.find("&gt; $1.50"), std::string::npos);
  EXPECT_NE(page.find("last span "), std::string::npos);
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace aw
