// The grouping keys of a receiver: group_by, group_wait, group_interval,
// repeat_interval, their defaults and their errors.

#include <gtest/gtest.h>

#include "daemon/config/config.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using namespace std::chrono_literals;

class GroupingConfigTest : public ::testing::Test {
 protected:
  Result<Config> Load(const std::string& receiver_extra, const std::string& top = "") {
    return LoadConfig(
        dir_.Write("agentwatch.yaml", top +
                                          "receivers:\n  - name: s\n    slack: {webhook_url: "
                                          "\"https://h.example/x\"}\n" +
                                          receiver_extra));
  }
  std::string ErrorOf(const std::string& receiver_extra) {
    auto c = Load(receiver_extra);
    EXPECT_FALSE(c.ok()) << "expected an error for:\n" << receiver_extra;
    return c.ok() ? "" : c.status().message();
  }
  testing::TempDir dir_;
};

TEST_F(GroupingConfigTest, NoGroupingKeysMeansUngroupedWithTheDefaults) {
  auto c = Load("", "repeat_interval: 2h\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const GroupingConfig& g = c->receivers[0].grouping;
  EXPECT_FALSE(g.enabled);
  EXPECT_TRUE(g.by_all);
  EXPECT_EQ(g.wait, 0ms);
  EXPECT_EQ(g.interval, 5min);
  EXPECT_EQ(g.repeat, 2h);  // the top-level repeat_interval
}

TEST_F(GroupingConfigTest, ParsesTheContractExample) {
  auto c = Load(
      "    group_by: [alertname, agent]\n    group_wait: 30s\n    group_interval: 10m\n"
      "    repeat_interval: 4h\n",
      "repeat_interval: 1h\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const GroupingConfig& g = c->receivers[0].grouping;
  EXPECT_TRUE(g.enabled);
  EXPECT_FALSE(g.by_all);
  EXPECT_EQ(g.by, (std::vector<std::string>{"alertname", "agent"}));
  EXPECT_EQ(g.wait, 30s);
  EXPECT_EQ(g.interval, 10min);
  EXPECT_EQ(g.repeat, 4h);
}

TEST_F(GroupingConfigTest, AnyOfTheThreeKeysTurnsGroupingOn) {
  for (const std::string extra :
       {"    group_by: ['...']\n", "    group_wait: 0s\n", "    group_interval: 1m\n"}) {
    auto c = Load(extra);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_TRUE(c->receivers[0].grouping.enabled) << extra;
    EXPECT_TRUE(c->receivers[0].grouping.by_all) << extra;
  }
  // Nothing set: ungrouped.
  auto plain = Load("");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->receivers[0].grouping.enabled);
  // repeat_interval alone: each alert its own group, at once, repeated at
  // the receiver's own interval.
  auto c = Load("    repeat_interval: 1h\n");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->receivers[0].grouping.enabled);
  EXPECT_TRUE(c->receivers[0].grouping.by_all);
  EXPECT_EQ(c->receivers[0].grouping.wait, 0ms);
  EXPECT_EQ(c->receivers[0].grouping.interval, 0ms);
  EXPECT_EQ(c->receivers[0].grouping.repeat, 1h);
}

TEST_F(GroupingConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"    group_by: alertname\n", "receivers.s.group_by: "},
      {"    group_by: ['...', agent]\n",
       "receivers.s.group_by: \"...\" (every label) must stand alone"},
      {"    group_by: [agent, agent]\n", "receivers.s.group_by: \"agent\" is listed twice"},
      {"    group_by: [1agent]\n", "receivers.s.group_by: \"1agent\" is not a label name"},
      {"    group_wait: soon\n", "receivers.s.group_wait: must be a duration"},
      {"    group_interval: 0s\n", "receivers.s.group_interval: must be positive"},
      {"    repeat_interval: 0s\n", "receivers.s.repeat_interval: must be positive"},
      {"    group_intervall: 5m\n", "did you mean \"group_interval\""},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.yaml);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.yaml << " -> " << error;
  }
}

}  // namespace
}  // namespace aw
