#include "daemon/server/rule_runtime.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "rules/rule_loader.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw::server {
namespace {

using namespace std::chrono_literals;

constexpr TimeMs kT0 = 1'764'000'000'000;

constexpr const char* kRules = R"(groups:
- name: g
  rules:
  - alert: ToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
    min_samples: 3
)";

// Runs one statement on a second connection to the same file, the way an
// operator (or a fault) would change the database under the daemon. It waits
// for the write lock as an operator's sqlite3 would: the outbox sender may be
// recording a delivery at that moment (CI saw "database is locked" without).
void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class RuleRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(path_, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store).value();
    for (int i = 0; i < 5; ++i) {
      Span s;
      s.investigation_id = "inv" + std::to_string(i);
      s.agent = "ir";
      s.ts_ms = kT0 - 1000;
      s.tool_calls = 40;
      state_.engine.ApplySpan(s, i + 1);
    }
    ReceiverConfig r;
    r.name = "hook";
    r.kind = ReceiverConfig::Kind::kWebhook;
    r.webhook.url = sink_.Url("/hook");
    r.timeout = 5000ms;
    config_.receivers = {r};
    config_.default_receivers = {"hook"};
  }

  rules::RuleSet Rules() {
    rules::LoadOptions o;
    o.check_receivers = false;
    auto set = rules::LoadRuleText(kRules, "rules.yaml", o);
    EXPECT_TRUE(set.ok()) << set.status().message();
    return set.ok() ? *set : rules::RuleSet{};
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("agentwatch.db");
  std::unique_ptr<SqliteStore> store_;
  EngineState state_{Pricing{}};
  FakeClock clock_{kT0};
  exporters::DaemonMetrics metrics_{"test"};
  testing::HttpSink sink_;
  Config config_;
};

// The store refuses the step that fires the alert: the alert must not be
// firing in memory (so nothing is lost), and once the store accepts writes
// again the next evaluation fires it and the notification goes out.
TEST_F(RuleRuntimeTest, FailedCommitLeavesTheAlertToFireAtTheNextEvaluation) {
  RuleRuntime runtime(*store_, clock_, metrics_);
  ASSERT_TRUE(runtime.Start(config_, Rules()).ok());
  Sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON outbox "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

  runtime.Evaluate(state_, kT0, nullptr);
  EXPECT_EQ(*store_->OutboxDepth(), 0);
  EXPECT_TRUE(store_->LoadAlerts()->empty());
  EXPECT_TRUE(runtime.AlertsJson()["alerts"].empty()) << runtime.AlertsJson().dump();

  clock_.Set(kT0 + 1000);
  runtime.Evaluate(state_, kT0 + 1000, nullptr);  // still refused
  EXPECT_TRUE(store_->LoadAlerts()->empty());

  Sql(path_, "DROP TRIGGER refuse");
  clock_.Set(kT0 + 2000);
  runtime.Evaluate(state_, kT0 + 2000, nullptr);
  auto alerts = store_->LoadAlerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].state, AlertState::kFiring);
  ASSERT_EQ(runtime.AlertsJson()["alerts"].size(), 1u);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, 10s));
  auto body = nlohmann::json::parse(sink_.Requests("/hook")[0].body);
  EXPECT_EQ(body["status"], "firing") << body.dump();
  runtime.Stop();
}

// An evaluation on ingest that resolves a firing alert, refused by the
// store: the engine must hold the alert exactly as before the step (the
// undo puts back an alert the step deleted), and once the store accepts
// writes again the resolve is made and sent.
TEST_F(RuleRuntimeTest, FailedCommitOfAResolveOnIngestKeepsTheAlertFiring) {
  RuleRuntime runtime(*store_, clock_, metrics_);
  ASSERT_TRUE(runtime.Start(config_, Rules()).ok());
  runtime.Evaluate(state_, kT0, nullptr);
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, 10s));
  const nlohmann::json firing = runtime.AlertsJson();
  ASSERT_EQ(firing["alerts"].size(), 1u) << firing.dump();
  ASSERT_EQ(store_->LoadAlerts()->size(), 1u);

  Sql(path_,
      "CREATE TRIGGER refuse BEFORE INSERT ON outbox "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  // A day later the agent's records have left the 24h window: it resolves.
  const TimeMs later = kT0 + 25 * 3600 * 1000;
  clock_.Set(later);
  const std::set<std::string> touched = {"ir"};
  runtime.Evaluate(state_, later, &touched);
  EXPECT_EQ(runtime.AlertsJson(), firing);
  ASSERT_EQ(store_->LoadAlerts()->size(), 1u);
  EXPECT_EQ((*store_->LoadAlerts())[0].state, AlertState::kFiring);

  Sql(path_, "DROP TRIGGER refuse");
  runtime.Evaluate(state_, later, &touched);
  EXPECT_TRUE(store_->LoadAlerts()->empty());
  EXPECT_TRUE(runtime.AlertsJson()["alerts"].empty()) << runtime.AlertsJson().dump();
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 2, 10s));
  auto body = nlohmann::json::parse(sink_.Requests("/hook")[1].body);
  EXPECT_EQ(body["status"], "resolved") << body.dump();
  runtime.Stop();
}

}  // namespace
}  // namespace aw::server
