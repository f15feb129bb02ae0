#include <gtest/gtest.h>

#include "daemon/config/config.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

class OtlpConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load(const std::string& yaml) {
    return LoadConfig(dir_.Write("agentwatch.yaml", yaml));
  }
  testing::TempDir dir_;
};

TEST_F(OtlpConfigTest, Defaults) {
  auto c = Load("listen: 127.0.0.1:0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->otlp.assembly_window, Millis(120'000));
  EXPECT_EQ(c->otlp.max_pending_spans, 100'000);
  EXPECT_EQ(c->otlp.labels,
            (Labels{{"env", "deployment.environment.name"}, {"version", "gen_ai.agent.version"}}));
  EXPECT_EQ(c->otlp.verdict_evaluations, std::vector<std::string>{"oncall_verdict"});
}

TEST_F(OtlpConfigTest, TheContractExample) {
  auto c = Load(R"(
otlp:
  assembly_window: 30s
  max_pending_spans: 5000
  labels: {env: deployment.environment.name, team: team.name}
  verdict_evaluations: [oncall_verdict, review]
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->otlp.assembly_window, Millis(30'000));
  EXPECT_EQ(c->otlp.max_pending_spans, 5000);
  EXPECT_EQ(c->otlp.labels,
            (Labels{{"env", "deployment.environment.name"}, {"team", "team.name"}}));
  EXPECT_EQ(c->otlp.verdict_evaluations, (std::vector<std::string>{"oncall_verdict", "review"}));
}

TEST_F(OtlpConfigTest, ErrorsNameTheKeyAndLine) {
  auto unknown = Load("otlp:\n  assembly_windw: 1m\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find(":2: unknown key \"assembly_windw\" in otlp"),
            std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("assembly_window"), std::string::npos);
  auto bad_window = Load("otlp: {assembly_window: soon}\n");
  ASSERT_FALSE(bad_window.ok());
  EXPECT_NE(bad_window.status().message().find("otlp.assembly_window"), std::string::npos);
  auto bad_max = Load("otlp: {max_pending_spans: 0}\n");
  ASSERT_FALSE(bad_max.ok());
  EXPECT_NE(bad_max.status().message().find("otlp.max_pending_spans"), std::string::npos);
  auto bad_labels = Load("otlp: {labels: [env]}\n");
  ASSERT_FALSE(bad_labels.ok());
  EXPECT_NE(bad_labels.status().message().find("otlp.labels"), std::string::npos);
  auto bad_list = Load("otlp: {verdict_evaluations: oncall}\n");
  ASSERT_FALSE(bad_list.ok());
  EXPECT_NE(bad_list.status().message().find("otlp.verdict_evaluations"), std::string::npos);
}

}  // namespace
}  // namespace aw
