// The `exporters:` config block: defaults, parsing and errors.

#include <gtest/gtest.h>

#include "daemon/config/config.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

class ExportersConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load(const std::string& yaml) {
    return LoadConfig(dir_.Write("agentwatch.yaml", yaml));
  }
  testing::TempDir dir_;
};

TEST_F(ExportersConfigTest, DefaultsExportP50AndP95OfEverySliWithoutSamples) {
  auto c = Load("listen: 127.0.0.1:0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->exporters.slis.empty());
  EXPECT_EQ(c->exporters.stats, (std::vector<Stat>{Stat::kP50, Stat::kP95}));
  EXPECT_TRUE(c->exporters.windows.empty());
  EXPECT_FALSE(c->exporters.samples);
}

TEST_F(ExportersConfigTest, ParsesEveryKey) {
  auto c = Load(
      "exporters:\n  slis: [override_rate, tool_calls]\n  stats: [p99, max]\n"
      "  windows: [1d]\n  samples: true\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->exporters.slis, (std::vector<Sli>{Sli::kOverrideRate, Sli::kToolCalls}));
  EXPECT_EQ(c->exporters.stats, (std::vector<Stat>{Stat::kP99, Stat::kMax}));
  EXPECT_EQ(c->exporters.windows, (std::vector<std::string>{"1d"}));
  EXPECT_TRUE(c->exporters.samples);
}

TEST_F(ExportersConfigTest, RejectsUnknownNamesWithTheirKey) {
  for (const auto& [yaml, want] : std::vector<std::pair<std::string, std::string>>{
           {"exporters: {slis: [nope]}\n", "exporters.slis: unknown SLI \"nope\""},
           {"exporters: {stats: [p42]}\n", "exporters.stats: unknown stat \"p42\""},
           {"exporters: {windows: [soon]}\n", "exporters.windows:"},
           {"exporters: {samples: maybe}\n", "exporters.samples"},
           {"exporters: {series: 5}\n", "series"}}) {
    auto c = Load(yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << yaml << " -> " << c.status().message();
  }
}

}  // namespace
}  // namespace aw
