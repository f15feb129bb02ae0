// The daemon on a fake clock: the periodic evaluation follows the injected
// Clock, so time moved by a test fires a `for` alert without waiting.

#include <httplib.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/config/config.h"
#include "daemon/server/app.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace aw::server {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(AppClockTest, EvaluationTicksFollowTheInjectedClock) {
  testing::TempDir dir;
  dir.Write("rules.yaml", R"(groups:
- name: g
  rules:
  - alert: ToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
    min_samples: 3
    for: 5m
)");
  const std::string path = dir.Write("agentwatch.yaml",
                                     "listen: 127.0.0.1:0\n"
                                     "storage: {path: events.db}\n"
                                     "evaluation_interval: 1m\n"
                                     "rule_files: [rules.yaml]\n");
  auto config = LoadConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  FakeClock clock;
  App app(std::move(config).value(), clock, AppOptions{});
  ASSERT_TRUE(app.Start().ok());
  httplib::Client client("127.0.0.1", app.port());
  for (int i = 0; i < 5; ++i) {
    const std::string span =
        R"({"investigation_id":"inv)" + std::to_string(i) + R"(","agent":"ir","tool_calls":40})";
    auto res = client.Post("/v1/spans", span, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  const auto state = [&]() -> std::string {
    auto res = client.Get("/api/v1/alerts");
    if (!res || res->status != 200) return "";
    json body = json::parse(res->body);
    return body["alerts"].empty() ? "" : body["alerts"][0]["state"].get<std::string>();
  };
  ASSERT_TRUE(testing::WaitFor([&] { return state() == "pending"; }, 10s));
  // Ten minutes pass on the daemon's clock only: the next tick (due a minute
  // after the last on that clock) must come at once, not a real minute later.
  clock.Advance(10min);
  EXPECT_TRUE(testing::WaitFor([&] { return state() == "firing"; }, 5s)) << state();
  app.Stop();
}

}  // namespace
}  // namespace aw::server
