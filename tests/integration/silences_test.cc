// Silences and acks end to end against the real binary: its wall clock set
// from a file (AGENTWATCH_TEST_NOW_FILE), a real SQLite store and loopback
// receivers. A silence holds back notifications while /api/v1/alerts still
// lists the alert; its end (expiry or DELETE) lets the trigger out; it
// survives a restart; a PagerDuty ack stops repeats; the Slack "Silence 1h"
// button creates a silence; the CLI drives the API.

#include <chrono>
#include <cstdio>
#include <ctime>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/now_file.h"
#include "tests/testing/signed_webhooks.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::DaemonProcess;

constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr const char* kAdminToken = "admin-token-0123456789ab";
constexpr const char* kIngestToken = "ingest-token-0123456789ab";
constexpr const char* kPdSecret = "pd-secret";
constexpr const char* kSlackSecret = "slack-secret";

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 10 investigations
    threshold: 25
    min_samples: 5
    labels: {severity: page}
)";

class SilencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Near the real time, so the CLI's --duration (its own clock) agrees.
    now_ = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() /
           1000 * 1000;
    SetNow(now_);
    dir_.Write("rules/agents.yaml", kRules);
  }

  std::unique_ptr<DaemonProcess> Start(const std::string& auth = "") {
    const std::string config =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   "repeat_interval: 1h\n" +
                       auth +
                       "receivers:\n"
                       "  - name: hook\n    webhook: {url: \"" +
                       sink_.Url("/hook") +
                       "\"}\n"
                       "  - name: pd\n    pagerduty: {routing_key: rk, url: \"" +
                       sink_.Url("/pd") +
                       "\"}\n"
                       "  - name: slack\n    slack: {webhook_url: \"" +
                       sink_.Url("/slack") +
                       "\"}\n"
                       "default_receivers: [hook, pd, slack]\n"
                       "rule_files: [rules/*.yaml]\n");
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static std::string AuthYaml() {
    return std::string("auth:\n  ingest_tokens: [") + kIngestToken + "]\n  admin_tokens: [" +
           kAdminToken + "]\n  pagerduty_webhook_secret: " + kPdSecret +
           "\n  slack_signing_secret: " + kSlackSecret + "\n";
  }

  void SetNow(TimeMs t) {
    now_ = t;
    now_file_.Set(t);
  }

  static void PostSpans(DaemonProcess& d, const std::string& agent, const std::string& prefix,
                        int n, int tool_calls, const std::string& token = "") {
    std::string body;
    for (int i = 0; i < n; ++i) {
      body += json{{"investigation_id", prefix + std::to_string(i)},
                   {"agent", agent},
                   {"tool_calls", tool_calls}}
                  .dump() +
              "\n";
    }
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto res = d.Client()->Post("/v1/spans", h, body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  static json Alerts(DaemonProcess& d) {
    return json::parse(d.Client()->Get("/api/v1/alerts")->body)["alerts"];
  }
  static json AlertOf(DaemonProcess& d, const std::string& agent) {
    for (const json& a : Alerts(d)) {
      if (a["labels"].value("agent", "") == agent) return a;
    }
    return json();
  }
  static json Silences(DaemonProcess& d) {
    return json::parse(d.Client()->Get("/api/v1/silences")->body)["silences"];
  }

  // POSTs a silence of agent=`agent` ending `for_ms` from now; its id.
  std::string Silence(DaemonProcess& d, const std::string& agent, TimeMs for_ms,
                      const std::string& token = "") {
    const json body = {
        {"matchers",
         {{{"name", "agent"}, {"value", agent}, {"isRegex", false}, {"isEqual", true}}}},
        {"endsAt", FormatRfc3339(now_ + for_ms)},
        {"createdBy", "alice"},
        {"comment", "deploy"}};
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto res = d.Client()->Post("/api/v1/silences", h, body.dump(), "application/json");
    if (!res || res->status != 200) {
      ADD_FAILURE() << (res ? res->body : "no reply");
      return "";
    }
    return json::parse(res->body)["silenceID"];
  }

  // Waits until the daemon has run a few more evaluations (at the clock set)
  // and their notifications have had time to go out.
  static void Settle(DaemonProcess& d) {
    ASSERT_TRUE(d.WaitForEvaluations(3));
    ASSERT_TRUE(testing::WaitFor([&] {
      const json body = json::parse(d.Client()->Get("/api/v1/receivers")->body);
      for (const json& r : body["receivers"]) {
        if (r["pending"] != 0) return false;
      }
      return true;
    }));
  }

  // The agents of the firing (or resolved) notifications the webhook got.
  std::vector<std::string> HookAgents(const std::string& status) const {
    std::vector<std::string> out;
    for (const auto& r : sink_.Requests("/hook")) {
      const json body = json::parse(r.body);
      for (const json& a : body["alerts"]) {
        if (a["status"] == status) out.push_back(a["labels"]["agent"]);
      }
    }
    return out;
  }

  std::vector<std::string> PdActions() const {
    std::vector<std::string> out;
    for (const auto& r : sink_.Requests("/pd")) out.push_back(json::parse(r.body)["event_action"]);
    return out;
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  testing::HttpSink sink_;
  TimeMs now_ = 0;
};

TEST_F(SilencesTest, MatchingSilenceHoldsNotificationsUntilItExpires) {
  auto d = Start();
  // Shorter than repeat_interval, so cost's repeat does not muddle the count.
  const std::string id = Silence(*d, "ir", 30 * kMinute);
  ASSERT_FALSE(id.empty());
  const std::string other = Silence(*d, "billing", 3 * kHour);

  PostSpans(*d, "ir", "ir-", 10, 40);
  PostSpans(*d, "cost", "cost-", 10, 40);
  // cost matches no silence: it notifies.
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return AlertOf(*d, "ir").is_object(); }));
  Settle(*d);
  EXPECT_EQ(HookAgents("firing"), std::vector<std::string>{"cost"});
  const json ir = AlertOf(*d, "ir");
  EXPECT_EQ(ir["state"], "firing");
  EXPECT_EQ(ir["silencedBy"], json::array({id}));
  EXPECT_EQ(AlertOf(*d, "cost")["silencedBy"], json::array());

  json silences = Silences(*d);
  ASSERT_EQ(silences.size(), 2u);
  for (const json& s : silences) {
    EXPECT_EQ(s["status"], "active");
    EXPECT_EQ(s["createdBy"], "alice");
    EXPECT_EQ(s["comment"], "deploy");
  }
  // The status page lists the active silences with their matchers.
  const std::string page = d->Client()->Get("/")->body;
  EXPECT_NE(page.find("agent=&quot;billing&quot;"), std::string::npos) << page;
  EXPECT_NE(page.find("alice"), std::string::npos);

  // Past endsAt: expired, and ir's trigger goes out at the next tick.
  SetNow(now_ + 30 * kMinute + 1000);
  ASSERT_TRUE(testing::WaitFor([&] { return HookAgents("firing").size() >= 2; })) << d->Log();
  Settle(*d);
  EXPECT_EQ(HookAgents("firing"), (std::vector<std::string>{"cost", "ir"}));
  EXPECT_EQ(AlertOf(*d, "ir")["silencedBy"], json::array());
  for (const json& s : Silences(*d)) {
    EXPECT_EQ(s["status"], s["id"] == id ? "expired" : "active") << s.dump();
  }
  (void)other;
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SilencesTest, SilenceSurvivesRestartAndDeleteLetsTheTriggerOut) {
  auto d = Start();
  const std::string id = Silence(*d, "ir", 2 * kHour);
  PostSpans(*d, "ir", "ir-", 10, 40);
  ASSERT_TRUE(testing::WaitFor([&] { return AlertOf(*d, "ir").is_object(); }));
  Settle(*d);
  EXPECT_EQ(sink_.RequestCount(), 0u);
  ASSERT_EQ(d->Stop(), 0);

  d = Start();
  json silences = Silences(*d);
  ASSERT_EQ(silences.size(), 1u);
  EXPECT_EQ(silences[0]["id"], id);
  EXPECT_EQ(silences[0]["status"], "active");
  EXPECT_EQ(silences[0]["matchers"][0]["value"], "ir");
  ASSERT_TRUE(testing::WaitFor([&] { return AlertOf(*d, "ir").is_object(); }));
  Settle(*d);
  EXPECT_EQ(sink_.RequestCount(), 0u);  // still held back after the restart
  EXPECT_EQ(AlertOf(*d, "ir")["silencedBy"], json::array({id}));

  auto res = d->Client()->Delete("/api/v1/silences/no-such-id");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404) << res->body;
  res = d->Client()->Delete("/api/v1/silences/" + id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Silences(*d)[0]["status"], "expired");
  EXPECT_EQ(Silences(*d)[0]["endsAt"], FormatRfc3339(now_));
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10)));
  EXPECT_EQ(HookAgents("firing"), std::vector<std::string>{"ir"});
  EXPECT_EQ(PdActions(), std::vector<std::string>{"trigger"});
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SilencesTest, PostNeedsAdminTokenAndBadInputNamesTheField) {
  auto d = Start(AuthYaml());
  const json ok = {{"matchers", {{{"name", "agent"}, {"value", "ir"}}}},
                   {"endsAt", FormatRfc3339(now_ + kHour)},
                   {"createdBy", "alice"}};
  auto post = [&](const std::string& body, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return d->Client()->Post("/api/v1/silences", h, body, "application/json");
  };
  auto res = post(ok.dump(), "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401) << res->body;
  res = post(ok.dump(), "wrong-token");
  EXPECT_EQ(res->status, 401) << res->body;
  res = post(ok.dump(), kIngestToken);
  EXPECT_EQ(res->status, 403) << res->body;
  res = d->Client()->Delete("/api/v1/silences/x");
  EXPECT_EQ(res->status, 401) << res->body;
  EXPECT_EQ(Silences(*d).size(), 0u);  // reads need no token (protect_reads is off)

  const std::pair<json, std::string> bad[] = {
      {json{{"matchers", json::array()}, {"endsAt", FormatRfc3339(now_ + kHour)}}, "matchers"},
      {json{{"matchers", {{{"name", "agent"}, {"value", "ir"}}}},
            {"startsAt", FormatRfc3339(now_ + 2 * kHour)},
            {"endsAt", FormatRfc3339(now_ + kHour)}},
       "endsAt"},
      {json{{"matchers", {{{"name", "agent"}, {"value", "(ir"}, {"isRegex", true}}}},
            {"endsAt", FormatRfc3339(now_ + kHour)}},
       "matchers[0].value"},
      {json{{"matchers", {{{"name", "agent"}, {"value", "ir"}}}}, {"endsAt", "soon"}}, "endsAt"},
  };
  for (const auto& [body, field] : bad) {
    res = post(body.dump(), kAdminToken);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body.dump();
    EXPECT_EQ(json::parse(res->body)["error"].get<std::string>().rfind(field + ":", 0), 0u)
        << res->body;
  }
  res = post(ok.dump(), kAdminToken);
  EXPECT_EQ(res->status, 200) << res->body;
  const std::string id = json::parse(res->body)["silenceID"];
  ASSERT_EQ(Silences(*d).size(), 1u);
  httplib::Headers ingest = {{"Authorization", std::string("Bearer ") + kIngestToken}};
  EXPECT_EQ(d->Client()->Delete("/api/v1/silences/" + id, ingest)->status, 403);
  httplib::Headers admin = {{"Authorization", std::string("Bearer ") + kAdminToken}};
  EXPECT_EQ(d->Client()->Delete("/api/v1/silences/" + id, admin)->status, 200);
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SilencesTest, PagerDutyAckStopsRepeatsAndTheResolveStillGoesOut) {
  auto d = Start(AuthYaml());
  PostSpans(*d, "ir", "ir-", 10, 40, kIngestToken);
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 1, seconds(10))) << d->Log();
  const std::string fingerprint = json::parse(sink_.Requests("/pd")[0].body)["dedup_key"];
  Settle(*d);
  // repeat_interval (1h) passes: one repeat.
  SetNow(now_ + kHour + kMinute);
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 2, seconds(10))) << d->Log();
  Settle(*d);
  EXPECT_EQ(PdActions(), (std::vector<std::string>{"trigger", "trigger"}));

  const json ack = {{"event",
                     {{"id", "01ABC"},
                      {"event_type", "incident.acknowledged"},
                      {"resource_type", "incident"},
                      {"occurred_at", FormatRfc3339(now_)},
                      {"data",
                       {{"id", "Q2ABC3D"},
                        {"type", "incident"},
                        {"number", 7},
                        {"status", "acknowledged"},
                        {"incident_key", fingerprint}}}}}};
  const std::string body = ack.dump();
  const httplib::Headers pd = testing::PagerDutySignedHeaders(body, kPdSecret);
  auto res = d->Client()->Post("/v1/webhooks/pagerduty", pd, body, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["acknowledged"], 1);
  EXPECT_EQ(AlertOf(*d, "ir")["acknowledged"], true);

  // Two more repeat intervals, and a restart in between: no repeat.
  SetNow(now_ + kHour + kMinute);
  Settle(*d);
  ASSERT_EQ(d->Stop(), 0);
  d = Start(AuthYaml());
  EXPECT_EQ(AlertOf(*d, "ir")["acknowledged"], true);
  SetNow(now_ + kHour + kMinute);
  Settle(*d);
  EXPECT_EQ(PdActions(), (std::vector<std::string>{"trigger", "trigger"}));

  // Recovery: the resolve goes out.
  PostSpans(*d, "ir", "calm-", 10, 1, kIngestToken);
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 3, seconds(10))) << d->Log();
  EXPECT_EQ(PdActions(), (std::vector<std::string>{"trigger", "trigger", "resolve"}));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SilencesTest, SlackSilenceButtonCreatesAOneHourSilence) {
  auto d = Start(AuthYaml());
  PostSpans(*d, "ir", "ir-", 10, 40, kIngestToken);
  ASSERT_TRUE(sink_.WaitForRequests("/slack", 1, seconds(10))) << d->Log();
  const json message = json::parse(sink_.Requests("/slack")[0].body);
  const json alert = AlertOf(*d, "ir");
  const std::string fingerprint = alert["fingerprint"];
  json button;
  const json blocks = message["attachments"][0]["blocks"];
  for (const json& block : blocks) {
    if (block["type"] == "actions" &&
        block["elements"][0].value("action_id", "") == std::string("agentwatch_silence_1h")) {
      button = block["elements"][0];
    }
  }
  ASSERT_TRUE(button.is_object()) << message.dump();
  EXPECT_EQ(button["value"], fingerprint);
  EXPECT_EQ(button["text"]["text"], "Silence 1h");

  const json payload = {{"type", "block_actions"},
                        {"user", {{"id", "U024BE7LH"}, {"username", "bob"}}},
                        {"actions", json::array({{{"type", "button"},
                                                  {"action_id", button["action_id"]},
                                                  {"block_id", "b"},
                                                  {"value", fingerprint}}})}};
  const std::string form = "payload=" + testing::FormEncode(payload.dump());
  // Signed at the daemon's clock.
  const httplib::Headers slack = testing::SlackSignedHeaders(form, now_ / 1000, kSlackSecret);
  // Unsigned: refused, nothing created.
  auto res = d->Client()->Post("/v1/webhooks/slack", form, "application/x-www-form-urlencoded");
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(Silences(*d).size(), 0u);
  res = d->Client()->Post("/v1/webhooks/slack", slack, form, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json ids = json::parse(res->body)["silenceIDs"];
  ASSERT_EQ(ids.size(), 1u);

  const json silences = Silences(*d);
  ASSERT_EQ(silences.size(), 1u);
  const json& s = silences[0];
  EXPECT_EQ(s["id"], ids[0]);
  EXPECT_EQ(s["createdBy"], "bob");
  EXPECT_EQ(s["comment"], "silenced from Slack");
  EXPECT_EQ(s["status"], "active");
  EXPECT_EQ(s["startsAt"], FormatRfc3339(now_));
  EXPECT_EQ(s["endsAt"], FormatRfc3339(now_ + kHour));
  // Exactly the alert's labels, each as an equality matcher.
  json expected = json::array();
  for (const auto& [name, value] : alert["labels"].items()) {
    expected.push_back({{"name", name}, {"value", value}, {"isRegex", false}, {"isEqual", true}});
  }
  EXPECT_EQ(s["matchers"], expected);
  EXPECT_EQ(AlertOf(*d, "ir")["silencedBy"], ids);
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SilencesTest, CliAddsListsAndExpires) {
  auto d = Start();
  std::string out, err;
  int code = testing::RunBinary(
      AW_BINARY,
      {"silence", "add", "--url", d->url(), "--matcher", "agent=ir", "--matcher",
       "alertname=~Agent.*", "--duration", "2h", "--author", "carol", "--comment", "maintenance"},
      &out, &err);
  ASSERT_EQ(code, 0) << err;
  const std::string id = out.substr(0, out.find('\n'));
  json silences = Silences(*d);
  ASSERT_EQ(silences.size(), 1u);
  EXPECT_EQ(silences[0]["id"], id);
  EXPECT_EQ(silences[0]["createdBy"], "carol");
  EXPECT_EQ(
      silences[0]["matchers"][1],
      (json{{"name", "alertname"}, {"value", "Agent.*"}, {"isRegex", true}, {"isEqual", true}}));

  // It silences: a breach notifies nobody.
  PostSpans(*d, "ir", "ir-", 10, 40);
  ASSERT_TRUE(testing::WaitFor([&] { return AlertOf(*d, "ir").is_object(); }));
  EXPECT_EQ(AlertOf(*d, "ir")["silencedBy"], json::array({id}));

  code = testing::RunBinary(AW_BINARY, {"silence", "list", "--url", d->url()}, &out, &err);
  ASSERT_EQ(code, 0) << err;
  EXPECT_NE(out.find(id + "\tactive\t"), std::string::npos) << out;
  EXPECT_NE(out.find("alertname=~\"Agent.*\""), std::string::npos) << out;

  code = testing::RunBinary(AW_BINARY, {"silence", "expire", "--url", d->url(), id}, &out, &err);
  ASSERT_EQ(code, 0) << err;
  EXPECT_EQ(Silences(*d)[0]["status"], "expired");
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, seconds(10))) << d->Log();

  // The server says no: 1, with its error.
  code =
      testing::RunBinary(AW_BINARY, {"silence", "expire", "--url", d->url(), "nope"}, &out, &err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
  code = testing::RunBinary(AW_BINARY,
                            {"silence", "add", "--url", d->url(), "--matcher", "agent=~(",
                             "--duration", "1h", "--author", "carol"},
                            &out, &err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("matchers[0].value"), std::string::npos) << err;
  // Usage errors: 2.
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"silence", "list"}, &out, &err), 2);
  EXPECT_EQ(testing::RunBinary(
                AW_BINARY,
                {"silence", "add", "--url", d->url(), "--matcher", "agent=ir", "--author", "carol"},
                &out, &err),
            2);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"silence", "mute", "--url", d->url()}, &out, &err), 2);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"silence", "--help"}, &out, &err), 0);
  EXPECT_NE(out.find("agentwatch silence add"), std::string::npos);
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace aw
