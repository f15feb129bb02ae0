#include "daemon/config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load(const std::string& yaml) {
    return LoadConfig(dir_.Write("agentwatch.yaml", yaml));
  }
  std::string ErrorOf(const std::string& yaml) {
    auto c = Load(yaml);
    EXPECT_FALSE(c.ok()) << "expected an error for:\n" << yaml;
    return c.ok() ? "" : c.status().message();
  }
  testing::TempDir dir_;
};

TEST_F(ConfigTest, LoadsTheContractExample) {
  setenv("AW_TEST_PD_KEY", "pd-key-123", 1);
  dir_.Write("slack_url", "https://hooks.slack.com/services/T/B/X\n");
  auto c = Load(R"(
listen: 127.0.0.1:9464
storage: {path: ./data/agentwatch.db, retention: 30d, sync: full}
evaluation_interval: 15s
max_event_age: 7d
max_clock_skew: 5m
sli_windows: [1h, 24h, 7d, 100 investigations]
limits: {max_body_bytes: 4MiB, max_records_per_request: 10000}
pricing:
  claude-sonnet-4-6: {input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}
receivers:
  - name: pagerduty-sre
    pagerduty: {routing_key: "${AW_TEST_PD_KEY}", url: https://events.pagerduty.com/v2/enqueue}
  - name: slack-sre
    slack: {webhook_url_file: slack_url}
  - name: audit
    webhook: {url: "http://127.0.0.1:9000/hook", secret: "s3cret"}
  - name: am
    alertmanager: {url: "http://127.0.0.1:9093"}
default_receivers: [slack-sre]
repeat_interval: 4h
rule_files: [rules/*.yaml]
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->storage.path, dir_.path() + "/data/agentwatch.db");
  EXPECT_TRUE(c->storage.sync_full);
  EXPECT_EQ(c->limits.max_body_bytes, 4 << 20);
  EXPECT_EQ(c->sli_windows.size(), 4u);
  EXPECT_EQ(c->sli_windows[3].count, 100);
  ASSERT_EQ(c->receivers.size(), 4u);
  EXPECT_EQ(c->receivers[0].pagerduty.routing_key, "pd-key-123");
  EXPECT_EQ(c->receivers[1].slack.webhook_url, "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(c->receivers[2].webhook.secret, "s3cret");
  EXPECT_EQ(c->receivers[3].kind, ReceiverConfig::Kind::kAlertmanager);
  EXPECT_EQ(c->pricing.at("claude-sonnet-4-6").cache_write, 3.75);
  EXPECT_EQ(c->rule_files[0], dir_.path() + "/rules/*.yaml");
  EXPECT_EQ(c->repeat_interval, Millis(4 * 3'600'000));
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  auto c = Load("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "127.0.0.1:9464");
  EXPECT_EQ(c->sli_windows.size(), 3u);
  EXPECT_FALSE(c->auth.enabled);
}

TEST_F(ConfigTest, SilenceRetentionDefaultsToAlertmanagersAndMustBePositive) {
  auto c = Load("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->silence_retention, Millis(120LL * 3600 * 1000));
  c = Load("silence_retention: 36h\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->silence_retention, Millis(36LL * 3600 * 1000));
  EXPECT_NE(
      ErrorOf("listen: x\nsilence_retention: 0s\n").find(":2: silence_retention: must be positive"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf("silence_retention: forever\n").find(":1: silence_retention: must be a duration"),
      std::string::npos);
}

TEST_F(ConfigTest, ErrorsNameFileLineAndField) {
  EXPECT_NE(ErrorOf("listen: x\nbogus: 1\n").find("agentwatch.yaml:2: unknown key \"bogus\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("storage:\n  sync: sometimes\n").find(":2: storage.sync: must be normal or full"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf("evaluation_interval: soon\n").find(":1: evaluation_interval: must be a duration"),
      std::string::npos);
  EXPECT_NE(ErrorOf("sli_windows: [1h, 3 spans]\n").find(":1: sli_windows: window"),
            std::string::npos);
  EXPECT_NE(ErrorOf("limits: {max_body_bytes: lots}\n").find("limits.max_body_bytes"),
            std::string::npos);
  EXPECT_NE(ErrorOf("receivers:\n  - name: x\n").find("needs exactly one of"), std::string::npos);
  EXPECT_NE(ErrorOf("receivers:\n  - name: x\n    slack: {webhook_url: ftp://x}\n")
                .find(":3: receivers.x.slack.webhook_url: must be an http"),
            std::string::npos);
  EXPECT_NE(ErrorOf("default_receivers: [nope]\n").find("unknown receiver \"nope\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("listen: \"${AW_SURELY_UNSET_VAR}\"\n").find("AW_SURELY_UNSET_VAR is not set"),
            std::string::npos);
  EXPECT_NE(ErrorOf("receivers:\n  - name: p\n    pagerduty: {routing_key_file: missing.txt}\n")
                .find("cannot read"),
            std::string::npos);
  EXPECT_NE(ErrorOf("listen: [unclosed\n").find("agentwatch.yaml:"), std::string::npos);
  EXPECT_NE(ErrorOf("auth: {ingest_tokens: [short]}\n").find("at least 16 characters"),
            std::string::npos);
  EXPECT_NE(ErrorOf("storage: {retention: 1d}\n").find("storage.retention: must be at least"),
            std::string::npos);
}

TEST_F(ConfigTest, OverridesFromTheCommandLine) {
  auto c = Load("");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ApplyOverride(*c, "listen", "127.0.0.1:0").ok());
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_FALSE(ApplyOverride(*c, "log.level", "loud").ok());
  EXPECT_FALSE(ApplyOverride(*c, "nope", "x").ok());
}

}  // namespace
}  // namespace aw

namespace aw {
namespace {

TEST(ConfigReloadTest, KeepsRestartOnlySettingsAndOverridesTakesTheRestFromTheFile) {
  testing::TempDir dir;
  auto running = LoadConfig(dir.Write(
      "a.yaml",
      "listen: 127.0.0.1:9001\nstorage: {path: ./one.db}\nrepeat_interval: 1h\n"
      "evaluation_interval: 30s\nlimits: {max_connections: 100, max_records_per_request: 5}\n"));
  ASSERT_TRUE(running.ok()) << running.status().message();
  ASSERT_TRUE(ApplyOverride(*running, "evaluation_interval", "2s").ok());
  auto fresh = LoadConfig(dir.Write(
      "b.yaml",
      "listen: 127.0.0.1:9002\nstorage: {path: ./two.db}\nrepeat_interval: 2h\n"
      "evaluation_interval: 45s\nexternal_url: https://aw.example.com\n"
      "delivery: {max_age: 1h}\nlimits: {max_connections: 200, max_records_per_request: 7}\n"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  const Config next = ForReload(*running, *fresh);
  // Restart-only settings stay as running.
  EXPECT_EQ(next.listen, "127.0.0.1:9001");
  EXPECT_EQ(next.storage.path, running->storage.path);
  EXPECT_EQ(next.file, running->file);
  EXPECT_EQ(next.limits.max_connections, 100);
  // The command line still wins over the file.
  EXPECT_EQ(next.evaluation_interval, Millis(2'000));
  // Everything else follows the file, including fields a reload used to miss.
  EXPECT_EQ(next.repeat_interval, Millis(2 * 3'600'000));
  EXPECT_EQ(next.external_url, "https://aw.example.com");
  EXPECT_EQ(next.delivery_max_age, Millis(3'600'000));
  EXPECT_EQ(next.limits.max_records_per_request, 7);
}

}  // namespace
}  // namespace aw

namespace aw {
namespace {

class ConfigHintTest : public ::testing::Test {
 protected:
  std::string ErrorOf(const std::string& yaml) {
    auto c = LoadConfig(dir_.Write("agentwatch.yaml", yaml));
    EXPECT_FALSE(c.ok()) << "expected an error for:\n" << yaml;
    return c.ok() ? "" : c.status().message();
  }
  testing::TempDir dir_;
};

TEST_F(ConfigHintTest, UnknownKeySuggestsTheClosestAndListsValid) {
  const std::string e = ErrorOf("listen: 127.0.0.1:0\nrecievers: []\n");
  EXPECT_NE(e.find("agentwatch.yaml:2: unknown key \"recievers\" in config (did you mean "
                   "\"receivers\"? valid: "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("rule_files"), std::string::npos) << e;
  const std::string nested = ErrorOf("storage:\n  pth: x.db\n");
  EXPECT_NE(nested.find(":2: unknown key \"pth\" in storage (did you mean \"path\"?"),
            std::string::npos)
      << nested;
}

TEST_F(ConfigHintTest, WordDurationSuggestsTheShortForm) {
  const std::string e = ErrorOf("evaluation_interval: 10 minutes\n");
  EXPECT_NE(e.find(":1: evaluation_interval: must be a duration"), std::string::npos) << e;
  EXPECT_NE(e.find("(did you mean 10m?)"), std::string::npos) << e;
  const std::string w = ErrorOf("sli_windows: [1h, 2 hours]\n");
  EXPECT_NE(w.find("(did you mean 2h?)"), std::string::npos) << w;
}

TEST_F(ConfigHintTest, UnknownDefaultReceiverSuggestsAConfiguredOne) {
  const std::string e = ErrorOf(
      "receivers:\n  - name: slack-sre\n    slack: {webhook_url: \"https://h.example/x\"}\n"
      "default_receivers: [slack-ser]\n");
  EXPECT_NE(e.find("unknown receiver \"slack-ser\" (did you mean \"slack-sre\"? valid: slack-sre)"),
            std::string::npos)
      << e;
  const std::string none = ErrorOf("default_receivers: [x]\n");
  EXPECT_NE(none.find("no receivers are configured"), std::string::npos) << none;
}

TEST_F(ConfigHintTest, LogFormat) {
  auto c = LoadConfig(dir_.Write("agentwatch.yaml", "log: {level: warn, format: json}\n"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->log_format, "json");
  EXPECT_NE(ErrorOf("log: {format: xml}\n").find(":1: log.format: must be logfmt or json"),
            std::string::npos);
  EXPECT_TRUE(ApplyOverride(*c, "log.format", "logfmt").ok());
  EXPECT_EQ(c->log_format, "logfmt");
  EXPECT_FALSE(ApplyOverride(*c, "log.format", "text").ok());
}

}  // namespace
}  // namespace aw
