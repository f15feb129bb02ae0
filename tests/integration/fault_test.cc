// Faults against the real binary: a damaged or deleted database, a full
// disk, and replayed signed requests. What each must do is in README,
// Operations: nothing acknowledged is lost, and what cannot be stored is
// refused with a reply that says why.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/store/sqlite_store.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;
using namespace std::chrono_literals;

class FaultTest : public ::testing::Test {
 protected:
  std::string Config(const std::string& extra = "") {
    return dir_.Write("agentwatch.yaml",
                      "listen: 127.0.0.1:0\n"
                      "storage: {path: events.db}\n"
                      "sli_windows: [1h]\n" +
                          extra);
  }
  std::unique_ptr<DaemonProcess> Start(const std::string& extra = "") {
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, Config(extra), dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }
  static int PostSpan(DaemonProcess& d, const std::string& id, std::string* body = nullptr) {
    const std::string span = R"({"investigation_id":")" + id + R"(","agent":"ir","tool_calls":3})";
    auto res = d.Client()->Post("/v1/spans", span, "application/json");
    if (!res) return -1;
    if (body) *body = res->body;
    return res->status;
  }
  // True when `id` is already stored: sending it again is a duplicate
  // (decided in memory, so this also works while commits fail).
  static bool Stored(DaemonProcess& d, const std::string& id) {
    std::string body;
    if (PostSpan(d, id, &body) != 200) return false;
    const json r = json::parse(body, nullptr, false);
    return r.is_object() && r["duplicates"] == 1 && r["accepted"] == 0;
  }
  testing::TempDir dir_;
};

TEST_F(FaultTest, DamagedDatabaseRefusesToStartNamingTheFileAndTheRecovery) {
  const std::string path = dir_.File("events.db");
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    EventBatch b;
    for (int i = 0; i < 50'000; ++i) {
      Span s;
      s.investigation_id = "inv" + std::to_string(i);
      s.agent = "ir";
      s.ts_ms = static_cast<TimeMs>(time(nullptr)) * 1000 - 1000;
      s.model.assign(1, 'm');  // not = "m": GCC 12 -Wrestrict false positive
      s.tool_calls = 3;
      b.spans.push_back(std::move(s));
    }
    ASSERT_TRUE((*store)->Append(b).ok());
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, size / 2, SEEK_SET);
    std::string garbage(12 * 1024, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) % 251);
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  DaemonProcess d(AW_BINARY, Config(), dir_.path());
  EXPECT_FALSE(d.Start()) << "started on a damaged file:\n" << d.Log();
  const std::string err = d.Log();
  EXPECT_NE(err.find("events.db"), std::string::npos) << err;
  EXPECT_NE(err.find(".dump"), std::string::npos) << err;
  EXPECT_EQ(err.find("rebuilt state"), std::string::npos) << "started on part of the data:\n"
                                                          << err;
}

TEST_F(FaultTest, DeletedDatabaseStopsAcknowledging) {
  auto d = Start();
  ASSERT_EQ(PostSpan(*d, "before"), 200);
  ASSERT_EQ(std::remove(dir_.File("events.db").c_str()), 0);
  std::string body;
  EXPECT_EQ(PostSpan(*d, "after", &body), 503) << body;
  EXPECT_NE(body.find("deleted"), std::string::npos) << body;
  EXPECT_NE(d->Log().find("deleted"), std::string::npos) << d->Log();
  // Unready too, so a load balancer or orchestrator sees it without ingesting.
  auto ready = d->Client()->Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("deleted"), std::string::npos) << ready->body;
}

TEST_F(FaultTest, DiskFullIs503AndRecoversWithoutRestart) {
  // The daemon inherits SIGXFSZ ignored, so a write past the limit fails
  // with EFBIG (what a full disk looks like to SQLite) instead of killing it.
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old);
  auto d = Start();
  sigaction(SIGXFSZ, &old, nullptr);
  const pid_t pid = d->pid();
  ASSERT_GT(pid, 0);
  std::vector<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(PostSpan(*d, "ok" + std::to_string(i)), 200);
    acked.push_back("ok" + std::to_string(i));
  }
  // Only the soft limit: raising it back needs no privilege.
  rlimit current{};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, nullptr, &current), 0);
  rlimit small{64 * 1024, current.rlim_max};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &small, nullptr), 0);
  int status = 200;
  std::string body;
  // The WAL is already past the limit, so the next commit that grows it fails.
  for (int i = 0; i < 500 && status == 200; ++i) {
    const std::string id = "fill" + std::to_string(i);
    status = PostSpan(*d, id, &body);
    if (status == 200) acked.push_back(id);
  }
  EXPECT_EQ(status, 503) << body;
  // Everything acknowledged is still known.
  for (const std::string& id : acked) EXPECT_TRUE(Stored(*d, id)) << id;
  // Reads go on from memory meanwhile.
  auto slis = d->Client()->Get("/api/v1/slis");
  ASSERT_TRUE(slis);
  EXPECT_EQ(slis->status, 200);
  rlimit unlimited{current.rlim_max, current.rlim_max};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &unlimited, nullptr), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return PostSpan(*d, "after-space") == 200; }, 10s));
  EXPECT_TRUE(Stored(*d, "after-space"));
  d->Kill9();
  auto again = Start();
  for (const std::string& id : acked) EXPECT_TRUE(Stored(*again, id)) << id;
  EXPECT_TRUE(Stored(*again, "after-space"));
}

TEST_F(FaultTest, ReplayedSignedRequestIsRefused) {
  auto d = Start(
      "auth:\n  ingest_tokens: [ingest-token-0123456789]\n"
      "  admin_tokens: [admin-token-0123456789ab]\n"
      "  webhook_secret: hook-secret\n");
  const std::string ts = std::to_string(time(nullptr));
  const auto post = [&](const std::string& body, std::string* reply) {
    auto res = d->Client()->Post(
        "/v1/feedback",
        {{"X-Agentwatch-Timestamp", ts},
         {"X-Agentwatch-Signature", "sha256=" + HmacSha256Hex("hook-secret", ts + "." + body)}},
        body, "application/json");
    if (!res) return -1;
    *reply = res->body;
    return res->status;
  };
  std::string reply;
  const std::string override_verdict = R"({"investigation_id":"a","verdict":"override"})";
  const std::string confirm_verdict = R"({"investigation_id":"a","verdict":"confirm"})";
  ASSERT_EQ(post(override_verdict, &reply), 200) << reply;
  ASSERT_EQ(post(confirm_verdict, &reply), 200) << reply;
  // The captured first request, sent again inside its window, must not
  // overturn the newer verdict.
  EXPECT_EQ(post(override_verdict, &reply), 409) << reply;
  EXPECT_NE(reply.find("replay"), std::string::npos) << reply;
}

TEST_F(FaultTest, ReplayedOnCallWebhooksAreRefused) {
  auto d = Start(
      "auth:\n  ingest_tokens: [ingest-token-0123456789]\n"
      "  admin_tokens: [admin-token-0123456789ab]\n"
      "  pagerduty_webhook_secret: pd-secret\n"
      "  slack_signing_secret: slack-secret\n");
  // PagerDuty signs no timestamp: a ping (acknowledged, not stored) is
  // enough to show the signature is good once.
  const std::string ping = json{{"event",
                                 {{"id", "01PING"},
                                  {"event_type", "pagey.ping"},
                                  {"resource_type", "ping"},
                                  {"occurred_at", "2026-01-01T00:00:00Z"},
                                  {"data", {{"type", "ping"}}}}}}
                               .dump();
  const httplib::Headers pd = {{"X-PagerDuty-Signature", "v1=" + HmacSha256Hex("pd-secret", ping)}};
  auto res = d->Client()->Post("/v1/webhooks/pagerduty", pd, ping, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status / 100, 2) << res->body;
  // Again, with a bogus extra entry so the header differs: still a replay.
  const httplib::Headers pd2 = {{"X-PagerDuty-Signature", "v1=00," + pd.begin()->second}};
  res = d->Client()->Post("/v1/webhooks/pagerduty", pd2, ping, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;

  const std::string ts = std::to_string(time(nullptr));
  const std::string form = "text=hello";
  const httplib::Headers slack = {
      {"X-Slack-Request-Timestamp", ts},
      {"X-Slack-Signature", "v0=" + HmacSha256Hex("slack-secret", "v0:" + ts + ":" + form)}};
  res = d->Client()->Post("/v1/webhooks/slack", slack, form, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 409) << res->body;
  res = d->Client()->Post("/v1/webhooks/slack", slack, form, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;
}

constexpr const char* kRule = R"(groups:
- name: agents
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 10 investigations
    threshold: 25
    min_samples: 5
)";

class DeliveryFaultTest : public FaultTest {
 protected:
  std::unique_ptr<DaemonProcess> StartWithReceiver(const std::string& receiver_yaml,
                                                   const std::string& name) {
    dir_.Write("rules/agents.yaml", kRule);
    auto d = std::make_unique<DaemonProcess>(
        AW_BINARY,
        Config("evaluation_interval: 200ms\nreceivers:\n  - name: " + name + "\n    " +
               receiver_yaml + "\ndefault_receivers: [" + name + "]\n" +
               "rule_files: [rules/*.yaml]\n"),
        dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }
  static void PostSpans(DaemonProcess& d, const std::string& prefix, int n, int tool_calls) {
    std::string body;
    for (int i = 0; i < n; ++i) {
      body += R"({"investigation_id":")" + prefix + std::to_string(i) +
              R"(","agent":"ir","tool_calls":)" + std::to_string(tool_calls) + "}\n";
    }
    auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  // agentwatch_outbox_pending from /metrics; -1 when unreadable.
  static double OutboxPending(DaemonProcess& d) {
    auto res = d.Client()->Get("/metrics");
    if (!res) return -1;
    const std::string key = "\nagentwatch_outbox_pending ";
    const size_t at = res->body.find(key);
    return at == std::string::npos ? -1 : std::stod(res->body.substr(at + key.size()));
  }
  testing::HttpSink sink_;
};

// PagerDuty answers 500 while the alert fires and resolves, then recovers:
// the last event it gets is the resolve, and no trigger follows a resolve.
TEST_F(DeliveryFaultTest, ReceiverDownThenBackEndsOnTheLatestState) {
  sink_.SetDefault("/pd", testing::HttpSink::Reply{500, "down", "text/plain", "", 0ms});
  auto d = StartWithReceiver("pagerduty: {routing_key: rk-123, url: \"" + sink_.Url("/pd") + "\"}",
                             "pd");
  PostSpans(*d, "hot-", 10, 40);
  // Failed twice: the trigger is now backing off longer than a fresh item.
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 2, 15s)) << d->Log();
  PostSpans(*d, "cool-", 10, 1);
  ASSERT_TRUE(sink_.WaitForRequests("/pd", 3, 15s)) << d->Log();
  const size_t delivered_from = sink_.RequestCount("/pd");
  sink_.SetDefault("/pd", testing::HttpSink::Reply{});
  ASSERT_TRUE(testing::WaitFor(
      [&] { return sink_.RequestCount("/pd") > delivered_from && OutboxPending(*d) == 0; }, 30s))
      << d->Log();
  auto reqs = sink_.Requests("/pd");
  std::vector<std::string> actions;
  for (size_t i = delivered_from; i < reqs.size(); ++i) {
    actions.push_back(json::parse(reqs[i].body)["event_action"]);
  }
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions.back(), "resolve");
  const auto first_resolve = std::find(actions.begin(), actions.end(), "resolve");
  EXPECT_EQ(std::find(first_resolve, actions.end(), "trigger"), actions.end())
      << "a trigger after the resolve re-opens the incident";
}

// kill -9 while the notification is being posted: after the restart it is
// posted again (at least once), and once delivered it is not sent again.
TEST_F(DeliveryFaultTest, Kill9DuringDeliveryRedeliversOnce) {
  sink_.Hang("/hook", 20s, 1);
  auto d = StartWithReceiver("webhook: {url: \"" + sink_.Url("/hook") + "\"}", "hook");
  PostSpans(*d, "hot-", 10, 40);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, 15s)) << d->Log();
  d->Kill9();
  auto again =
      std::make_unique<DaemonProcess>(AW_BINARY, dir_.File("agentwatch.yaml"), dir_.path());
  ASSERT_TRUE(again->Start()) << again->Log();
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 2, 15s)) << again->Log();
  ASSERT_TRUE(testing::WaitFor([&] { return OutboxPending(*again) == 0; }, 15s));
  const auto reqs = sink_.Requests("/hook");
  EXPECT_EQ(json::parse(reqs[1].body)["status"], "firing");
  EXPECT_EQ(json::parse(reqs[1].body)["alerts"][0]["fingerprint"],
            json::parse(reqs[0].body)["alerts"][0]["fingerprint"]);
  // The restart does not announce the firing alert a third time.
  again->Stop();
  EXPECT_EQ(sink_.RequestCount("/hook"), 2u);
}

}  // namespace
}  // namespace aw
