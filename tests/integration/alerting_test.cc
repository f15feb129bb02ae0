// The alert path end to end against the real binary: a breach fires to
// loopback stand-ins for a signed webhook, PagerDuty and Slack; recovery
// resolves; a reload keeps state (and a broken one keeps the old rules); a
// restart does not announce a firing alert again.

#include <map>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::DaemonProcess;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 10 investigations
    threshold: THRESHOLD
    min_samples: 5
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.agent }} p95 tool calls is {{ $value }}"
)";

class AlertingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteRules("25");
    config_ =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   "receivers:\n"
                   "  - name: hook\n    webhook: {url: \"" +
                       sink_.Url("/hook") +
                       "\", secret: s3cret}\n"
                       "  - name: pd\n    pagerduty: {routing_key: rk-123, url: \"" +
                       sink_.Url("/pd") +
                       "\"}\n"
                       "  - name: slack\n    slack: {webhook_url: \"" +
                       sink_.Url("/slack") +
                       "\"}\n"
                       "default_receivers: [hook, pd, slack]\n"
                       "rule_files: [rules/*.yaml]\n");
  }

  void WriteRules(const std::string& threshold) {
    std::string text = kRules;
    text.replace(text.find("THRESHOLD"), 9, threshold);
    dir_.Write("rules/agents.yaml", text);
  }

  void PostSpans(DaemonProcess& d, const std::string& prefix, int n, int tool_calls) {
    std::string body;
    for (int i = 0; i < n; ++i) {
      body += R"({"investigation_id":")" + prefix + std::to_string(i) +
              R"(","agent":"ir","tool_calls":)" + std::to_string(tool_calls) + "}\n";
    }
    auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  static json Alerts(DaemonProcess& d) {
    return json::parse(d.Client()->Get("/api/v1/alerts")->body)["alerts"];
  }

  testing::TempDir dir_;
  testing::HttpSink sink_;
  std::string config_;
};

TEST_F(AlertingTest, BreachRecoveryReloadAndRestart) {
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();

  // Breach: ten investigations with 40 tool calls each.
  PostSpans(*d, "loop-", 10, 40);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10)));
  ASSERT_TRUE(sink_.WaitForRequests("/slack", 1, seconds(10)));

  const auto hook = sink_.Requests("/hook")[0];
  EXPECT_EQ(hook.Header("X-Agentwatch-Signature"), "sha256=" + HmacSha256Hex("s3cret", hook.body));
  const json webhook = json::parse(hook.body);
  EXPECT_EQ(webhook["version"], "4");
  EXPECT_EQ(webhook["status"], "firing");
  EXPECT_EQ(webhook["alerts"][0]["labels"]["alertname"], "AgentToolCallExplosion");
  EXPECT_EQ(webhook["alerts"][0]["labels"]["agent"], "ir");
  EXPECT_EQ(webhook["alerts"][0]["annotations"]["summary"], "ir p95 tool calls is 40");
  const std::string fingerprint = webhook["alerts"][0]["fingerprint"];

  const json pd = json::parse(sink_.Requests("/pd")[0].body);
  EXPECT_EQ(pd["routing_key"], "rk-123");
  EXPECT_EQ(pd["event_action"], "trigger");
  EXPECT_EQ(pd["dedup_key"], fingerprint);
  EXPECT_EQ(pd["payload"]["severity"], "critical");
  EXPECT_EQ(pd["payload"]["custom_details"]["value"], 40);
  EXPECT_NE(json::parse(sink_.Requests("/slack")[0].body)["text"].get<std::string>().find(
                "AgentToolCallExplosion"),
            std::string::npos);

  json alerts = Alerts(*d);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["state"], "firing");
  EXPECT_EQ(alerts[0]["fingerprint"], fingerprint);

  // A reload that keeps the rule keeps the alert (no second announcement);
  // a broken rule file is refused and the old rules stay.
  WriteRules("30");
  auto reload = d->Client()->Post("/-/reload", "", "application/json");
  ASSERT_EQ(reload->status, 200) << reload->body;
  EXPECT_EQ(Alerts(*d)[0]["active_since"], alerts[0]["active_since"]);
  dir_.Write("rules/agents.yaml",
             "groups:\n- name: agents\n  rules:\n  - alert: X\n    sli: nope\n");
  reload = d->Client()->Post("/-/reload", "", "application/json");
  EXPECT_EQ(reload->status, 400);
  EXPECT_NE(reload->body.find("agents.yaml:5"), std::string::npos) << reload->body;
  const json rules = json::parse(d->Client()->Get("/api/v1/rules")->body);
  EXPECT_EQ(rules["last_reload"]["success"], false);
  EXPECT_EQ(rules["groups"][0]["rules"][0]["name"], "AgentToolCallExplosion");
  EXPECT_NE(d->Client()->Get("/metrics")->body.find("agentwatch_config_last_reload_successful 0"),
            std::string::npos);
  WriteRules("30");

  // Restart: the firing alert is restored, not announced again.
  ASSERT_EQ(d->Stop(), 0);
  d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(sink_.RequestCount("/hook"), 1u);
  alerts = Alerts(*d);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["fingerprint"], fingerprint);

  // Recovery: ten quiet investigations push the loop out of the window.
  PostSpans(*d, "calm-", 10, 2);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 2, seconds(10)));
  const json resolved = json::parse(sink_.Requests("/hook")[1].body);
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["fingerprint"], fingerprint);
  // The resolve tells the value that ended the alert, not the one that fired it.
  EXPECT_EQ(resolved["alerts"][0]["annotations"]["summary"], "ir p95 tool calls is 2");
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 2, seconds(10)));
  EXPECT_EQ(json::parse(sink_.Requests("/pd")[1].body)["event_action"], "resolve");
  EXPECT_TRUE(Alerts(*d).empty());
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(AlertingTest, ReceiverOutageIsRetriedThroughTheOutbox) {
  sink_.Respond("/hook", 503, 2);
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  PostSpans(*d, "loop-", 10, 40);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 3, seconds(15))) << d->Log();
  EXPECT_TRUE(testing::WaitFor([&] {
    const std::string m = d->Client()->Get("/metrics")->body;
    return m.find("agentwatch_notifications_total{receiver=\"hook\",result=\"sent\"} 1") !=
               std::string::npos &&
           m.find("agentwatch_notifications_total{receiver=\"hook\",result=\"retry\"} 2") !=
               std::string::npos;
  }));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(AlertingTest, CheckTestAndReplayCommands) {
  std::string out, err;
  const std::string examples = std::string(AW_SOURCE_DIR) + "/examples";
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", examples + "/agentwatch.yaml"},
                               &out, &err),
            0)
      << out << err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", config_}, &out, &err), 0) << err;
  dir_.Write("rules/agents.yaml",
             "groups:\n- name: g\n  rules:\n  - alert: X\n    sli: tool_calls\n    window: 1h\n    "
             "threshold: 1\n");
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", config_}, &out, &err), 1);
  EXPECT_NE(err.find("agents.yaml:"), std::string::npos) << err;
  EXPECT_NE(err.find("stat"), std::string::npos) << err;

  EXPECT_EQ(
      testing::RunBinary(AW_BINARY, {"test", examples + "/tests/agents_test.yaml"}, &out, &err), 0)
      << out << err;

  WriteRules("25");
  std::string events;
  for (int i = 0; i < 10; ++i) {
    events += R"({"span":{"investigation_id":"r)" + std::to_string(i) +
              R"(","agent":"ir","tool_calls":40,"ts":"2026-11-20T03:1)" + std::to_string(i) +
              ":00Z\"}}\n";
  }
  const std::string events_file = dir_.Write("events.ndjson", events);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"replay", "--config", config_, events_file}, &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("2026-11-20T03:14:00Z firing   AgentToolCallExplosion {agent=\"ir\", "
                     "severity=\"page\"} value=40"),
            std::string::npos)
      << out << err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"replay", "--config", config_, "--json", events_file},
                               &out, &err),
            0);
  EXPECT_NE(out.find("\"state\":\"firing\""), std::string::npos) << out;

  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"frobnicate"}, &out, &err), 2);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"serve"}, &out, &err), 2);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"version"}, &out, &err), 0);
  EXPECT_NE(out.find("agentwatch "), std::string::npos);
}

TEST_F(AlertingTest, FailedDeliveriesAreLoggedAndShownPerReceiver) {
  // The webhook receiver fails every attempt; PagerDuty and Slack succeed.
  sink_.Respond("/hook", 500, 1000);
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  PostSpans(*d, "loop-", 10, 40);
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();

  json receivers;
  ASSERT_TRUE(testing::WaitFor([&] {
    receivers = json::parse(d->Client()->Get("/api/v1/receivers")->body)["receivers"];
    for (const json& r : receivers) {
      if (r["name"] == "hook" && r["last_error_at"].is_string()) return true;
    }
    return false;
  })) << receivers.dump();
  std::map<std::string, json> by_name;
  for (const json& r : receivers) by_name[r["name"]] = r;
  ASSERT_EQ(by_name.size(), 3u) << receivers.dump();
  EXPECT_EQ(by_name["hook"]["pending"], 1);
  EXPECT_TRUE(by_name["hook"]["last_success"].is_null());
  EXPECT_NE(by_name["hook"]["last_error"].get<std::string>().find("500"), std::string::npos)
      << by_name["hook"].dump();
  ASSERT_TRUE(testing::WaitFor([&] {
    const json pd = json::parse(d->Client()->Get("/api/v1/receivers")->body)["receivers"];
    for (const json& r : pd) {
      if (r["name"] == "pd") return r["last_success"].is_string() && r["pending"] == 0;
    }
    return false;
  }));
  // The status page shows the same delivery health.
  const std::string page = d->Client()->Get("/")->body;
  const size_t delivery = page.find("<h2>Delivery</h2>");
  ASSERT_NE(delivery, std::string::npos);
  EXPECT_NE(page.find("<td>hook</td><td class=\"bad\">1</td><td>never</td>", delivery),
            std::string::npos)
      << page.substr(delivery, 800);
  // The failed attempt is logged at warn, naming the receiver.
  const std::string log = d->Log();
  const size_t line = log.find("delivery failed");
  ASSERT_NE(line, std::string::npos) << log;
  const std::string text =
      log.substr(log.rfind('\n', line) + 1, log.find('\n', line) - log.rfind('\n', line));
  EXPECT_NE(text.find("level=warn"), std::string::npos) << text;
  EXPECT_NE(text.find("receiver=hook"), std::string::npos) << text;
  EXPECT_NE(text.find("next_attempt="), std::string::npos) << text;
  // The alert's own line carries its labels.
  const size_t alert_at = log.find("alertname=AgentToolCallExplosion");
  ASSERT_NE(alert_at, std::string::npos) << log;
  const std::string alert_line = log.substr(log.rfind('\n', alert_at) + 1,
                                            log.find('\n', alert_at) - log.rfind('\n', alert_at));
  EXPECT_NE(alert_line.find("agent=ir"), std::string::npos) << alert_line;
  EXPECT_NE(alert_line.find("severity=page"), std::string::npos) << alert_line;
}

TEST_F(AlertingTest, LinksUseExternalUrlAndTheFingerprintFilterHolds) {
  config_ =
      dir_.Write("agentwatch.yaml",
                 "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                 "external_url: https://agentwatch.example.com/\n"
                 "receivers:\n"
                 "  - name: hook\n    webhook: {url: \"" +
                     sink_.Url("/hook") +
                     "\"}\n"
                     "  - name: pd\n    pagerduty: {routing_key: rk-123, url: \"" +
                     sink_.Url("/pd") +
                     "\"}\n"
                     "default_receivers: [hook, pd]\n"
                     "rule_files: [rules/*.yaml]\n");
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  PostSpans(*d, "loop-", 10, 40);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10)));
  const json hook = json::parse(sink_.Requests("/hook")[0].body);
  const std::string fp = hook["alerts"][0]["fingerprint"];
  EXPECT_EQ(hook["externalURL"], "https://agentwatch.example.com/");
  EXPECT_EQ(hook["alerts"][0]["generatorURL"], "https://agentwatch.example.com/alerts/" + fp);
  EXPECT_EQ(json::parse(sink_.Requests("/pd")[0].body)["client_url"],
            "https://agentwatch.example.com/alerts/" + fp);

  // A second alert (another agent), so the filter has something to drop.
  std::string body;
  for (int i = 0; i < 10; ++i) {
    body += R"({"investigation_id":"other-)" + std::to_string(i) +
            R"(","agent":"cost","tool_calls":50})"
            "\n";
  }
  ASSERT_EQ(d->Client()->Post("/v1/spans", body, "application/x-ndjson")->status, 200);
  ASSERT_TRUE(testing::WaitFor([&] { return Alerts(*d).size() == 2; }));
  const json one =
      json::parse(d->Client()->Get(("/api/v1/alerts?fingerprint=" + fp).c_str())->body)["alerts"];
  ASSERT_EQ(one.size(), 1u) << one.dump();
  EXPECT_EQ(one[0]["fingerprint"], fp);
  EXPECT_EQ(one[0]["labels"]["agent"], "ir");
  EXPECT_TRUE(
      json::parse(d->Client()->Get("/api/v1/alerts?fingerprint=nope")->body)["alerts"].empty());

  // Anything but an http(s) URL is refused at start, with its line.
  const std::string bad =
      dir_.Write("bad.yaml", "listen: 127.0.0.1:0\nexternal_url: agentwatch.example.com\n");
  std::string out, err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", bad}, &out, &err), 1);
  EXPECT_NE(err.find("bad.yaml:2"), std::string::npos) << err;
  EXPECT_NE(err.find("external_url: must start with http://"), std::string::npos) << err;
}

}  // namespace
}  // namespace aw
